// KVM's software local APIC (arch/x86/kvm/lapic.c, v4.10 and v4.11 forms) on top of the
// virtual-APIC page: acceptance, highest-IRR search, PPR update, "has interrupt" checks.
// With APICv active the lapic.c IRR/ISR/TPR/PPR *are* VIRR/VISR/VTPR/VPPR.
import { computePpr, vsAdd, vsDel, vsHighest } from '../../apic/vecset.js';
import { REQ_EVENT, REQ_NMI } from './consts.js';
import { kvm_make_request, kvm_vcpu_kick, vmx_deliver_interrupt } from './sender.js';
import type { LapicReadReg } from '../../scenario/types.js';
import { apic_enabled, type Kvm, type KvmVcpu } from './state.js';
import { kvm_make_scan_ioapic_request } from './ioapic.js';
import { vmx_sync_pir_to_irr } from './sync.js';
import { recalculate_apic_map } from './apic_map.js';
import { apic_get_tmcct, kvm_timer_sw_disable } from './timer.js';

/** apic_find_highest_irr: v4.10 first syncs PIR (APICv), v4.11 only searches IRR. */
export function apic_find_highest_irr(kvm: Kvm, t: KvmVcpu): number {
  if (kvm.code.sync === 'v4.10') vmx_sync_pir_to_irr(kvm, t);
  return vsHighest(t.vapic.virr);
}

export function kvm_lapic_find_highest_irr(kvm: Kvm, t: KvmVcpu): number {
  return apic_find_highest_irr(kvm, t);
}

/** __apic_update_ppr (v4.11 name; the v4.10 apic_update_ppr has the same computation). Returns "dropped". */
export function __apic_update_ppr(t: KvmVcpu): boolean {
  const va = t.vapic;
  const old = va.vppr;
  va.vppr = computePpr(va.vtpr, vsHighest(va.visr));
  return va.vppr < old;
}

/**
 * apic_has_interrupt_for_ppr (v4.11): "if (kvm_x86_ops.sync_pir_to_irr) highest_irr = sync_pir_to_irr(vcpu); else
 * highest_irr = apic_find_highest_irr(apic);" — the hook is NULL with enable_apicv=0 (hardware_setup).
 */
function apic_has_interrupt_for_ppr(kvm: Kvm, t: KvmVcpu, ppr: number): number {
  const highest = kvm.code.apicv ? vmx_sync_pir_to_irr(kvm, t) : vsHighest(t.vapic.virr);
  if (highest === -1 || (highest & 0xf0) <= ppr) return -1;
  return highest;
}

/** apic_update_ppr: KVM_REQ_EVENT when PPR dropped (v4.11: and something became deliverable). */
export function apic_update_ppr(kvm: Kvm, t: KvmVcpu): void {
  const dropped = __apic_update_ppr(t);
  if (!dropped) return;
  if (kvm.code.sync === 'v4.10' || apic_has_interrupt_for_ppr(kvm, t, t.vapic.vppr) !== -1) {
    kvm_make_request(t, REQ_EVENT);
  }
}

/** kvm_apic_has_interrupt: the highest IRR vector above PPR, or −1. */
export function kvm_apic_has_interrupt(kvm: Kvm, t: KvmVcpu): number {
  if (kvm.code.sync === 'v4.10') {
    apic_update_ppr(kvm, t);
    const highest = apic_find_highest_irr(kvm, t);
    if (highest === -1 || (highest & 0xf0) <= t.vapic.vppr) return -1;
    return highest;
  }
  __apic_update_ppr(t);
  return apic_has_interrupt_for_ppr(kvm, t, t.vapic.vppr);
}

/** kvm_cpu_has_interrupt (irq.c): no PIC in this model, so the LAPIC decides. */
export function kvm_cpu_has_interrupt(kvm: Kvm, t: KvmVcpu): boolean {
  return kvm_apic_has_interrupt(kvm, t) !== -1;
}

/** kvm_inject_nmi (x86.c). */
export function kvm_inject_nmi(t: KvmVcpu): void {
  t.nmiQueued++;
  kvm_make_request(t, REQ_NMI);
}

/**
 * __apic_accept_irq for APIC_DM_FIXED / APIC_DM_NMI. A fixed message to a software-disabled APIC
 * is discarded ("FIXME add logic for vcpu on reset": `if (unlikely(!apic_enabled(apic)))
 * break;` before the TMR update and the posting, in every tree from 2011 to today), and the
 * result, 0, tells ioapic_service not to set Remote IRR. No illegal-vector check: KVM v4.x posts
 * vectors 0-15 like any other. `me` is the pCPU the acceptance runs on (−1: device context).
 * Returns 1 when accepted.
 */
export function __apic_accept_irq(kvm: Kvm, t: KvmVcpu, vector: number, level: boolean, nmi: boolean, me: number): number {
  if (nmi) {
    kvm_inject_nmi(t);
    kvm_vcpu_kick(t, me);
    return 1;
  }
  // Diagnostics: a vector 0-15 reached the acceptance path (KVM keeps no ESR, enabled APIC or not).
  if (vector < 16) t.illegalVectorSeen = true;
  if (!apic_enabled(t)) return 0;
  if (level) vsAdd(t.vapic.tmr, vector);
  else vsDel(t.vapic.tmr, vector);
  vsDel(t.tmrKeptByVtd, vector);
  vsDel(t.tmrKeptBySelfIpi, vector);
  vsDel(t.edgeLostByHashing, vector);
  vmx_deliver_interrupt(kvm, t, vector, me);
  return 1;
}

/**
 * kvm_lapic_reg_write(APIC_SPIV), reached after the write's VM exit (xAPIC: APIC-write exit,
 * kvm_apic_write_nodecode; x2APIC: WRMSR 0x80F is intercepted, kvm_x2apic_msr_write). The
 * mask is 0x3ff (APIC_SPIV_DIRECTED_EOI only when LVR advertises it, which it does not with
 * KVM's own I/O APIC). apic_set_spiv: when the enable bit changes, the APIC map is rebuilt
 * (v4.x recalculate_apic_map; v6.x apic_map_dirty, then kvm_recalculate_apic_map at the end of
 * kvm_lapic_reg_write), which ends with kvm_make_scan_ioapic_request: KVM_REQ_SCAN_IOAPIC to
 * every vCPU. A disable also sets every LVT mask bit, runs apic_update_lvtt (the mode is unchanged) and zeroes
 * lapic_timer.pending (the timer's hrtimer keeps running; LINT is not modelled). Nothing touches
 * IRR, ISR, PIR or the VMCS: what is pending stays deliverable by the CPU.
 */
export function kvm_lapic_write_spiv(kvm: Kvm, t: KvmVcpu, val: number): void {
  const was = apic_enabled(t);
  t.svr = val & 0x3ff;
  if (!apic_enabled(t)) kvm_timer_sw_disable(t);
  if (was === apic_enabled(t)) return;
  // v6.12's logical map leaves software-disabled APICs out; v4.x's ignores SVR (rebuilt all the same).
  recalculate_apic_map(kvm);
  kvm_make_scan_ioapic_request(kvm, (1 << kvm.vcpus.length) - 1);
}

/**
 * kvm_lapic_set_version: APIC_VERSION (0x14, "the version for Xeon and Pentium 8.4.8") with
 * the number of LVT entries minus one in bits 23:16. v4.x: KVM_APIC_LVT_NUM = 6; v6.x:
 * nr_lvt_entries = KVM_APIC_MAX_NR_LVT_ENTRIES (7) − !(mcg_cap & MCG_CMCI_P), i.e. 6 unless the
 * VMM advertises CMCI (the model's VMM does not). APIC_LVR_DIRECTED_EOI only with a split
 * irqchip (!ioapic_in_kernel); the model's I/O APIC is KVM's own. [lapic.c
 * kvm_apic_set_version, kvm_apic_calc_nr_lvt_entries: torvalds/linux 000d75b0b186 and a
 * v4.19-era copy in the library; KVM_APIC_LVT_NUM 6 in every v4.x lapic.h]
 */
export const KVM_APIC_VERSION = 0x14 | ((6 - 1) << 16);

/**
 * A guest read of ID, LDR, DFR, SVR, LVR or TMCCT, as __apic_read returns it (kvm_lapic_reg_read
 * after an exit, or the CPU from the virtual-APIC page, which is apic->regs). ID: xAPIC
 * kvm_apic_set_xapic_id writes vcpu_id << 24 at reset and the guest's value at an APIC_ID write; x2APIC the
 * ID is vcpu_id, read-only. TMCCT:
 * __apic_read → apic_get_tmcct (timer.ts).
 */
export function kvm_lapic_reg_read(kvm: Kvm, t: KvmVcpu, reg: LapicReadReg): number {
  switch (reg) {
    case 'id': return kvm.machine.apic === 'x2apic' ? t.vcpuId : (t.xapicId << 24) >>> 0;
    case 'ldr': return t.ldr;
    case 'dfr': return t.dfr;
    case 'svr': return t.svr;
    case 'version': return KVM_APIC_VERSION;
    case 'tmcct': return apic_get_tmcct(t);
  }
}

/**
 * Whether the read exits with APICv: APIC-register virtualization (SDM 29.4.2) serves ID,
 * version, LDR, DFR and SVR from the virtual-APIC page (xAPIC), and with virtualized x2APIC
 * mode KVM clears the MSR-bitmap read intercepts of 0x800-0x8ff except TMCCT (0x839) (vmx.c
 * vmx_disable_intercept_msr_read_x2apic loop + "TMCCT" re-enable in v4.x;
 * vmx_update_msr_bitmap_x2apic, kvm_lapic_readable_reg_mask in v6.x). TMCCT (0x390) is not in
 * the virtualized list either way: an APIC-access or RDMSR exit, emulated by kvm_lapic_reg_read.
 */
export function lapic_read_exits(t: KvmVcpu, reg: LapicReadReg): boolean {
  // Without APICv there is no APIC-register virtualization: every read but the TPR's is an APIC-access exit
  // (xAPIC) or an intercepted RDMSR (x2APIC: the read bitmap is all ones outside MSR_BITMAP_MODE_X2APIC_APICV).
  if (!t.apicvActive) return true;
  return reg === 'tmcct';
}
