// Destination resolution for IPIs and MSIs (SDM 10.6.2, 10.12.10). vCPU i has APIC ID i;
// in xAPIC flat logical mode its LDR is 1 << i, in x2APIC its logical ID is derived from
// the APIC ID (cluster i >> 4, bit i & 15). Shared helper: the reference uses it, and a
// backend may use it where the hypervisor's own matching is not under study.
import type { ApicMode, Shorthand } from '../scenario/types.js';

/** Bitmask of destination vCPUs (bit i = vCPU i). */
export function resolveDest(
  mode: ApicMode, vcpus: number, self: number,
  shorthand: Shorthand, logical: boolean, dest: number,
): number {
  const all = (1 << vcpus) - 1;
  switch (shorthand) {
    case 'self': return 1 << self;
    case 'all': return all;
    case 'others': return all & ~(1 << self);
    default: break;
  }
  if (!logical) {
    if (mode === 'xapic' && dest === 0xff) return all;
    return dest < vcpus ? 1 << dest : 0;
  }
  if (mode === 'xapic' && dest === 0xff) return all;
  // Flat model (xAPIC) and cluster 0 (x2APIC) coincide for up to 8 vCPUs: bit i of the
  // MDA selects vCPU i.
  return dest & all;
}
