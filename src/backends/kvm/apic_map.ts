// KVM's routing of fixed interrupts to local APICs (arch/x86/kvm/lapic.c, irq_comm.c): the
// optimized APIC map that recalculate_apic_map (v4.x) / kvm_recalculate_apic_map (v6.12) builds
// from every vCPU's ID, LDR, DFR (and, in v6.12, SVR), and kvm_irq_delivery_to_apic, which routes
// an IPI, an MSI or an I/O APIC message through that map (kvm_irq_delivery_to_apic_fast) or, when
// the map cannot answer, through kvm_apic_match_dest on every vCPU (the slow path). The physical
// map is indexed by APIC ID: the x2APIC ID is vcpu_id (the VMM's choice: machine.apicIds), the xAPIC
// ID is vcpu_id until the guest writes APIC_ID (kvm_apic_set_xapic_id).
//
// Physical part, read at Linux 6.12.19 (wishday/linux-6.12.y aa44b5f5b, arch/x86/kvm/lapic.c
// kvm_recalculate_phys_map, kvm_recalculate_apic_map, kvm_apic_match_physical_addr,
// kvm_apic_map_get_dest_lapic, kvm_irq_delivery_to_apic_fast), with kvm->arch.x2apic_format false (QEMU
// enables KVM_X2APIC_API_USE_32BIT_IDS only for APIC IDs above 255 or interrupt remapping): an xAPIC ID
// aliased to two vCPUs makes the whole map NULL (every message takes the slow path, every matching APIC
// accepts) and sets APICV_INHIBIT_REASON_PHYSICAL_ID_ALIASED; an xAPIC ID other than (u8)vcpu_id sets
// APICV_INHIBIT_REASON_APIC_ID_MODIFIED. The v4.x map (the "-" lines of Sean Christopherson's 2022
// "KVM: x86: Honor architectural behavior for aliased 8-bit APIC IDs" and the 2016 stable patch "KVM: x86:
// ignore SW-disabled APICs in the logical map"'s context, both in the library) keeps the first vCPU of an
// aliased xAPIC ID ("if (!apic_x2apic_mode(apic) && !new->phys_map[xapic_id]) new->phys_map[xapic_id] =
// apic;") and has no APICv inhibit.
//
// Read at: v4.10-v4.16 recalculate_apic_map, kvm_apic_map_get_logical_dest,
// kvm_apic_map_get_dest_lapic, kvm_irq_delivery_to_apic_fast (the kvm_kvzalloc map of
// 1e08ec4a130e "KVM: optimize apic interrupt delivery" as reshaped in v4.8; lapic.c copies in the
// library, e.g. the v4.12 kvzalloc conversion patch); v6.12 kvm_recalculate_phys_map /
// kvm_recalculate_logical_map (Sean Christopherson's 2023 series, in the library as patch mail:
// "Disable APIC logical map if logical ID covers multiple MDAs", "... if vCPUs are aliased in
// logical mode", both "Fixes: 1e08ec4a130e").
import { vsAdd } from '../../apic/vecset.js';
import type { Shorthand } from '../../scenario/types.js';
import { kvm_make_scan_ioapic_request } from './ioapic.js';
import { __apic_accept_irq } from './lapic.js';
import { apic_enabled, INHIBIT_APIC_ID_MODIFIED, INHIBIT_PHYSICAL_ID_ALIASED, type Kvm, type KvmVcpu } from './state.js';
import { kvm_set_or_clear_apicv_inhibit } from './apicv.js';

/** v4.x map->mode bits (OR-ed over the APICs); v6.12 logical_mode values reuse them. */
export const MODE_XAPIC_CLUSTER = 4;
export const MODE_XAPIC_FLAT = 8;
export const MODE_X2APIC = 16;
/** v6.12 KVM_APIC_MODE_SW_DISABLED (no enabled APIC with an LDR yet) and MAP_DISABLED. */
export const MODE_SW_DISABLED = 2;
export const MODE_MAP_DISABLED = 1;

/** Diagnostics tags: a vCPU the message addressed that the v4.x logical map did not hold. */
export const MAP_ALIASED = 'apic-map-logical-id-aliased';
export const MAP_MULTI_BIT = 'apic-map-logical-id-multiple-bits';
/** v6.12: a software-disabled APIC is left out of the logical map (an NMI to it is not sent). */
export const MAP_SW_DISABLED = 'apic-map-sw-disabled-apic-left-out';

export class KvmApicMap {
  /** v4.x: OR of the modes; v6.12: logical_mode. */
  mode = 0;
  /** v6.12: kvm->arch.apic_map is NULL (an aliased physical ID): kvm_irq_delivery_to_apic_fast answers nothing. */
  none = false;
  /** max_apic_id: 255, or the highest x2APIC ID above it. */
  maxApicId = 255;
  /** phys_map[APIC ID]: vCPU index or -1 (grown when max_apic_id grows). */
  phys = new Int8Array(256).fill(-1);
  /** xapic_flat_map[8]: vCPU index or -1. */
  readonly flat = new Int8Array(8).fill(-1);
  /** xapic_cluster_map[16][4]: vCPU index or -1. */
  readonly cluster = new Int8Array(64).fill(-1);
}

/** APIC_DFR_FLAT: the register as kvm_lapic_reg_write stores it (val | 0x0FFFFFFF). */
const APIC_DFR_FLAT = 0xffffffff;
const APIC_DFR_CLUSTER = 0x0fffffff;

function ffs0(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

/**
 * kvm_apic_map_get_logical_dest: where a logical ID lives in the map. Returns the slot base
 * (flat 0, cluster c*4 + 64 to tell them apart: negative = not optimized) and the bit mask.
 */
function get_logical_dest(map: KvmApicMap, dest: number): { base: number; mask: number } | undefined {
  switch (map.mode) {
    case MODE_XAPIC_FLAT: return { base: 0, mask: dest & 0xff };
    case MODE_XAPIC_CLUSTER: return { base: 8 + ((dest >>> 4) & 0xf) * 4, mask: dest & 0xf };
    // v6.12 SW_DISABLED: "Arbitrarily use the flat map so that @cluster isn't NULL", mask 0.
    case MODE_SW_DISABLED: return { base: 0, mask: 0 };
    default: return undefined;
  }
}

function slot(map: KvmApicMap, base: number, bit: number): number {
  return base < 8 ? map.flat[bit]! : map.cluster[base - 8 + bit]!;
}

function setSlot(map: KvmApicMap, base: number, bit: number, v: number): void {
  if (base < 8) map.flat[bit] = v;
  else map.cluster[base - 8 + bit] = v;
}

/**
 * recalculate_apic_map (v4.x) / kvm_recalculate_apic_map (v6.12): rebuild the logical part of the
 * map (the physical part is the identity). x2APIC logical destinations use the physical map
 * (cluster c, bit i = x2APIC ID 16c + i) in both trees. The caller makes KVM_REQ_SCAN_IOAPIC.
 */
export function recalculate_apic_map(kvm: Kvm): void {
  const map = kvm.map;
  map.flat.fill(-1);
  map.cluster.fill(-1);
  const v6 = kvm.code.apicMap === 'v6';
  map.mode = v6 ? MODE_SW_DISABLED : 0;
  map.none = false;
  // "u32 max_id = 255; /* enough space for any xAPIC ID */", grown to the highest x2APIC ID (vcpu_id).
  let maxId = 255;
  for (const t of kvm.vcpus) maxId = Math.max(maxId, t.vcpuId);
  if (maxId + 1 !== map.phys.length) map.phys = new Int8Array(maxId + 1);
  map.phys.fill(-1);
  map.maxApicId = maxId;
  const x2 = kvm.machine.apic === 'x2apic';
  let mismatch = false;
  for (const t of kvm.vcpus) {
    // kvm_recalculate_phys_map (v6.12) / the physical part of v4.x recalculate_apic_map.
    if (!x2 && t.xapicId !== (t.vcpuId & 0xff)) mismatch = true;
    const id = x2 ? t.vcpuId : t.xapicId;
    if (v6) {
      if (map.phys[id]! >= 0) { map.none = true; break; }
      map.phys[id] = t.id;
    } else if (map.phys[id]! < 0) {
      map.phys[id] = t.id;
    }
    if (x2) { map.mode = MODE_X2APIC; continue; }
    recalculate_logical(kvm, map, t, v6);
  }
  if (map.none) map.mode = MODE_MAP_DISABLED;
  if (!v6) return;
  // kvm_recalculate_apic_map's tail: "if (!new) kvm_set_apicv_inhibit(kvm, ..._PHYSICAL_ID_ALIASED)", "if
  // (xapic_id_mismatch) kvm_set_apicv_inhibit(kvm, APICV_INHIBIT_REASON_APIC_ID_MODIFIED)", each cleared
  // otherwise (LOGICAL_ID_ALIASED is not among VMX_REQUIRED_APICV_INHIBITS).
  kvm_set_or_clear_apicv_inhibit(kvm, INHIBIT_PHYSICAL_ID_ALIASED, map.none);
  kvm_set_or_clear_apicv_inhibit(kvm, INHIBIT_APIC_ID_MODIFIED, mismatch);
}

/** The logical part for one xAPIC (v6.12 kvm_recalculate_logical_map; v4.x recalculate_apic_map's loop body). */
function recalculate_logical(kvm: Kvm, map: KvmApicMap, t: KvmVcpu, v6: boolean): void {
  if (v6) {
    if (map.mode === MODE_MAP_DISABLED) return;
    // v6.12 kvm_recalculate_logical_map: software-disabled APICs are left out of the map.
    if (!apic_enabled(t)) return;
  }
  const ldr = t.ldr >>> 24;
  if (t.ldr === 0) {
    if (v6) return;
  } else {
    const mode = t.dfr === APIC_DFR_FLAT ? MODE_XAPIC_FLAT : MODE_XAPIC_CLUSTER;
    if (!v6) map.mode |= mode;
    else if (map.mode === MODE_SW_DISABLED) map.mode = mode;
    else if (map.mode !== mode) { map.mode = MODE_MAP_DISABLED; return; }
  }
  const d = get_logical_dest(map, ldr);
  if (!d || d.mask === 0) return;
  const bit = ffs0(d.mask);
  if (v6 && ((d.mask & (d.mask - 1)) !== 0 || slot(map, d.base, bit) >= 0)) {
    map.mode = MODE_MAP_DISABLED;
    return;
  }
  // v4.x: "if (mask) cluster[ffs(mask) - 1] = apic;" — the lowest bit only, last writer wins.
  setSlot(map, d.base, bit, t.id);
  void kvm;
}

/**
 * kvm_lapic_reg_write(APIC_ID) in xAPIC mode (x2APIC: read-only, "ret = 1"; the scenario language refuses
 * such writes): kvm_apic_set_xapic_id stores val >> 24 and marks the map dirty; kvm_recalculate_apic_map at
 * the end of kvm_lapic_reg_write rebuilds it (v4.x: recalculate_apic_map at once) and ends with
 * kvm_make_scan_ioapic_request. In v6.12 the rebuild also sets or clears the APICv inhibits (apicv.ts).
 */
export function kvm_lapic_write_id(kvm: Kvm, t: KvmVcpu, val: number): void {
  if (kvm.machine.apic === 'x2apic') return;
  t.xapicId = (val >>> 24) & 0xff;
  recalculate_apic_map(kvm);
  kvm_make_scan_ioapic_request(kvm, (1 << kvm.vcpus.length) - 1);
}

/** kvm_xapic_id / kvm_x2apic_id: the APIC ID physical destinations match. */
export function kvm_apic_id(kvm: Kvm, t: KvmVcpu): number {
  return kvm.machine.apic === 'x2apic' ? t.vcpuId : t.xapicId;
}

/**
 * kvm_lapic_reg_write(APIC_LDR / APIC_DFR) in xAPIC mode (x2APIC: read-only, "ret = 1"; the
 * scenario language refuses such writes): kvm_apic_set_ldr stores val & APIC_LDR_MASK
 * (0xff000000), DFR stores val | 0x0FFFFFFF; then the map is rebuilt (v4.x recalculate_apic_map
 * at once; v6.12 apic_map_dirty, kvm_recalculate_apic_map at the end of kvm_lapic_reg_write).
 * The rebuild ends with kvm_make_scan_ioapic_request: KVM_REQ_SCAN_IOAPIC (and a kick) to every vCPU,
 * whose EOI-exit bitmap follows only when it handles the request.
 */
export function kvm_lapic_write_ldr_dfr(kvm: Kvm, t: KvmVcpu, reg: 'ldr' | 'dfr', val: number): void {
  if (kvm.machine.apic === 'x2apic') return;
  if (reg === 'ldr') t.ldr = (val & 0xff000000) >>> 0;
  else t.dfr = (val | APIC_DFR_CLUSTER) >>> 0;
  recalculate_apic_map(kvm);
  kvm_make_scan_ioapic_request(kvm, (1 << kvm.vcpus.length) - 1);
}

/** The x2APIC / xAPIC broadcast a destination means (kvm_apic_broadcast after kvm_apic_mda). */
function is_broadcast(kvm: Kvm, dest: number, ipi: boolean): boolean {
  if (kvm.machine.apic === 'xapic') return dest === 0xff;
  // kvm_apic_mda with the broadcast quirk (x2apic_broadcast_quirk_disabled false, the default):
  // an 8-bit 0xFF from a device (MSI, I/O APIC) to an x2APIC target becomes X2APIC_BROADCAST.
  return dest === 0xffffffff || (!ipi && dest === 0xff);
}

/**
 * kvm_apic_match_dest for one vCPU: its own ID, LDR and DFR (kvm_apic_match_physical_addr,
 * kvm_apic_match_logical_addr); the same shape from v4.10 to v6.12.
 */
export function kvm_apic_match_dest(kvm: Kvm, t: KvmVcpu, src: number, shorthand: Shorthand, dest: number, logical: boolean): boolean {
  switch (shorthand) {
    case 'self': return t.id === src;
    case 'all': return true;
    case 'others': return t.id !== src;
    default: break;
  }
  if (is_broadcast(kvm, dest, src >= 0)) return true;
  if (!logical) return kvm_apic_match_physical_addr(kvm, t, dest);
  if (kvm.machine.apic === 'x2apic') {
    const ldr = t.ldr;
    return ldr >>> 16 === dest >>> 16 && (ldr & dest & 0xffff) !== 0;
  }
  const lid = t.ldr >>> 24;
  switch (t.dfr) {
    case APIC_DFR_FLAT: return (lid & dest) !== 0;
    case APIC_DFR_CLUSTER: return lid >>> 4 === dest >>> 4 && (lid & dest & 0xf) !== 0;
    default: return false; // "Bad DFR"
  }
}

/**
 * kvm_apic_match_physical_addr (v6.12; the v4.9+ form has the same hotplug hack): x2APIC mode matches the
 * x2APIC ID (vcpu_id); an xAPIC matches its xAPIC ID, or its x2APIC ID when the MDA does not fit 8 bits.
 */
function kvm_apic_match_physical_addr(kvm: Kvm, t: KvmVcpu, mda: number): boolean {
  if (kvm.machine.apic === 'x2apic' || mda > 0xff) return mda === t.vcpuId;
  return mda === t.xapicId;
}

/** Bitmask of the vCPUs kvm_apic_match_dest accepts (kvm_bitmap_or_dest_vcpus's slow form). */
export function kvm_match_dest_mask(kvm: Kvm, src: number, shorthand: Shorthand, dest: number, logical: boolean): number {
  let mask = 0;
  for (const t of kvm.vcpus) if (kvm_apic_match_dest(kvm, t, src, shorthand, dest, logical)) mask |= 1 << t.id;
  return mask;
}

/**
 * kvm_apic_map_get_dest_lapic without lowest priority: the vCPUs the fast path reaches, or −1
 * when it must fall back to the slow path (a shorthand other than self, a broadcast, a logical
 * destination the map's mode cannot resolve).
 */
function map_get_dest(kvm: Kvm, src: number, shorthand: Shorthand, dest: number, logical: boolean): number {
  if (shorthand === 'self' && src >= 0) return 1 << src;
  if (shorthand !== 'none') return -1;
  const map = kvm.map;
  // "if (!map || kvm_apic_is_broadcast_dest(...)) return false;"
  if (map.none || is_broadcast(kvm, dest, src >= 0)) return -1;
  if (!logical) {
    if (dest > map.maxApicId) return 0;
    const v = map.phys[dest]!;
    return v >= 0 ? 1 << v : 0;
  }
  if (map.mode === MODE_X2APIC) {
    // cluster = &phys_map[(dest >> 16) * 16], mask = dest & (0xffff >> (16 - cluster_size)).
    const offset = (dest >>> 16) * 16;
    let out = 0;
    for (let i = 0; i < 16; i++) {
      if (!(dest & (1 << i)) || offset + i > map.maxApicId) continue;
      const v = map.phys[offset + i]!;
      if (v >= 0) out |= 1 << v;
    }
    return out;
  }
  const d = get_logical_dest(map, dest);
  if (!d) return -1;
  let out = 0;
  for (let i = 0; i < (d.base < 8 ? 8 : 4); i++) {
    if (!(d.mask & (1 << i))) continue;
    const v = slot(map, d.base, i);
    if (v >= 0) out |= 1 << v;
  }
  return out;
}

/** A fixed, lowest-priority or NMI message as kvm_lapic_irq carries it. */
export interface KvmIrq { vector: number; level: boolean; nmi: boolean; shorthand: Shorthand; dest: number; logical: boolean; lowest?: boolean }

/** Diagnostics tag: a lowest-priority physical broadcast KVM turned into a fixed broadcast. */
export const LOWEST_PHYS_BROADCAST = 'lowest-priority-phys-broadcast-sent-fixed';

/** Diagnostics tag: a lowest-priority message vector hashing sent to a map slot with no APIC. */
export const LOWEST_ABSENT = 'lowest-priority-hashed-to-absent-apic';

/** kvm_vector_to_index: the (vector mod n)-th set bit of `bitmap` (find_next_bit from 0). */
function kvm_vector_to_index(vector: number, n: number, bitmap: number): number {
  const mod = vector % n;
  let idx = -1;
  for (let i = 0; i <= mod; i++) {
    idx++;
    while (idx < 32 && !(bitmap & (1 << idx))) idx++;
  }
  return idx;
}

function popcount(x: number): number {
  let n = 0;
  for (; x !== 0; x &= x - 1) n++;
  return n;
}

/** No vCPU: the message addresses no enabled APIC (r = -1). */
export const LP_NONE = -1;
/** Dropped: vector hashing chose a map slot with no APIC (kvm_apic_disabled_lapic_found). */
export const LP_ABSENT = -2;

/**
 * The vCPU a lowest-priority message goes to: kvm_apic_map_get_dest_lapic with vector hashing
 * (kvm_vector_hashing_enabled: the vector_hashing module parameter, default true since 4.7) on
 * the fast path — the index is taken over the MDA's bits in the cluster, "if (!(*dst)[lowest]) {
 * kvm_apic_disabled_lapic_found(kvm); *bitmap = 0; }" — and, when the map cannot answer, the slow
 * path of kvm_irq_delivery_to_apic: the hashed one among the addressed, software-enabled vCPUs.
 * A physical destination is the one APIC with that ID (no arbitration). Returns a vCPU, LP_NONE
 * or LP_ABSENT. Vector hashing is the default in every tree modelled (kvm_apic_compare_prio's
 * arbitration, without it, is not modelled).
 */
export function kvm_lowest_prio_target(kvm: Kvm, src: number, irq: KvmIrq): number {
  const dest = irq.dest;
  const map = kvm.map;
  if (irq.shorthand === 'none' && !map.none && !is_broadcast(kvm, dest, src >= 0)) {
    if (!irq.logical) {
      const v = dest <= map.maxApicId ? map.phys[dest]! : -1;
      return v >= 0 ? v : LP_NONE;
    }
    if (map.mode === MODE_X2APIC) {
      // cluster = &phys_map[offset], mask = dest & (0xffff >> (16 - cluster_size)): max_apic_id is at
      // least 255, so a cluster of 16 IDs below it.
      const offset = (dest >>> 16) * 16;
      const size = offset <= map.maxApicId ? Math.min(map.maxApicId - offset + 1, 16) : 0;
      const bitmap = dest & (0xffff >>> (16 - size)) & 0xffff;
      if (bitmap === 0) return LP_NONE;
      const v = map.phys[offset + kvm_vector_to_index(irq.vector, popcount(bitmap), bitmap)]!;
      return v >= 0 ? v : LP_ABSENT;
    }
    const d = get_logical_dest(map, dest);
    if (d) {
      if (d.mask === 0) return LP_NONE;
      const i = kvm_vector_to_index(irq.vector, popcount(d.mask), d.mask);
      const v = slot(map, d.base, i);
      return v >= 0 ? v : LP_ABSENT;
    }
  }
  let cand = 0;
  for (const t of kvm.vcpus) if (apic_enabled(t) && kvm_apic_match_dest(kvm, t, src, irq.shorthand, dest, irq.logical)) cand |= 1 << t.id;
  return cand === 0 ? LP_NONE : kvm_vector_to_index(irq.vector, popcount(cand), cand);
}

/**
 * What the oracle is told a lowest-priority message chose (ObsSink.arbitrated, before the event is
 * reported executed): nothing when it addresses no APIC at all (the reference then has nothing to
 * choose); the target; or, dropped by hashing, −1 (the reference then assumes the lowest-numbered
 * addressed vCPU, which is marked for whereStuck). In v6.12 a software-disabled APIC is left out
 * of the map: a dropped message that addressed one is reported as going there (it discards the
 * message, as KVM's drop does). Returns true when the drop is one bare metal makes no equivalent of
 * (the addressed enabled vCPUs were marked LOWEST_ABSENT).
 */
export function report_lowest_prio(kvm: Kvm, src: number, irq: KvmIrq, target: number): boolean {
  const addressed = kvm_match_dest_mask(kvm, src, irq.shorthand, irq.dest, irq.logical);
  if (addressed === 0) return false;
  if (!irq.logical && irq.dest === 0xff) {
    // "kvm: apic: phys broadcast and lowest prio": sent as fixed to every APIC. Bare metal's choice
    // is taken to be the lowest-numbered; the others' copies are the extra ones (explain).
    const first = 31 - Math.clz32(addressed & -addressed);
    for (const t of kvm.vcpus) if (t.id !== first && (addressed & (1 << t.id))) vsAdd(t.lowestSentFixed, irq.vector);
    kvm.sink.arbitrated?.(first);
    return false;
  }
  let lost = false;
  if (target === LP_ABSENT) {
    // An addressed APIC that is software-disabled is a choice bare metal may make, with the same
    // outcome (discarded): v6.12 leaves it out of the map, so its slot is the empty one.
    for (const t of kvm.vcpus) {
      if ((addressed & (1 << t.id)) && !apic_enabled(t)) {
        kvm.sink.arbitrated?.(t.id);
        return false;
      }
    }
    for (const t of kvm.vcpus) {
      if (!(addressed & (1 << t.id))) continue;
      if (!apic_enabled(t)) continue;
      vsAdd(t.missedByMap, irq.vector);
      t.missedByMapWhy[irq.vector] = LOWEST_ABSENT;
      if (!irq.level) vsAdd(t.edgeLostByHashing, irq.vector);
      lost = true;
    }
  }
  if (target === LP_NONE) {
    // Every addressed APIC is software-disabled: any choice discards it.
    kvm.sink.arbitrated?.(31 - Math.clz32(addressed & -addressed));
    return false;
  }
  kvm.sink.arbitrated?.(target);
  return lost;
}

/**
 * kvm_irq_delivery_to_apic: kvm_irq_delivery_to_apic_fast through the map, else every vCPU
 * kvm_apic_match_dest accepts. Returns r: −1 when no APIC was reached, else the number that
 * accepted (ioapic_service sets Remote IRR "if (ret && level)"). `src` is the sending vCPU (−1
 * for a device); `me` the pCPU the acceptance runs on.
 */
export function kvm_irq_delivery_to_apic(kvm: Kvm, src: number, irq: KvmIrq, me: number): number {
  // v6.12 kvm_irq_delivery_to_apic_fast: "*r = 0" as soon as the map answers, even when it names no APIC
  // (a physical ID nobody has, an MDA of empty slots); v4.x set r = 0 only at the first APIC reached.
  const r0 = kvm.code.apicMap === 'v6' && fast_path_answers(kvm, src, irq) ? 0 : -1;
  // Diagnostics: no path checks the vector (no ESR at all), also where no APIC accepts it (a lowest-priority message
  // no enabled APIC takes): every addressed vCPU misses the Receive Illegal Vector bare metal sets.
  if (!irq.nmi && irq.vector < 16) {
    const addressed = kvm_match_dest_mask(kvm, src, irq.shorthand, irq.dest, irq.logical);
    for (const t of kvm.vcpus) if (addressed & (1 << t.id)) t.illegalVectorSeen = true;
  }
  // "kvm: apic: phys broadcast and lowest prio": delivered as fixed, to every APIC.
  const lowest = irq.lowest === true && !(!irq.logical && irq.dest === 0xff);
  if (lowest) {
    const target = kvm_lowest_prio_target(kvm, src, irq);
    return target >= 0 ? __apic_accept_irq(kvm, kvm.vcpus[target]!, irq.vector, irq.level, irq.nmi, me) : r0;
  }
  let reach = map_get_dest(kvm, src, irq.shorthand, irq.dest, irq.logical);
  if (reach >= 0 && irq.logical && kvm.map.mode !== MODE_X2APIC) {
    // Diagnostics: an addressed vCPU the v4.x map did not hold (aliased or multi-bit LDR).
    const want = kvm_match_dest_mask(kvm, src, irq.shorthand, irq.dest, irq.logical) & ~reach;
    for (const t of kvm.vcpus) if (want & (1 << t.id)) missed_by_map(t, irq.vector, irq.nmi, irq.dest);
  } else if (reach >= 0 && !irq.logical && irq.shorthand === 'none') {
    // Diagnostics: a vCPU with the addressed xAPIC ID that the v4.x map does not hold (first one wins).
    const want = kvm_match_dest_mask(kvm, src, irq.shorthand, irq.dest, irq.logical) & ~reach;
    for (const t of kvm.vcpus) if (want & (1 << t.id)) missed_phys(t, irq.vector, irq.nmi);
  } else if (reach < 0) {
    reach = kvm_match_dest_mask(kvm, src, irq.shorthand, irq.dest, irq.logical);
  }
  let r = r0;
  for (const t of kvm.vcpus) {
    if (!(reach & (1 << t.id))) continue;
    if (r < 0) r = 0;
    r += __apic_accept_irq(kvm, t, irq.vector, irq.level, irq.nmi, me);
  }
  return r;
}

/** Whether kvm_apic_map_get_dest_lapic returns true (the fast path answers) for this message. */
function fast_path_answers(kvm: Kvm, src: number, irq: KvmIrq): boolean {
  if (irq.shorthand !== 'none') return irq.shorthand === 'self' && src >= 0;
  const map = kvm.map;
  if (map.none || is_broadcast(kvm, irq.dest, src >= 0)) return false;
  if (!irq.logical) return true;
  return map.mode === MODE_X2APIC || get_logical_dest(map, irq.dest) !== undefined;
}

/** Diagnostics tag: an xAPIC ID two vCPUs share, which the v4.x physical map gives to the first. */
export const MAP_PHYS_ALIASED = 'apic-map-physical-id-aliased';

function missed_phys(t: KvmVcpu, vector: number, nmi: boolean): void {
  if (nmi) { t.nmiMissedWhy = MAP_PHYS_ALIASED; return; }
  if (!apic_enabled(t)) return;
  vsAdd(t.missedByMap, vector);
  t.missedByMapWhy[vector] = MAP_PHYS_ALIASED;
}

/** Diagnostics: record why an addressed vCPU did not receive a vector. */
function missed_by_map(t: KvmVcpu, vector: number, nmi: boolean, dest: number): void {
  if (!apic_enabled(t)) {
    // v6.12 leaves it out of the map: a fixed message would have been discarded anyway.
    if (nmi) t.nmiMissedWhy = MAP_SW_DISABLED;
    return;
  }
  const lid = t.ldr >>> 24;
  // The vCPU sits in the slot of its lowest LDR bit: if the MDA does not name that bit, the
  // multi-bit LDR is the cause; otherwise another APIC overwrote the slot.
  const bits = t.dfr === APIC_DFR_FLAT ? lid : lid & 0xf;
  const why = (dest & bits & -bits) !== 0 ? MAP_ALIASED : MAP_MULTI_BIT;
  if (nmi) {
    t.nmiMissedWhy = why;
    return;
  }
  vsAdd(t.missedByMap, vector);
  t.missedByMapWhy[vector] = why;
}
