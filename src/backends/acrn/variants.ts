// ACRN variants: the trees of code.ts in both APICv modes, with the root causes they show.
// Each `why` names the file, function and commit it was read at (projectacrn/acrn-hypervisor).
// One root cause can surface under more than one class (a delivery the reference forbids, a
// handler never entered, an interrupt held): it then keeps one tag across classes.
import type { CauseDoc, VariantInfo } from '../api.js';
import { RATES, RATES_SAMPLE } from './rates.js';

function doc(cause: string, why: string): CauseDoc {
  return { cause, why };
}

// ------------------------------------------------------------------ the four historical bugs

const C4_WHY = '#1443: in acrn_handle_pending_request (hypervisor/arch/x86/virq.c @ 7f2b9a1c7^) the NMI branch and the '
  + 're-injection of arch_vcpu->idt_vectoring_info inject and `goto INTR_WIN` before the VID sync '
  + '(`if (is_apicv_intr_delivery_supported() && bitmap_test_and_clear_lock(ACRN_REQUEST_EVENT, ...)) '
  + 'vlapic_apicv_inject_pir(vlapic)`), so a vector accepted into the (software) PIR stays there with EVENT pending, '
  + 'later postings find `pending` set and make no request, and the virtual interrupt waits for an unrelated VM exit. '
  + 'Fixed by 7f2b9a1c7 (the sync moved before the injections). The exception branch (vcpu_inject_hi_exception: '
  + '#MC/#BP/#DB) has the same effect; in this tree only a guest #MC intercepted by the exception bitmap reaches it.';
const C4 = [
  doc('stuck:pir-sync-skipped-by-injection', C4_WHY),
  doc('duplicate:pir-sync-skipped-by-injection', `${C4_WHY} Seen as a duplicate when bare metal merged the held message with another one in flight.`),
  doc('ioapic:pir-sync-skipped-by-injection', `${C4_WHY} Seen as a duplicate of an I/O APIC pin's vector (the oracle files it under ioapic).`),
];

const C3_WHY = '#3374: vcpu_thread (common/hv_main.c @ 7f2b9a1c7, the same order until ea849177a^) runs '
  + 'acrn_handle_pending_request, then `if (need_reschedule) { schedule(); run_vcpu_pre_work(); continue; }`. When the '
  + 'device model completes a port-I/O request (hcall_notify_ioreq_finish → resume_vcpu: back on the runqueue, '
  + 'NEED_RESCHEDULE) before that check, schedule() finds prev == next and switches nothing, so cancel_event_injection '
  + '(context_switch_out) is not called, and the second pass writes VMX_ENTRY_INT_INFO_FIELD over the event the first '
  + 'pass injected — an interrupt already moved IRR → ISR by vlapic_intr_accepted, or an NMI. Fixed by ea849177a '
  + '(master twin of 76e39b162): schedule() before the single pass.';
const C3 = [
  doc('masked:injection-overwritten-by-second-pass', `${C3_WHY} Seen when the second pass injects a vLAPIC vector: bare metal is already in the first one's handler (IF = 0).`),
  doc('core:injection-overwritten-by-second-pass', `${C3_WHY} Seen when the second pass injects an NMI over the first pass's interrupt: its handler is never entered.`),
  doc('stuck:injection-overwritten-by-second-pass', `${C3_WHY} Seen when the second pass injects an interrupt over the first pass's NMI: the NMI is never delivered.`),
];

const C1_WHY = '#4937: apicv_advanced_inject_intr (guest/vlapic.c @ bf1ff8c98) sends the notification vector to its own '
  + 'pCPU with host IRQs off, expecting posted-interrupt processing right after the VM entry; the ICR → IRR latency '
  + '(up to ~1900 cycles measured in the 0397cb717 message) lets it land after the next exit, in root mode, where '
  + 'vcpu_handle_pi_notification (guest/vcpu.c @ 0397cb717^, from 00ad3863a) returns unless is_pi_capable(vm) — false '
  + 'without VT-d posted interrupts (EHL) — so ACRN_REQUEST_EVENT is not re-raised and the vCPU is not signalled: the '
  + 'vector stays in PIR with ON = 1 and later postings send nothing. Fixed by 0397cb717 (the is_pi_capable test removed).';
const C1 = [
  doc('stuck:pir-self-notification-dropped-not-pi-capable', C1_WHY),
  doc('stuck:pir-notification-dropped-not-pi-capable', `${C1_WHY} The same drop of a notification sent by another pCPU (apicv_advanced_accept_intr) while the target sleeps or runs in root.`),
];

const C2_WHY = '#8507: vlapic_accept_intr (guest/vlapic.c @ 9a6e94084^, since 4303ccb1a 2020-01) calls '
  + 'signal_event(VCPU_EVENT_VIRTUAL_INTERRUPT) before ops->accept_intr sets IRR/PIR and ACRN_REQUEST_EVENT (and '
  + 'vcpu_handle_pi_notification signals before vcpu_make_request). The halted vCPU wakes in hlt_vmexit_handler\'s '
  + 'wait_event, finds no request, and the guest resumes after its HLT with nothing to deliver (core:); or the signal '
  + 'is consumed (by that wake-up, or by reset_event before the next entry) and when the guest halts again the vCPU '
  + 'sleeps although the request is about to be made, and the kick does not wake a sleeping vCPU (stuck:). '
  + 'Fixed by 9a6e94084 (signal_event after the request in both places).';
const C2 = [doc('core:signal-before-request', C2_WHY), doc('stuck:signal-before-request', C2_WHY)];

// ------------------------------------------------------------------ real behaviour outside the history

const IOAPIC = [
  doc('ioapic:edge-resent-on-unmask', 'vioapic_indirect_write (dm/vioapic.c, every tree; v3.3 lines "Generate an interrupt if ... pin is '
    + 'not masked, previous interrupt has been EOIed, pin level is asserted") generates an interrupt after any '
    + 'redirection-entry write that leaves an asserted pin unmasked — for an edge pin too, where the 82093AA sees no edge.'),
  doc('ioapic:edge-raised-while-masked-sent', 'As ioapic:edge-resent-on-unmask, for an edge pin raised while masked: '
    + 'vioapic_set_pinstate drops the edge (masked), the unmask write sends it (the 82093AA lost it).'),
];
// Run-time redirection-entry writes (scenario ioapic_write: the high dword, then the low dword).
const RTE_WRITE_WHY = 'vioapic_indirect_write (dm/vioapic.c, every tree: 7f2b9a1c7, ea849177a, v3.3 9a6e94084 "Generate an '
  + 'interrupt if the following conditions are met: pin is not masked, previous interrupt has been EOIed, pin level is '
  + 'asserted ... asserted at rtbl write") runs that check after each dword the guest writes through IOWIN, whatever changed: '
  + 'an edge pin whose line is high sends one message per dword written (the 82093AA sends only on a rising edge). The high '
  + 'dword comes first (Linux __ioapic_write_entry order), so its message carries the old vector to the new destination.';
const RTE_WRITE = [
  doc('ioapic:edge-resent-on-redirection-write', RTE_WRITE_WHY),
  doc('spurious:edge-resent-on-redirection-write', `${RTE_WRITE_WHY} Seen as spurious when the message's vector is no longer the `
    + 'pin\'s (the old vector of the high-dword write, or a vector the guest rewrote since).'),
  doc('duplicate:edge-resent-on-redirection-write', `${RTE_WRITE_WHY} Seen as a duplicate when the vCPU had been sent that vector before.`),
  doc('read:edge-resent-on-redirection-write', `${RTE_WRITE_WHY} Seen as an IRR read showing the extra instance, or (2019+, TMR '
    + 'set per acceptance by vlapic_set_tmr) as a TMR read missing the bit of a level message of the vector that bare metal keeps: '
    + 'the extra edge message\'s acceptance cleared it (bare metal sent none; SDM 10.8.4).`),
  doc('spurious:edge-raised-while-masked-sent', 'As ioapic:edge-raised-while-masked-sent, seen as spurious once the guest has '
    + 'rewritten the pin\'s vector: the edge the unmask write sent carries a vector no pin has now.'),
  doc('duplicate:edge-raised-while-masked-sent', 'As spurious:edge-raised-while-masked-sent, on a vCPU that had been sent the vector before.'),
  doc('spurious:edge-resent-on-unmask', 'As ioapic:edge-resent-on-unmask, seen as spurious once the guest has rewritten the '
    + 'pin\'s vector: the edge the unmask write sent carries a vector no pin has now.'),
  doc('duplicate:edge-resent-on-unmask', 'As spurious:edge-resent-on-unmask, on a vCPU that had been sent the vector before.'),
];
/** 2019+ (TMR set and cleared per acceptance, vlapic_set_tmr): the lost-EOI face of RTE_WRITE. */
const RTE_WRITE_TMR = doc('stuck:edge-resent-on-redirection-write', `${RTE_WRITE_WHY} Seen as a level pin held under Remote IRR (2019+): the extra `
    + 'edge message of a level message\'s vector, accepted while that level message is in service, clears its TMR bit '
    + '(vlapic_set_tmr; advanced mode: its EOI-exit bit too), so its EOI is not forwarded to vioapic_process_eoi '
    + '(vlapic_process_eoi tests TMR; advanced mode: no EOI-induced exit once the bitmap update is loaded, and '
    + 'veoi_vmexit_handler tests TMR before vioapic_broadcast_eoi). Bare metal sent no such message; its '
    + 'TMR keeps the bit and the EOI clears Remote IRR (SDM 10.8.4, 10.8.5).');
const TMR_REWRITE_2018 = [
  doc('read:tmr-kept-for-rewritten-vector', '2018 vioapic_update_tmr (dm/vioapic.c @ 7f2b9a1c7, run by ACRN_REQUEST_TMR_UPDATE '
    + 'after a redirection write that changed the vector or trigger mode) sets or clears the TMR bit of each pin\'s current '
    + 'vector only, on every vCPU: the old vector of a rewritten level pin keeps its TMR bit (and, with VID, its EOI-exit bit via '
    + 'apicv_batch_set_tmr), although no message of it was accepted.'),
];
const ESR = doc('read:illegal-vector-ipi-not-sent', 'vlapic_write_icrlo (guest/vlapic.c, every tree) sets APIC_ESR_SEND_ILLEGAL_VECTOR in the '
  + 'sender\'s ESR for a FIXED IPI with vector < 16 and sends nothing, so no receiver flags Receive Illegal Vector; an x2APIC '
  + 'SELF_IPI with vector < 16 likewise (vlapic_x2apic_self_ipi_handler, 2019+).');
const RIV_DISABLED = doc('read:riv-skipped-while-software-disabled', 'vlapic_receive_intr (guest/vlapic.c @ ea849177a, 0397cb717^, '
  + '9a6e94084: "only make request when vlapic enabled") skips a software-disabled target before vlapic_set_intr, whose '
  + 'vector < 16 test sets APIC_ESR_RECEIVE_ILLEGAL_VECTOR: an MSI or vIOAPIC message with an illegal vector to a vLAPIC '
  + 'with SVR bit 8 clear leaves no Receive Illegal Vector, where the reference (REF-VEC-1 before REF-SVR-1) flags it. '
  + '(2018: vlapic_set_intr returns -EINVAL for such a vector and never sets the bit: no Receive Illegal Vector either.)');
const PPR = [
  doc('read:ppr-stale-after-virtualized-tpr-write', 'Basic mode: the TPR shadow virtualizes the guest\'s TPR writes into the vLAPIC page without an exit, '
    + 'and lapic->ppr is recomputed only by vlapic_update_ppr (injection, EOI, the pending-delivery check of a pass); '
    + 'vlapic_read returns lapic->ppr as it is [guest/vlapic.c vlapic_read, every tree].'),
];
const IDT_NMI = doc('core:idt-vectoring-dropped-for-nmi', 'acrn_handle_pending_request (guest/virq.c; every tree, v3.3 lines '
  + '"inject NMI before maskable hardware interrupt" ... "else { if (arch->idt_vectoring_info & VMX_INT_INFO_VALID)") '
  + 're-injects the IDT-vectoring event only in the else branch of the NMI request: with an NMI pending (injected, or '
  + 'kept when not injectable) the external interrupt whose delivery faulted is not re-injected, and the next '
  + 'vmexit_handler overwrites arch.idt_vectoring_info. The interrupt is lost with its vISR bit set. Still present in '
  + 'v3.3: docs/findings/acrn-idt-vectoring-dropped-for-nmi.md.');
const NMI_UNCHECKED = [
  doc('nmi-blocked:nmi-injected-without-blocking-check', 'Before 84ad34089 (2020-04, is_nmi_injectable) acrn_handle_pending_request '
    + 'injects the NMI request whatever the guest\'s interruptibility state: an NMI sent to a vCPU in its NMI handler '
    + '(or in an STI shadow) is delivered nested [virq.c @ 7f2b9a1c7, ea849177a].'),
  doc('stuck:nmi-injected-without-blocking-check', 'Consequence of nmi-blocked:nmi-injected-without-blocking-check: the nested '
    + 'injection consumed the one NMI request bit where bare metal keeps one NMI latched, so a later NMI that bare metal '
    + 'still delivers has no request left.'),
];
const NMI_WINDOW_2018 = doc('stuck:nmi-behind-irq-window', '2018 acrn_handle_pending_request: when the cancelled-injection branch '
  + 're-injects (goto INTR_WIN) the NMI request stays pending and INTR_WIN opens the interrupt window for it '
  + '(vcpu_pending_request: pending_req != 0), which waits for RFLAGS.IF = 1 [virq.c @ 7f2b9a1c7].');
const NMI_WINDOW = [
  doc('stuck:nmi-behind-irq-window', 'acrn_handle_pending_request (guest/virq.c, 84ad34089 .. v3.3): an NMI request that is not '
    + 'injectable (blocked by NMI or STI) is kept and the interrupt window is opened for it ("TODO: Currently, NMI exiting '
    + 'and virtual NMIs are not enabled, so use interrupt window to inject NMI"); the window waits for RFLAGS.IF = 1, '
    + 'so a second NMI arriving during the first one\'s handler waits, after that handler\'s IRET, until the interrupted '
    + 'code sets IF. docs/findings/acrn-nmi-via-interrupt-window.md.'),
  doc('livelock:interrupt-window', 'As stuck:nmi-behind-irq-window, with RFLAGS.IF = 1 inside the NMI handler: the interrupt '
    + 'window exits at once, the NMI is still blocked, the request is kept and the window re-armed — an exit storm in '
    + 'which the guest never executes the IRET that would unblock NMIs. docs/findings/acrn-nmi-via-interrupt-window.md.'),
];
const HLT = [
  doc('core:hlt-woken-interrupt-not-deliverable', 'hlt_vmexit_handler (guest/vmexit.c, 4303ccb1a .. v3.3) sleeps in '
    + 'wait_event(VCPU_EVENT_VIRTUAL_INTERRUPT), which vlapic_accept_intr signals for every accepted interrupt, deliverable '
    + 'or not, and the handler does not retain RIP: after `cli; hlt`, or with the vector masked by TPR/PPR, the guest '
    + 'resumes after its HLT with nothing delivered, where bare metal stays halted.'),
  doc('core:hlt-not-blocked-virr-pending', 'hlt_vmexit_handler does not sleep when vlapic_has_pending_intr sees any vIRR bit '
    + '(vlapic_find_highest_irr != 0), ignoring RFLAGS.IF and PPR: the guest resumes after its HLT with nothing delivered.'),
  doc('core:hlt-not-blocked-request-pending', 'hlt_vmexit_handler does not sleep when pending_req != 0 — e.g. EVENT for a '
    + 'vector that cannot be delivered, a kept NMI request, EOI_EXIT_BITMAP_UPDATE: the guest resumes after its HLT with '
    + 'nothing delivered.'),
  doc('core:hlt-not-blocked-event-already-signalled', 'wait_event returns at once when the event was signalled since the '
    + 'last reset_event (run before each VM entry), e.g. by an IPI that collapsed into an IRR bit already set '
    + '(apicv_basic_accept_intr makes no request, vlapic_accept_intr signals anyway): the guest resumes after its HLT.'),
];
const TPR_THRESHOLD = doc('stuck:irr-tpr-threshold-stale', 'Basic mode (ea849177a .. v3.3): VMX_TPR_THRESHOLD is written only by '
  + 'vlapic_update_tpr_threshold at the end of apicv_basic_inject_intr, i.e. only in a pass that handles EVENT. A vector '
  + 'that became masked by a TPR raised after that pass (the pass computed threshold 0 with the old TPR) is not re-checked '
  + 'by later passes (has_pending_delivery sees it blocked and makes no request), so when the guest lowers TPR no '
  + 'TPR-below-threshold exit comes and the interrupt waits for an unrelated exit. '
  + 'docs/findings/acrn-tpr-threshold-stale.md.');
const SELF_NOTIFY = [
  doc('stuck:pir-self-notification-in-flight', 'bf1ff8c98 (2020-05, kept by 0397cb717 through v3.3): apicv_advanced_inject_intr '
    + 'sends the notification vector to its own pCPU instead of syncing PIR in software; the self-IPI reaches the IRR '
    + 'some hundreds of cycles after the ICR write (0397cb717 measured up to ~1900), after the VM entry, and the guest runs '
    + 'instructions first. A guest self-IPI (trapped ICR write) is therefore taken a few instructions late. '
    + 'docs/findings/acrn-self-notification-latency.md.'),
  doc('core:hlt-resumed-before-self-notification', 'As stuck:pir-self-notification-in-flight for a halted vCPU: the wake-up '
    + 'pass sends the self-IPI and enters the guest after its HLT before the notification lands, so the guest executes '
    + 'instructions after HLT before the interrupt. docs/findings/acrn-self-notification-latency.md.'),
  doc('duplicate:pir-held-apart-until-self-notification', 'As stuck:pir-self-notification-in-flight: a vector accepted into '
    + 'PIR while the same vector is pending in vIRR is merged only by posted-interrupt processing, which the self-IPI '
    + 'delays past the entry; the guest takes the vIRR instance, then the PIR one — one interrupt delivered twice. '
    + 'docs/findings/acrn-self-notification-latency.md.'),
  doc('stuck:pir-held-apart-until-self-notification', 'As duplicate:pir-held-apart-until-self-notification, seen while the '
    + 'second instance is still held.'),
  doc('ioapic:pir-held-apart-until-self-notification', 'As duplicate:pir-held-apart-until-self-notification for an I/O APIC '
    + 'pin\'s vector (the oracle files it under ioapic).'),
];
const LEVEL_EOI = doc('stuck:level-eoi-before-eoi-exit-bitmap-loaded', 'Advanced mode (ea849177a .. v3.3): the EOI-exit bit of a '
  + 'level vector is set in vcpu->arch.eoi_exit_bitmap by vlapic_set_tmr when the vector is accepted, but reaches the VMCS '
  + 'only in the next acrn_handle_pending_request (ACRN_REQUEST_EOI_EXIT_BITMAP_UPDATE). c2c05a29d (#4200) relies on the '
  + 'kick of that request arriving first; a notification already pending at the pCPU (latched while host IRQs are off) '
  + 'lets posted-interrupt processing deliver the vector first, the guest\'s EOI is virtualized without an EOI-induced exit, '
  + 'vioapic_broadcast_eoi never runs and Remote IRR stays set: the pin never fires again. '
  + 'docs/findings/acrn-level-eoi-exit-bitmap-race.md.');

const NMI_REPLAY = doc('stuck:nmi-merged-into-reinjection', 'vmexit_handler (vmexit.c / guest/vmexit.c, every tree; v3.3 '
  + '"} else if (type == VMX_INT_TYPE_NMI) { vcpu_make_request(vcpu, ACRN_REQUEST_NMI);") re-raises ACRN_REQUEST_NMI for an '
  + 'NMI whose delivery caused the VM exit (IDT-vectoring information). A new NMI sent before the next entry '
  + '(vcpu_inject_nmi → vcpu_make_request(ACRN_REQUEST_NMI)) sets the same bit, and so does a new NMI requested from another '
  + 'pCPU after the pass that injected the first and before the exit re-raises it (bitmap_set_lock is idempotent): one NMI '
  + 'is injected where bare metal, having delivered the first, latches the second and takes it after the handler\'s IRET. '
  + 'docs/findings/acrn-nmi-merged-into-reinjection.md.');

// 2018-only behaviour.
const NMI_BEHIND_CANCELLED_VID = doc('stuck:nmi-request-behind-cancelled-injection', '2018 acrn_handle_pending_request '
  + '(virq.c @ 7f2b9a1c7^ and 7f2b9a1c7): the pass that re-injects a cancelled event (cancel_event_injection at a '
  + 'switch-out) `goto INTR_WIN` and keeps a pending NMI request; with virtual-interrupt delivery INTR_WIN returns '
  + 'without interrupt-window exiting unless an EXTINT is requested ("is_apicv_intr_delivery_supported() || '
  + '!vcpu_pending_request(vcpu)"), so the NMI waits for an unrelated VM exit.');
const NMI_CANCELLED_2018 = doc('stuck:nmi-held-apart-from-cancelled-injection', '2018 vcpu_thread (common/hv_main.c @ '
  + '7f2b9a1c7): an NMI injected by acrn_handle_pending_request and cancelled when the vCPU is switched out for a '
  + 'device-model request (cancel_event_injection keeps it in arch_vcpu.inject_info) is re-injected after the resume '
  + 'by the cancelled-injection branch, while an NMI sent meanwhile is a new ACRN_REQUEST_NMI: two NMIs where bare '
  + 'metal latched the second one into the first, still pending [virq.c acrn_handle_pending_request @ 7f2b9a1c7].');
const TMR_2018 = doc('read:tmr-programmed-from-rtbl', 'In 2018 the TMR is programmed from the redirection table '
  + '(vioapic_update_tmr at the boot-time RTE writes, apicv_batch_set_tmr for VID), not per acceptance: a level pin\'s '
  + 'vector shows in TMR before its first message, and stays set after an edge message of the same vector (an IPI, MSI '
  + 'or timer sharing it), which bare metal\'s acceptance clears [dm/vioapic.c, guest/vlapic.c @ 7f2b9a1c7].');
/** Issue 8's shared vectors: the EOI side of TMR_2018. */
const TMR_EOI_2018 = ['ioapic', 'read'].map((cls) => doc(`${cls}:eoi-of-edge-instance-broadcast-by-table-tmr`, 'The EOI side of '
  + 'read:tmr-programmed-from-rtbl when a level pin\'s vector also has edge sources (an IPI, MSI or the timer): TMR '
  + '(and, with VID, the EOI-exit bitmap) is the redirection table\'s, so the EOI of an instance that arrived as an edge '
  + 'message goes to vioapic_process_eoi (basic: vlapic_process_eoi tests the TMR bit; VID: veoi_vmexit_handler tests it '
  + 'after the EOI-induced exit), which clears the pin\'s Remote IRR and re-sends a still-asserted line. Bare metal\'s edge '
  + 'acceptance cleared TMR: the EOI is not broadcast and Remote IRR stays set (SDM 10.8.4, 10.8.5). Seen as the re-sent '
  + 'message (ioapic) or a redirection-entry read with Remote IRR clear (read) [guest/vlapic.c vlapic_process_eoi, '
  + 'veoi_vmexit_handler; dm/vioapic.c vioapic_update_tmr, vioapic_process_eoi @ 7f2b9a1c7].'));
const TMR_EDGE_2018 = doc('read:tmr-edge-pin-before-acceptance', 'The edge side of read:tmr-programmed-from-rtbl: a '
  + 'pin rewritten from level to edge has its vector cleared from TMR by vioapic_update_tmr (ACRN_REQUEST_TMR_UPDATE) at '
  + 'the next entry, before any edge message is accepted; bare metal keeps TMR set from the level acceptance until the '
  + 'edge one clears it (SDM 10.8.4; kvm-unit-tests test_ioapic_edge_tmr reads it) [dm/vioapic.c, guest/vlapic.c @ 7f2b9a1c7].');
const TMR_TABLE_2018 = doc('read:tmr-cleared-by-table-update', 'The other side of read:tmr-programmed-from-rtbl: '
  + 'vioapic_update_tmr (ACRN_REQUEST_TMR_UPDATE after an RTE write) recomputes every vCPU\'s TMR from the redirection '
  + 'table as it is then, so a level message accepted for a vector that a later write took out of the table loses its TMR '
  + 'bit; bare metal keeps it until an edge acceptance of the vector (SDM 10.8.4) [dm/vioapic.c, guest/vlapic.c @ 7f2b9a1c7].');
/** Issue 8's shared vectors: the held side of TMR_EDGE_2018 when the edge entry is another pin's. */
const TMR_EDGE_EOI_2018 = doc('stuck:eoi-lost-tmr-cleared-by-edge-entry', 'vioapic_update_tmr (2018, ACRN_REQUEST_TMR_UPDATE '
  + 'after an RTE write) calls vlapic_set_tmr_one_vec for every pin in turn, setting the bit of a level entry\'s vector and '
  + 'clearing that of an edge entry\'s: when another pin\'s edge entry carries a level pin\'s vector and comes later in the '
  + 'table, the vector\'s TMR bit (and, with VID, its EOI-exit bit through vlapic_apicv_batch_set_tmr) ends clear. The EOI '
  + 'of the level message is then not forwarded (basic: vlapic_process_eoi tests TMR; VID: virtualized without an '
  + 'EOI-induced exit), vioapic_process_eoi never runs and the pin\'s Remote IRR holds the line for good. Bare metal\'s TMR '
  + 'follows the level message accepted last and the EOI is broadcast (SDM 10.8.4, 10.8.5): a still-asserted line sends '
  + 'again [dm/vioapic.c vioapic_update_tmr; guest/vlapic.c vlapic_set_tmr_one_vec, vlapic_process_eoi @ 7f2b9a1c7].');
const STALE_PPR_2018 = [
  doc('stuck:irr-below-stale-ppr', '2018 basic mode: TPR writes are virtualized (TPR shadow) with VMX_TPR_THRESHOLD left at 0, '
    + 'and vcpu_inject_vlapic_int / vcpu_pending_request use lapic->ppr without vlapic_update_ppr: after the guest lowers '
    + 'TPR, a vector masked by the old TPR is not injected until an EOI or an acceptance recomputes PPR [virq.c, vlapic.c @ 7f2b9a1c7].'),
  doc('masked-ppr:injected-above-stale-ppr', 'As stuck:irr-below-stale-ppr in the other direction: after the guest raises TPR '
    + 'the stale PPR lets vcpu_inject_vlapic_int inject a vector that TPR masks.'),
  doc('read:irr-below-stale-ppr', 'As stuck:irr-below-stale-ppr, seen as an IRR read showing an instance bare metal had already '
    + 'merged and delivered.'),
];
const CANCELLED_WHY = 'The #1443 fix (7f2b9a1c7) moved the VID sync after the cancelled-injection branch, which still '
  + '`goto INTR_WIN`: after a vCPU was switched out with an injection prepared (cancel_event_injection), the pass that '
  + 're-injects it skips the sync [virq.c acrn_handle_pending_request @ 7f2b9a1c7 and 7f2b9a1c7^].';
const CANCELLED_2018 = [
  doc('stuck:pir-sync-skipped-by-cancelled-injection', CANCELLED_WHY),
  doc('duplicate:pir-sync-skipped-by-cancelled-injection', `${CANCELLED_WHY} Seen as a duplicate when bare metal merged the held message with another one in flight.`),
  doc('ioapic:pir-sync-skipped-by-cancelled-injection', `${CANCELLED_WHY} Seen as a duplicate of an I/O APIC pin's vector.`),
];

// ------------------------------------------------------------------ programmable addressing (issue 8)

const ADDR_CLASSES = ['stuck', 'read', 'spurious', 'duplicate', 'ioapic'] as const;
const perClass = (tag: string, why: string): CauseDoc[] => ADDR_CLASSES.map((k) => doc(`${k}:${tag}`, why));

const ID_BASIC = perClass('apic-id-write-ignored', 'Basic mode, every tree: an xAPIC ID write is an APIC-access exit '
  + 'emulated by vlapic_write, whose `case APIC_OFFSET_ID:` does nothing ("Force APIC ID as read only"), so lapic->id '
  + 'keeps vCPU i << 24: an ID read returns the old ID and vlapic_calc_dest (vm_apicid2vcpu_id: the page\'s ID in '
  + '2018/2019, vlapic->vapic_id since 2020) still routes physical IPIs, MSIs and redirection entries by it — a message '
  + 'to the new ID is lost or reaches another vCPU. The reference models a writable ID (kvm-unit-tests test_apic_id '
  + '"writeable xapic id"); SDM 10.4.6 leaves writability model-specific, so this is a permitted processor model, '
  + 'as bhyve\'s. [guest/vlapic.c vlapic_write, vm_apicid2vcpu_id @ 7f2b9a1c7, ea849177a, 0397cb717^, 9a6e94084]');
const ID_ADV_PAGE = perClass('apic-id-shared-first-vcpu-only', 'Advanced mode, 2018/2019: APIC-register virtualization '
  + 'writes the guest\'s ID into the virtual-APIC page (= vlapic->apic_page) before the APIC-write exit, whose handler '
  + 'ignores it ("Force APIC ID as read only"); vm_apicid2vcpu_id matches vlapic_get_apicid (`apic_page.id.v >> '
  + 'APIC_ID_SHIFT`), so the ID is writable in effect — but it returns the first vCPU with that ID: when two vCPUs '
  + 'share an ID (SDM 10.6.2.1: both accept), a physical message reaches only the lower-numbered one. '
  + '[guest/vlapic.c apic_write_vmexit_handler, vm_apicid2vcpu_id, vlapic_calc_dest @ 7f2b9a1c7, ea849177a]');
const ID_ADV_VAPIC = perClass('apic-id-routed-by-vapic-id', 'Advanced mode, 0397cb717^ .. v3.3 (a real bug, '
  + 'docs/findings/acrn-apic-id-write-visible-not-routed.md): APIC-register virtualization writes the guest\'s ID into '
  + 'the virtual-APIC page before the APIC-write exit and apic_write_vmexit_handler leaves it there ("Force APIC ID as '
  + 'read only" does nothing), so the guest reads back the ID it wrote; but vm_apicid2vcpu_id matches vlapic->vapic_id, '
  + 'set once by vlapic_init: physical IPIs, MSIs and redirection entries to the new ID reach nobody (or the vCPU whose '
  + 'vapic_id it is), those to the old ID still reach this vCPU. [guest/vlapic.c apic_write_vmexit_handler, '
  + 'vm_apicid2vcpu_id, vlapic_init @ 0397cb717^, 9a6e94084]');
const DEST_FF = perClass('device-dest-ff-not-broadcast', 'Since 2019 (ea849177a .. v3.3) vlapic_receive_intr (MSIs and '
  + 'the vIOAPIC) calls vlapic_calc_dest / vlapic_calc_dest_noshort with is_broadcast = false, so destination 0xFF is '
  + 'not a broadcast: in logical mode it is matched against each LDR (a vCPU in the cluster model outside cluster 15, or '
  + 'with LDR 0, is left out), in physical mode vm_apicid2vcpu_id finds no vCPU ("bad lapicid"). Only '
  + 'vlapic_write_icrlo passes `dest == 0xff`. The 2018 vlapic_calcdest tested `dest == 0xffU` for every caller. '
  + '[guest/vlapic.c vlapic_receive_intr, vlapic_calc_dest_noshort @ ea849177a, 9a6e94084]');
// ioapic (session 9): the dropped IPI's vector is also a level pin's, in service here (issue 8's shared vectors): bare
// metal's edge acceptance after the level one clears TMR, so the level instance's EOI is not broadcast; ACRN's TMR keeps
// the level bit and vioapic_process_eoi clears Remote IRR and re-sends the line (guest.ts eoiWhy, from edgeLostWhy).
const LOWEST_IPI = ['stuck', 'read', 'ioapic'].map((k) => doc(`${k}:lowest-priority-ipi-unhandled`, 'Every tree: vlapic_write_icrlo '
  + 'computes the destinations with lowprio = false and then, per target, handles FIXED, NMI, INIT, STARTUP and SMI only: '
  + 'a lowest-priority IPI (APIC_DELMODE_LOWPRIO) ends in `pr_err("Unhandled icrlo write with mode %u\\n", mode)` and '
  + 'is sent to no one; bare metal delivers it to one of the addressed processors (SDM 10.6.2.4). read: an IRR read, or, '
  + 'the IPI carrying a level pin\'s vector in service on the vCPU bare metal chose, a TMR read: bare metal\'s edge '
  + 'acceptance cleared TMR (SDM 10.8.4), vlapic_set_tmr never ran there and the level bit stays. ioapic: the same level '
  + 'bit makes the level instance\'s EOI reach vioapic_process_eoi (basic: vlapic_process_eoi tests TMR; advanced: '
  + 'veoi_vmexit_handler tests it), which clears Remote IRR and re-sends a still-asserted line; bare metal does not '
  + 'broadcast that EOI and Remote IRR stays set (10.8.5). A real bug: docs/findings/acrn-lowest-priority-ipi-dropped.md. '
  + '[guest/vlapic.c vlapic_write_icrlo, vlapic_process_eoi, veoi_vmexit_handler; dm/vioapic.c vioapic_process_eoi '
  + '(vioapic_broadcast_eoi since 2020) @ 7f2b9a1c7, ea849177a, 0397cb717^, 9a6e94084]'));

const LOWEST_FF_2018 = ['spurious', 'duplicate', 'ioapic', 'read'].map((k) => doc(`${k}:lowest-priority-dest-ff-broadcast`, '2018 '
  + 'vlapic_calcdest returns vm_active_cpus for destination 0xFF ("Broadcast in both logical and physical modes") before '
  + 'it looks at lowprio, so a lowest-priority MSI or redirection entry to 0xFF is accepted by every vCPU, where bare '
  + 'metal arbitrates one (SDM 10.6.2.4). [guest/vlapic.c vlapic_calcdest, vlapic_deliver_intr @ 7f2b9a1c7]'));

// ------------------------------------------------------------------ the APIC timer (issue 8, session 6)

const TREES = '[guest/vlapic.c, arch/x86/timer.c @ 7f2b9a1c7, ea849177a, 0397cb717^; guest/vlapic.c, common/timer.c @ 9a6e94084]';
const timerDocs = (tag: string, classes: readonly string[], why: string): CauseDoc[] => classes.map((k) => doc(`${k}:${tag}`, why));
const TIMER: CauseDoc[] = [
  ...timerDocs('timer-disarmed-by-mode-change', ['stuck', 'read'], 'vlapic_update_lvtt (every tree): any change of the LVT timer '
    + 'mode, one-shot ↔ periodic included, runs del_timer and update_timer(timer, 0, 0) ("A write to the LVT Timer Register that '
    + 'changes the timer mode disarms the local APIC timer"): the running count is gone, TMCCT (vlapic_get_ccr) reads 0 and the '
    + 'expiry never comes. The reference keeps the count across one-shot ↔ periodic and disarms only to or from TSC-deadline (SDM '
    + '10.5.4, 10.5.4.1; kvm-unit-tests test_apic_change_mode reads TMCCT after the change). docs/findings/acrn-timer-disarmed-by-mode-change.md. ' + TREES),
  ...timerDocs('timer-period-raised-to-minimum', ['stuck', 'read'], 'add_timer (every tree) raises the period of a periodic timer to '
    + 'us_to_ticks(MIN_TIMER_PERIOD_US = 500) ("limit minimal periodic timer cycle period"), and timer_softirq re-arms at timeout + '
    + 'period_in_cycle: the first expiry comes TMICT ticks after the write, the next ones 500 µs apart (1,000,000 ticks at the 2 GHz '
    + 'TSC the model assumes) where bare metal reloads TMICT (SDM 10.5.4): expiries missing, TMCCT different. A deliberate rate '
    + 'limit, like KVM\'s min_timer_period_us. ' + TREES),
  ...timerDocs('timer-stopped-by-sw-disable', ['stuck', 'read', 'spurious', 'duplicate'], 'vlapic_write_svr (vlapic_svr_write_handler '
    + '≤ 2019) on a software disable: "stop the apic timer and mask all the LVT entries" — del_timer, so a periodic count expires '
    + 'once more for vlapic_get_ccr (the timeout is kept: TMCCT counts down to 0 and stays there) and never reloads, and a count '
    + 'whose LVT the guest unmasks after re-enabling never fires. Bare metal only masks the LVTs: the count runs on (SDM 10.4.7.2). ' + TREES),
  ...timerDocs('timer-restarted-by-sw-enable', ['stuck', 'read', 'spurious', 'duplicate'], 'vlapic_write_svr on a software enable: '
    + '"restart the apic timer if it is configured in periodic mode" — set_expiration (a full period from now) and add_timer — '
    + 'where bare metal\'s count kept its phase through the disable: TMCCT and the expiries differ. ' + TREES),
  ...timerDocs('timer-expiry-held-irqs-off-at-entry', ['stuck', 'duplicate', 'read'], 'The vLAPIC timer is a hypervisor timer of the vCPU\'s pCPU: its expiry is the pCPU\'s '
    + 'TIMER_VECTOR interrupt, whose handler only fire_softirq(SOFTIRQ_TIMER); timer_softirq → vlapic_timer_expired sets the vIRR. '
    + 'From CPU_IRQ_DISABLE at the top of vcpu_thread to the VM entry the interrupt waits in the pCPU\'s IRR: '
    + 'acrn_handle_pending_request has already chosen (and run_vcpu injects) a lower vector, and the entry then exits at once for '
    + 'the timer interrupt. Bare metal takes the timer\'s higher vector first (SDM 10.8.3.1) — or, when the injected vector is '
    + 'the timer\'s own, merges the expiry into it, where ACRN sets the vIRR again after the injection (duplicate). '
    + '[common/hv_main.c vcpu_thread; arch/x86/irq.c dispatch_interrupt, common/irq.c do_irq, common/softirq.c do_softirq @ '
    + '7f2b9a1c7, ea849177a, 0397cb717^, 9a6e94084]'),
  doc('stuck:timer-softirq-pending', 'As stuck:timer-expiry-held-irqs-off-at-entry, after the interrupt was taken: SOFTIRQ_TIMER is '
    + 'pending and the vIRR not yet set (2018/2019: do_softirq runs only at the top of vcpu_thread, not in the idle thread or '
    + 'the interrupt path).'),
  ...timerDocs('timer-node-added-twice', ['stuck', 'read', 'spurious', 'duplicate'], 'A real bug of every tree '
    + '(docs/findings/acrn-timer-node-added-twice.md): vlapic_write_svr\'s restart on a software enable calls add_timer without '
    + 'del_timer; when the guest wrote TMICT while the vLAPIC was disabled (vlapic_write_icrtmr added the timer), the node is '
    + 'added twice and list_add(node, head) links it to itself. del_timer (`!list_empty(&timer->node)`) can no longer unlink it: '
    + 'a TMICT write of 0 does not stop the periodic timer, which keeps firing. v3.3 debug builds stop at ASSERT(list_empty(&timer->node), '
    + '"add timer again!") instead; release builds (modelled) compile it out. ' + TREES),
];
const DEVICE_RIV_2018 = doc('read:device-illegal-vector-dropped', '2018 vlapic_set_intr returns -EINVAL for a vector below 16 '
  + 'before anything is recorded, for an MSI or vIOAPIC message too: no Receive Illegal Vector in the target\'s ESR, which bare '
  + 'metal sets (SDM 10.5.3). [guest/vlapic.c vlapic_set_intr @ 7f2b9a1c7]');
const TIMER_2018 = doc('read:timer-illegal-vector-dropped', '2018 vlapic_timer_expired → vlapic_intr_edge → vlapic_set_intr returns '
  + '-EINVAL for a vector below 16 before anything is recorded: no Receive Illegal Vector in ESR, which bare metal sets for a '
  + 'local interrupt with an illegal vector (SDM 10.5.3). [guest/vlapic.c @ 7f2b9a1c7]');

// ------------------------------------------------------------------ x2APIC guests (issue 8, session 7)

// (ioapic: the instance's vector is also a level pin's, issue 8 — the oracle files an extra instance of a pin's
// vector under the pin's class, as KVM's ioapic:self-ipi-virtualized-while-apic-sw-disabled.)
const SELF_IPI_SW_DISABLED = ['duplicate', 'spurious', 'read', 'ioapic'].map((k) => doc(`${k}:self-ipi-virtualized-while-sw-disabled`, 'Advanced '
  + 'mode, x2APIC guests (ea849177a .. v3.3): update_msr_bitmap_x2apic_apicv clears the write intercept of the SELF_IPI MSR '
  + '(0x83F) "as writes to them are virtualized", so the processor performs self-IPI virtualization (SDM 29.5, 29.1.5: VIRR[v] = 1, '
  + 'RVI raised, evaluation) and vlapic_x2apic_self_ipi_handler / vlapic_accept_intr, whose "vlapic is software disabled, ignoring '
  + 'interrupt" test would drop it, never run: a guest that has cleared SVR bit 8 still receives its own fixed self-IPI, which bare '
  + 'metal discards (SDM 10.4.7.2). The class is the oracle\'s: duplicate/spurious at the delivery, read when an IRR read shows it, '
  + 'ioapic when the vector is also an I/O APIC pin\'s (a shared vector). '
  + 'The same hardware path as KVM\'s self-ipi-virtualized-while-apic-sw-disabled. [guest/vmsr.c update_msr_bitmap_x2apic_apicv, '
  + 'guest/vlapic.c vlapic_accept_intr @ ea849177a, 0397cb717^, 9a6e94084]'));

/** Issue 8's shared vectors, advanced mode x2APIC guests since 2019 (session 9): the same hardware path as KVM's. */
const SELF_IPI_TMR_KEPT = ['ioapic', 'read'].map((k) => doc(`${k}:tmr-kept-by-virtualized-self-ipi`, 'Advanced mode, x2APIC '
  + 'guests (ea849177a .. v3.3), a level pin\'s vector also sent by the guest as a self-IPI: the level message went through '
  + 'apicv_advanced_accept_intr, whose vlapic_set_tmr set TMR (and the EOI-exit bit) in the vLAPIC page, which is the '
  + 'virtual-APIC page; the SELF_IPI MSR write is not intercepted (update_msr_bitmap_x2apic_apicv) and self-IPI '
  + 'virtualization sets VIRR and RVI only (SDM 29.1.5), never the page\'s TMR. The EOI of either instance then exits '
  + '(EOI-exit bitmap) into veoi_vmexit_handler, which tests that TMR bit and calls vioapic_process_eoi '
  + '(vioapic_broadcast_eoi since 2020): Remote IRR is cleared and a still-asserted line is sent again, or the next '
  + 'assertion is (ioapic); a TMR read, passed through by APIC-register virtualization, shows the bit set (read). Bare '
  + 'metal cleared TMR when it accepted the edge self-IPI (SDM 10.8.4): no EOI broadcast, Remote IRR stays set (10.8.5). '
  + '[guest/vmsr.c update_msr_bitmap_x2apic_apicv; guest/vlapic.c vlapic_set_tmr, apicv_advanced_accept_intr, '
  + 'veoi_vmexit_handler @ ea849177a, 0397cb717^, 9a6e94084]'));

function rated(name: string, causes: CauseDoc[]): CauseDoc[] {
  const r = RATES[name];
  return causes.map((c) => (r && r[c.cause] !== undefined ? { ...c, rate: r[c.cause] } : c));
}

function variant(v: Omit<VariantInfo, 'ratesSample'>): VariantInfo {
  return { ...v, expectedBugs: rated(v.name, v.expectedBugs), knownDeviations: rated(v.name, v.knownDeviations ?? []), ratesSample: RATES_SAMPLE };
}

const BASIC_COMMON = [...IOAPIC, ...RTE_WRITE, ESR, ...PPR, IDT_NMI, NMI_REPLAY, ...ID_BASIC, ...LOWEST_IPI, ...TIMER];
// ADV_COMMON: the ID deviation differs by tree (ID_ADV_PAGE 2018/2019, ID_ADV_VAPIC since 2020).
const ADV_COMMON = [...IOAPIC, ...RTE_WRITE, ESR, IDT_NMI, NMI_REPLAY, ...LOWEST_IPI, ...TIMER];
// The trees since 2019 (vlapic_set_intr flags RIV for device messages; device destination 0xFF not a broadcast).
const RIV_2019 = [RIV_DISABLED, ...DEST_FF];
const ADV_PI = [...ADV_COMMON, LEVEL_EOI];
const SINCE_2020 = [...HLT, ...NMI_WINDOW];

export const VARIANTS: VariantInfo[] = [
  variant({
    name: '2018-basic',
    source: '7f2b9a1c7^ and 7f2b9a1c7 (identical without virtual-interrupt delivery): hypervisor/arch/x86/virq.c, '
      + 'guest/vlapic.c, common/hv_main.c, common/io_request.c, common/schedule.c',
    summary: 'APICv basic mode, 2018: requests handled before the reschedule check (#3374).',
    status: 'buggy',
    expectedBugs: C3,
    knownDeviations: [...BASIC_COMMON, TMR_2018, ...TMR_EOI_2018, TMR_EDGE_2018, TMR_EDGE_EOI_2018, TMR_TABLE_2018, ...TMR_REWRITE_2018, ...NMI_UNCHECKED, NMI_WINDOW_2018, NMI_CANCELLED_2018, ...STALE_PPR_2018,
      ...LOWEST_FF_2018, TIMER_2018, DEVICE_RIV_2018],
  }),
  variant({
    name: 'pre-1443-vid',
    source: '7f2b9a1c7^ (2018-10): virtual-interrupt delivery without posted interrupts',
    summary: 'VID sync behind the injection branches (#1443). The #3374 loop is there too, but with VID the only event a '
      + 'second pass can write over the first pass\'s is another NMI, which bare metal merges as well: unobservable here.',
    status: 'buggy',
    expectedBugs: C4,
    knownDeviations: [...ADV_COMMON, ...ID_ADV_PAGE, TMR_2018, ...TMR_EOI_2018, TMR_EDGE_2018, TMR_EDGE_EOI_2018, TMR_TABLE_2018, ...TMR_REWRITE_2018, ...NMI_UNCHECKED, NMI_WINDOW_2018, NMI_CANCELLED_2018,
      NMI_BEHIND_CANCELLED_VID, ...CANCELLED_2018, ...LOWEST_FF_2018, TIMER_2018, DEVICE_RIV_2018],
  }),
  variant({
    name: '1443-vid',
    source: '7f2b9a1c7 "hv: virq: update apicv irr/rvi before handle vmcs event injection" (2018-10-12)',
    summary: 'VID sync before the NMI and IDT-vectoring injections. The #3374 loop is still there, unobservable with VID '
      + '(a second pass can only write an NMI over an NMI, which bare metal merges too).',
    status: 'clean',
    expectedBugs: [],
    knownDeviations: [...ADV_COMMON, ...ID_ADV_PAGE, TMR_2018, ...TMR_EOI_2018, TMR_EDGE_2018, TMR_EDGE_EOI_2018, TMR_TABLE_2018, ...TMR_REWRITE_2018, ...NMI_UNCHECKED, NMI_WINDOW_2018, NMI_CANCELLED_2018,
      NMI_BEHIND_CANCELLED_VID, ...CANCELLED_2018, ...LOWEST_FF_2018, TIMER_2018, DEVICE_RIV_2018],
  }),
  variant({
    name: '3374-basic',
    source: 'ea849177a "hv: fix interrupt lost when do acrn_handle_pending_request twice" (2019-07-09; master twin of 76e39b162)',
    summary: 'APICv basic mode, 2019: schedule() before the single pass of requests.',
    status: 'clean',
    expectedBugs: [],
    knownDeviations: [...BASIC_COMMON, ...NMI_UNCHECKED, TPR_THRESHOLD, ...RIV_2019, RTE_WRITE_TMR],
  }),
  variant({
    name: '3374-adv',
    source: 'ea849177a (2019-07): posted interrupts, PIR synced in software by vlapic_apicv_inject_pir',
    summary: 'APICv advanced mode, 2019.',
    status: 'clean',
    expectedBugs: [],
    knownDeviations: [...ADV_PI, ...ID_ADV_PAGE, ...NMI_UNCHECKED, ...RIV_2019, RTE_WRITE_TMR, ...SELF_IPI_SW_DISABLED, ...SELF_IPI_TMR_KEPT],
  }),
  variant({
    name: 'pre-4937-basic',
    source: '0397cb717^ (2020-06): HLT emulation with wait_event (4303ccb1a), kick_thread (5f8e7a6cb)',
    summary: 'APICv basic mode, 2020: signal_event before the request (#8507).',
    status: 'buggy',
    expectedBugs: C2,
    knownDeviations: [...BASIC_COMMON, ...SINCE_2020, TPR_THRESHOLD, ...RIV_2019, RTE_WRITE_TMR],
  }),
  variant({
    name: 'pre-4937-adv',
    source: '0397cb717^ (2020-06): bf1ff8c98 self-IPI offload, vcpu_handle_pi_notification with is_pi_capable (EHL: no VT-d PI)',
    summary: 'APICv advanced mode, 2020: the root-mode self-notification drops the request (#4937); signal before the request (#8507).',
    status: 'buggy',
    expectedBugs: [...C1, ...C2],
    knownDeviations: [...ADV_PI, ...ID_ADV_VAPIC, ...SINCE_2020, ...SELF_NOTIFY, ...RIV_2019, RTE_WRITE_TMR, ...SELF_IPI_SW_DISABLED, ...SELF_IPI_TMR_KEPT],
  }),
  variant({
    name: 'pre-8507-basic',
    source: '9a6e94084^ (2023-09): kick_vcpu (53d4a7169)',
    summary: 'APICv basic mode, 2023: signal_event before the request (#8507).',
    status: 'buggy',
    expectedBugs: C2,
    knownDeviations: [...BASIC_COMMON, ...SINCE_2020, TPR_THRESHOLD, ...RIV_2019, RTE_WRITE_TMR],
  }),
  variant({
    name: 'pre-8507-adv',
    source: '9a6e94084^ (2023-09): 0397cb717 applied',
    summary: 'APICv advanced mode, 2023: signal_event before the request (#8507).',
    status: 'buggy',
    expectedBugs: C2,
    knownDeviations: [...ADV_PI, ...ID_ADV_VAPIC, ...SINCE_2020, ...SELF_NOTIFY, ...RIV_2019, RTE_WRITE_TMR, ...SELF_IPI_SW_DISABLED, ...SELF_IPI_TMR_KEPT],
  }),
  variant({
    name: 'v3.3-basic',
    source: 'v3.3 (8cb6fa683, 2024-08) = 9a6e94084 "hv: signal_event after make_request" = master d61d98cf8 for every file read',
    summary: 'APICv basic mode, today.',
    status: 'clean',
    expectedBugs: [],
    knownDeviations: [...BASIC_COMMON, ...SINCE_2020, TPR_THRESHOLD, ...RIV_2019, RTE_WRITE_TMR],
  }),
  variant({
    name: 'v3.3-adv',
    source: 'v3.3 (8cb6fa683, 2024-08) = 9a6e94084 = master d61d98cf8 for every file read',
    summary: 'APICv advanced mode, today.',
    status: 'clean',
    expectedBugs: [],
    knownDeviations: [...ADV_PI, ...ID_ADV_VAPIC, ...SINCE_2020, ...SELF_NOTIFY, ...RIV_2019, RTE_WRITE_TMR, ...SELF_IPI_SW_DISABLED, ...SELF_IPI_TMR_KEPT],
  }),
];
