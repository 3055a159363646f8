// KVM's software local APIC (arch/x86/kvm/lapic.c, v4.10 and v4.11 forms) on top of the
// virtual-APIC page: acceptance, highest-IRR search, PPR update, "has interrupt" checks.
// With APICv active the lapic.c IRR/ISR/TPR/PPR *are* VIRR/VISR/VTPR/VPPR.
import { computePpr, vsAdd, vsDel, vsHighest } from '../../apic/vecset.js';
import { REQ_EVENT, REQ_NMI } from './consts.js';
import { kvm_make_request, kvm_vcpu_kick, vmx_deliver_posted_interrupt } from './sender.js';
import type { Kvm, KvmVcpu } from './state.js';
import { vmx_sync_pir_to_irr } from './sync.js';

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

/** apic_has_interrupt_for_ppr (v4.11): syncs PIR first when APICv is active. */
function apic_has_interrupt_for_ppr(kvm: Kvm, t: KvmVcpu, ppr: number): number {
  const highest = vmx_sync_pir_to_irr(kvm, t);
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
 * __apic_accept_irq for APIC_DM_FIXED / APIC_DM_NMI (the APIC is always software-enabled
 * here). No illegal-vector check: KVM v4.x posts vectors 0-15 like any other. `me` is the
 * pCPU the acceptance runs on (−1: device context).
 */
export function __apic_accept_irq(kvm: Kvm, t: KvmVcpu, vector: number, level: boolean, nmi: boolean, me: number): void {
  if (nmi) {
    kvm_inject_nmi(t);
    kvm_vcpu_kick(t, me);
    return;
  }
  if (level) vsAdd(t.vapic.tmr, vector);
  else vsDel(t.vapic.tmr, vector);
  vmx_deliver_posted_interrupt(kvm, t, vector, me);
}
