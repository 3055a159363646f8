// Nested VMX, only as far as the v4.11 / f27a85c4988d story needs it (arch/x86/kvm/vmx.c):
// L1's VMLAUNCH/VMRESUME (nested_vmx_run), the emulated exit to L1 (nested_vmx_vmexit) and
// vmx_check_nested_events, which decides that a pending L1 interrupt or NMI leaves L2.
// Assumed vmcs12 setup: external-interrupt exiting from the scenario (exitOnIntr), NMI exiting
// together with it, no "acknowledge interrupt on exit" (KVM requires it with nested posted
// interrupts; the abstract L1 takes the vector after the exit either way), and posted
// interrupts for L2 when the machine says so (postedIntr): only vmcs02's notification
// vector matters then, since the abstract L1 never posts to L2 (vmcs02_pinv).
import { PHYS_POSTED_INTR, PHYS_POSTED_NESTED, REQ_APIC_PAGE_RELOAD, REQ_EVENT } from './consts.js';
import type { Kvm, KvmVcpu } from './state.js';
import { vsClear, vsOr } from '../../apic/vecset.js';
import { kvm_cpu_has_interrupt } from './lapic.js';
import { nested_exit_on_intr } from './sync.js';
import { eoi_exitmap_nested_vmexit } from './eoi_exitmap.js';

export const EBUSY = -16;

/**
 * prepare_vmcs02's posted-interrupt notification vector for L2, as a PHYS_* bit, or 0 when
 * vmcs12 does not give L2 posted interrupts. Until POSTED_INTR_NESTED_VECTOR existed it was
 * POSTED_INTR_VECTOR, the vector L0 notifies L1 with: vmcs02 then treats L1's notifications
 * as L2's (seed 001's second remark).
 */
export function vmcs02_pinv(kvm: Kvm): number {
  if (!kvm.machine.nested?.postedIntr) return 0;
  return kvm.code.nestedPiVector === 'shared' ? PHYS_POSTED_INTR : PHYS_POSTED_NESTED;
}

/**
 * L1 executed VMLAUNCH/VMRESUME (the VM exit to L0 already happened): switch to vmcs02
 * (nested_vmx_enter_non_root_mode). Since "KVM: nVMX: Fix loss of pending IRQ/NMI before
 * entering L2" (2018, in 4.19-era code; v6.12 nested.c read) an L1 interrupt or NMI that
 * vmcs01 had pending (RVI above VPPR, or a window requested) makes KVM_REQ_EVENT.
 */
export function nested_vmx_run(kvm: Kvm, t: KvmVcpu, inject: number | undefined): void {
  const n = t.nested;
  const va = t.vapic;
  const evaluate = va.irqWindowExiting || va.nmiWindowExiting || (va.rvi & 0xf0) > (va.vppr & 0xf0);
  n.guestMode = true;
  n.runPending = true;
  n.l2Inject = inject ?? -1;
  vsClear(n.syncedInL2);
  vsClear(n.unforcedInL2);
  vsClear(n.behindReinjection);
  n.nmiBehindReinjection = false;
  // prepare_vmcs02: vmcs02's EOI-exit bitmap is vmcs12's (none from the abstract L1).
  vsClear(n.vmcs02EoiExit);
  if (kvm.code.nestedEntryEvent && evaluate) t.requests |= REQ_EVENT;
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
  n.nmiBehindReinjection = false;
  // vmx_load_vmcs01; the APIC-access page is reloaded before entering L1 (a request, so
  // an entry already past the request check of this pass is cancelled and redone).
  t.requests |= REQ_APIC_PAGE_RELOAD;
  eoi_exitmap_nested_vmexit(t);
  t.mpHalted = false;
  kvm.sink.step(t.id, 'nested_vmx_vmexit');
  kvm.sink.l1Exit(t.id, reason, idtValid, idtVector);
}

/**
 * Trace only: the L1 events that wait while L2's event is re-injected — in IRR, still in PIR
 * (the sync after the mode store moves them without a nested exit), or an NMI — so that their
 * cause is the re-injection and not the entry race or the nested entry.
 */
export function mark_behind_reinjection(t: KvmVcpu): void {
  vsOr(t.nested.behindReinjection, t.vapic.virr);
  vsOr(t.nested.behindReinjection, t.pi.pir);
  if (t.nmiPending > 0 || t.nmiQueued > 0) t.nested.nmiBehindReinjection = true;
}

/**
 * vmx_check_nested_events(vcpu, external_intr). Returns 0 or EBUSY. v4.11 and later refuse
 * while an event still needs re-injection; all versions refuse while nested_run_pending.
 */
export function vmx_check_nested_events(kvm: Kvm, t: KvmVcpu, externalIntr: boolean): number {
  if (!t.nested.guestMode) return 0;
  kvm.sink.step(t.id, 'vmx_check_nested_events');
  if (kvm.code.nestedBlock === 'reinjection' && (t.nmiInjected || t.interruptPending >= 0)) {
    mark_behind_reinjection(t);
    return EBUSY;
  }
  const exitOnIntr = nested_exit_on_intr(kvm);
  if (t.nmiPending > 0 && exitOnIntr) {
    if (t.nested.runPending) return EBUSY;
    // v4.10: "if (vmx->nested.nested_run_pending || vcpu->arch.interrupt.pending) return -EBUSY"
    // for the NMI exit only; the interrupt exit below is refused for nested_run_pending alone.
    if (kvm.code.nestedBlock === 'v4.10' && t.interruptPending >= 0) {
      mark_behind_reinjection(t);
      return EBUSY;
    }
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
  t.nmiMissedWhy = '';
  t.guest.take(2, true);
}
