// The built-in backends. A user's own model can be loaded with --backend-module (src/backends/load.ts).
import type { Backend } from './api.js';
import { acrn } from './acrn/index.js';
import { baremetal } from './baremetal/index.js';
import { bhyve } from './bhyve/index.js';
import { kvm } from './kvm/index.js';
import { kvmNvmx } from './kvm-nvmx/index.js';
import { xen } from './xen/index.js';

export const BACKENDS: Backend[] = [
  baremetal,
  bhyve,
  kvm,
  kvmNvmx,
  xen,
  acrn,
];

export function findBackend(name: string): Backend | undefined {
  return BACKENDS.find((b) => b.name === name);
}
