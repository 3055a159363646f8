// How many kvm-unit-tests runs the hypervisor variants make, and how many are clean: the same runs
// as test/scenario/kut.test.ts (every corpus/kut file on every variant that accepts its machine and
// events). The figure docs/scenario-language.md quotes.
//   node dist/bench/kut-count.js
import { readdirSync, readFileSync } from 'node:fs';
import { supportsScenario } from '../backends/features.js';
import { BACKENDS } from '../backends/registry.js';
import { runScenario } from '../engine/session.js';
import { parseScenario } from '../scenario/schema.js';

const dir = 'corpus/kut';
let files = 0, runs = 0, clean = 0;
for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
  files++;
  const s = parseScenario(readFileSync(`${dir}/${f}`, 'utf8'), f);
  for (const b of BACKENDS) {
    if (b.name === 'baremetal' || b.supports(s.machine) !== null || supportsScenario(b, s) !== null) continue;
    for (const v of b.variants) {
      if (supportsScenario(b, s, v.name) !== null) continue;
      runs++;
      if (runScenario(s, b, v.name).divergences.length === 0) clean++;
    }
  }
}
console.log(`${files} files, ${runs} runs on the hypervisor variants: ${clean} clean, ${runs - clean} divergent`);
