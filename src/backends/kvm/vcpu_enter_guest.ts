// The vcpu_run loop and vcpu_enter_guest (arch/x86/kvm/x86.c), one interleavable step at a
// time, in each version's real order (read at v4.10 and v4.11):
//   v4.10 (pre):  requests; hwapic_irr_update(kvm_lapic_find_highest_irr()); KVM_REQ_EVENT
//                 block; mode = IN_GUEST_MODE; local_irq_disable; exit-request check; entry.
//   v4.11 (post): requests; KVM_REQ_EVENT block; local_irq_disable; mode = IN_GUEST_MODE;
//                 sync_pir_to_irr; exit-request check; entry.
// Step 0 is the top of the vcpu_run loop: kvm_vcpu_running (check_nested_events since v4.11),
// or vcpu_block for a halted vCPU.
import { Mode, MODE_NAMES, PC_LOOP, PHYS_LOCAL_TIMER, PHYS_POSTED_WAKEUP, PHYS_RESCHEDULE, REQ_APIC_PAGE_RELOAD, REQ_APICV_UPDATE, REQ_EVENT, REQ_LOAD_EOI_EXITMAP, REQ_NMI, REQ_SCAN_IOAPIC } from './consts.js';
import { vmx_fault_during_delivery, vmx_vm_exit } from './exits.js';
import { vcpu_load_eoi_exitmap, vcpu_scan_ioapic } from './eoi_exitmap.js';
import { kvm_cpu_has_interrupt, kvm_lapic_find_highest_irr } from './lapic.js';
import { mark_behind_reinjection, vmx_check_nested_events } from './nested.js';
import { POSTED_INTR_VECTOR, POSTED_INTR_WAKEUP_VECTOR } from './pi_desc.js';
import { hw_evaluate, type Kvm, type KvmVcpu } from './state.js';
import { vmx_hwapic_irr_update, vmx_sync_pir_to_irr } from './sync.js';
import { vmentry_vid } from './vapic.js';
import { inject_pending_irq, update_cr8_intercept } from './inject.js';
import { kvm_vcpu_update_apicv } from './apicv.js';
import { kvm_vcpu_check_block_timer, local_timer_handler, vcpu_run_loop_tail } from './timer.js';

export const enum Step {
  Loop = 0,
  Requests = 1,
  RviRefresh = 2,
  EventBlock = 3,
  ModeIn = 4,
  IrqOff = 5,
  Sync = 6,
  ExitRequest = 7,
  Run = 8,
}

export const STEP_NAMES = [
  'kvm_vcpu_running', 'vcpu_enter_guest:requests', 'hwapic_irr_update', 'inject_pending_event',
  'vcpu->mode = IN_GUEST_MODE', 'local_irq_disable', 'sync_pir_to_irr', 'vcpu_enter_guest:exit_request',
  'vmx_vcpu_run',
] as const;

export const ORDER_PRE: readonly Step[] = [Step.Loop, Step.Requests, Step.RviRefresh, Step.EventBlock, Step.ModeIn, Step.IrqOff, Step.ExitRequest, Step.Run];
export const ORDER_POST: readonly Step[] = [Step.Loop, Step.Requests, Step.EventBlock, Step.IrqOff, Step.ModeIn, Step.Sync, Step.ExitRequest, Step.Run];

export function stepOrder(kvm: Kvm): readonly Step[] {
  return kvm.code.order === 'pre' ? ORDER_PRE : ORDER_POST;
}

/** The step the vCPU will run next (for traces). */
export function nextStepName(kvm: Kvm, t: KvmVcpu): string {
  return STEP_NAMES[stepOrder(kvm)[t.pc]!]!;
}

// ---------------------------------------------------------------------------------------
// Blocking (vcpu_block, kvm_vcpu_block, pi_pre_block / pi_post_block)

/** vmx_interrupt_allowed: !nested_run_pending, RFLAGS.IF, no STI blocking. */
function vmx_interrupt_allowed(t: KvmVcpu): boolean {
  return !t.nested.runPending && t.guest.IF && !t.guest.shadow;
}

/** kvm_arch_vcpu_runnable → kvm_vcpu_has_events (the interrupt part syncs PIR: bf9f6ac8d749's check). */
function kvm_arch_vcpu_runnable(kvm: Kvm, t: KvmVcpu): boolean {
  if (t.nested.guestMode) vmx_check_nested_events(kvm, t, false);
  if (!t.mpHalted) return true;
  if (t.nmiQueued > 0) return true;
  if (kvm.code.hasEventsNmi === 'pending' && ((t.requests & REQ_NMI) !== 0 || (t.nmiPending > 0 && vmx_nmi_allowed(t)))) return true;
  return vmx_interrupt_allowed(t) && kvm_cpu_has_interrupt(kvm, t);
}

/** pi_pre_block (VT-d posting only): do not block if ON is set, else switch NV to the wakeup vector. */
function pi_pre_block(kvm: Kvm, t: KvmVcpu): boolean {
  if (!kvm.code.vtd) return false;
  if (kvm.code.piBlock === 'wakeup-self-ipi') {
    // v6.12 pi_enable_wakeup_handler: NV := wakeup vector; with ON already set it sends itself
    // POSTED_INTR_WAKEUP_VECTOR, whose handler kicks the vCPU into kvm_vcpu_check_block, which
    // blocks again unless the vCPU can take something.
    t.pi.nv = POSTED_INTR_WAKEUP_VECTOR;
    if (t.pi.on) t.phys |= PHYS_POSTED_WAKEUP;
    return false;
  }
  if (t.pi.on) return true;
  t.pi.nv = POSTED_INTR_WAKEUP_VECTOR;
  return false;
}

/** pi_post_block: NV back to the notification vector, SN cleared. */
function pi_post_block(kvm: Kvm, t: KvmVcpu): void {
  if (!kvm.code.vtd) return;
  t.pi.nv = POSTED_INTR_VECTOR;
  t.pi.sn = false;
}

/** Leave vcpu_block runnable: KVM_MP_STATE_HALTED → RUNNABLE; the guest resumes after HLT. */
function unhalt(t: KvmVcpu): void {
  t.mpHalted = false;
  t.guest.halted = false;
}

function vcpu_block(kvm: Kvm, t: KvmVcpu): void {
  kvm.sink.step(t.id, 'vcpu_block');
  const runnable = kvm_arch_vcpu_runnable(kvm, t);
  if (!runnable && !pi_pre_block(kvm, t)) {
    // kvm_vcpu_block: kvm_vcpu_check_block, then sleep until kvm_vcpu_wake_up.
    kvm.sink.step(t.id, 'kvm_vcpu_block');
    if (!kvm_arch_vcpu_runnable(kvm, t)) {
      if (kvm_vcpu_check_block_timer(kvm, t)) {
        // A timer expiry ends kvm_vcpu_block without making the vCPU runnable: vcpu_block returns 1, still
        // halted; the loop tail injects it and the next pass decides.
        pi_post_block(kvm, t);
        return;
      }
      t.blocked = true;
      t.woken = false;
      return;
    }
    pi_post_block(kvm, t);
  }
  // Diagnostics (explain): pi_pre_block refuses to block while ON is set, whatever the
  // guest could take; mp_state becomes RUNNABLE all the same.
  t.unhaltedBy = runnable ? unhaltCause(t) : 'pi-pre-block-on';
  unhalt(t);
}

/** Why kvm_arch_vcpu_runnable said yes (diagnostics only). */
function unhaltCause(t: KvmVcpu): string {
  if (t.nmiQueued > 0 || (t.requests & REQ_NMI) !== 0 || t.nmiPending > 0) return t.guest.nmiBlocked ? 'blocked-nmi' : 'nmi';
  return 'interrupt';
}

/** A blocked vCPU that kvm_vcpu_wake_up woke re-runs kvm_vcpu_check_block. */
function kvm_vcpu_block_recheck(kvm: Kvm, t: KvmVcpu): void {
  t.woken = false;
  kvm.sink.step(t.id, 'kvm_vcpu_check_block');
  if (!kvm_arch_vcpu_runnable(kvm, t)) {
    if (!kvm_vcpu_check_block_timer(kvm, t)) return;
    // Woken by the timer (apic_timer_expired's wake-up): out of kvm_vcpu_block still halted, to the loop tail.
    t.blocked = false;
    pi_post_block(kvm, t);
    t.pc = PC_LOOP;
    return;
  }
  t.blocked = false;
  pi_post_block(kvm, t);
  t.unhaltedBy = unhaltCause(t);
  unhalt(t);
  t.pc = PC_LOOP;
}

// ---------------------------------------------------------------------------------------
// vcpu_enter_guest steps

/** process_nmi: at most one NMI pending beyond one in service or being injected. */
function process_nmi(t: KvmVcpu): void {
  const limit = t.guest.nmiBlocked || t.nmiInjected ? 1 : 2;
  t.nmiPending = Math.min(t.nmiPending + t.nmiQueued, limit);
  t.nmiQueued = 0;
  if (t.nmiPending === 2) t.nmiTwoPending = true;
  t.requests |= REQ_EVENT;
}

function step_requests(kvm: Kvm, t: KvmVcpu): void {
  // kvm_vcpu_reload_apic_access_page: no effect on interrupt state.
  t.requests &= ~REQ_APIC_PAGE_RELOAD;
  if (t.requests & REQ_NMI) {
    t.requests &= ~REQ_NMI;
    process_nmi(t);
  }
  if (t.requests & REQ_SCAN_IOAPIC) {
    t.requests &= ~REQ_SCAN_IOAPIC;
    vcpu_scan_ioapic(kvm, t);
  }
  if (t.requests & REQ_LOAD_EOI_EXITMAP) {
    t.requests &= ~REQ_LOAD_EOI_EXITMAP;
    vcpu_load_eoi_exitmap(kvm, t);
  }
  if (t.requests & REQ_APICV_UPDATE) {
    t.requests &= ~REQ_APICV_UPDATE;
    kvm_vcpu_update_apicv(kvm, t);
  }
}

/** vmx_nmi_allowed. */
function vmx_nmi_allowed(t: KvmVcpu): boolean {
  return !t.nested.runPending && !t.guest.shadow && !t.guest.nmiBlocked;
}

/**
 * inject_pending_event: re-injections first, then check_nested_events in guest mode, then a
 * new NMI. APICv LAPIC interrupts are never injected here (kvm_cpu_has_injectable_intr is 0).
 * Returns non-zero when an immediate exit is needed.
 */
function inject_pending_event(kvm: Kvm, t: KvmVcpu): number {
  if (kvm.code.nestedEventsFirst) return kvm_check_and_inject_events(kvm, t);
  if (t.nmiInjected || t.interruptPending >= 0) {
    // set_nmi / set_irq again. Trace only: L1 events pending now wait behind the re-injection.
    if (t.nested.guestMode) mark_behind_reinjection(t);
    return 0;
  }
  if (t.nested.guestMode) {
    const r = vmx_check_nested_events(kvm, t, false);
    if (r !== 0) return r;
  }
  if (t.nmiPending > 0 && vmx_nmi_allowed(t)) {
    t.nmiPending--;
    t.nmiInjected = true;
    t.nmiReinject = false;
  }
  return 0;
}

/**
 * kvm_check_and_inject_events (v6.12; Liran Alon's 2018 "Require immediate-exit when event
 * reinjected to L2 and L1 event pending" first made it look past the re-injection): nested events
 * first ("nested VM-Exit supersedes event re-injection"), then the re-injection, and an
 * -EBUSY from vmx_check_nested_events (a re-injection or nested_run_pending blocks the exit)
 * asks for an immediate exit, so the L1 event is looked at again once L2 took its event.
 * Then new events: "can_inject = !kvm_event_needs_reinjection(vcpu)"; an NMI, then a LAPIC
 * interrupt (inject.ts: only without APICv, or in L2), each -EBUSY when it cannot be injected now.
 * The NMI keeps the model's earlier shape (no -EBUSY for a pending NMI behind a re-injection).
 */
function kvm_check_and_inject_events(kvm: Kvm, t: KvmVcpu): number {
  const r = t.nested.guestMode ? vmx_check_nested_events(kvm, t, false) : 0;
  // Re-injection (inject_nmi / inject_irq) happens whatever r says.
  const reinjecting = t.nmiInjected || t.interruptPending >= 0;
  if (r !== 0) return r;
  let canInject = !reinjecting;
  if (canInject && t.nmiPending > 0 && vmx_nmi_allowed(t)) {
    t.nmiPending--;
    t.nmiInjected = true;
    t.nmiReinject = false;
    canInject = false;
  }
  // Without APICv KVM's software evaluation of IRR is a due point (every message is in IRR at __apic_accept_irq).
  if (!t.apicvActive && t.phys === 0) kvm.sink.evaluate(t.id);
  return inject_pending_irq(kvm, t, canInject);
}

function step_event_block(kvm: Kvm, t: KvmVcpu): void {
  if (!(t.requests & REQ_EVENT)) return;
  t.requests &= ~REQ_EVENT;
  if (inject_pending_event(kvm, t) !== 0) {
    // -EBUSY becomes "*req_immediate_exit = true; r = 0" (v4.x: "req_immediate_exit = true" in
    // vcpu_enter_guest): the windows are not requested, but the KVM_REQ_EVENT block goes on to
    // update_cr8_intercept.
    t.reqImmediateExit = true;
    update_cr8_intercept(kvm, t);
    return;
  }
  if (t.nmiPending > 0) {
    // enable_nmi_window: with STI blocking KVM asks for an interrupt window instead.
    if (t.guest.shadow) t.vapic.irqWindowExiting = true;
    else t.vapic.nmiWindowExiting = true;
  }
  // "if (kvm_lapic_enabled(vcpu)) { update_cr8_intercept(vcpu); ... }" (nothing with APICv active).
  update_cr8_intercept(kvm, t);
}

function step_exit_request(kvm: Kvm, t: KvmVcpu): boolean {
  if (t.mode === Mode.EXITING || t.requests !== 0) {
    kvm.sink.step(t.id, 'vcpu_enter_guest:cancel_injection');
    t.mode = Mode.OUTSIDE;
    t.irqsOn = true;
    // local_irq_enable: the host timer interrupt held since local_irq_disable is taken here.
    if (t.phys & PHYS_LOCAL_TIMER) { t.phys &= ~PHYS_LOCAL_TIMER; local_timer_handler(kvm, t); }
    // vmx_cancel_injection requeues a prepared NMI/interrupt and makes KVM_REQ_EVENT.
    if (t.nmiInjected || t.interruptPending >= 0) t.requests |= REQ_EVENT;
    // v6.12 cancel_injection: "if (req_immediate_exit) kvm_make_request(KVM_REQ_EVENT, vcpu)";
    // before, the immediate exit asked for in this pass was simply forgotten.
    if (kvm.code.cancelKeepsImmediateExit && t.reqImmediateExit) t.requests |= REQ_EVENT;
    t.reqImmediateExit = false;
    t.pc = PC_LOOP;
    return false;
  }
  return true;
}

/** vmx_vcpu_run: the VM entry itself, with the injection prepared in VM_ENTRY_INTR_INFO. */
function vmx_vcpu_run(kvm: Kvm, t: KvmVcpu): void {
  const selfIpi = t.reqImmediateExit;
  if (selfIpi) {
    // "req_immediate_exit": KVM_REQ_EVENT + smp_send_reschedule to itself (IRQs are off).
    // The IPI is pending in this CPU's own APIC: the exit follows the entry at once.
    t.reqImmediateExit = false;
    t.requests |= REQ_EVENT;
    t.phys |= PHYS_RESCHEDULE;
  }
  vmx_enter(kvm, t);
  if (selfIpi && t.nonRoot && (t.phys & PHYS_RESCHEDULE)) {
    t.phys &= ~PHYS_RESCHEDULE;
    vmx_vm_exit(kvm, t, 'extint');
  }
  // The hrtimer's LOCAL_TIMER_VECTOR, held pending since local_irq_disable: external-interrupt exiting makes it a
  // VM exit before the first guest instruction; handle_external_intr runs apic_timer_fn.
  if (t.nonRoot && (t.phys & PHYS_LOCAL_TIMER)) {
    t.phys &= ~PHYS_LOCAL_TIMER;
    vmx_vm_exit(kvm, t, 'extint');
    local_timer_handler(kvm, t);
  }
}

/** The VM entry itself, with the injection prepared in VM_ENTRY_INTR_INFO. */
function vmx_enter(kvm: Kvm, t: KvmVcpu): void {
  t.nonRoot = true;
  t.guest.halted = false;
  hw_evaluate(kvm, t);
  if (t.nested.guestMode) {
    // Injection into L2: a re-injection, or on the first run the event L1 put in vmcs12.
    let v = -1;
    if (t.interruptPending >= 0) {
      v = t.interruptPending;
      t.interruptPending = -1;
    } else if (t.nested.l2Inject >= 0) {
      v = t.nested.l2Inject;
      t.nested.l2Inject = -1;
    }
    if (v >= 0) {
      if (t.faultArmed) {
        vmx_fault_during_delivery(kvm, t, v, false, true);
        return;
      }
      kvm.sink.l2Deliver(t.id, v);
    }
    return;
  }
  if (t.nmiInjected) {
    t.nmiInjected = false;
    // An NMI re-injected after a faulting delivery was already reported.
    if (!t.nmiReinject) {
      kvm.sink.deliver(t.id, 2, true, 'vmentry-inject');
      t.nmiMissedWhy = '';
      t.nmiQueuedAtIrqAck = false;
      t.nmiQueuedAtNestedAck = '';
      if (t.nmiPending === 0) t.nmiTwoPending = false;
    }
    if (t.faultArmed) {
      vmx_fault_during_delivery(kvm, t, 2, true, false);
      return;
    }
    t.guest.take(2, true);
  } else if (t.interruptPending >= 0) {
    // Re-injection of a delivery that faulted: the handler is entered now.
    const v = t.interruptPending;
    t.interruptPending = -1;
    if (t.faultArmed) {
      vmx_fault_during_delivery(kvm, t, v, false, false);
      return;
    }
    t.guest.take(v, false);
  }
  // VM entry with VID: PPR virtualization and evaluation of pending virtual interrupts (none without APICv).
  if (t.apicvActive) vmentry_vid(t.vapic);
}

/** Run one step of the entry path. Returns false when the vCPU stopped (in guest or blocked). */
export function entry_step(kvm: Kvm, t: KvmVcpu): boolean {
  if (t.nonRoot) return false;
  if (t.blocked) {
    if (t.woken) kvm_vcpu_block_recheck(kvm, t);
    return false;
  }
  const order = stepOrder(kvm);
  const s = order[t.pc]!;
  if (s !== Step.Loop) kvm.sink.step(t.id, STEP_NAMES[s]!);
  switch (s) {
    case Step.Loop:
      // The tail of the previous vcpu_run iteration (every arrival here follows vcpu_enter_guest or vcpu_block
      // returning 1): clear the timer request, inject a pending timer expiry.
      vcpu_run_loop_tail(kvm, t);
      kvm.sink.step(t.id, STEP_NAMES[Step.Loop]);
      if (kvm.code.runningChecksNested && t.nested.guestMode) {
        t.nested.inRunningCheck = true;
        vmx_check_nested_events(kvm, t, false);
        t.nested.inRunningCheck = false;
      }
      if (t.mpHalted) {
        vcpu_block(kvm, t);
        return !t.blocked;
      }
      break;
    case Step.Requests: step_requests(kvm, t); break;
    case Step.RviRefresh:
      if (kvm.code.sync === 'v4.10') vmx_hwapic_irr_update(kvm, t, kvm_lapic_find_highest_irr(kvm, t));
      else vmx_sync_pir_to_irr(kvm, t);
      break;
    case Step.EventBlock: step_event_block(kvm, t); break;
    case Step.ModeIn: t.mode = Mode.IN; break;
    case Step.IrqOff: t.irqsOn = false; break;
    // "if (kvm_lapic_enabled(vcpu)) kvm_x86_call(sync_pir_to_irr)(vcpu)": a NULL hook with enable_apicv=0.
    case Step.Sync: if (kvm.code.apicv) vmx_sync_pir_to_irr(kvm, t); break;
    case Step.ExitRequest:
      if (!step_exit_request(kvm, t)) return true;
      break;
    case Step.Run:
      vmx_vcpu_run(kvm, t);
      return !t.nonRoot;
  }
  t.pc++;
  return true;
}

/** Scenario `enter`: run the entry path until the guest runs or the vCPU blocks. */
export function enter(kvm: Kvm, t: KvmVcpu): void {
  if (t.blocked) {
    entry_step(kvm, t);
    if (t.blocked) return;
  }
  // Bounded: an entry path that keeps bailing out is a livelock the drain must see.
  for (let i = 0; i < 64 && !t.nonRoot && !t.blocked; i++) {
    if (!entry_step(kvm, t)) break;
  }
}

/** For traces: the entry-path position. */
export function describeEntry(kvm: Kvm, t: KvmVcpu): string {
  if (t.nonRoot) return t.nested.guestMode ? 'L2' : 'guest';
  if (t.blocked) return t.woken ? 'blocked(woken)' : 'blocked';
  return `${nextStepName(kvm, t)} mode=${MODE_NAMES[t.mode]} irqs=${t.irqsOn ? 'on' : 'off'}`;
}
