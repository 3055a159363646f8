// Which (backend, variant) pairs a campaign runs, from --backend NAME[/VARIANT] filters.
import type { Backend } from '../backends/api.js';

export interface Target {
  backend: Backend;
  variant: string;
}

export class TargetError extends Error {}

/**
 * Resolve filters like "bhyve", "bhyve/prefix", "kvm/v4.11". With no filter: every
 * variant of every hypervisor backend (the bare-metal baseline only when named).
 */
export function resolveTargets(backends: Backend[], filters: string[]): Target[] {
  if (filters.length === 0) {
    return backends.filter((b) => b.name !== 'baremetal').flatMap((b) => b.variants.map((v) => ({ backend: b, variant: v.name })));
  }
  const out: Target[] = [];
  for (const f of filters) {
    const [name, variant] = f.split('/', 2) as [string, string | undefined];
    const b = backends.find((x) => x.name === name);
    if (!b) throw new TargetError(`unknown backend '${name}' (known: ${backends.map((x) => x.name).join(', ')})`);
    if (variant === undefined) {
      for (const v of b.variants) out.push({ backend: b, variant: v.name });
    } else {
      if (!b.variants.some((v) => v.name === variant)) {
        throw new TargetError(`backend '${name}' has no variant '${variant}' (it has: ${b.variants.map((v) => v.name).join(', ')})`);
      }
      out.push({ backend: b, variant });
    }
  }
  return out;
}
