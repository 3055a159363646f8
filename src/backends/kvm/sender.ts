// The posting side: vmx_deliver_posted_interrupt and its helpers (arch/x86/kvm/vmx.c),
// kvm_vcpu_kick / kvm_vcpu_wake_up (virt/kvm/kvm_main.c), and the VT-d IOMMU that posts
// device MSIs by itself. A sender runs on another pCPU (`me`: the sending vCPU's pCPU, or -1
// for device context) and is one atomic step: the race windows are on the target's side.
import { vsAdd, vsHas } from '../../apic/vecset.js';
import { Mode, OnFate, PHYS_POSTED_INTR, PHYS_POSTED_WAKEUP, PHYS_RESCHEDULE, REQ_EVENT } from './consts.js';
import { POSTED_INTR_WAKEUP_VECTOR, pi_test_and_set_on, pi_test_and_set_pir } from './pi_desc.js';
import type { Kvm, KvmVcpu } from './state.js';

export function kvm_make_request(t: KvmVcpu, req: number): void {
  t.requests |= req;
}

/** kvm_vcpu_wake_up: swake_up of a vCPU sleeping in kvm_vcpu_block. */
export function kvm_vcpu_wake_up(t: KvmVcpu): boolean {
  if (!t.blocked) return false;
  t.woken = true;
  return true;
}

/** kvm_vcpu_exiting_guest_mode: cmpxchg(IN_GUEST_MODE → EXITING_GUEST_MODE), returns the old mode. */
export function kvm_vcpu_exiting_guest_mode(t: KvmVcpu): Mode {
  const old = t.mode;
  if (old === Mode.IN) t.mode = Mode.EXITING;
  return old;
}

/**
 * kvm_vcpu_kick: wake a blocked vCPU; else, from another pCPU, if kvm_arch_vcpu_should_kick
 * (the cmpxchg IN → EXITING succeeded) send a reschedule IPI, which forces a VM exit.
 * Returns whether it had any effect.
 */
export function kvm_vcpu_kick(t: KvmVcpu, me: number): boolean {
  if (kvm_vcpu_wake_up(t)) return true;
  if (t.id !== me && kvm_vcpu_exiting_guest_mode(t) === Mode.IN) {
    t.phys |= PHYS_RESCHEDULE;
    return true;
  }
  return false;
}

/** kvm_vcpu_trigger_posted_interrupt: send POSTED_INTR_VECTOR only if the target is IN_GUEST_MODE. */
export function kvm_vcpu_trigger_posted_interrupt(t: KvmVcpu): boolean {
  if (t.mode === Mode.IN) {
    // WARN_ON_ONCE(pi_test_sn): SN is only set for preempted vCPUs, never IN_GUEST_MODE.
    t.phys |= PHYS_POSTED_INTR;
    t.pi.fate = OnFate.IpiPending;
    return true;
  }
  return false;
}

/** vmx_deliver_posted_interrupt, as reached from __apic_accept_irq with APICv active. */
export function vmx_deliver_posted_interrupt(kvm: Kvm, t: KvmVcpu, vector: number, me: number): void {
  // vmx_deliver_nested_posted_interrupt: L1 does not use posted interrupts for L2 here.
  if (pi_test_and_set_pir(vector, t.pi)) return;
  if (kvm.code.sender === 'v4.10') {
    const r = pi_test_and_set_on(t.pi);
    kvm_make_request(t, REQ_EVENT);
    if (r || !kvm_vcpu_trigger_posted_interrupt(t)) {
      if (!kvm_vcpu_kick(t, me) && !r) t.pi.fate = OnFate.KickNoop;
    }
    return;
  }
  // b95234c84004: "If a previous notification has sent the IPI, nothing to do."
  if (pi_test_and_set_on(t.pi)) return;
  if (!kvm_vcpu_trigger_posted_interrupt(t)) {
    if (!kvm_vcpu_kick(t, me)) t.pi.fate = OnFate.KickNoop;
  }
}

/**
 * kvm_x86_ops->deliver_interrupt (v6.12 vmx_deliver_interrupt), reached from __apic_accept_irq: with
 * apic->apicv_active the posting above; without it (vmx_deliver_posted_interrupt returns -1: "if
 * (!vcpu->arch.apic->apicv_active) return -1;") the software path: kvm_lapic_set_irr (IRR bit in apic->regs,
 * irr_pending), KVM_REQ_EVENT, kvm_vcpu_kick — a blocked vCPU is woken, one IN_GUEST_MODE gets a reschedule IPI
 * (an external-interrupt exit), one in KVM sees the request at its exit-request check. The pre-v6 trees have no
 * non-APICv variant here.
 */
export function vmx_deliver_interrupt(kvm: Kvm, t: KvmVcpu, vector: number, me: number): void {
  if (t.apicvActive) {
    vmx_deliver_posted_interrupt(kvm, t, vector, me);
    return;
  }
  vsAdd(t.vapic.virr, vector);
  kvm_make_request(t, REQ_EVENT);
  kvm_vcpu_kick(t, me);
}

/**
 * VT-d posted-interrupt remapping of a device MSI (VT-d spec 9.11, IRTE in posted format):
 * the IOMMU sets the PIR bit and, if ON was clear and SN is clear, sets ON and sends NV to
 * NDST, in one atomic descriptor update. It never touches vcpu->requests and does not look
 * at vcpu->mode.
 */
export function vtd_post_interrupt(t: KvmVcpu, vector: number): void {
  if (vector < 16) t.illegalVectorPosted = true; // diagnostics: no Receive Illegal Vector, the vector is in PIR
  // Diagnostics: the posting never touches TMR; a level message's bit stays set (shared vector, issue 8).
  if (vsHas(t.vapic.tmr, vector)) vsAdd(t.tmrKeptByVtd, vector);
  vsAdd(t.pi.pir, vector);
  if (t.pi.on || t.pi.sn) return;
  t.pi.on = true;
  t.pi.fate = OnFate.IpiPending;
  t.phys |= t.pi.nv === POSTED_INTR_WAKEUP_VECTOR ? PHYS_POSTED_WAKEUP : PHYS_POSTED_INTR;
}
