// Nested VMX, only as far as the v4.11 / f27a85c4988d story needs it (arch/x86/kvm/vmx.c):
// L1's VMLAUNCH/VMRESUME (nested_vmx_run), the emulated exit to L1 (nested_vmx_vmexit) and
// vmx_check_nested_events, which decides that a pending L1 interrupt or NMI leaves L2.
// Assumed vmcs12 setup: external-interrupt exiting from the scenario (exitOnIntr), NMI exiting
// together with it, "acknowledge interrupt on exit" when the machine says so (ackOnExit:
// nested_exit_intr_ack_set; KVM requires it with nested posted interrupts, which a postedIntr
// machine without ackOnExit does not model), and posted interrupts for L2 when the machine says
// so (postedIntr): only vmcs02's notification vector matters then, since the abstract L1 never
// posts to L2 (vmcs02_pinv).
import { PHYS_POSTED_INTR, PHYS_POSTED_NESTED, REQ_APIC_PAGE_RELOAD, REQ_EVENT, REQ_NMI } from './consts.js';
import type { Kvm, KvmVcpu } from './state.js';
import { computePpr, vsAdd, vsClear, vsDel, vsHighest, vsOr } from '../../apic/vecset.js';
import { __apic_update_ppr, kvm_apic_has_interrupt, kvm_cpu_has_interrupt } from './lapic.js';
import { nested_exit_on_intr, vmx_set_rvi } from './sync.js';
import { eoi_exitmap_nested_vmexit } from './eoi_exitmap.js';
import { apic_has_pending_timer } from './timer.js';

export const EBUSY = -16;

/** Tags (whereStuck of an NMI): a queued NMI overtaken by the acknowledgement of a nested EXTERNAL_INTERRUPT exit. */
export const NMI_BEHIND_ACK_IN_RUNNING = 'nmi-queued-behind-nested-exit-ack';
export const NMI_AFTER_REQUESTS_BEHIND_ACK = 'nmi-queued-after-requests-behind-nested-exit-ack';

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
  // Diagnostics: vmx_has_apicv_interrupt compares RVI with the virtual-APIC page's PROCPRI (VPPR), which after a
  // stale-SVI re-activation is computed from SVI, not from the vector in service (SDM 29.1.3): a vector above the
  // real PPR but not above VPPR makes no KVM_REQ_EVENT [vmx/nested.c vmx_has_apicv_interrupt,
  // nested_vmx_enter_non_root_mode @ 6.12.19, wishday/linux-6.12.y aa44b5f5b].
  n.entryVpprFromStaleSvi = !evaluate && t.sviStale
    && (va.rvi & 0xf0) > (computePpr(va.vtpr, vsHighest(va.visr)) & 0xf0);
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
  n.entryVpprFromStaleSvi = false;
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
  // "if ((u16)vm_exit_reason == EXIT_REASON_EXTERNAL_INTERRUPT && nested_exit_intr_ack_set(vcpu)) {
  //  int irq = kvm_cpu_get_interrupt(vcpu); WARN_ON(irq < 0); vmcs12->vm_exit_intr_info = irq |
  //  INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR; }" — after vmx_switch_vmcs to vmcs01, so that the SVI
  // write of apic_set_isr lands in vmcs01. The same block in nested_vmx_vmexit of the v4.x trees
  // (read in a v4.x vmx.c extract in the library, after vmx_load_vmcs01; the introducing commit was not checked) and in the v6.12-era nested.c (the
  // pre-image of Sean Christopherson's "KVM: nVMX: Get to-be-acknowledge IRQ for nested VM-Exit at
  // injection site", v2 2/7 of 2024-09-06, which moves it into vmx_check_nested_events with the ack
  // still after the emulated exit: the same result here, where nothing lands between the two).
  const ack = reason === 'extint' && (kvm.machine.nested?.ackOnExit ?? false) ? kvm_get_apic_interrupt_ack(kvm, t) : -1;
  kvm.sink.l1Exit(t.id, reason, idtValid, idtVector, ack);
  // The abstract L1 handles the acknowledged vector at once, as KVM's own vmx_handle_external_intr
  // calls the host IDT entry: the handler frame (L1 software, not KVM).
  if (ack >= 0) t.guest.take(ack, false);
}

/** Tag: a timer expiry held in lapic_timer.pending, overtaken by the nested VM exit's acknowledgement of a lower vector. */
export const TIMER_PENDING_BEHIND_NESTED_ACK = 'timer-pending-behind-nested-exit-ack';

/**
 * kvm_cpu_get_interrupt → kvm_get_apic_interrupt (lapic.c; no PIC/ExtINT in this model): "We get here even
 * with APIC virtualization enabled, if doing nested virtualization and L1 runs with the 'acknowledge interrupt
 * on exit' mode." apic_clear_irr (with APICv, vmx_hwapic_irr_update: RVI = the new highest IRR, L1 being
 * current again), apic_set_isr (with APICv, vmx_hwapic_isr_update: SVI = the vector), __apic_update_ppr.
 */
function kvm_get_apic_interrupt_ack(kvm: Kvm, t: KvmVcpu): number {
  const vector = kvm_apic_has_interrupt(kvm, t);
  if (vector === -1) return -1;
  const va = t.vapic;
  vsDel(va.virr, vector);
  if (t.apicvActive) vmx_set_rvi(t, vsHighest(va.virr));
  vsAdd(va.visr, vector);
  if (t.apicvActive) va.svi = vector;
  __apic_update_ppr(t);
  kvm.sink.step(t.id, 'kvm_cpu_get_interrupt');
  // Diagnostics: an expiry apic_timer_fn left in lapic_timer.pending for the vcpu_run loop tail is not in IRR yet, so this
  // acknowledgement takes a lower vector where bare metal's timer had set IRR at the expiry (with or without APICv).
  if (apic_has_pending_timer(t) && t.timer.vector >= vector) t.timerPendingAtNestedAck = t.timer.vector;
  // Diagnostics: an NMI still only queued is overtaken by this acknowledgement — queued before this pass, when
  // kvm_vcpu_running calls check_nested_events ahead of the requests phase's process_nmi (v4.11 to 5.x), or sent
  // after the requests phase of this pass, when the entry path's own nested check acknowledges (every version).
  if (t.nmiQueued > 0 || (t.requests & REQ_NMI) !== 0) t.nmiQueuedAtNestedAck = t.nested.inRunningCheck ? NMI_BEHIND_ACK_IN_RUNNING : NMI_AFTER_REQUESTS_BEHIND_ACK;
  return vector;
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
  t.nmiQueuedAtNestedAck = '';
  t.guest.take(2, true);
}
