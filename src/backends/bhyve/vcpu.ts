// The per-vCPU software state of sys/amd64/vmm/vmm.c (struct vcpu) and svm.c (struct
// svm_vcpu) that interrupt delivery depends on, plus where the vCPU thread is in the
// vm_run / svm_vmrun loop (the interleaving points of the entry path).
import { IntrType } from './vmcb.js';
import type { Vlapic } from './vlapic.js';

/** enum vcpu_state. */
export const enum VcpuState { IDLE = 0, FROZEN = 1, RUNNING = 2, SLEEPING = 3 }
export const VCPU_STATE_NAMES = ['IDLE', 'FROZEN', 'RUNNING', 'SLEEPING'] as const;
export const NOCPU = -1;
/** No intercepted IRET waits for its restart (scenario indices may be negative in the drain). */
export const NO_IRET = -0x7fffffff;

/** Where the vCPU thread is. */
export const enum Phase {
  /** Between VMRUN and #VMEXIT. */
  Guest = 0,
  /** Top of the svm_vmrun loop after a handled exit (RUNNING, GIF = 1). */
  Loop = 1,
  /** Back in vm_run after an unhandled exit (FROZEN, outside the critical section). */
  Frozen = 2,
  /** After disable_gintr (CLGI): host interrupts to this pCPU stay pending. */
  Clgi = 3,
  /** After svm_inj_interrupts, GIF still 0, about to VMRUN. */
  Injected = 4,
  /** msleep_spin in vm_handle_hlt. */
  Sleeping = 5,
  /** After a panic or KASSERT: the vCPU never runs guest code again. */
  Dead = 6,
}
export const PHASE_NAMES = ['guest', 'loop', 'frozen', 'clgi', 'injected', 'sleeping', 'dead'] as const;

export class Vcpu {
  state: VcpuState = VcpuState.RUNNING;
  hostcpu: number;
  phase: Phase = Phase.Guest;
  /** vcpu->nmi_pending. */
  nmiPending = false;
  /** vcpu->exitintinfo (VM_INTINFO_VALID + type + vector). */
  exitintinfoValid = false;
  exitintinfoType: IntrType = IntrType.Intr;
  exitintinfoVector = 0;
  /** svm_vcpu->nextrip != vmcb->state.rip at the next svm_inj_interrupts (the guest made progress). */
  ripMoved = false;
  /** The last exit was the IRET intercept: the guest re-executes its IRET right after VMRUN. */
  iretRestart = false;
  /** Scenario index of that IRET: it executes (and is reported) when it is restarted. */
  pendingIret = NO_IRET;
  /** The pCPU sent itself an IPI (IPI_AST) under GIF = 0: it forces #VMEXIT(INTR) right after VMRUN. */
  selfIpiPending = false;
  /** Diagnostics: the last HLT ended because an NMI was pending while NMIs were blocked. */
  hltEndedByBlockedNmi = false;
  /** vm->rendezvous_func was set while this vCPU slept in vm_handle_hlt (a vioapic TMR rendezvous). */
  rendezvousPending = false;
  /** Diagnostics (explain): the last vm_handle_hlt broke out for the rendezvous alone. */
  hltEndedByRendezvous = false;
  /** Diagnostics (whereStuck): svm_inj_interrupts passes so far, to tell whether one saw the vIRR after a remote raise. */
  injPasses = 0;
  /** vm_handle_hlt's intr_disabled (RFLAGS.IF was 0 at the HLT exit). */
  hltIntrDisabled = false;
  /** wakeup_one() reached the sleeping thread. */
  woken = false;
  /** vcpu->extint_pending (vm_inject_extint): the 8259 is asked for a vector at the next entry. */
  extintPending = false;
  /** Diagnostics: svm_inj_interrupts is injecting the 8259's vector ahead of the vIRR. */
  extintTaking = false;
  /**
   * main: the host timer interrupt of this pCPU (the vlapic callout's expiry, armed here by
   * callout_reset_sbt_curcpu) arrived under GIF = 0: it forces #VMEXIT(INTR) right after VMRUN.
   */
  hostTimerPending = false;
  /**
   * main: the host took that interrupt while this vCPU's thread was in its critical section: the
   * softclock thread that runs vlapic_callout_handler is runnable here, so the thread owes a yield
   * (TDF_NEEDRESCHED, vcpu_should_yield) and the callout runs when it leaves the critical section.
   */
  softclockOwed = false;
  /** Scenario `fault`: the next event delivery takes a nested page fault. */
  faultArmed = false;
  /** A panic or KASSERT fired on this vCPU's path. */
  dead = false;

  constructor(readonly vcpuid: number) {
    this.hostcpu = vcpuid; // vCPU i is pinned to pCPU i
  }
}

/** Where a physical IPI to a pCPU goes (the host side of vcpu_notify_event). */
export interface HostIpi {
  /** ipi_cpu(hostcpu, vmm_ipinum): latch on that pCPU until it can take it. */
  ipiCpu(hostcpu: number): void;
}

/**
 * vcpu_notify_event_locked. `curcpu` is the pCPU of the notifying thread (-1: a device
 * model thread on another CPU). With no vlapic_ops.post_intr on SVM, a LAPIC interrupt
 * is notified with the same plain IPI as any other event.
 */
export function vcpuNotifyEvent(v: Vcpu, _lapicIntr: boolean, curcpu: number, host: HostIpi): void {
  if (v.state === VcpuState.RUNNING) {
    // RUNNING on curcpu: a self notification, picked up at the next svm_inj_interrupts.
    if (v.hostcpu !== curcpu) host.ipiCpu(v.hostcpu);
  } else if (v.state === VcpuState.SLEEPING) {
    v.woken = true; // wakeup_one(vcpu)
  }
}

/**
 * One pass of the vm_handle_hlt loop: true when the vCPU must not sleep (an NMI, or with
 * IF = 1 a deliverable vlapic vector, or a rendezvous; the 8259 is not modelled).
 */
export function vmHandleHltCheck(v: Vcpu, vlapic: Vlapic): boolean {
  // "if (vm->rendezvous_func != NULL || vm->suspend || vcpu->reqidle) break;" comes first: the
  // vCPU handles the rendezvous in vm_run and re-enters the guest after its HLT.
  if (v.rendezvousPending) {
    v.rendezvousPending = false;
    v.hltEndedByRendezvous = !v.nmiPending && (v.hltIntrDisabled || vlapic.pendingIntr() < 0);
    return true;
  }
  v.hltEndedByRendezvous = false;
  if (v.nmiPending) return true;
  if (!v.hltIntrDisabled && (v.extintPending || vlapic.pendingIntr() >= 0)) return true;
  return false;
}
