// L0's run loop of the v3.1–3.3 era (arch/x86/kvm/x86.c vcpu_enter_guest/__vcpu_run and the
// vmx.c callbacks it uses), one interleaving point per step:
//
//   PC_REQUESTS  requests block: KVM_REQ_NMI → process_nmi; req_immediate_exit =
//                kvm_check_request(KVM_REQ_IMMEDIATE_EXIT)
//   PC_EVENT     if kvm_check_request(KVM_REQ_EVENT): inject_pending_event, then
//                enable_nmi_window / enable_irq_window if something is still pending
//   PC_MODE      vcpu->mode = IN_GUEST_MODE
//   PC_IRQ_OFF   local_irq_disable
//   PC_CHECK     mode == EXITING_GUEST_MODE || vcpu->requests → bail out: mode =
//                OUTSIDE_GUEST_MODE, local_irq_enable, cancel_injection, loop
//   PC_RUN       if req_immediate_exit: smp_send_reschedule(self); vmx_vcpu_run (VM entry)
//
// Exits go through vmx_vcpu_run's tail, vmx_complete_interrupts and vmx_handle_exit.
// Facts verified in torvalds/linux at d6185f20a0ef (x86.c, vmx.c) and 51cfe38ea50a (vmx.c).
import { prioClass, vsAdd, vsDel, vsHas } from '../../apic/vecset.js';
import { nestedExitOnIntr, nestedVmxExitHandled, nestedVmxRun, nestedVmxVmexit } from './nested.js';
import {
  EXIT_REASON_EPT_VIOLATION, EXIT_REASON_EXTERNAL_INTERRUPT, EXIT_REASON_HLT, EXIT_REASON_NMI_WINDOW,
  EXIT_REASON_PENDING_INTERRUPT, EXIT_REASON_VMRESUME, INTR_INFO_TYPE_MASK, INTR_INFO_VALID,
  INTR_INFO_VECTOR_MASK, INTR_TYPE_NMI_INTR, exitName, extIntrInfo,
} from './vmcs.js';
import {
  EXITING_GUEST_MODE, IN_GUEST_MODE, KVM_REQ_EVENT, KVM_REQ_IMMEDIATE_EXIT, KVM_REQ_NMI, OUTSIDE_GUEST_MODE,
  PC_BLOCKED, PC_CHECK, PC_EVENT, PC_GUEST, PC_IRQ_OFF, PC_MODE, PC_REQUESTS, PC_RUN, STEP_NAMES,
  type KvmCtx, type Vcpu,
} from './vcpu.js';

const NMI_INFO = (INTR_INFO_VALID | INTR_TYPE_NMI_INTR | 2) >>> 0;

// ---------------------------------------------------------------- interrupt controller side

/** kvm_cpu_has_interrupt (no PIC): the emulated LAPIC has a vector above PPR. */
export function kvmCpuHasInterrupt(v: Vcpu): boolean {
  return v.lapic.hasInterrupt() >= 0;
}

/** kvm_cpu_get_interrupt: the INTA. This is where L1's delivery is committed. */
function kvmCpuGetInterrupt(k: KvmCtx, v: Vcpu): number {
  const vec = v.lapic.getInterrupt();
  if (vec >= 0) {
    v.guest.take(vec, false);
    k.sink.deliver(v.id, vec, false, 'kvm_cpu_get_interrupt');
    vsDel(v.pendingAtVmresume, vec);
    vsDel(v.pendingAtReflectedExit, vec);
    vsDel(v.unevaluatedAtEntry, vec);
  }
  return vec;
}

// ---------------------------------------------------------------- vmx.c callbacks

/**
 * vmx_interrupt_allowed. With L2 running and L1 asking for external-interrupt exits, a
 * pending L1 interrupt is an exit to L1 — unless L2 must run first: nested_run_pending
 * (both variants) or, since 51cfe38ea50a, valid IDT-vectoring info saved in vmcs12 (L1's
 * injection into L2 is half-delivered). Otherwise nested_vmx_vmexit, the reason is
 * overwritten with EXTERNAL_INTERRUPT, and the normal test runs on L1's state.
 */
export function vmxInterruptAllowed(k: KvmCtx, v: Vcpu): boolean {
  if (v.guestMode && nestedExitOnIntr(v)) {
    if (v.nestedRunPending) return false;
    if (k.fixed && (v.vmcs12.idtVectoringInfo & INTR_INFO_VALID) !== 0) {
      v.refusedForIdt = true;
      return false;
    }
    nestedVmxVmexit(k, v, EXIT_REASON_EXTERNAL_INTERRUPT);
    // fall through, now in L1
  }
  // vmcs01 GUEST_RFLAGS.IF and no STI/MOV-SS blocking. L1's RFLAGS is its state at its
  // VMRESUME (the abstract L1 does not model the RFLAGS load of a VM exit).
  return v.guest.IF && !v.guest.shadow;
}

/** vmx_nmi_allowed: no STI/MOV-SS/NMI blocking in the loaded VMCS (L2's is not modelled). */
function vmxNmiAllowed(v: Vcpu): boolean {
  if (v.guestMode) return true;
  return !v.guest.shadow && !v.guest.nmiBlocked;
}

/** vmx_get_nmi_mask on the loaded VMCS. */
function vmxGetNmiMask(v: Vcpu): boolean {
  return v.guestMode ? false : v.guest.nmiBlocked;
}

/** vmx_inject_irq: VM_ENTRY_INTR_INFO_FIELD of the loaded VMCS. */
function vmxInjectIrq(k: KvmCtx, v: Vcpu): void {
  k.sink.step(v.id, 'vmx_inject_irq');
  v.loaded().vmEntryIntrInfo = extIntrInfo(v.interruptNr);
}

/** vmx_inject_nmi: returns at once in guest mode (no nested NMI support in this era). */
function vmxInjectNmi(k: KvmCtx, v: Vcpu): void {
  if (v.guestMode) {
    k.sink.step(v.id, 'vmx_inject_nmi: is_guest_mode, nothing injected');
    return;
  }
  k.sink.step(v.id, 'vmx_inject_nmi');
  v.vmcs01.vmEntryIntrInfo = NMI_INFO;
  // With L1 still NMI-blocked (an nmi_injected decided on L2's state) the entry will fail.
  if (!v.nmiReported && !v.guest.nmiBlocked) {
    v.nmiReported = true;
    v.nmiDropped = false;
    v.guest.take(2, true);
    k.sink.deliver(v.id, 2, true, 'vmx_inject_nmi');
    if (v.nmiPending === 0) v.nmiTwoPending = false;
  }
}

/**
 * enable_irq_window: with L2 running and external-interrupt exiting, ask L2 to exit right
 * after entry (KVM_REQ_IMMEDIATE_EXIT, d6185f20a0ef) instead of an interrupt window.
 */
function enableIrqWindow(k: KvmCtx, v: Vcpu): void {
  if (v.guestMode && nestedExitOnIntr(v)) {
    k.sink.step(v.id, 'enable_irq_window: KVM_REQ_IMMEDIATE_EXIT');
    v.requests |= KVM_REQ_IMMEDIATE_EXIT;
    return;
  }
  k.sink.step(v.id, 'enable_irq_window');
  v.loaded().irqWindowExiting = true;
}

/** enable_nmi_window (virtual NMIs supported): STI blocking falls back to the IRQ window. */
function enableNmiWindow(k: KvmCtx, v: Vcpu): void {
  if (!v.guestMode && v.guest.shadow) {
    enableIrqWindow(k, v);
    return;
  }
  k.sink.step(v.id, 'enable_nmi_window');
  v.loaded().nmiWindowExiting = true;
}

/**
 * __vmx_complete_interrupts: drop what was queued for this entry; an event the exit (or a
 * cancelled entry) left undelivered is queued again with KVM_REQ_EVENT.
 */
function vmxCompleteInterrupts(v: Vcpu, info: number): void {
  // Diagnostics: an nmi_injected that L1 never received (decided while L2 ran) is dropped here.
  if (v.nmiInjected && !v.nmiReported && (info & INTR_INFO_VALID) === 0) v.nmiDropped = true;
  v.nmiInjected = false;
  v.interruptPending = false;
  if ((info & INTR_INFO_VALID) === 0) {
    v.nmiReported = false;
    return;
  }
  v.requests |= KVM_REQ_EVENT;
  if ((info & INTR_INFO_TYPE_MASK) === INTR_TYPE_NMI_INTR) {
    v.nmiInjected = true;
  } else {
    v.interruptPending = true;
    v.interruptNr = info & INTR_INFO_VECTOR_MASK;
  }
}

/** vmx_cancel_injection: a no-op in guest mode; in L1 mode the injection is queued again. */
function vmxCancelInjection(k: KvmCtx, v: Vcpu): void {
  if (v.guestMode) return;
  k.sink.step(v.id, 'vmx_cancel_injection');
  vmxCompleteInterrupts(v, v.vmcs01.vmEntryIntrInfo);
  v.vmcs01.vmEntryIntrInfo = 0;
}

// ---------------------------------------------------------------- x86.c

/** process_nmi: at most one NMI pending behind one in progress. */
function processNmi(v: Vcpu): void {
  const limit = vmxGetNmiMask(v) || v.nmiInjected ? 1 : 2;
  v.nmiPending = Math.min(v.nmiPending + v.nmiQueued, limit);
  v.nmiQueued = 0;
  if (v.nmiPending === 2) v.nmiTwoPending = true;
  v.requests |= KVM_REQ_EVENT;
}

/** inject_pending_event: re-inject first, then one new NMI or interrupt if allowed. */
function injectPendingEvent(k: KvmCtx, v: Vcpu): void {
  k.sink.step(v.id, 'inject_pending_event');
  if (v.nmiInjected) { vmxInjectNmi(k, v); return; }
  if (v.interruptPending) { vmxInjectIrq(k, v); return; }
  if (v.nmiPending > 0) {
    if (vmxNmiAllowed(v)) {
      v.nmiPending--;
      v.nmiInjected = true;
      vmxInjectNmi(k, v);
    }
  } else if (kvmCpuHasInterrupt(v)) {
    if (vmxInterruptAllowed(k, v)) {
      const vec = kvmCpuGetInterrupt(k, v);
      if (vec >= 0) {
        v.interruptPending = true;
        v.interruptNr = vec;
        vmxInjectIrq(k, v);
      }
    }
  }
}

/** kvm_arch_vcpu_runnable for a halted vCPU. */
function kvmArchVcpuRunnable(k: KvmCtx, v: Vcpu): boolean {
  return v.nmiQueued > 0 || (vmxInterruptAllowed(k, v) && kvmCpuHasInterrupt(v));
}

/** One step of the entry path (or of kvm_vcpu_block). */
export function vcpuEnterGuestStep(k: KvmCtx, v: Vcpu): void {
  switch (v.pc) {
    case PC_REQUESTS:
      k.sink.step(v.id, STEP_NAMES[PC_REQUESTS]);
      if (v.requests & KVM_REQ_NMI) {
        v.requests &= ~KVM_REQ_NMI;
        processNmi(v);
      }
      v.reqImmediateExit = (v.requests & KVM_REQ_IMMEDIATE_EXIT) !== 0;
      v.requests &= ~KVM_REQ_IMMEDIATE_EXIT;
      v.pc = PC_EVENT;
      return;
    case PC_EVENT:
      if (v.requests & KVM_REQ_EVENT) {
        v.requests &= ~KVM_REQ_EVENT;
        v.unevaluatedAtEntry.fill(0);
        k.sink.evaluate(v.id);
        injectPendingEvent(k, v);
        if (v.nmiPending > 0) enableNmiWindow(k, v);
        else if (kvmCpuHasInterrupt(v)) enableIrqWindow(k, v);
        // update_cr8_intercept: no TPR shadow in this configuration (CR8 exits).
      } else if (!v.guestMode) {
        const ppr = prioClass(v.lapic.ppr);
        for (let w = 0; w < 8; w++) {
          const bits = v.lapic.irr[w]!;
          if (bits !== 0) for (let b = 0; b < 32; b++) if ((bits >>> b) & 1 && prioClass(w * 32 + b) > ppr) vsAdd(v.unevaluatedAtEntry, w * 32 + b);
        }
      }
      v.pc = PC_MODE;
      return;
    case PC_MODE:
      k.sink.step(v.id, STEP_NAMES[PC_MODE]);
      v.mode = IN_GUEST_MODE;
      v.pc = PC_IRQ_OFF;
      return;
    case PC_IRQ_OFF:
      k.sink.step(v.id, STEP_NAMES[PC_IRQ_OFF]);
      v.irqsDisabled = true;
      v.pc = PC_CHECK;
      return;
    case PC_CHECK:
      k.sink.step(v.id, STEP_NAMES[PC_CHECK]);
      if (v.mode === EXITING_GUEST_MODE || v.requests !== 0) {
        v.mode = OUTSIDE_GUEST_MODE;
        v.irqsDisabled = false;
        vmxCancelInjection(k, v);
        v.pc = PC_REQUESTS;
        return;
      }
      v.pc = PC_RUN;
      return;
    case PC_RUN:
      vmxVcpuRun(k, v);
      return;
    case PC_BLOCKED:
      kvmVcpuBlockCheck(k, v);
      return;
    default:
      return;
  }
}

/** kvm_vcpu_block's check; on success KVM_REQ_UNHALT makes the vCPU runnable again. */
function kvmVcpuBlockCheck(k: KvmCtx, v: Vcpu): void {
  if (!v.woken || v.dead) return;
  v.woken = false;
  k.sink.step(v.id, STEP_NAMES[PC_BLOCKED]);
  k.sink.evaluate(v.id);
  if (kvmArchVcpuRunnable(k, v)) {
    v.halted = false;
    v.pc = PC_REQUESTS;
  }
}

/**
 * vmx_vcpu_run and the VM entry. In guest mode, unless nested_run_pending, an event saved in
 * vmcs12->idt_vectoring_info_field is re-injected into L2 on L1's behalf. The injection is
 * delivered by the CPU unless a `fault` is armed for L2, in which case the delivery takes an
 * EPT violation with that event in the IDT-vectoring info.
 */
function vmxVcpuRun(k: KvmCtx, v: Vcpu): void {
  const selfIpi = v.reqImmediateExit;
  if (selfIpi) {
    // Self-IPI with interrupts off: it is pending in this CPU's own local APIC through the
    // entry, so the external-interrupt exit comes right after the entry (and its injection)
    // completes, before any guest instruction.
    k.sink.step(v.id, 'smp_send_reschedule(self)');
    v.physPending = true;
  }
  vmxEnter(k, v);
  if (selfIpi && v.pc === PC_GUEST) {
    v.physPending = false;
    vmxExit(k, v, EXIT_REASON_EXTERNAL_INTERRUPT, 0);
  }
}

/** The VM entry itself and the delivery of what it injects. */
function vmxEnter(k: KvmCtx, v: Vcpu): void {
  k.sink.step(v.id, STEP_NAMES[PC_RUN]);
  if (v.guestMode && !v.nestedRunPending && (v.vmcs12.idtVectoringInfo & INTR_INFO_VALID) !== 0) {
    k.sink.step(v.id, 'vmx_vcpu_run: re-inject vmcs12 idt_vectoring_info');
    v.vmcs02.vmEntryIntrInfo = v.vmcs12.idtVectoringInfo;
  }
  v.irqsDisabled = false;
  v.pc = PC_GUEST;
  const vmcs = v.loaded();
  const info = vmcs.vmEntryIntrInfo;
  vmcs.vmEntryIntrInfo = 0;
  if ((info & INTR_INFO_VALID) === 0) return;
  if (!v.guestMode && info === NMI_INFO && !v.nmiReported && v.guest.nmiBlocked) {
    vmEntryFailure(k, v);
    return;
  }
  if (v.guestMode) {
    if (v.faultArmed) {
      v.faultArmed = false;
      vmxExit(k, v, EXIT_REASON_EPT_VIOLATION, info);
      return;
    }
    k.sink.l2Deliver(v.id, info & INTR_INFO_VECTOR_MASK);
  }
  // In L1 the delivery was committed at kvm_cpu_get_interrupt / vmx_inject_nmi.
}

/**
 * VM-entry failure on invalid guest state: with virtual NMIs, injecting an NMI requires
 * blocking by NMI = 0 (SDM 26.3.1.5). vmx_handle_exit sees the failed-entry exit reason
 * and returns KVM_EXIT_FAIL_ENTRY to userspace: the VM stops.
 */
function vmEntryFailure(k: KvmCtx, v: Vcpu): void {
  k.sink.vmexit(v.id, 'entry-failure');
  k.sink.crash(v.id, 'vmx_handle_exit:KVM_EXIT_FAIL_ENTRY',
    'VM entry into L1 failed: NMI injected (nmi_injected decided while L2 ran) while L1 has blocking by NMI');
  v.dead = true;
  v.mode = OUTSIDE_GUEST_MODE;
  v.pc = PC_BLOCKED;
}

/**
 * A VM exit while the guest (L1 or L2) runs: the tail of vmx_vcpu_run (in guest mode the
 * vmcs02 IDT-vectoring info is saved into vmcs12), vmx_complete_interrupts (skipped in
 * guest mode), then vmx_handle_exit. The caller emulates instruction exits afterwards.
 */
export function vmxExit(k: KvmCtx, v: Vcpu, reason: number, idtInfo: number): void {
  k.sink.vmexit(v.id, exitName(reason));
  const vmcs = v.loaded();
  vmcs.exitReason = reason;
  vmcs.exitIntrInfo = 0;
  vmcs.idtVectoringInfo = idtInfo;
  vmcs.vmEntryIntrInfo = 0;
  v.idtVectoringInfo = idtInfo;
  if (v.guestMode) v.vmcs12.idtVectoringInfo = idtInfo;
  else vmxCompleteInterrupts(v, idtInfo);
  v.mode = OUTSIDE_GUEST_MODE;
  v.irqsDisabled = false;
  v.pc = PC_REQUESTS;
  vmxHandleExit(k, v, reason);
}

/**
 * vmx_handle_exit: nested_run_pending makes KVM_REQ_EVENT once (the injection decision
 * skipped for L2's first run is re-made), is set by L1's VMLAUNCH/VMRESUME and cleared by
 * any other exit; L1's exits are reflected; the rest is handled by L0.
 */
function vmxHandleExit(k: KvmCtx, v: Vcpu, reason: number): void {
  k.sink.step(v.id, 'vmx_handle_exit');
  if (v.nestedRunPending) v.requests |= KVM_REQ_EVENT;
  v.nestedRunPending = !v.guestMode && reason === EXIT_REASON_VMRESUME;
  if (v.guestMode && nestedVmxExitHandled(v, reason)) {
    nestedVmxVmexit(k, v, -1);
    return;
  }
  switch (reason) {
    case EXIT_REASON_PENDING_INTERRUPT: // handle_interrupt_window
      v.loaded().irqWindowExiting = false;
      v.requests |= KVM_REQ_EVENT;
      return;
    case EXIT_REASON_NMI_WINDOW: // handle_nmi_window
      v.loaded().nmiWindowExiting = false;
      v.requests |= KVM_REQ_EVENT;
      return;
    case EXIT_REASON_HLT: // handle_halt → kvm_emulate_halt; __vcpu_run blocks
      k.sink.step(v.id, 'kvm_emulate_halt');
      v.halted = true;
      v.woken = true; // kvm_vcpu_block checks once before sleeping
      v.pc = PC_BLOCKED;
      return;
    case EXIT_REASON_VMRESUME: // handle_vmresume
      nestedVmxRun(k, v);
      return;
    case EXIT_REASON_EXTERNAL_INTERRUPT: // handle_external_interrupt: nothing for KVM
    default:
      return;
  }
}

/** The hardware's eager window exits for a vCPU running guest code (SDM 26.6.5–26.6.6). */
export function windowExits(k: KvmCtx, v: Vcpu): void {
  if (v.pc !== PC_GUEST) return;
  const vmcs = v.loaded();
  if (v.guestMode) {
    // L2's NMI blocking is not modelled (L2 takes only L1's injections).
    if (vmcs.nmiWindowExiting) vmxExit(k, v, EXIT_REASON_NMI_WINDOW, 0);
    return;
  }
  const g = v.guest;
  if (vmcs.nmiWindowExiting && !g.nmiBlocked && !g.shadow) vmxExit(k, v, EXIT_REASON_NMI_WINDOW, 0);
  else if (vmcs.irqWindowExiting && g.interruptible()) vmxExit(k, v, EXIT_REASON_PENDING_INTERRUPT, 0);
}

/**
 * Where an interrupt that bare metal would have delivered to L1 is held, named after the
 * path that left it there (vector 2: the NMI).
 */
export function whereStuck(v: Vcpu, vector: number): string | undefined {
  if (vector === 2) {
    if (v.nmiQueued === 0 && v.nmiPending === 0 && !v.nmiInjected) return v.nmiDropped ? 'nmi-no-nested-nmi-support' : undefined;
    // No nested NMI support: vmx_inject_nmi returns in guest mode, the NMI waits for L1.
    if (v.guestMode) return 'nmi-no-nested-nmi-support';
    // KVM_REQ_NMI is looked at before KVM_REQ_EVENT: an NMI queued after this pass's
    // request check waits for the next pass, and an interrupt acked meanwhile goes first.
    if (v.nmiQueued > 0) return 'nmi-queued-after-request-check';
    if (v.interruptPending) return 'nmi-behind-reinjected-interrupt';
    // enable_nmi_window with STI blocking falls back to enable_irq_window, which needs IF = 1.
    if (v.nmiPending > 0 && v.vmcs01.irqWindowExiting) return 'nmi-behind-irq-window';
    // nmi_injected decided while L2 ran (vmx_inject_nmi injected nothing): the same cause.
    if (v.nmiInjected && !v.nmiReported) return 'nmi-no-nested-nmi-support';
    if (v.pc === PC_BLOCKED) return 'nmi-vcpu-blocked';
    return 'nmi-pending';
  }
  if (!vsHas(v.lapic.irr, vector)) return undefined;
  // Halted with IF = 0: only an NMI could wake L1, and it was not delivered.
  if (v.pc === PC_BLOCKED && !v.guest.IF) return 'l1-halted-if0';
  // inject_pending_event of this era: `if (nmi_pending) ... else if (kvm_cpu_has_interrupt)`:
  // while an NMI is pending (blocked, or waiting for its window) no interrupt is injected.
  if (!v.guestMode && v.nmiPending > 0) return 'behind-pending-nmi';
  if (v.guestMode) {
    if (v.refusedForIdt) return 'in-l2-after-idt-reinjection';
    // inject_pending_event serves a queued NMI first and, in guest mode, never injects it:
    // interrupts wait behind it (the same cause as the NMI's).
    if (v.nmiInjected || v.nmiPending > 0) return 'nmi-no-nested-nmi-support';
    if (vsHas(v.pendingAtVmresume, vector)) return 'pending-at-vmresume';
    return (v.requests & KVM_REQ_EVENT) ? 'in-l2-kvm-req-event-pending' : 'in-l2-no-kvm-req-event';
  }
  if (vsHas(v.pendingAtReflectedExit, vector)) return 'stranded-by-reflected-exit';
  // Whatever request is pending now, an entry already passed this vector by unevaluated.
  if (vsHas(v.unevaluatedAtEntry, vector)) return 'l1-no-kvm-req-event';
  return (v.requests & KVM_REQ_EVENT) ? 'l1-kvm-req-event-pending' : 'l1-no-kvm-req-event';
}
