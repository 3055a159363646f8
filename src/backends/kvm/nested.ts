// Nested VMX, only as far as the v4.11 / f27a85c4988d story needs it (arch/x86/kvm/vmx.c):
// L1's VMLAUNCH/VMRESUME (nested_vmx_run), the emulated exit to L1 (nested_vmx_vmexit) and
// vmx_check_nested_events, which decides that a pending L1 interrupt or NMI leaves L2.
// Assumed vmcs12 setup: external-interrupt exiting from the scenario (exitOnIntr), NMI exiting
// together with it, no "acknowledge interrupt on exit", no posted interrupts for L2.
import { REQ_APIC_PAGE_RELOAD } from './consts.js';
import type { Kvm, KvmVcpu } from './state.js';
import { vsClear, vsOr } from '../../apic/vecset.js';
import { kvm_cpu_has_interrupt } from './lapic.js';
import { nested_exit_on_intr } from './sync.js';

export const EBUSY = -16;

/** L1 executed VMLAUNCH/VMRESUME (the VM exit to L0 already happened): switch to vmcs02. */
export function nested_vmx_run(t: KvmVcpu, inject: number | undefined): void {
  const n = t.nested;
  n.guestMode = true;
  n.runPending = true;
  n.l2Inject = inject ?? -1;
  vsClear(n.syncedInL2);
  vsClear(n.unforcedInL2);
  vsClear(n.behindReinjection);
}

/**
 * nested_vmx_vmexit: emulate a VM exit from L2 to L1 and load vmcs01. An L2 event that KVM
 * still has to re-inject goes to vmcs12's IDT-vectoring information
 * (vmcs12_save_pending_event). L1's core state is kept as it was at its VMRESUME (the
 * project's abstract L1 does not model the RFLAGS load of a VM exit, as in kvm-nvmx).
 */
export function nested_vmx_vmexit(kvm: Kvm, t: KvmVcpu, reason: string): void {
  const n = t.nested;
  let idtValid = false;
  let idtVector = 0;
  if (t.interruptPending >= 0 && t.interruptForL2) {
    idtValid = true;
    idtVector = t.interruptPending;
    t.interruptPending = -1;
    t.interruptForL2 = false;
  }
  n.guestMode = false;
  n.runPending = false;
  n.l2Inject = -1;
  vsClear(n.syncedInL2);
  vsClear(n.unforcedInL2);
  vsClear(n.behindReinjection);
  // vmx_load_vmcs01; the APIC-access page is reloaded before entering L1 (a request, so
  // an entry already past the request check of this pass is cancelled and redone).
  t.requests |= REQ_APIC_PAGE_RELOAD;
  t.mpHalted = false;
  kvm.sink.step(t.id, 'nested_vmx_vmexit');
  kvm.sink.l1Exit(t.id, reason, idtValid, idtVector);
}

/**
 * vmx_check_nested_events(vcpu, external_intr). Returns 0 or EBUSY. v4.11 and later refuse
 * while an event still needs re-injection; all versions refuse while nested_run_pending.
 */
export function vmx_check_nested_events(kvm: Kvm, t: KvmVcpu, externalIntr: boolean): number {
  if (!t.nested.guestMode) return 0;
  kvm.sink.step(t.id, 'vmx_check_nested_events');
  if (kvm.code.nestedBlockOnReinjection && (t.nmiInjected || t.interruptPending >= 0)) {
    // Trace only: the L1 interrupts that wait behind the re-injection of L2's event.
    vsOr(t.nested.behindReinjection, t.vapic.virr);
    return EBUSY;
  }
  const exitOnIntr = nested_exit_on_intr(kvm);
  if (t.nmiPending > 0 && exitOnIntr) {
    if (t.nested.runPending) return EBUSY;
    nested_vmx_vmexit(kvm, t, 'nmi');
    // "The NMI-triggered VM exit counts as injection: clear this one and block further NMIs."
    t.nmiPending = 0;
    t.nested.l1NmiExit = true;
    if (t.guest.nmiBlocked) t.nested.l1NmiExitInHandler = true;
    abstract_l1_nmi(kvm, t);
    return 0;
  }
  if ((kvm_cpu_has_interrupt(kvm, t) || externalIntr) && exitOnIntr) {
    if (t.nested.runPending) return EBUSY;
    nested_vmx_vmexit(kvm, t, 'extint');
    return 0;
  }
  return 0;
}

/**
 * The abstract L1 handles an NMI exit by running its NMI handler (blocked until IRET); if it
 * is still inside a previous NMI handler it runs it after that IRET. This is L1 software,
 * not KVM: it lets the L1 observation of the NMI be judged like any NMI delivery.
 */
export function abstract_l1_nmi(kvm: Kvm, t: KvmVcpu): void {
  if (!t.nested.l1NmiExit || t.nested.guestMode || t.guest.nmiBlocked) return;
  t.nested.l1NmiExit = false;
  kvm.sink.deliver(t.id, 2, true, 'l1-nmi-exit');
  t.guest.take(2, true);
}
