// Xen on AMD SVM (no AVIC, no vNMI): the svm_asm_do_resume loop (svm/entry.S), the
// intr-assist step that decides injection (svm/intr.c svm_intr_assist), the parts of
// svm_vmexit_handler that touch interrupt state (svm/svm.c), VMRUN and what the CPU does by
// itself while the guest runs (EVENTINJ, the VINTR window).
//
//   .Lsvm_do_resume: svm_intr_assist → CLGI → softirq pending? (STGI, do_softirq, loop) → VMRUN
//   #VMEXIT → STGI (host interrupts taken) → svm_vmexit_handler → .Lsvm_do_resume
import type { XenVm } from './domain.js';
import {
  INTACK_NMI, INTACK_NONE, IntBlk, hvmInterruptBlocked, hvmVcpuAckPendingIrq, hvmVcpuHasPendingIrq,
} from './hvm.js';
import { NO_IRET, Phase } from './state.js';
import { ptIntrPost, ptRestoreTimer, ptUpdateIrq, timerSoftirqAction } from './vpt.js';

export type ExitCode = 'intr' | 'vintr' | 'iret' | 'msr' | 'npf' | 'hlt' | 'ioio' | 'cpuid' | 'pause';

// ---------------------------------------------------------------- #VMEXIT

/**
 * #VMEXIT and the head of svm_vmexit_handler: the CPU saves the interrupt shadow, STGI lets
 * the host take a latched interrupt (the event-check IPI: its softirq bit stays set), and
 * Xen syncs the vlapic TPR from the vTPR, keeping TPR[3:0] ("NB. We need to preserve the low
 * bits of the TPR to make checked builds of Windows work").
 */
export function vmexitBegin(vm: XenVm, cpu: number, code: ExitCode): void {
  const v = vm.vcpu[cpu]!;
  v.intrShadow = v.guest.shadow;
  v.phase = Phase.Hv;
  vm.sink.vmexit(cpu, code);
  if (v.ipiPending) {
    v.ipiPending = false;
    vm.sink.step(cpu, 'event_check_interrupt');
  }
  vm.sink.step(cpu, 'svm_vmexit_handler');
  v.vlapic.taskpri = ((v.vTpr & 0x0f) << 4) | (v.vlapic.taskpri & 0x0f);
}

/** The tail of svm_vmexit_handler: "The exit may have updated the TPR: reflect this in the hardware vtpr". */
export function vmexitEnd(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  if (v.phase === Phase.Dead) return;
  v.vTpr = (v.vlapic.taskpri & 0xff) >>> 4;
}

/** __update_guest_eip: an emulated instruction completed; the interrupt shadow ends with it. */
export function updateGuestEip(vm: XenVm, cpu: number): void {
  vm.vcpu[cpu]!.intrShadow = false;
}

/** A whole exit with nothing to handle beyond the common paths (INTR, NPF, PAUSE, ...). */
export function simpleExit(vm: XenVm, cpu: number, code: ExitCode): void {
  vmexitBegin(vm, cpu, code);
  vmexitEnd(vm, cpu);
}

// ---------------------------------------------------------------- svm_intr_assist

/**
 * svm_enable_intr_window: a dummy V_IRQ (vector 0) with the VINTR intercept, prioritised by
 * the pending vector's class and ignoring TPR unless the source is the LAPIC. An NMI blocked
 * by the IRET intercept gets no window ("NMI-blocking window is handled by IRET interception").
 */
function svmEnableIntrWindow(vm: XenVm, cpu: number, intack: number): void {
  const v = vm.vcpu[cpu]!;
  if (intack === INTACK_NMI && v.interceptIret) return;
  vm.sink.step(cpu, 'svm_enable_intr_window');
  v.vIrq = true;
  v.vIntrPrio = (intack === INTACK_NMI ? 2 : intack) >>> 4;
  v.vIgnTpr = intack === INTACK_NMI;
  v.interceptVintr = true;
}

/** svm_intr_assist: choose, ack and inject one event, then open a window for the next. */
export function svmIntrAssist(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  vm.sink.step(cpu, 'svm_intr_assist');
  // "Crank the handle on interrupt state": a pending timer tick goes into IRR (or is suspended).
  ptUpdateIrq(vm, cpu);
  vm.sink.evaluate(cpu); // vlapic_set_irq writes IRR before it kicks: all of it is visible here
  let intack: number;
  for (;;) {
    intack = hvmVcpuHasPendingIrq(vm, cpu);
    if (intack === INTACK_NONE) return;
    const intblk = hvmInterruptBlocked(vm, cpu, intack);
    // "Pending IRQs must be delayed if: 1. An event is already pending. ... 2. The IRQ is masked."
    if (v.eventinjValid || intblk !== IntBlk.None) {
      svmEnableIntrWindow(vm, cpu, intack);
      return;
    }
    intack = hvmVcpuAckPendingIrq(vm, cpu, intack);
    if (intack === -2) return; // domain_crash in vlapic_ack_pending_irq
    if (intack !== INTACK_NONE) break;
  }
  v.eventinjValid = true;
  if (intack === INTACK_NMI) {
    // svm_inject_nmi: EVENTINJ NMI and the IRET intercept that stands for NMI blocking.
    vm.sink.step(cpu, 'svm_inject_nmi');
    v.eventinjNmi = true;
    v.eventinjVector = 2;
    v.interceptIret = true;
    v.misrouted[2] = ''; // diagnostics: an owed NMI is accounted for
    vm.sink.deliver(cpu, 2, true, 'eventinj');
  } else {
    vm.sink.step(cpu, 'svm_inject_extint');
    v.eventinjNmi = false;
    v.eventinjVector = intack;
    vm.sink.deliver(cpu, intack, false, 'eventinj');
    // Diagnostics: the timer's vector went in while its own tick still waited for TIMER_SOFTIRQ.
    if ((v.timerSoftirq || v.hostTimerHeld) && intack === v.pt.irq) v.softirqTickDup = intack;
    v.archOwed[intack] = '';
    if (intack === v.archExpiredWhileOwed) v.archExpiredWhileOwed = -1;
    v.injectsSinceOwedTick++;
    ptIntrPost(vm, cpu, intack);
  }
  // "Is there another IRQ to queue up behind this one?"
  const next = hvmVcpuHasPendingIrq(vm, cpu);
  if (next !== INTACK_NONE) svmEnableIntrWindow(vm, cpu, next);
}

// ---------------------------------------------------------------- VMRUN and the hardware

/**
 * VMRUN: the guest runs with the saved shadow; EVENTINJ is delivered unconditionally (the
 * handler is entered now). A HLT was intercepted and completed: the guest is past it.
 */
export function svmVmrun(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  const g = v.guest;
  vm.sink.step(cpu, 'VMRUN');
  v.phase = Phase.Guest;
  g.shadow = v.intrShadow;
  const wasHalted = g.halted;
  g.halted = false;
  let injected = false;
  if (v.eventinjValid) {
    v.eventinjValid = false;
    if (v.faultArmed) {
      deliveryFault(vm, cpu);
      return;
    }
    g.take(v.eventinjVector, v.eventinjNmi);
    g.shadow = false;
    injected = true;
  }
  // Diagnostics: the HLT ended (a kick, an NMI wake-up) with nothing to inject.
  if (wasHalted) {
    v.hltEndedEmpty = injected ? 0 : v.wokenBy !== 0 ? v.wokenBy : 3;
    v.hltEndedBehindNmi = v.nmiPending && v.interceptIret;
    v.hltEndedByPt = !injected && v.ptWoke;
  }
  v.wokenBy = 0;
  v.ptWoke = false;
  if (v.hostTimerHeld) {
    // The pCPU's timer interrupt, held at GIF = 0, is taken as soon as VMRUN sets GIF: #VMEXIT(INTR)
    // before the guest's first instruction (after the injected event's delivery). An IRET the
    // intercept is restarting is met again after the next VMRUN.
    v.hostTimerHeld = false;
    vmexitBegin(vm, cpu, 'intr');
    vm.sink.step(cpu, 'timer_interrupt');
    v.timerSoftirq = true;
    vmexitEnd(vm, cpu);
    return;
  }
  if (v.iretRestart) {
    // The intercepted IRET is the first instruction after VMRUN, inside the shadow the IRET
    // intercept forced. An injected event's handler would run first; then the IRET is met
    // again later as a new instruction.
    v.iretRestart = false;
    const index = v.pendingIret;
    v.pendingIret = NO_IRET;
    if (!injected && index !== NO_IRET) {
      g.beginInstruction();
      g.iret();
      vm.sink.executed(index);
    }
  }
}

/**
 * The event's delivery takes a nested page fault: #VMEXIT(NPF) with EXITINTINFO, which
 * svm_vmexit_handler queues again ("Event delivery caused this intercept? Queue for
 * redelivery") without going back to the vlapic.
 */
function deliveryFault(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  v.faultArmed = false;
  v.pendingIret = NO_IRET;
  v.iretRestart = false;
  vmexitBegin(vm, cpu, 'npf');
  vm.sink.step(cpu, 'hvm_event_needs_reinjection');
  v.eventinjValid = true;
  vm.sink.step(cpu, 'hvm_hap_nested_page_fault');
  vmexitEnd(vm, cpu);
}

/**
 * What the CPU does on its own while the guest runs, evaluated after every event: the dummy
 * V_IRQ becomes deliverable when RFLAGS.IF = 1, no shadow, and its priority is above V_TPR
 * (or V_IGN_TPR) — with the VINTR intercept that is #VMEXIT(VINTR), handled by dropping the
 * window.
 */
export function svmHardware(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  if (v.phase !== Phase.Guest || !v.vIrq || !v.interceptVintr) return;
  if (!v.guest.interruptible()) return;
  if (!v.vIgnTpr && v.vIntrPrio <= v.vTpr) return;
  vmexitBegin(vm, cpu, 'vintr');
  v.vIrq = false;
  v.interceptVintr = false;
  vmexitEnd(vm, cpu);
}

// ---------------------------------------------------------------- the entry path

/** One interleaving point of the way back to the guest. Returns false when there was nothing to do. */
export function enterStep(vm: XenVm, cpu: number): boolean {
  const v = vm.vcpu[cpu]!;
  switch (v.phase) {
    case Phase.Guest: case Phase.Blocked: case Phase.Down: case Phase.Dead:
      return false;
    case Phase.Runnable:
      // schedule() → context switch → svm_do_resume → reset_stack_and_jump(svm_asm_do_resume)
      vm.sink.step(cpu, 'schedule');
      vm.sink.step(cpu, 'svm_do_resume');
      v.phase = Phase.Hv;
      ptRestoreTimer(vm, cpu); // hvm_do_resume
      return true;
    case Phase.Hv:
      svmIntrAssist(vm, cpu);
      if (!vm.crashed) v.phase = Phase.Assisted;
      return true;
    case Phase.Assisted:
      vm.sink.step(cpu, 'CLGI');
      if (v.kickSoftirq || v.timerSoftirq) {
        // .Lsvm_process_softirqs: STGI, do_softirq (VCPU_KICK_SOFTIRQ does nothing but make
        // us come round again; TIMER_SOFTIRQ runs pt_timer_fn), back to svm_intr_assist. A
        // latched event-check IPI is taken.
        vm.sink.step(cpu, 'do_softirq');
        v.kickSoftirq = false;
        v.ipiPending = false;
        if (v.timerSoftirq) timerSoftirqAction(vm, cpu);
        v.phase = Phase.Hv;
        return true;
      }
      v.phase = Phase.Clgi;
      return true;
    case Phase.Clgi:
      svmVmrun(vm, cpu);
      return true;
  }
}

/** The whole entry path: until the guest runs or the vCPU sleeps. */
export function enter(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  // A kick per round at most; a bound keeps a model bug from hanging the run.
  for (let i = 0; i < 64; i++) {
    if (v.phase === Phase.Guest || v.phase >= Phase.Blocked) return;
    const launching = v.phase === Phase.Clgi;
    enterStep(vm, cpu);
    if (launching) return; // VMRUN ran the guest, even if the delivery faulted straight back out
  }
}
