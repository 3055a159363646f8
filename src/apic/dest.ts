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

/**
 * What a local APIC's destination logic matches against (SDM 10.6.2.1-2, 10.12.10): its APIC
 * ID, its logical destination (LDR[31:24] in xAPIC mode; the derived 32-bit logical ID in
 * x2APIC mode) and, in xAPIC mode, the DFR model. Programmable by the guest (lapic_write).
 */
export interface ApicAddr {
  id: number;
  /** The LDR as read: xAPIC bits 31:24 hold the logical ID; x2APIC: cluster << 16 | 1 << (id & 15). */
  ldr: number;
  /** xAPIC DFR model: true flat (0xF), false cluster (0x0). */
  flat: boolean;
}

/** x2APIC logical ID derived from the x2APIC ID (SDM 10.12.10.2). */
export function x2apicLdr(id: number): number {
  return (((id >>> 4) << 16) | (1 << (id & 15))) >>> 0;
}

/**
 * The state a vCPU starts with: APIC ID `id` (default i), and the logical destination an OS
 * leaves it with — xAPIC flat model with LDR bit i (the base language's assumption, kept for
 * backward compatibility), x2APIC the derived logical ID.
 */
export function initialAddr(mode: ApicMode, cpu: number, id: number): ApicAddr {
  if (mode === 'x2apic') return { id, ldr: x2apicLdr(id), flat: true };
  return { id, ldr: cpu < 8 ? ((1 << cpu) << 24) >>> 0 : 0, flat: true };
}

/** Whether one local APIC accepts a destination (SDM 10.6.2.1-2, 10.12.10). */
export function matchesAddr(mode: ApicMode, a: ApicAddr, logical: boolean, dest: number): boolean {
  if (mode === 'x2apic') {
    if (dest === 0xffffffff) return true; // broadcast, physical or logical (SDM 10.12.9)
    if (!logical) return a.id === dest;
    return a.ldr >>> 16 === dest >>> 16 && (a.ldr & dest & 0xffff) !== 0;
  }
  if (dest === 0xff) return true; // physical broadcast; logical 0xFF: all (*choice*, as flat/cluster broadcast)
  if (!logical) return a.id === dest;
  const lid = a.ldr >>> 24;
  if (a.flat) return (lid & dest) !== 0;
  return lid >>> 4 === dest >>> 4 && (lid & dest & 0xf) !== 0;
}

/**
 * Bitmask of the vCPUs a message addresses, from each vCPU's programmed addressing state.
 * With the initial state it agrees with resolveDest (vCPU i has ID i and LDR bit i).
 */
export function matchDest(
  mode: ApicMode, addrs: readonly ApicAddr[], self: number,
  shorthand: Shorthand, logical: boolean, dest: number,
): number {
  const all = (1 << addrs.length) - 1;
  switch (shorthand) {
    case 'self': return 1 << self;
    case 'all': return all;
    case 'others': return all & ~(1 << self);
    default: break;
  }
  let mask = 0;
  for (let i = 0; i < addrs.length; i++) if (matchesAddr(mode, addrs[i]!, logical, dest)) mask |= 1 << i;
  return mask;
}
