// Per-vCPU state of L0 (struct kvm_vcpu / vcpu_vmx / nested_vmx of the v3.1–3.3 era) and the
// context the step functions need. Plain fields only; nothing here allocates after creation.
import { GuestCpu } from '../../apic/guestcpu.js';
import { vecSet } from '../../apic/vecset.js';
import type { ObsSink } from '../api.js';
import { KvmLapic, type ApicOwner } from './lapic.js';
import { HwVmcs, Vmcs12 } from './vmcs.js';

// vcpu->requests bits (include/linux/kvm_host.h). Only those on the interrupt path.
export const KVM_REQ_EVENT = 1 << 0;
export const KVM_REQ_NMI = 1 << 1;
export const KVM_REQ_IMMEDIATE_EXIT = 1 << 2;

// vcpu->mode
export const OUTSIDE_GUEST_MODE = 0;
export const IN_GUEST_MODE = 1;
export const EXITING_GUEST_MODE = 2;

// Where the vCPU thread is in __vcpu_run / vcpu_enter_guest. Each PC_* up to PC_RUN is one
// interleaving point (enter_step runs one).
/** vcpu_enter_guest: the vcpu->requests block (KVM_REQ_NMI, KVM_REQ_IMMEDIATE_EXIT). */
export const PC_REQUESTS = 0;
/** vcpu_enter_guest: KVM_REQ_EVENT → inject_pending_event, enable_{nmi,irq}_window. */
export const PC_EVENT = 1;
/** vcpu->mode = IN_GUEST_MODE; smp_mb(). */
export const PC_MODE = 2;
/** local_irq_disable(). */
export const PC_IRQ_OFF = 3;
/** The bail-out check: mode == EXITING_GUEST_MODE || vcpu->requests. */
export const PC_CHECK = 4;
/** smp_send_reschedule if req_immediate_exit; kvm_x86_ops->run = vmx_vcpu_run. */
export const PC_RUN = 5;
/** Non-root: L1 or L2 runs. */
export const PC_GUEST = 6;
/** kvm_vcpu_block after an emulated HLT (mp_state HALTED). */
export const PC_BLOCKED = 7;

export const STEP_NAMES = [
  'vcpu_enter_guest', 'inject_pending_event', 'vcpu->mode = IN_GUEST_MODE', 'local_irq_disable',
  'vcpu_enter_guest: requests/mode check', 'vmx_vcpu_run', 'guest', 'kvm_vcpu_block',
] as const;

export class Vcpu implements ApicOwner {
  readonly lapic: KvmLapic;
  /** L1's core state (RFLAGS.IF, STI shadow, NMI blocking, HLT, handler frames). */
  readonly guest = new GuestCpu();

  requests = 0;
  mode = IN_GUEST_MODE;
  pc = PC_GUEST;
  /** local_irq_disable() in effect on the pCPU (root mode, between PC_IRQ_OFF and entry). */
  irqsDisabled = false;
  /** Reschedule IPIs (kicks, the immediate-exit self-IPI) in flight to this vCPU's pCPU. */
  physPending = false;
  /** vcpu_enter_guest's local req_immediate_exit of the current pass. */
  reqImmediateExit = false;
  /** mp_state == KVM_MP_STATE_HALTED (L1 executed HLT). */
  halted = false;
  /** Something woke the waitqueue: kvm_vcpu_block re-runs its check. */
  woken = false;
  /** A VM entry failed (KVM_EXIT_FAIL_ENTRY to userspace): the vCPU runs nothing any more. */
  dead = false;

  // vcpu->arch event queues
  interruptPending = false;
  interruptNr = 0;
  nmiQueued = 0;
  nmiPending = 0;
  /** Diagnostics (explain): process_nmi last left two NMIs pending ("allow two"). */
  nmiTwoPending = false;
  nmiInjected = false;
  /** The NMI now in nmi_injected was already reported as taken by L1 (re-injection is not a new delivery). */
  nmiReported = false;
  /** Diagnostics: an NMI decided while L2 ran was dropped by __vmx_complete_interrupts. */
  nmiDropped = false;

  // vcpu_vmx
  readonly vmcs01 = new HwVmcs();
  readonly vmcs02 = new HwVmcs();
  /** vmx->idt_vectoring_info (read from the loaded VMCS at the end of vmx_vcpu_run). */
  idtVectoringInfo = 0;
  /** is_guest_mode(vcpu): vmcs02 is loaded, L2 is the guest. */
  guestMode = false;
  /** vmx->nested.nested_run_pending: L2 must run next (L1's VMRESUME not yet run). */
  nestedRunPending = false;
  readonly vmcs12 = new Vmcs12();
  /**
   * Diagnostic only (drain tags): since entering guest mode, vmx_interrupt_allowed refused
   * because of valid vmcs12 IDT-vectoring info (the fixed variant's immediate-exit path).
   */
  refusedForIdt = false;

  /**
   * Diagnostics only (whereStuck): L1 vectors that were pending when L1's VMRESUME ran
   * (nested_vmx_run makes no KVM_REQ_EVENT), and L1 vectors pending when an L2 exit was
   * reflected to L1 (nested_vmx_vmexit makes no KVM_REQ_EVENT), until they are delivered.
   */
  readonly pendingAtVmresume = vecSet();
  readonly pendingAtReflectedExit = vecSet();
  /**
   * Diagnostics only (whereStuck): L1 vectors above PPR that an entry to L1 passed without
   * KVM_REQ_EVENT (so without inject_pending_event), until delivered or evaluated.
   */
  readonly unevaluatedAtEntry = vecSet();

  /** Scenario `fault`: the next event delivery into L2 takes an EPT violation (L0 handles it). */
  faultArmed = false;
  /**
   * L1's own bookkeeping (a KVM-like L1): an event reported back in IDT-vectoring info is
   * re-injected at its next VMRESUME (SDM 31.7.1.2). -1: none.
   */
  l1Reinject = -1;

  constructor(readonly id: number) {
    this.lapic = new KvmLapic(this);
  }

  makeRequestEvent(): void {
    this.requests |= KVM_REQ_EVENT;
  }

  /** The VMCS the CPU currently uses (loaded_vmcs). */
  loaded(): HwVmcs {
    return this.guestMode ? this.vmcs02 : this.vmcs01;
  }
}

/** What the step functions need from the VM (the backend instance). */
export interface KvmCtx {
  readonly sink: ObsSink;
  /** The variant has 51cfe38ea50a's check in vmx_interrupt_allowed. */
  readonly fixed: boolean;
  /** kvm_vcpu_kick(target), called from vCPU `from` (-1: a device thread). */
  kick(target: Vcpu, from: number): void;
  /** kvm_ioapic_update_eoi for a level-triggered vector. */
  ioapicEoi(vector: number): void;
}
