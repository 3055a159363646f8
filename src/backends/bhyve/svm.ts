// The AMD SVM side of bhyve (sys/amd64/vmm/amd/svm.c) and the hardware it drives: the
// svm_vmrun loop (disable_gintr → svm_inj_interrupts → VMRUN → #VMEXIT → enable_gintr →
// svm_vmexit), the two historical versions of svm_inj_interrupts / svm_update_virqinfo,
// and what the CPU does on its own while the guest runs (EVENTINJ at VMRUN, V_IRQ, the
// VINTR intercept). Only svm_inj_interrupts and svm_update_virqinfo differ by variant: `prefix`
// posts through V_IRQ; `fixed` and `main` inject through EVENTINJ (main's svm.c interrupt paths
// are the fix's; main differs in vlapic.c, see vlapic.ts).
import type { ObsSink } from '../api.js';
import type { GuestCpu } from '../../apic/guestcpu.js';
import { IntrType, svmEventinject, type VmcbCtrl } from './vmcb.js';
import { NO_IRET, NOCPU, Phase, VcpuState, vmHandleHltCheck, type Vcpu } from './vcpu.js';
import type { Vlapic } from './vlapic.js';
import type { BhyveVariant } from './variants.js';

/** What the run loop needs from the VM (implemented by BhyveInstance). */
export interface SvmVm {
  readonly variant: BhyveVariant;
  readonly sink: ObsSink;
  readonly vcpu: readonly Vcpu[];
  readonly vmcb: readonly VmcbCtrl[];
  readonly vlapic: readonly Vlapic[];
  readonly guestCpu: readonly GuestCpu[];
  /** Physical vmm_ipinum / IPI_AST latched per host CPU (vCPU i runs on pCPU i). */
  readonly ipiPending: Uint8Array;
  crash(cpu: number, where: string, message: string): void;
  /** The vCPU thread leaves svm_vmrun to yield (vcpu_should_yield); what runs then (softclock). */
  yieldCpu(cpu: number): void;
  /** Diagnostics hook: a delivery was committed. */
  delivered(cpu: number, vector: number): void;
}

/** vatpic_pending_intr with no 8259 pin raised: irq_base (0: ICW2 never written) + 7. */
export const VATPIC_SPURIOUS = 7;

/** bhyve's exit_reason_to_str names for the exits modelled. */
export type ExitCode = 'extintr' | 'vintr' | 'iret' | 'msr' | 'nptfault' | 'hlt' | 'inout' | 'cpuid' | 'pause';

// ---------------------------------------------------------------- #VMEXIT

/** enable_gintr (STGI): a host interrupt held while GIF = 0 is taken by the host now. */
function enableGintr(vm: SvmVm, cpu: number): void {
  if (vm.ipiPending[cpu]) {
    vm.ipiPending[cpu] = 0;
    vm.sink.step(cpu, 'justreturn'); // the vmm_ipinum handler does nothing but return
  }
}

/**
 * #VMEXIT, the tail of svm_vmrun (restore_host_tss, enable_gintr, nextrip) and the head of
 * svm_vmexit (svm_update_virqinfo, then svm_save_intinfo). The caller finishes the switch on
 * the exit code and calls exitHandled / exitUnhandled.
 */
export function svmVmexit(vm: SvmVm, cpu: number, code: ExitCode): void {
  const v = vm.vcpu[cpu]!;
  const ctrl = vm.vmcb[cpu]!;
  // Hardware writes the interrupt shadow back (V_IRQ and V_TPR are live in this model).
  ctrl.intrShadow = vm.guestCpu[cpu]!.shadow;
  v.phase = Phase.Loop;
  vm.sink.vmexit(cpu, code);
  enableGintr(vm, cpu);
  vm.sink.step(cpu, 'svm_vmexit');
  svmUpdateVirqinfo(vm, cpu);
  svmSaveIntinfo(vm, cpu);
}

/** svm_vmexit returned "handled": loop back to the top of svm_vmrun (still RUNNING). */
export function exitHandled(v: Vcpu, ripMoved: boolean): void {
  v.ripMoved = ripMoved;
  v.phase = Phase.Loop;
}

/** Unhandled: svm_vmrun returns to vm_run, which sets FROZEN and handles the exit there. */
export function exitUnhandled(v: Vcpu, ripMoved: boolean): void {
  v.ripMoved = ripMoved;
  v.phase = Phase.Frozen;
  v.state = VcpuState.FROZEN;
  v.hostcpu = NOCPU;
}

/** svm_update_virqinfo: the only place where the two variants' exit paths differ. */
function svmUpdateVirqinfo(vm: SvmVm, cpu: number): void {
  const ctrl = vm.vmcb[cpu]!;
  const vlapic = vm.vlapic[cpu]!;
  vm.sink.step(cpu, 'svm_update_virqinfo');
  vlapic.setCr8(ctrl.vTpr);
  if (ctrl.vIntrVector === 0) return;
  if (vm.variant !== 'prefix') {
    vm.crash(cpu, 'svm_update_virqinfo', `invalid v_intr_vector ${ctrl.vIntrVector}`);
    return;
  }
  // prefix: V_IRQ still set means "pending"; clear means the guest took the vector.
  if (ctrl.vIntrVector < 16) vm.crash(cpu, 'svm_update_virqinfo', `invalid v_intr_vector ${ctrl.vIntrVector}`);
  if (ctrl.vIgnTpr) vm.crash(cpu, 'svm_update_virqinfo', 'invalid v_ign_tpr');
  if (!ctrl.vIrq) {
    vm.sink.step(cpu, 'vlapic_intr_accepted');
    vlapic.intrAccepted(ctrl.vIntrVector);
  }
}

/** svm_save_intinfo → vm_exit_intinfo: remember an event whose delivery was interrupted. */
function svmSaveIntinfo(vm: SvmVm, cpu: number): void {
  const ctrl = vm.vmcb[cpu]!;
  vm.sink.step(cpu, 'svm_save_intinfo');
  if (!ctrl.exitintinfoValid) return;
  const v = vm.vcpu[cpu]!;
  v.exitintinfoValid = true;
  v.exitintinfoType = ctrl.exitintinfoType;
  v.exitintinfoVector = ctrl.exitintinfoVector;
}

/** clear_nmi_blocking, on the IRET intercept: the IRET is restarted inside a forced shadow. */
export function clearNmiBlocking(vm: SvmVm, cpu: number): void {
  const ctrl = vm.vmcb[cpu]!;
  if (!ctrl.interceptIret) vm.crash(cpu, 'clear_nmi_blocking', 'vNMI already unblocked');
  vm.sink.step(cpu, 'clear_nmi_blocking');
  ctrl.interceptIret = false;
  ctrl.intrShadow = true;
}

// ---------------------------------------------------------------- entry path

/** enable_intr_window_exiting: a dummy V_IRQ (vector 0, V_IGN_TPR) with the VINTR intercept. */
function enableIntrWindowExiting(vm: SvmVm, cpu: number): void {
  const ctrl = vm.vmcb[cpu]!;
  vm.sink.step(cpu, 'enable_intr_window_exiting');
  if (ctrl.vIrq && ctrl.vIntrVector === 0) {
    if (!ctrl.vIgnTpr) vm.crash(cpu, 'enable_intr_window_exiting', 'invalid v_ign_tpr');
    if (!ctrl.interceptVintr) vm.crash(cpu, 'enable_intr_window_exiting', 'vintr intercept should be enabled');
    return;
  }
  ctrl.vIrq = true;
  ctrl.vIgnTpr = true;
  ctrl.vIntrVector = 0;
  ctrl.interceptVintr = true;
}

/** disable_intr_window_exiting: also withdraws a V_IRQ vector that was not taken. */
function disableIntrWindowExiting(vm: SvmVm, cpu: number): void {
  const ctrl = vm.vmcb[cpu]!;
  if (!ctrl.vIrq && ctrl.vIntrVector === 0) {
    if (ctrl.interceptVintr) vm.crash(cpu, 'disable_intr_window_exiting', 'vintr intercept should be disabled');
    return;
  }
  vm.sink.step(cpu, 'disable_intr_window_exiting');
  ctrl.vIrq = false;
  ctrl.vIntrVector = 0;
  ctrl.interceptVintr = false;
}

/** svm_inj_intinfo → vm_entry_intinfo: re-inject an interrupted delivery, with no vlapic call. */
function svmInjIntinfo(vm: SvmVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  if (!v.exitintinfoValid) return;
  v.exitintinfoValid = false;
  vm.sink.step(cpu, 'svm_inj_intinfo');
  const err = svmEventinject(vm.vmcb[cpu]!, v.exitintinfoType, v.exitintinfoVector);
  if (err) vm.crash(cpu, 'svm_eventinject', err);
}

function inject(vm: SvmVm, cpu: number, type: IntrType, vector: number): void {
  const err = svmEventinject(vm.vmcb[cpu]!, type, vector);
  if (err) vm.crash(cpu, 'svm_eventinject', err);
}

/**
 * The delivery is committed (the INTA-equivalent: vlapic_intr_accepted, or the CPU taking
 * V_IRQ). The guest core enters the handler when the CPU completes the delivery: at VMRUN
 * for EVENTINJ (svmLaunch), at once for V_IRQ.
 */
function commit(vm: SvmVm, cpu: number, vector: number, nmi: boolean, via: string): void {
  vm.sink.deliver(cpu, vector, nmi, via);
  if (!nmi) vm.delivered(cpu, vector);
}

/** svm_inj_interrupts, under GIF = 0. */
export function svmInjInterrupts(vm: SvmVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  const ctrl = vm.vmcb[cpu]!;
  const vlapic = vm.vlapic[cpu]!;
  const g = vm.guestCpu[cpu]!;
  vm.sink.step(cpu, 'svm_inj_interrupts');
  v.injPasses++; // diagnostics
  // A due point — unless this pCPU's timer interrupt is held by GIF = 0 (main): the vlapic
  // callout it carries has not run, so not everything sent to this vCPU is in the vIRR yet.
  if (!v.hostTimerPending) vm.sink.evaluate(cpu);
  let needIntrWindow = false;
  let pendingApicVector = 0;

  // nextrip != rip: the guest moved on, so the saved interrupt shadow is stale.
  if (v.ripMoved) ctrl.intrShadow = false;

  svmInjIntinfo(vm, cpu);

  body: {
    if (v.nmiPending) {
      if (ctrl.interceptIret) {
        // NMI blocking until the guest's IRET.
      } else if (ctrl.intrShadow) {
        needIntrWindow = true;
        break body;
      } else if (ctrl.eventinjValid) {
        // ipi_cpu(curcpu, IPI_AST): an exit right after the pending event has been delivered.
        vm.sink.step(cpu, 'ipi_cpu(IPI_AST)');
        // An IPI to the current CPU never leaves its local APIC: it is pending when VMRUN
        // sets GIF, so the INTR intercept fires right after EVENTINJ is delivered.
        vm.ipiPending[cpu] = 1;
        v.selfIpiPending = true;
      } else {
        v.nmiPending = false; // vm_nmi_clear
        inject(vm, cpu, IntrType.Nmi, 2);
        if (ctrl.interceptIret) vm.crash(cpu, 'enable_nmi_blocking', 'vNMI already blocked');
        ctrl.interceptIret = true; // enable_nmi_blocking
        vm.sink.step(cpu, 'vm_nmi_clear');
        commit(vm, cpu, 2, true, 'eventinj');
      }
    }

    if (v.extintPending) {
      // vm_extint_pending: "Ask the legacy pic for a vector to inject". The 8259 (vatpic) has no
      // pin raised in this model and was never initialised (irq_base 0): vatpic_pending_intr
      // returns its spurious vector, irq_base + 7. Gated in software as the fix's LAPIC path.
      const extVector = VATPIC_SPURIOUS;
      vm.sink.step(cpu, 'vatpic_pending_intr');
      if (!g.IF || ctrl.intrShadow || ctrl.eventinjValid) {
        needIntrWindow = true;
        break body;
      }
      inject(vm, cpu, IntrType.Intr, extVector);
      v.extintPending = false; // vm_extint_clear
      vm.sink.step(cpu, 'vatpic_intr_accepted');
      v.extintTaking = true; // diagnostics: the vIRR waits behind the 8259's vector
      commit(vm, cpu, extVector, false, 'eventinj-extint');
      v.extintTaking = false;
      needIntrWindow = true;
      break body;
    }
    // main's vlapic_pending_intr recomputes the stored PPR first (shown: it ends a stale PPR).
    if (vlapic.lazyPpr) vm.sink.step(cpu, 'vlapic_pending_intr: vlapic_update_ppr');
    const vector = vlapic.pendingIntr();
    if (vm.variant === 'prefix') {
      // V_IRQ offload: no IF / shadow / EVENTINJ checks, nothing accepted here; the vector
      // stays in the vIRR until svm_update_virqinfo sees V_IRQ cleared.
      if (vector >= 0) pendingApicVector = vector;
      break body;
    }
    // fixed, main: event injection, gated in software, accepted before VMRUN.
    if (vector < 0) break body;
    if (!g.IF || ctrl.intrShadow || ctrl.eventinjValid) {
      needIntrWindow = true;
      break body;
    }
    inject(vm, cpu, IntrType.Intr, vector);
    vm.sink.step(cpu, 'vlapic_intr_accepted');
    vlapic.intrAccepted(vector);
    commit(vm, cpu, vector, false, 'eventinj');
    // Exit as soon as the guest can take another interrupt.
    needIntrWindow = true;
  }

  // done: V_TPR follows the vlapic (an MMIO TPR write was emulated in software).
  ctrl.vTpr = vlapic.getCr8();
  if (pendingApicVector !== 0) {
    if (needIntrWindow) vm.crash(cpu, 'svm_inj_interrupts', 'intr_window exiting impossible');
    vm.sink.step(cpu, 'V_IRQ');
    // The VINTR intercept is left as it is on this branch.
    ctrl.vIrq = true;
    ctrl.vIgnTpr = false;
    ctrl.vIntrVector = pendingApicVector;
    ctrl.vIntrPrio = pendingApicVector >>> 4;
  } else if (needIntrWindow) {
    // Injected events are not subject to intercepts: the dummy V_IRQ must not be deliverable now.
    if (!ctrl.eventinjValid && g.IF && !ctrl.intrShadow) vm.crash(cpu, 'svm_inj_interrupts', 'Bogus intr_window_exiting');
    enableIntrWindowExiting(vm, cpu);
  } else {
    disableIntrWindowExiting(vm, cpu);
  }
}

/**
 * VMRUN (svm_launch): GIF = 1 in the guest, int_state loaded, EVENTINJ delivered
 * unconditionally. A host IPI still latched waits for its own `pirq` step.
 */
export function svmLaunch(vm: SvmVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  const ctrl = vm.vmcb[cpu]!;
  const g = vm.guestCpu[cpu]!;
  vm.sink.step(cpu, 'svm_launch');
  v.phase = Phase.Guest;
  ctrl.exitintinfoValid = false;
  g.shadow = ctrl.intrShadow;
  // HLT was intercepted: whatever woke vm_handle_hlt, the guest resumes after its HLT.
  g.halted = false;
  let injected = false;
  if (ctrl.eventinjValid) {
    ctrl.eventinjValid = false;
    if (v.faultArmed) {
      v.pendingIret = NO_IRET; // the IRET is restarted once the re-injected handler returns
      v.iretRestart = false;
      deliveryFault(vm, cpu, ctrl.eventinjType, ctrl.eventinjVector);
      return;
    }
    // Delivered: the handler is entered now.
    g.take(ctrl.eventinjVector, ctrl.eventinjType === IntrType.Nmi);
    g.shadow = false;
    injected = true;
  }
  if (v.hostTimerPending && !v.selfIpiPending) {
    // main: the host timer interrupt held under GIF = 0 is taken at the first boundary after the
    // injected event (#VMEXIT(INTR)); an intercepted IRET not yet restarted restarts after the
    // next VMRUN.
    v.hostTimerPending = false;
    if (injected) { v.iretRestart = false; v.pendingIret = NO_IRET; }
    svmVmexit(vm, cpu, 'extintr');
    vm.sink.step(cpu, 'hardclock');
    exitHandled(v, false);
    return;
  }
  if (v.selfIpiPending) {
    // #VMEXIT(INTR) at the first boundary after the injected event: no guest instruction runs.
    v.selfIpiPending = false;
    if (v.hostTimerPending) { v.hostTimerPending = false; vm.sink.step(cpu, 'hardclock'); }
    v.iretRestart = false;
    v.pendingIret = NO_IRET;
    svmVmexit(vm, cpu, 'extintr');
    exitHandled(v, false);
    return;
  }
  if (v.iretRestart) {
    // The intercepted IRET is the first instruction after VMRUN (its RIP did not move); the
    // shadow clear_nmi_blocking forced covers it. If an event was injected first, the guest
    // runs that handler and meets the IRET again later, as a new instruction.
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

/** A nested page fault while the CPU delivers an event: #VMEXIT(NPF) with EXITINTINFO. */
function deliveryFault(vm: SvmVm, cpu: number, type: IntrType, vector: number): void {
  const v = vm.vcpu[cpu]!;
  const ctrl = vm.vmcb[cpu]!;
  v.faultArmed = false;
  ctrl.exitintinfoValid = true;
  ctrl.exitintinfoType = type;
  ctrl.exitintinfoVector = vector;
  svmVmexit(vm, cpu, 'nptfault');
  vm.sink.step(cpu, 'vm_handle_paging');
  exitUnhandled(v, false); // VM_EXITCODE_PAGING: handled in vm_run, instruction restarted
}

/**
 * What the CPU does by itself while the guest runs, evaluated eagerly after every event:
 * a V_IRQ that passes IF, the shadow and V_TPR (or V_IGN_TPR) is either intercepted
 * (#VMEXIT(VINTR), V_IRQ stays set) or taken with no exit (V_IRQ cleared first).
 */
export function svmHardware(vm: SvmVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  if (v.phase !== Phase.Guest) return;
  const ctrl = vm.vmcb[cpu]!;
  const g = vm.guestCpu[cpu]!;
  if (!ctrl.vIrq || !g.interruptible()) return;
  if (!ctrl.vIgnTpr && ctrl.vIntrPrio <= ctrl.vTpr) return;
  if (ctrl.interceptVintr) {
    svmVmexit(vm, cpu, 'vintr');
    exitHandled(v, false);
    return;
  }
  const vector = ctrl.vIntrVector;
  if (vector === 0) return; // never posted without the VINTR intercept
  ctrl.vIrq = false;
  vm.sink.step(cpu, 'V_IRQ taken');
  commit(vm, cpu, vector, false, 'v_irq');
  if (v.faultArmed) {
    deliveryFault(vm, cpu, IntrType.Intr, vector);
    return;
  }
  g.take(vector, false);
}

/** vm_handle_hlt, one pass: break (runnable, FROZEN) or sleep. A due point. */
export function vmHandleHlt(vm: SvmVm, cpu: number): boolean {
  const v = vm.vcpu[cpu]!;
  vm.sink.step(cpu, 'vm_handle_hlt');
  vm.sink.evaluate(cpu);
  if (vmHandleHltCheck(v, vm.vlapic[cpu]!)) {
    // Diagnostics (explain): vm_nmi_pending() ends the HLT even while NMIs are blocked.
    v.hltEndedByBlockedNmi = v.nmiPending && vm.vmcb[cpu]!.interceptIret && !(!v.hltIntrDisabled && vm.vlapic[cpu]!.pendingIntr() >= 0);
    v.state = VcpuState.FROZEN;
    v.phase = Phase.Frozen;
    return true;
  }
  v.state = VcpuState.SLEEPING;
  v.phase = Phase.Sleeping;
  return false;
}

/** One interleaving point of the entry path. Returns false when there was nothing to do. */
export function svmEnterStep(vm: SvmVm, cpu: number): boolean {
  const v = vm.vcpu[cpu]!;
  switch (v.phase) {
    case Phase.Guest:
    case Phase.Dead:
      return false;
    case Phase.Sleeping:
      if (!v.woken) return false;
      v.woken = false;
      vmHandleHlt(vm, cpu);
      return true;
    case Phase.Frozen:
      // vm_run restarts: critical_enter, RUNNING on this pCPU, into svm_vmrun.
      vm.sink.step(cpu, 'vm_run');
      v.state = VcpuState.RUNNING;
      v.hostcpu = cpu;
      vm.sink.step(cpu, 'disable_gintr');
      v.phase = Phase.Clgi;
      return true;
    case Phase.Loop:
      vm.sink.step(cpu, 'disable_gintr');
      v.phase = Phase.Clgi;
      return true;
    case Phase.Clgi:
      // "We are asked to give the cpu by scheduler": vcpu_should_yield, after the suspend /
      // rendezvous / reqidle checks (none modelled), before svm_inj_interrupts.
      if (v.softclockOwed && !v.hostTimerPending) {
        vm.sink.step(cpu, 'vcpu_should_yield');
        enableGintr(vm, cpu);
        vm.sink.step(cpu, 'vm_exit_astpending');
        exitUnhandled(v, false);
        vm.yieldCpu(cpu);
        return true;
      }
      svmInjInterrupts(vm, cpu);
      if (v.phase === Phase.Clgi) v.phase = Phase.Injected;
      return true;
    case Phase.Injected:
      svmLaunch(vm, cpu);
      return true;
  }
}

/** The whole entry path: until the guest runs or the vCPU sleeps. */
export function svmEnter(vm: SvmVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  // At most: wake-up check, vm_run + CLGI, svm_inj_interrupts, VMRUN.
  for (let i = 0; i < 8; i++) {
    if (v.phase === Phase.Guest || v.phase === Phase.Dead) return;
    if (v.phase === Phase.Sleeping && !v.woken) return;
    const launching = v.phase === Phase.Injected;
    svmEnterStep(vm, cpu);
    // VMRUN ran the guest, even if delivering EVENTINJ faulted straight back out.
    if (launching) return;
  }
}
