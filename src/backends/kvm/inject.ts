// KVM's software LAPIC injection path, used when APICv is not active (kvm_intel.enable_apicv=0, a CPU
// without APICv): the interrupt part of kvm_check_and_inject_events (x86.c), irq.c's
// kvm_cpu_has_injectable_intr / kvm_cpu_get_interrupt, lapic.c's kvm_get_apic_interrupt and apic_set_eoi,
// update_cr8_intercept, and vmx.c's vmx_inject_irq, vmx_enable_irq_window, vmx_update_cr8_intercept,
// handle_tpr_below_threshold. apic->regs is the virtual-APIC page (VIRTUAL_APIC_PAGE_ADDR, the TPR shadow), so the
// software IRR/ISR/TMR/TPR/PPR are the VApic fields; no PIR, no RVI/SVI, no evaluation by the processor.
// Read at Linux v6.12 (x86.c, irq.c, lapic.c, vmx/vmx.c: the shapes below are those of the library's v6.x copies of
// these functions, torvalds/linux and v6.x patch mail; vmx_deliver_interrupt and hardware_setup's
// "if (!enable_apicv) vt_x86_ops.sync_pir_to_irr = NULL" read in v6.x copies in the library).
import { vsAdd, vsDel, vsHas, vsHighest } from '../../apic/vecset.js';
import { REQ_EVENT, REQ_NMI } from './consts.js';
import { apic_has_pending_timer } from './timer.js';
import { eoi_level_why, vmx_vm_exit } from './exits.js';
import { kvm_ioapic_eoi_not_trapped, kvm_ioapic_update_eoi } from './ioapic.js';
import { __apic_update_ppr, apic_update_ppr, kvm_apic_has_interrupt } from './lapic.js';
import { nested_exit_on_intr } from './sync.js';
import { kvm_make_request } from './sender.js';
import { apic_enabled, type Kvm, type KvmVcpu } from './state.js';

export const EBUSY = -16;

/** Tag: an NMI queued between the requests phase and the injection, overtaken by the interrupt acknowledged there. */
export const NMI_QUEUED_BEHIND_IRQ = 'nmi-queued-behind-irq-injection';
/** Tag: a pending vector stranded by a TPR write that did not exit: the threshold was not armed while software-disabled. */
export const TPR_THRESHOLD_NOT_ARMED = 'tpr-threshold-not-armed-while-sw-disabled';
/** Tag: a timer expiry held in lapic_timer.pending, overtaken by a lower interrupt acknowledged at injection. */
export const TIMER_PENDING_BEHIND_IRQ = 'timer-pending-behind-irq-injection';

/**
 * kvm_cpu_has_injectable_intr (irq.c; no PIC/ExtINT here): "if (!is_guest_mode(v) && kvm_vcpu_apicv_active(v))
 * return 0;" — with APICv the interrupt reaches L1 through RVI, never through this path.
 */
export function kvm_cpu_has_injectable_intr(kvm: Kvm, t: KvmVcpu): boolean {
  if (!t.nested.guestMode && t.apicvActive) return false;
  return kvm_apic_has_interrupt(kvm, t) !== -1;
}

/** vmx_interrupt_blocked: not blocked in L2 when L1 takes external-interrupt exits; else !IF or STI/MOV-SS blocking. */
function vmx_interrupt_blocked(kvm: Kvm, t: KvmVcpu): boolean {
  if (t.nested.guestMode && nested_exit_on_intr(kvm)) return false;
  return !t.guest.IF || t.guest.shadow;
}

/**
 * vmx_interrupt_allowed(vcpu, for_injection = true): -EBUSY while nested_run_pending, and for an L2 that must exit
 * to L1 instead ("An IRQ must not be injected into L2 if it's supposed to VM-Exit"); else !vmx_interrupt_blocked.
 */
export function vmx_interrupt_allowed_for_injection(kvm: Kvm, t: KvmVcpu): number {
  if (t.nested.runPending) return EBUSY;
  if (t.nested.guestMode && nested_exit_on_intr(kvm)) return EBUSY;
  return vmx_interrupt_blocked(kvm, t) ? 0 : 1;
}

/**
 * kvm_get_apic_interrupt: the highest IRR vector above PPR is acknowledged at injection time — apic_clear_irr,
 * apic_set_isr, __apic_update_ppr (no Hyper-V auto-EOI here). This is the guest-visible IRR→ISR move, so the
 * delivery is reported here, before the VM entry that will take it.
 */
function kvm_get_apic_interrupt(kvm: Kvm, t: KvmVcpu): number {
  const vector = kvm_apic_has_interrupt(kvm, t);
  if (vector === -1) return -1;
  vsDel(t.vapic.virr, vector);
  vsAdd(t.vapic.visr, vector);
  __apic_update_ppr(t);
  // Diagnostics: an NMI this acknowledgement overtakes, queued after the requests phase (process_nmi has not seen
  // it: nmi_pending is 0).
  if (t.nmiQueued > 0 || (t.requests & REQ_NMI) !== 0) t.nmiQueuedAtIrqAck = true;
  return vector;
}

/**
 * The interrupt part of kvm_check_and_inject_events (v6.12), after the NMI part: `canInject` is
 * !kvm_event_needs_reinjection and no NMI injected in this pass. Returns -EBUSY for the caller's immediate exit.
 */
export function inject_pending_irq(kvm: Kvm, t: KvmVcpu, canInject: boolean): number {
  if (!kvm_cpu_has_injectable_intr(kvm, t)) return 0;
  if (!t.apicvActive) kvm.sink.step(t.id, 'kvm_cpu_has_injectable_intr');
  const r = canInject ? vmx_interrupt_allowed_for_injection(kvm, t) : EBUSY;
  if (r < 0) return r;
  if (r) {
    // kvm_cpu_get_interrupt → kvm_get_apic_interrupt; kvm_queue_interrupt(vcpu, irq, false); vmx_inject_irq.
    const irq = kvm_get_apic_interrupt(kvm, t);
    if (irq !== -1) {
      kvm.sink.step(t.id, 'vmx_inject_irq');
      // Diagnostics: a timer expiry held in lapic_timer.pending for the loop tail that this acknowledgement
      // overtakes (a higher vector: priority inversion; the same one: bare metal merged them, KVM delivers both).
      // The earlier mark stays through the delivery of the timer instance it named.
      const prevHeld = t.timerPendingAtIrqAck;
      const held = apic_has_pending_timer(t) && t.timer.vector >= irq ? t.timer.vector : -1;
      if (held >= 0) t.timerPendingAtIrqAck = held;
      kvm.sink.deliver(t.id, irq, false, 'vmentry-inject');
      if (held < 0 && irq === prevHeld) t.timerPendingAtIrqAck = -1;
      // Diagnostics, as at a VID delivery: the instance a missed message owed, or one landed while disabled, is taken.
      vsDel(t.missedByMap, irq);
      if (!vsHas(t.vapic.virr, irq)) vsDel(t.landedWhileDisabled, irq);
      // arch.interrupt.injected / VM_ENTRY_INTR_INFO: the handler is entered at the VM entry (vmx_enter).
      t.interruptPending = irq;
      t.interruptForL2 = false;
    }
  }
  // "if (kvm_cpu_has_injectable_intr(vcpu)) kvm_x86_call(enable_irq_window)(vcpu);"
  if (kvm_cpu_has_injectable_intr(kvm, t)) vmx_enable_irq_window(t);
  return 0;
}

/** vmx_enable_irq_window: CPU_BASED_INTR_WINDOW_EXITING. */
function vmx_enable_irq_window(t: KvmVcpu): void {
  t.vapic.irqWindowExiting = true;
}

/**
 * update_cr8_intercept (in the KVM_REQ_EVENT block, "if (kvm_lapic_enabled(vcpu))"; nothing with APICv active):
 * max_irr is the highest IRR vector's class (no vapic_addr here), tpr = kvm_lapic_get_cr8; then
 * vmx_update_cr8_intercept: TPR_THRESHOLD = (irr == -1 || tpr < irr) ? 0 : irr. The threshold asks for an exit
 * when the guest lowers its TPR below a pending vector's class.
 */
export function update_cr8_intercept(kvm: Kvm, t: KvmVcpu): void {
  if (t.apicvActive) return;
  if (!apic_enabled(t)) {
    // Diagnostics: the threshold is left as it was while the APIC is software-disabled; re-enabling it (apic_set_spiv)
    // makes no KVM_REQ_EVENT, so a TPR lowered afterwards may not exit.
    t.tprThresholdStale = true;
    return;
  }
  t.tprThresholdStale = false;
  const hi = vsHighest(t.vapic.virr);
  const irr = hi === -1 ? -1 : hi >> 4;
  const tpr = t.vapic.vtpr >> 4;
  // vmx_update_cr8_intercept: in L2 the threshold is L1's (nested.l1_tpr_threshold), written to vmcs01 at the
  // nested exit; vmcs12's TPR shadow is not modelled, so one field stands for both.
  t.vapic.tprThreshold = irr === -1 || tpr < irr ? 0 : irr;
  kvm.sink.step(t.id, 'update_cr8_intercept');
}

/**
 * A guest TPR write without virtual-interrupt delivery: MOV to CR8, the xAPIC TPR at offset 0x80 (flexpriority:
 * virtualized APIC access) or the x2APIC TPR MSR (vmx_update_msr_bitmap_x2apic: "TPR reads and writes can be
 * virtualized even if virtual interrupt delivery is not in use"). TPR virtualization (SDM 29.1.2) writes VTPR —
 * apic->regs' APIC_TASKPRI — and, when VTPR[7:4] falls below TPR_THRESHOLD, makes a trap-like TPR-below-threshold
 * exit: handle_tpr_below_threshold → kvm_apic_update_ppr → apic_update_ppr (KVM_REQ_EVENT if PPR dropped and an
 * interrupt is now above it). Returns whether it exited.
 */
export function tpr_write_no_vid(kvm: Kvm, t: KvmVcpu, value: number): boolean {
  t.vapic.vtpr = value & 0xff;
  if ((t.vapic.vtpr >> 4) >= t.vapic.tprThreshold) return false;
  vmx_vm_exit(kvm, t, 'tpr-below-threshold');
  kvm.sink.step(t.id, 'handle_tpr_below_threshold');
  apic_update_ppr(kvm, t);
  return true;
}

/**
 * An EOI without APICv: the xAPIC EOI write is an APIC-access exit (handle_apic_access's fast path for a MOV to
 * APIC_EOI: kvm_lapic_set_eoi), the x2APIC EOI MSR an intercepted WRMSR (kvm_x2apic_msr_write); both reach
 * kvm_lapic_reg_write(APIC_EOI) → apic_set_eoi: the highest ISR vector cleared, apic_update_ppr,
 * kvm_ioapic_send_eoi (only for vectors in ioapic_handled_vectors, trigger mode from TMR), KVM_REQ_EVENT.
 */
export function apic_set_eoi(kvm: Kvm, t: KvmVcpu): void {
  kvm.sink.step(t.id, 'apic_set_eoi');
  const vector = vsHighest(t.vapic.visr);
  if (vector === -1) return;
  vsDel(t.vapic.visr, vector);
  apic_update_ppr(kvm, t);
  // kvm_ioapic_send_eoi: "Eoi the ioapic only if the ioapic doesn't own the vector" — kvm_ioapic_handles_vector,
  // i.e. arch.ioapic_handled_vectors as the last vcpu_scan_ioapic left it (a scan requested by a concurrent
  // redirection write and not yet handled leaves it stale: the same hole as the EOI-exit bitmap under APICv).
  if (vsHas(t.ioapicHandled, vector)) kvm_ioapic_update_eoi(kvm, vector, vsHas(t.vapic.tmr, vector), eoi_level_why(t, vector));
  else if (vector >= 16) kvm_ioapic_eoi_not_trapped(kvm, t, vector, 'eoi-before-vcpu-scan-ioapic');
  kvm_make_request(t, REQ_EVENT);
}
