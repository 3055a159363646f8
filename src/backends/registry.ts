// The built-in backends. A user's own model can be loaded with --backend-module (src/backends/load.ts).
import type { Backend } from './api.js';
import { baremetal } from './baremetal/index.js';

export const BACKENDS: Backend[] = [
  baremetal,
];

export function findBackend(name: string): Backend | undefined {
  return BACKENDS.find((b) => b.name === name);
}
