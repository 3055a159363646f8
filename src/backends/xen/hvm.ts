// The vendor-neutral HVM interrupt paths (xen/arch/x86/hvm/irq.c, hvm.c):
// hvm_vcpu_has_pending_irq, hvm_interrupt_blocked, hvm_vcpu_ack_pending_irq, and the HLT
// intercept's hvm_hlt → vcpu_block / hvm_vcpu_down. The same code in every tree modelled.
import type { XenVm } from './domain.js';
import { Phase } from './state.js';
import { vlapicAckPendingIrq, vlapicHasPendingIrq } from './vlapic.js';
import { ptSaveTimer } from './vpt.js';

/** struct hvm_intack, encoded: -1 none, INTACK_NMI, else a LAPIC vector (no PIC, MCE or callback vector here). */
export const INTACK_NONE = -1;
export const INTACK_NMI = 256;

/** enum hvm_intblk. */
export const enum IntBlk { None = 0, Shadow = 1, RflagsIe = 2, NmiIret = 3, Tpr = 4 }

/**
 * hvm_vcpu_has_pending_irq: NMI first (then MCE, the callback vector and the PIC, not
 * modelled), then vlapic_has_pending_irq — which is not called at all while an NMI is pending.
 */
export function hvmVcpuHasPendingIrq(vm: XenVm, cpu: number): number {
  if (vm.vcpu[cpu]!.nmiPending) return INTACK_NMI;
  const vector = vlapicHasPendingIrq(vm, cpu);
  return vector !== -1 ? vector : INTACK_NONE;
}

/** hvm_interrupt_blocked, from the VMCB's view of the guest (RFLAGS.IF, int_stat, the IRET intercept, TASKPRI). */
export function hvmInterruptBlocked(vm: XenVm, cpu: number, intack: number): IntBlk {
  const v = vm.vcpu[cpu]!;
  if (intack !== INTACK_NMI && !v.guest.IF) return IntBlk.RflagsIe;
  if (v.intrShadow) return IntBlk.Shadow;
  if (intack === INTACK_NMI) return v.interceptIret ? IntBlk.NmiIret : IntBlk.None;
  if (((v.vlapic.taskpri & 0xf0) >>> 4) >= (intack >>> 4)) return IntBlk.Tpr;
  return IntBlk.None;
}

/** hvm_vcpu_ack_pending_irq. Returns the intack, INTACK_NONE if it vanished, or -2 when the domain crashed. */
export function hvmVcpuAckPendingIrq(vm: XenVm, cpu: number, intack: number): number {
  const v = vm.vcpu[cpu]!;
  if (intack === INTACK_NMI) {
    if (!v.nmiPending) return INTACK_NONE;
    v.nmiPending = false;
    return INTACK_NMI;
  }
  return vlapicAckPendingIrq(vm, cpu, intack) ? intack : -2;
}

/** hvm_local_events_need_delivery: the check vcpu_block makes after setting _VPF_blocked. */
export function hvmLocalEventsNeedDelivery(vm: XenVm, cpu: number): boolean {
  vm.sink.evaluate(cpu);
  const intack = hvmVcpuHasPendingIrq(vm, cpu);
  if (intack === INTACK_NONE) return false;
  return hvmInterruptBlocked(vm, cpu, intack) === IntBlk.None;
}

/**
 * hvm_hlt(eflags), after svm_vmexit_do_hlt moved RIP past the HLT: an event already queued
 * for injection returns at once; RFLAGS.IF = 0 takes the vCPU down (hvm_vcpu_down: "a pretty
 * sure sign that we want to shut down"; only an NMI IPI wakes it, and only one that makes
 * nmi_pending go 0 → 1); otherwise SCHEDOP_block.
 */
export function hvmHlt(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  vm.sink.step(cpu, 'hvm_hlt');
  if (v.eventinjValid) return;
  if (!v.guest.IF) {
    // All vCPUs down powers the domain off (domain_shutdown); nothing in the scenario
    // language could wake such a domain (only an NMI IPI would), so it just stays down.
    vm.sink.step(cpu, 'hvm_vcpu_down');
    v.phase = Phase.Down;
    ptSaveTimer(vm, cpu); // context_switch → pt_save_timer: _VPF_down is not _VPF_blocked
    return;
  }
  vm.sink.step(cpu, 'vcpu_block');
  if (hvmLocalEventsNeedDelivery(vm, cpu)) return; // _VPF_blocked cleared again
  v.phase = Phase.Blocked;
}
