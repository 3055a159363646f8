// `irqdiff new-backend NAME`: a skeleton backend module to start modelling one's own hypervisor.
// It delegates to the bare-metal model, so it loads and runs clean at once; the developer then
// replaces the delegation with the mechanism (state, steps named after the real functions).
import { existsSync } from 'node:fs';
import { writeAtomic } from '../store/files.js';

export function skeleton(name: string): string {
  return `// ${name}: an irqdiff backend model. Run it with
//   irqdiff fuzz --backend-module ./${name}.ts --backend ${name}
// See docs/writing-a-backend.md: model the mechanism (its state, its steps in their real order,
// named after the real functions), report deliveries through the sink, and declare every
// documented bug or deviation as one tagged root cause ("<class>:<mechanism tag>").
import type { Backend, BackendInstance, MachineConfig, ObsSink } from 'irqdiff';
import { BACKENDS } from 'irqdiff';

// Start from the architecture: this delegates every event to the bare-metal model, so the
// skeleton is clean. Replace it with your hypervisor's mechanism, step by step.
const bare = BACKENDS.find((b) => b.name === 'baremetal')!;

const backend: Backend = {
  name: '${name}',
  description: 'TODO: which hypervisor, which mechanism (e.g. software vLAPIC + VM-entry injection)',
  variants: [
    {
      name: 'main',
      source: 'TODO: repository, path(s) and the commit you read (or "counterfactual: never in a tree")',
      summary: 'TODO: what this variant changes compared with the others',
      status: 'clean',
      expectedBugs: [],
      knownDeviations: [],
    },
  ],
  supports(machine: MachineConfig): string | null {
    if (machine.nested) return 'nested virtualization is not modelled';
    return null;
  },
  create(_variant: string, machine: MachineConfig, sink: ObsSink): BackendInstance {
    return bare.create('sdm', machine, sink);
  },
};

export default backend;
`;
}

export function newBackend(name: string, file: string): string {
  if (!/^[a-z0-9_-]+$/.test(name)) throw new Error(`new-backend: NAME must be lowercase [a-z0-9_-]+`);
  if (existsSync(file)) throw new Error(`new-backend: ${file} exists; nothing written (choose another --out)`);
  writeAtomic(file, skeleton(name));
  return file;
}
