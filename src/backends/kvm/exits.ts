// VM exits: the hardware exit and the tail of vcpu_enter_guest that follows it, and the exit
// handlers that matter for interrupt delivery (arch/x86/kvm/vmx.c handle_*, x86.c).
import { vsHas } from '../../apic/vecset.js';
import { Mode, PC_LOOP, REQ_EVENT } from './consts.js';
import { kvm_ioapic_update_eoi, TMR_KEPT_BY_SELF_IPI, TMR_KEPT_BY_VTD } from './ioapic.js';
import { LOWEST_ABSENT } from './apic_map.js';
import { nested_vmx_vmexit } from './nested.js';
import { kvm_make_request } from './sender.js';
import type { Kvm, KvmVcpu } from './state.js';

/**
 * A VM exit of a vCPU running guest code, then what vcpu_enter_guest does after
 * kvm_x86_ops->run returns: nested_run_pending → KVM_REQ_EVENT (vmx_vcpu_run), mode :=
 * OUTSIDE_GUEST_MODE, handle_external_intr, local_irq_enable. Interrupts still in flight to
 * the pCPU stay in flight (they arrive with `pirq`). The vCPU then waits at the top of the
 * vcpu_run loop.
 */
export function vmx_vm_exit(kvm: Kvm, t: KvmVcpu, reason: string): void {
  t.nonRoot = false;
  kvm.sink.vmexit(t.id, reason);
  if (t.nested.runPending) {
    kvm_make_request(t, REQ_EVENT);
    t.nested.runPending = false;
  }
  t.mode = Mode.OUTSIDE;
  t.irqsOn = true;
  t.pc = PC_LOOP;
}

/**
 * An EPT violation during event delivery (scenario `fault`): the exit carries valid
 * IDT-vectoring information and __vmx_complete_interrupts requeues the event (KVM_REQ_EVENT)
 * for re-injection; L0 fixes the mapping. The delivery was already reported; re-injection
 * is not a new delivery.
 */
export function vmx_fault_during_delivery(kvm: Kvm, t: KvmVcpu, vector: number, nmi: boolean, forL2: boolean): void {
  t.faultArmed = false;
  vmx_vm_exit(kvm, t, 'ept');
  kvm_make_request(t, REQ_EVENT);
  if (nmi) {
    t.nmiInjected = true;
    t.nmiReinject = true;
  } else {
    t.interruptPending = vector;
    t.interruptForL2 = forL2;
  }
}

/**
 * Diagnostics for kvm_ioapic_send_eoi: why TMR still holds a level message's bit where bare metal's edge acceptance
 * cleared it — a VT-d posted or virtualized self-IPI edge message came after it, or one that vector hashing dropped
 * (bare metal accepted it here) — '' if it does not.
 */
export function eoi_level_why(t: KvmVcpu, vector: number): string {
  if (vsHas(t.tmrKeptByVtd, vector)) return TMR_KEPT_BY_VTD;
  if (vsHas(t.tmrKeptBySelfIpi, vector)) return TMR_KEPT_BY_SELF_IPI;
  return vsHas(t.edgeLostByHashing, vector) ? LOWEST_ABSENT : '';
}

/** handle_apic_eoi_induced → kvm_apic_set_eoi_accelerated → kvm_ioapic_send_eoi. */
export function handle_apic_eoi_induced(kvm: Kvm, t: KvmVcpu, vector: number): void {
  vmx_vm_exit(kvm, t, 'eoi-induced');
  kvm.sink.step(t.id, 'kvm_apic_set_eoi_accelerated');
  // kvm_ioapic_send_eoi: only for vectors the I/O APIC handles (kvm_ioapic_handles_vector:
  // arch.ioapic_handled_vectors, which a stale VMCS bitmap need not match); the trigger mode
  // comes from TMR.
  const why = eoi_level_why(t, vector);
  if (vsHas(t.ioapicHandled, vector)) kvm_ioapic_update_eoi(kvm, vector, vsHas(t.vapic.tmr, vector), why);
  kvm_make_request(t, REQ_EVENT);
}

/** handle_interrupt_window. */
export function handle_interrupt_window(kvm: Kvm, t: KvmVcpu): void {
  vmx_vm_exit(kvm, t, 'irq-window');
  t.vapic.irqWindowExiting = false;
  kvm_make_request(t, REQ_EVENT);
}

/** handle_nmi_window. */
export function handle_nmi_window(kvm: Kvm, t: KvmVcpu): void {
  vmx_vm_exit(kvm, t, 'nmi-window');
  t.vapic.nmiWindowExiting = false;
  kvm_make_request(t, REQ_EVENT);
}

/** handle_halt → kvm_emulate_halt → kvm_vcpu_halt: mp_state := HALTED. */
export function handle_halt(kvm: Kvm, t: KvmVcpu): void {
  vmx_vm_exit(kvm, t, 'hlt');
  t.mpHalted = true;
}

/** An L2 exit that L1 intercepts: nested_vmx_exit_handled → nested_vmx_vmexit. */
export function reflect_to_l1(kvm: Kvm, t: KvmVcpu, reason: string): void {
  vmx_vm_exit(kvm, t, reason);
  nested_vmx_vmexit(kvm, t, reason);
}
