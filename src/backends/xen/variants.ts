// The four points of Xen's APIC-assist history modelled, with what the fuzzer must find on
// each and the real deviations that are not the subject of that history (each with the file,
// function and commit it was read at in xen-project/xen).
import type { CauseDoc, VariantInfo } from '../api.js';

export const FIRST = '10a674b4653fd2d21b61ab561a44e07146b0df71';
export const ABORT_ANY = '4361e80d228655b100bae5d19b489b39d20aa68d';
export const PREFIX_TREE = '48a933ee590e2fdfa240484ebda4f76096277d7e';
export const REWORK = '66bf4ef04869548128b70d8d371ec992189a6a1c';
export const R422 = 'd45d5687f1441495f4ee20d5e9940066c5fa5beb';

const ALL = `${FIRST}, ${PREFIX_TREE}, ${REWORK} and RELEASE-4.22.0`;

/** Real behaviour of code every tree shares (svm/intr.c, svm/svm.c, hvm.c, vlapic.c outside the assist). */
const COMMON: CauseDoc[] = [
  {
    cause: 'core:hlt-ended-by-kick-for-undeliverable-irq',
    why: 'vlapic_set_irq kicks on every newly set IRR bit and vcpu_kick → vcpu_unblock wakes a vCPU blocked in '
      + 'SCHEDOP_block whatever TPR/PPR say; hvm_hlt does not loop, so the guest resumes after its HLT although '
      + 'svm_intr_assist has nothing it may inject (a vector at or below TPR or the in-service class). Bare metal '
      + 'stays halted. Harmless for OS idle loops (they re-check and halt again). [vlapic.c vlapic_set_irq, '
      + `arch/x86/domain.c vcpu_kick, hvm.c hvm_hlt @ ${ALL}]`,
  },
  {
    cause: 'core:hlt-down-woken-by-blocked-nmi',
    why: 'A HLT with RFLAGS.IF = 0 takes the vCPU down (hvm_hlt → hvm_vcpu_down, _VPF_down); vlapic_accept_irq(APIC_DM_NMI) '
      + 'clears _VPF_down and vcpu_wake()s it for a new NMI even while NMIs are blocked (the IRET intercept is still '
      + 'set, inside an NMI handler): svm_intr_assist cannot inject, and the guest resumes after its HLT. On bare metal a '
      + `blocked NMI stays latched and does not end the HLT. [vlapic.c vlapic_accept_irq, hvm.c hvm_hlt/hvm_vcpu_down @ ${ALL}]`,
  },
  {
    cause: 'stuck:nmi-behind-vintr-window',
    why: 'An NMI that cannot be injected yet (an interrupt shadow, or EVENTINJ already holds an event) gets '
      + 'svm_enable_intr_window: a dummy V_IRQ with the VINTR intercept, which the CPU takes only with RFLAGS.IF = 1. When '
      + 'the guest runs with IF = 0 (the handler of the event just injected, or code that IRETs from an NMI handler to '
      + 'IF = 0) the NMI waits until it sets IF; bare metal takes it at once. Xen says so itself: "TODO: Better NMI '
      + `handling. ... Also we should not be waiting for EFLAGS.IF to become 1." [svm/intr.c svm_enable_intr_window @ ${ALL}; `
      + 'hardware with vNMI (vnmi_enable, 4.22 on AMD Zen 4) takes another path, not modelled]',
  },
  {
    cause: 'stuck:intr-behind-blocked-nmi',
    why: 'hvm_vcpu_has_pending_irq returns a pending NMI before it looks at the LAPIC; blocked by NMI blocking '
      + '(hvm_intblk_nmi_iret, the IRET intercept) it gets no window ("NMI-blocking window is handled by IRET '
      + 'interception") and svm_intr_assist returns: while a second NMI is latched, maskable interrupts wait for the NMI '
      + 'handler\'s IRET even if that handler runs with IF = 1. Bare metal delivers them. [hvm/irq.c '
      + `hvm_vcpu_has_pending_irq, svm/intr.c svm_intr_assist/svm_enable_intr_window @ ${ALL}]`,
  },
  {
    cause: 'core:intr-behind-blocked-nmi',
    why: 'The same svm_intr_assist path seen by REF-HLT-1: hvm_hlt found a deliverable LAPIC vector and did not block, '
      + 'but by the VM entry a new NMI was pending behind NMI blocking, so svm_intr_assist injected nothing and the guest '
      + `resumed after its HLT without the interrupt that ends it on bare metal. [svm/intr.c svm_intr_assist, hvm.c hvm_hlt @ ${ALL}]`,
  },
  {
    cause: 'stuck:nmi-pending-vcpu-down',
    why: 'A real bug, present today: docs/findings/xen-nmi-lost-at-hlt.md. An NMI made pending (nmi_pending = 1, kick '
      + 'IPI in flight) just before the guest executes CLI; HLT: the HLT intercept runs hvm_hlt, which sees IF = 0 and '
      + 'takes the vCPU down without looking at nmi_pending; the NMI IPI\'s wake-up only happens on nmi_pending 0 → 1, '
      + `so no later NMI wakes it either. [hvm.c hvm_hlt, hvm_vcpu_down; vlapic.c vlapic_accept_irq @ ${ALL}]`,
  },
  {
    cause: 'read:riv-skipped-by-sendill-break',
    why: 'vlapic_ipi sets SENDILL in the sender for a FIXED IPI with a vector < 16 and breaks out before any receiver '
      + 'is matched, so no receiver (the sender itself included) latches RECVILL; a LOWEST one likewise (vlapic_lowest_prio '
      + `picks a target, but only vlapic_error runs). [vlapic.c vlapic_ipi @ ${ALL}]`,
  },
  {
    cause: 'read:tpr-low-nibble-kept-across-cr8',
    why: 'CR8 is not intercepted (V_INTR_MASKING); svm_vmexit_handler syncs TASKPRI = (vTPR << 4) | (TASKPRI & 0x0F) on '
      + 'every exit ("NB. We need to preserve the low bits of the TPR to make checked builds of Windows work"), so after '
      + 'an MMIO/MSR TPR write with TPR[3:0] != 0 and a CR8 write the TPR reads back with the old low nibble; a CR8 '
      + 'write clears TPR[3:0] on bare metal. A PPR read shows it too: vlapic_get_ppr computes PPR from TASKPRI on every '
      + `read. [svm/svm.c svm_vmexit_handler; vlapic.c vlapic_get_ppr @ ${ALL}]`,
  },
  {
    cause: 'read:avoided-eoi-not-noticed',
    why: 'An EOI the guest avoids through the APIC assist (cleared bit 0, no exit) is only seen by Xen when '
      + 'vlapic_has_pending_irq finds an IRR vector (it returns before the assist code when IRR is empty) or at the next '
      + 'vlapic_EOI_set; vlapic_read_aligned(APIC_ISR) does not look, so until then the guest reads its EOIed vector as '
      + 'still in service (and a PPR read shows its class). The TLFS contract (the avoided EOI is an EOI) holds for delivery, '
      + 'not for register reads. '
      + `[vlapic.c vlapic_read_aligned, vlapic_has_pending_irq @ ${ALL}; docs/findings/xen-avoided-eoi-lazy.md]`,
  },
];

/**
 * Logical broadcasts, every tree and today's (xen-project/xen c447b7308b): vlapic_match_dest sends
 * a logical destination to vlapic_match_logical_addr, which has no broadcast case.
 * docs/findings/xen-logical-broadcast-not-matched.md.
 */
const LOGICAL_BROADCAST: CauseDoc[] = [{
  cause: 'stuck:logical-broadcast-not-matched',
  why: 'vlapic_match_dest hands a logical destination to vlapic_match_logical_addr, which matches it as an ordinary '
    + 'MDA: in x2APIC mode an IPI to 0xFFFFFFFF in logical mode needs LDR[31:16] = 0xFFFF (no vCPU has it), so it reaches '
    + 'nobody; in xAPIC mode a logical 0xFF reaches only flat-model vCPUs with a non-zero LDR and cluster-model vCPUs of '
    + 'cluster 15. The SDM makes both broadcasts (10.12.9: "FFFF_FFFFH is used for broadcast of interrupts in both logical '
    + 'destination and physical destination modes"; 10.6.2.2: all ones selects all APICs), as KVM\'s kvm_apic_broadcast '
    + 'does. The same matching serves IPIs (vlapic_ipi), MSIs (vmsi_deliver) and the vIOAPIC (vioapic_deliver: a level '
    + 'entry then keeps Remote IRR set with no vCPU to EOI it). docs/findings/xen-logical-broadcast-not-matched.md. '
    + `[vlapic.c vlapic_match_logical_addr, vlapic_match_dest @ ${ALL} and c447b7308b]`,
}, {
  cause: 'read:logical-broadcast-not-matched',
  why: 'stuck:logical-broadcast-not-matched seen by a read of a level pin\'s redirection entry: an edge logical broadcast '
    + '(an IPI or MSI) of the pin\'s vector reached, on bare metal, the vCPU handling the level instance, and its acceptance '
    + 'cleared TMR there (SDM 10.8.4), so the guest\'s EOI is not broadcast and the pin keeps Remote IRR (SDM 10.8.5). Xen '
    + 'matched no vCPU (vlapic_match_logical_addr), TMR stays set, and vlapic_handle_EOI calls vioapic_update_EOI: the '
    + 'entry reads Remote IRR clear. The same unmatched broadcast seen by a TMR read on a vCPU it left out: a level '
    + 'message (a logical-0xFF redirection entry) bare metal accepted there set TMR, which reads clear; an edge one cleared '
    + 'it, which reads still set (session 10: found by the blind-rules campaign once the generator drew I/O APIC register '
    + 'writes, on unplanted xen/4.22 and xen/rework too). '
    + `[vlapic.c vlapic_match_logical_addr, vlapic_handle_EOI; vioapic.c vioapic_update_EOI @ ${ALL}]`,
}];

/**
 * The APIC numbering every tree shares: Xen's vCPU i has APIC ID 2i; a scenario's machine without
 * apicIds numbers it i. The model keeps routing the scenario's destination i to vCPU i (the guest
 * addresses vCPU i by the ID hvmloader's MADT lists for it, 2i), so only a read of the ID shows it.
 */
const APIC_ID: CauseDoc = {
  cause: 'read:apic-id-twice-vcpu-id',
  why: 'vlapic_reset sets APIC_ID to (vcpu_id * 2) << 24 and set_x2apic_id the x2APIC ID to vcpu_id * 2, so vCPU i '
    + 'reads ID 2i where the scenario\'s default machine has i (Xen offers no way to choose the IDs; this backend '
    + 'refuses machine.apicIds). In x2APIC mode 4.22 also derives the LDR from that ID (90309854fd "In x2APIC mode, '
    + 'derive LDR from APIC ID"), so the LDR read differs the same way; the older trees derive it from vcpu_id and read '
    + 'the default machine\'s LDR. Routing is not affected: the model runs the scenario as a guest that numbers its '
    + 'APICs the way Xen does (ID v of the scenario is Xen\'s 2v, one-to-one), so an xAPIC ID the guest writes, which '
    + 'vlapic_reg_write stores and vlapic_match_dest then matches, reads back renumbered too. [vlapic.c vlapic_reset, '
    + `set_x2apic_id, vlapic_reg_write, vlapic_read_aligned @ ${ALL}]`,
};

/** Before f1d7aac1e3 a software-disabled vlapic still took MSI and vIOAPIC vectors into IRR. */
const SW_DISABLED_ACCEPT_WHY = 'Before f1d7aac1e3 ("x86/HVM: don\'t mark external IRQs as pending when vLAPIC is disabled", '
  + '2022-12-02: "In software-disabled state an LAPIC does not accept any interrupt requests ... Such interrupts are simply '
  + 'lost") vmsi_deliver and vioapic_deliver (dest_Fixed) call vlapic_set_irq whatever vlapic_enabled() says (IPIs are '
  + 'dropped in vlapic_accept_irq): the vector waits in IRR (TMR for a level pin) while vlapic_has_pending_irq returns -1, '
  + 'and is injected once the guest sets SVR bit 8 again; bare metal discarded it. [vmsi.c vmsi_deliver, vioapic.c '
  + `vioapic_deliver, vlapic.c vlapic_has_pending_irq @ ${FIRST}, ${PREFIX_TREE}, ${REWORK}]`;
const SW_DISABLED: CauseDoc[] = [
  { cause: 'read:fixed-irq-accepted-while-sw-disabled', why: `${SW_DISABLED_ACCEPT_WHY} Seen by an IRR (or TMR) read.` },
  { cause: 'duplicate:fixed-irq-accepted-while-sw-disabled', why: `${SW_DISABLED_ACCEPT_WHY} Seen as the delivery after re-enabling.` },
  { cause: 'ioapic:fixed-irq-accepted-while-sw-disabled', why: `${SW_DISABLED_ACCEPT_WHY} Seen first on a vector the vIOAPIC sent.` },
];

/** The pre-12a50030 TMR and pre-b28b590d ESR of the three older trees. */
const OLD_REGS: CauseDoc[] = [
  {
    cause: 'read:tmr-cleared-by-eoi',
    why: 'Before 12a50030 ("x86/vlapic: clear TMR bit upon acceptance of edge-triggered interrupt to IRR", 2018-03-15) '
      + 'vlapic_handle_EOI test-and-clears the TMR bit at EOI; bare metal keeps TMR until an edge acceptance. '
      + `[vlapic.c vlapic_handle_EOI @ ${FIRST}, ${PREFIX_TREE}, ${REWORK}]`,
  },
  {
    cause: 'ioapic:tmr-kept-on-edge-acceptance',
    why: 'read:tmr-kept-on-edge-acceptance at the EOI: vlapic_handle_EOI finds the TMR bit the edge acceptance left set and '
      + 'calls vioapic_update_EOI, which clears the level pin\'s Remote IRR and re-sends its still-asserted line (to the '
      + 'entry\'s destination as it is now); bare metal\'s EOI of the vector, edge-accepted last, is not broadcast and the '
      + `pin waits. A Remote IRR read then shows it clear (read:). [vlapic.c vlapic_set_irq, vlapic_handle_EOI; vioapic.c vioapic_update_EOI @ ${FIRST}, ${PREFIX_TREE}, ${REWORK}]`,
  },
  {
    cause: 'read:tmr-kept-on-edge-acceptance',
    why: 'The acceptance side of read:tmr-cleared-by-eoi: before 12a50030 vlapic_set_irq sets the TMR bit for a level '
      + 'message and leaves it alone for an edge one, so when a level pin\'s vector also has edge sources (an IPI, MSI, '
      + 'SELF_IPI, the timer) an edge message accepted after the level one leaves TMR set; bare metal clears it on that '
      + 'acceptance (SDM 10.8.4; REF-ACC-4), and its EOI is then not broadcast. '
      + `[vlapic.c vlapic_set_irq @ ${FIRST}, ${PREFIX_TREE}, ${REWORK}]`,
  },
  {
    cause: 'read:esr-plain-read-write-register',
    why: 'Before b28b590d ("x86/vlapic: Fix handling of writes to APIC_ESR", 2024-11-28: "Xen currently presents '
      + 'APIC_ESR to guests as a simple read/write register") vlapic_error ORs errors straight into APIC_ESR, so an error '
      + 'shows at once, before any ESR write latches it, and an ESR write does not clear it: it stays visible in every later '
      + 'ESR read. [vlapic.c vlapic_error, '
      + `vlapic_reg_write @ ${FIRST}, ${PREFIX_TREE}, ${REWORK}]`,
  },
];

const UNMAP_LOST: CauseDoc = {
  cause: 'stuck:avoided-eoi-lost-on-vp-assist-unmap',
  why: 'The guest avoids an EOI (clears bit 0) and then writes HV_X64_MSR_VP_ASSIST_PAGE with enabled = 0 before Xen '
    + 'noticed: the mapping is gone, every assist function returns early on a NULL page pointer, and the avoided EOI '
    + 'is never retired: its vector stays in ISR and holds every interrupt of its class or below until something else '
    + 'EOIs (the wrong vector). Real behaviour of every version; today\'s code: docs/findings/xen-vp-assist-msr-write.md. '
    + `[viridian.c/viridian/synic.c VP_ASSIST_PAGE wrmsr, complete/completed @ ${ALL}]`,
};


const UNMAP_MISRETIRED: CauseDoc = {
  cause: 'masked-ppr:avoided-eoi-misretired-after-vp-assist-unmap',
  why: 'The other outcome of stuck:avoided-eoi-lost-on-vp-assist-unmap: when the guest enables the page again, the '
    + 'outstanding assist (pending, bit clear after clear_page) is completed and vlapic_EOI_set retires whatever is '
    + 'highest in service by then — a vector the guest is still handling if one arrived meanwhile — so interrupts '
    + 'are injected inside its handler. docs/findings/xen-vp-assist-msr-write.md. [viridian/synic.c '
    + `viridian_synic_wrmsr, viridian_apic_assist_completed; vlapic.c vlapic_EOI_set @ ${REWORK} and RELEASE-4.22.0]`,
};

/** The same misretirement seen first at the EOI (REF-EOI-3): the guest's own EOI leaves its vector in service. */
const UNMAP_MISRETIRED_EOI: CauseDoc = {
  cause: 'eoi:avoided-eoi-misretired-after-vp-assist-unmap',
  why: 'Where masked-ppr:avoided-eoi-misretired-after-vp-assist-unmap first shows: the outstanding assist retired a vector '
    + 'the guest is still handling, so the guest\'s own EOI for it later retires another one (or nothing) and its vector '
    + 'stays in ISR. [see masked-ppr:avoided-eoi-misretired-after-vp-assist-unmap]',
};

/** The same misretirement at the vIOAPIC: a level vector retired early clears Remote IRR, and the line is sent again. */
const UNMAP_MISRETIRED_IOAPIC: CauseDoc = {
  cause: 'ioapic:avoided-eoi-misretired-after-vp-assist-unmap',
  why: 'masked-ppr:avoided-eoi-misretired-after-vp-assist-unmap when the vector the outstanding assist retires is a '
    + 'level-triggered one the guest is still handling: vlapic_EOI_set → vlapic_handle_EOI → vioapic_update_EOI clears '
    + 'Remote IRR, so the still-asserted line is delivered again inside the handler (found by the guided soak of the '
    + 'run-time redirection issue). [see masked-ppr:avoided-eoi-misretired-after-vp-assist-unmap; vioapic.c vioapic_update_EOI]',
};

/** The same misretirement seen by a read of the level pin's redirection entry. */
const UNMAP_MISRETIRED_READ: CauseDoc = {
  cause: 'read:avoided-eoi-misretired-after-vp-assist-unmap',
  why: 'ioapic:avoided-eoi-misretired-after-vp-assist-unmap seen by a read of the redirection entry before the line is '
    + 'sent again: Remote IRR is clear while the guest still handles the level interrupt. '
    + '[see masked-ppr:avoided-eoi-misretired-after-vp-assist-unmap; vioapic.c vioapic_update_EOI]',
};

/** UNMAP_LOST seen by an ISR or PPR read: the vector the guest EOIed stays in Xen's ISR. */
const UNMAP_LOST_READ: CauseDoc = {
  cause: 'read:avoided-eoi-lost-on-vp-assist-unmap',
  why: 'stuck:avoided-eoi-lost-on-vp-assist-unmap seen by an ISR (or PPR) read: the vector whose EOI the guest avoided '
    + 'before disabling the VP assist page is never retired, so it reads as still in service. '
    + `[see stuck:avoided-eoi-lost-on-vp-assist-unmap; vlapic.c vlapic_read_aligned @ ${ALL}]`,
};

/** UNMAP_LOST seen as a duplicate: an edge instance held behind the stale ISR past where bare metal took it. */
const UNMAP_LOST_DUP: CauseDoc = {
  cause: 'duplicate:avoided-eoi-lost-on-vp-assist-unmap',
  why: 'stuck:avoided-eoi-lost-on-vp-assist-unmap when the held interrupt is an edge instance that bare metal may or may '
    + 'not have accepted (an IPI in flight across a software disable of the APIC): bare metal would have taken it at the '
    + 'next open window, so the oracle settles it as not accepted; Xen holds it in IRR behind the vector left in service '
    + 'and injects it once that vector is retired (the page enabled again), which reads as a second interrupt. '
    + '[see stuck:avoided-eoi-lost-on-vp-assist-unmap]',
};

/** f1d7aac1e3 and later: vmsi_deliver/vioapic_deliver skip a disabled vlapic before vlapic_set_irq's vector check. */
const ILLEGAL_SKIPPED_DISABLED: CauseDoc = {
  cause: 'read:illegal-vector-skipped-at-disabled-vlapic',
  why: 'Since f1d7aac1e3 ("x86/HVM: don\'t mark external IRQs as pending when vLAPIC is disabled") vmsi_deliver and '
    + 'vioapic_deliver (dest_Fixed) call vmsi_inj_irq / ioapic_inj_irq only for a vlapic that is vlapic_enabled(); the '
    + 'illegal-vector check (vec < 16 → vlapic_error(APIC_ESR_RECVILL)) is in vlapic_set_irq, after that test. A device '
    + 'message with a vector below 16 to a software-disabled vlapic is dropped without an error; bare metal\'s APIC still '
    + 'checks the vector it receives and sets Receive Illegal Vector, which an ESR read shows. [vmsi.c vmsi_deliver, '
    + 'vioapic.c vioapic_deliver, vlapic.c vlapic_set_irq @ RELEASE-4.22.0]',
};

const PHANTOM: CauseDoc[] = [
  {
    cause: 'masked-ppr:phantom-eoi-after-vp-assist-remap',
    why: 'The guest rewrites HV_X64_MSR_VP_ASSIST_PAGE (enabled) while an assist is outstanding (bit 0 still set, the '
      + 'EOI not yet done): mapping the page clears it (clear_page), but the latched vector (2017) / apic_assist_pending '
      + '(2018 on) survives, so the next vlapic_has_pending_irq or vlapic_EOI_set takes the cleared bit for an avoided '
      + 'EOI and retires an in-service vector the guest is still handling; lower-priority interrupts are then injected '
      + 'inside its handler, and each later EOI retires the wrong vector. A real bug today: '
      + `docs/findings/xen-vp-assist-msr-write.md. [viridian/synic.c viridian_synic_wrmsr, viridian_apic_assist_completed; `
      + `viridian/viridian.c viridian_map_guest_page @ RELEASE-4.22.0; viridian.c initialize_vp_assist @ ${PREFIX_TREE}, ${REWORK}]`,
  },
  {
    cause: 'eoi:phantom-eoi-after-vp-assist-remap',
    why: 'Where masked-ppr:phantom-eoi-after-vp-assist-remap first shows at an EOI (REF-EOI-3): the phantom EOI retired '
      + 'a vector the guest is still handling, so the guest\'s own EOI for it later retires another one (or nothing) and '
      + 'its vector stays in ISR (seen once in each 4-minute guided soak of the timer issue on rework). '
      + '[see masked-ppr:phantom-eoi-after-vp-assist-remap]',
  },
  {
    cause: 'ioapic:phantom-eoi-after-vp-assist-remap',
    why: 'The phantom EOI retiring a level-triggered vector: vlapic_handle_EOI → vioapic_update_EOI clears Remote IRR '
      + 'while the guest is still in the handler, so the line (still asserted, or asserted again) is sent once more — '
      + 'a second delivery the 82093AA would not make. [see masked-ppr:phantom-eoi-after-vp-assist-remap]',
  },
  {
    cause: 'stuck:phantom-eoi-after-vp-assist-remap',
    why: 'The phantom EOI retiring a level-triggered vector while its line is still asserted: vioapic_update_EOI re-sends '
      + 'it at once, to the entry\'s destination as it is then, and sets Remote IRR again. When a redirection write moves the '
      + 'entry before the guest\'s own EOI (vioapic_write_redirent keeps Remote IRR), the re-send bare metal makes at that EOI, '
      + 'to the new destination, waits behind the early instance\'s Remote IRR, and is lost if the line drops meanwhile '
      + '(session 9, soak s9tacrnxen2). [see masked-ppr:phantom-eoi-after-vp-assist-remap; vioapic.c vioapic_update_EOI, '
      + 'vioapic_write_redirent]',
  },
  {
    cause: 'read:phantom-eoi-after-vp-assist-remap',
    why: 'The same phantom EOI seen by a register read: of the level pin\'s redirection entry (vioapic_update_EOI '
      + 'cleared Remote IRR while the guest is still in the handler; found by the final soak of the scenario-language '
      + 'issue), of ISR (the vector the guest is still handling is gone from Xen\'s ISR) or PPR (its class with it), or '
      + 'before 12a50030 of TMR (vlapic_handle_EOI test-and-clears the TMR bit of the level vector still in service). '
      + '[see masked-ppr:phantom-eoi-after-vp-assist-remap; vioapic.c vioapic_update_EOI; vlapic.c vlapic_handle_EOI]',
  },
];

/** The other face of the seed's bug in the two latched versions (vlapic_EOI_set leaves the bit set). */
const STALE_BIT: CauseDoc = {
  cause: 'stuck:stale-assist-bit-after-normal-eoi',
  why: 'The same root cause as the crash, when the next interrupt starts no new assist (it is level-triggered, or '
    + 'something is in service): a guest that EOIed an assisted interrupt normally leaves bit 0 set (vlapic_EOI_set has '
    + 'no viridian code), so its next EOI is skipped for an interrupt Xen never granted the assist; the completion '
    + 'then clears the latched, long-retired vector instead, the skipped vector stays in ISR, and a level vector\'s '
    + 'Remote IRR is never cleared. 66bf4ef0: "vlapic_EOI_set() must also make sure the bit is cleared to avoid '
    + `confusing the state machine". [vlapic.c vlapic_EOI_set, vlapic_has_pending_irq; viridian.c @ ${FIRST}, ${PREFIX_TREE}]`,
};

/** STALE_BIT seen by an ioapic_read of the level pin's redirection entry. */
const STALE_BIT_READ: CauseDoc = {
  cause: 'read:stale-assist-bit-after-normal-eoi',
  why: 'stuck:stale-assist-bit-after-normal-eoi seen by a read of the level pin\'s redirection entry: the skipped EOI '
    + 'never reaches vioapic_update_EOI, so vioapic_read_indirect shows Remote IRR (bit 14) still set. [vioapic.c '
    + `vioapic_read_indirect, vioapic_update_EOI; vlapic.c vlapic_EOI_set @ ${FIRST}, ${PREFIX_TREE}]`,
};

const SNAPSHOT: CauseDoc = {
  cause: 'stuck:irr-snapshot-before-missed-eoi',
  why: 'vlapic_has_pending_irq reads the highest IRR vector first, then emulates a missed EOI (vlapic_EOI_set → '
    + 'vlapic_handle_EOI → vioapic_update_EOI), which can re-send a level line still asserted — a vector above the '
    + 'snapshot — and then compares the ISR with the stale snapshot: it returns -1 (or the lower vector), so '
    + 'svm_intr_assist injects nothing and opens no window for the re-sent vector, which waits for an unrelated exit. '
    + `Real today: docs/findings/xen-avoided-eoi-lazy.md. [vlapic.c vlapic_has_pending_irq @ ${REWORK} and RELEASE-4.22.0]`,
};

/**
 * read:avoided-eoi-not-noticed seen by delivery (session 9, guided soak s9guided): a vector at or below the class of
 * the avoided one arrives and kicks the vCPU; bare metal takes it at once (the EOI happened), Xen only after the kick's
 * exit has run vlapic_has_pending_irq. Named only with the kick made (v.kickSoftirq / ipiPending).
 */
const AVOIDED_NOT_NOTICED_KICKED: CauseDoc = {
  cause: 'stuck:avoided-eoi-not-noticed',
  why: 'An EOI the guest avoided through the APIC assist leaves the vector in Xen\'s ISR until vlapic_has_pending_irq '
    + 'notices it (viridian_apic_assist_completed → vlapic_EOI_set). A message of a vector at or below its priority class '
    + 'accepted meanwhile (vlapic_set_irq → vcpu_kick) is taken on bare metal at the next instruction boundary; in Xen the '
    + 'kick\'s exit notices the avoided EOI first — in svm_intr_assist, or for a HLT in vcpu_block → '
    + 'hvm_local_events_need_delivery → vlapic_has_pending_irq — and then delivers it, after the HLT instead of before. '
    + 'Real today: docs/findings/xen-avoided-eoi-lazy.md (3). '
    + `[vlapic.c vlapic_set_irq, vlapic_has_pending_irq, vlapic_EOI_set; common/sched/core.c vcpu_block @ ${REWORK} and RELEASE-4.22.0]`,
};

const LEVEL_DEFERRED: CauseDoc = {
  cause: 'stuck:vioapic-eoi-deferred-by-avoided-eoi',
  why: 'A level-triggered interrupt acked on top of an assisted edge interrupt does not clear the assist '
    + '(vlapic_ack_pending_irq only declines to set it when TMR is set), so the guest may avoid the level interrupt\'s '
    + 'EOI; vlapic_handle_EOI → vioapic_update_EOI then runs only when Xen notices the avoided EOI. Until then Remote '
    + 'IRR stays set: an assertion of the line is dropped (vioapic_irq_positive_edge) and a line still high is not '
    + 're-sent — and if the line goes low before Xen notices, the re-send bare metal made at the EOI (to the entry\'s '
    + 'destination, another vCPU\'s if it was rewritten) never comes. Real today: docs/findings/xen-avoided-eoi-lazy.md. [vlapic.c vlapic_ack_pending_irq, vlapic_has_pending_irq, '
    + `vlapic_EOI_set; vioapic.c vioapic_update_EOI @ ${REWORK} and RELEASE-4.22.0; the same keep-the-bit path in ${FIRST}]`,
};

/** LEVEL_DEFERRED seen by an ioapic_read of the pin's redirection entry. */
const LEVEL_DEFERRED_READ: CauseDoc = {
  cause: 'read:vioapic-eoi-deferred-by-avoided-eoi',
  why: 'stuck:vioapic-eoi-deferred-by-avoided-eoi seen by a read of the level pin\'s redirection entry: until Xen notices '
    + 'the avoided EOI, vioapic_read_indirect shows Remote IRR (bit 14) set although the guest has EOIed. [vioapic.c '
    + `vioapic_read_indirect, vioapic_update_EOI @ ${REWORK} and RELEASE-4.22.0; ${FIRST}]`,
};

/** LEVEL_DEFERRED when the line is still high: the late vioapic_update_EOI re-sends with the entry as it is then. */
const LEVEL_DEFERRED_RESENT: CauseDoc = {
  cause: 'ioapic:vioapic-eoi-deferred-by-avoided-eoi',
  why: 'stuck:vioapic-eoi-deferred-by-avoided-eoi with the line still asserted: bare metal re-sends the level message at '
    + 'the guest\'s EOI; Xen re-sends it when it notices the avoided EOI (vlapic_EOI_set → vlapic_handle_EOI → '
    + 'vioapic_update_EOI → vioapic_deliver), with the redirection entry as it is by then — after a rewrite of its '
    + 'destination the message goes to the new vCPU, which bare metal never sent it to. [vioapic.c vioapic_update_EOI, '
    + `vioapic_deliver @ ${REWORK} and RELEASE-4.22.0; ${FIRST}]`,
};

/**
 * Session 9 (issue 8's shared vectors): the lazy avoided EOI of an edge instance tests TMR when Xen emulates it, after a
 * level message of the vector may have set it. Two symptoms: the pin's next message (ioapic) or its Remote IRR read (read).
 */
const AVOIDED_EDGE_LATE_TMR_WHY = 'vlapic_ack_pending_irq sets the APIC assist only for a vector whose TMR bit is clear (an '
  + 'edge instance), and the guest that skips its EOI ("No EOI required") retires it then, on bare metal an EOI with TMR '
  + 'clear: no broadcast (SDM 10.8.5). Xen emulates that EOI only when it notices (vlapic_has_pending_irq, or the next '
  + 'vlapic_EOI_set: missed_eoi → vlapic_EOI_set → vlapic_handle_EOI), and vlapic_handle_EOI tests TMR then. When a level '
  + 'message of the same vector (a level pin sharing an MSI\'s or IPI\'s vector) was accepted in between — it set TMR in '
  + 'vlapic_set_irq and, with the vector already pending, collapsed into IRR or waits there — the emulated EOI of the edge '
  + 'instance calls vioapic_update_EOI: the level pin\'s Remote IRR is cleared although its own instance is not even taken '
  + 'yet. A still-asserted line, or the next assertion, then sends a message bare metal holds back under Remote IRR (ioapic); '
  + 'a redirection-entry read shows Remote IRR clear (read). Real today: docs/findings/xen-avoided-eoi-lazy.md (4). '
  + `[vlapic.c vlapic_ack_pending_irq, vlapic_has_pending_irq, vlapic_EOI_set, vlapic_handle_EOI; vioapic.c vioapic_update_EOI @ ${REWORK}, RELEASE-4.22.0 and c447b7308b]`;
const AVOIDED_EDGE_LATE_TMR: CauseDoc[] = ['ioapic', 'read'].map((cls) => ({ cause: `${cls}:avoided-edge-eoi-broadcast-by-later-level-tmr`, why: AVOIDED_EDGE_LATE_TMR_WHY }));
/**
 * The latch trees (10a674b4, 48a933ee; a 2-minute random soak of session 9, seed rxen): the completion only clears the ISR
 * bit, but the guest's next EOI, taken before Xen completes the assist, retires the avoided vector through vlapic_EOI_set.
 */
const AVOIDED_EDGE_LATE_TMR_LATCH_WHY = 'The latch trees complete an avoided EOI in vlapic_has_pending_irq by clearing the ISR '
  + 'bit only (no vioapic_update_EOI), but until Xen gets there the avoided edge vector stays in Xen\'s ISR, and the '
  + 'guest\'s next EOI (one with nothing in service, or the EOI of a lower vector) is taken by vlapic_EOI_set as the EOI of '
  + 'the highest ISR vector: the avoided one. It test-and-clears TMR then; when a level message of the same vector (a level '
  + 'pin sharing an MSI\'s or IPI\'s vector) was accepted since, TMR is set and vioapic_update_EOI clears the pin\'s Remote '
  + 'IRR although bare metal, whose EOI of the edge instance (TMR clear) broadcast nothing, keeps it: the pin\'s next '
  + 'message comes early (ioapic), the entry reads Remote IRR clear (read). The same late test of TMR as '
  + 'docs/findings/xen-avoided-eoi-lazy.md (4), reached through the guest\'s own EOI. [vlapic.c vlapic_EOI_set, '
  + `vlapic_has_pending_irq; viridian.c (viridian_)complete_apic_assist @ ${FIRST}, ${PREFIX_TREE}]`;
const AVOIDED_EDGE_LATE_TMR_LATCH: CauseDoc[] = ['ioapic', 'read'].map((cls) => ({ cause: `${cls}:avoided-edge-eoi-broadcast-by-later-level-tmr`, why: AVOIDED_EDGE_LATE_TMR_LATCH_WHY }));

/**
 * Session 9 (random soak s9rand): the mirror of AVOIDED_EDGE_LATE_TMR. A level instance acked on top of an assisted edge
 * interrupt keeps the assist (LEVEL_DEFERRED), the guest skips its EOI, and an edge message of the same vector accepted
 * before Xen notices clears TMR (12a50030): the emulated EOI finds TMR clear. Only trees with 12a50030 and the rework.
 */
const AVOIDED_LEVEL_LATE_EDGE: CauseDoc = {
  cause: 'stuck:avoided-level-eoi-dropped-by-later-edge-tmr',
  why: 'A level-triggered interrupt acked on top of an assisted edge interrupt keeps the APIC assist (vlapic_ack_pending_irq '
    + 'only declines to set it when TMR is set), so the guest skips its EOI; on bare metal that EOI, with TMR set, is '
    + 'broadcast and clears the pin\'s Remote IRR (SDM 10.8.5). Xen emulates it only when it notices (vlapic_has_pending_irq '
    + '→ vlapic_EOI_set → vlapic_handle_EOI), and vlapic_handle_EOI tests TMR then. When an edge message of the same vector '
    + '(an IPI or MSI sharing a level pin\'s vector) was accepted in between, vlapic_set_irq cleared TMR (12a50030, "clear '
    + 'TMR bit upon acceptance of edge-triggered interrupt to IRR"), so the emulated EOI calls no vioapic_update_EOI: the '
    + 'pin keeps Remote IRR for good, and every later assertion of the line is dropped by vioapic_irq_positive_edge. '
    + 'Real today: docs/findings/xen-avoided-eoi-lazy.md (5). '
    + `[vlapic.c vlapic_set_irq, vlapic_ack_pending_irq, vlapic_has_pending_irq, vlapic_EOI_set, vlapic_handle_EOI; vioapic.c vioapic_irq_positive_edge @ RELEASE-4.22.0 (${R422})]`,
};

/** The APIC timer (issue 8): vlapic.c's timer registers and vpt.c, read at each tree. */
const TIMER_SRC = `vlapic.c vlapic_update_timer/vlapic_reg_write, vpt.c create_periodic_time/pt_timer_fn/pt_update_irq/pt_intr_post @ `
  + `${PREFIX_TREE}, ${REWORK}, RELEASE-4.22.0 (vpt.c the same for PTSRC_lapic at ${FIRST})`;
const CLAMP_WHY = 'create_periodic_time: "Periodic timer must be at least 0.1ms" — a period below 100000 ns is raised to '
  + '100000 ns (APIC_BUS_CYCLE_NS = 10: any TMICT below 10000 ticks at divide-by-1), and with HVM_PARAM_VPT_ALIGN, which '
  + 'libxl sets for every HVM guest (vpt_align defaults to true), the first tick is align_timer()ed up to a multiple of that '
  + 'period. vlapic_get_tmcct still counts with TMICT, so TMCCT wraps on time while the interrupts come every 0.1 ms: a '
  + 'periodic LAPIC timer faster than 10 kHz fires late and less often than bare metal\'s.';
/** HVMPTM_no_delay_for_missed_ticks, libxl's default timer mode in every tree (session 10). */
const MISSED_WHY = 'libxl gives every HVM guest HVM_PARAM_TIMER_MODE = HVMPTM_no_delay_for_missed_ticks (1): "missed interrupts '
  + 'are delivered, but guest time always tracks wallclock" (public/hvm/params.h). pt_timer_fn counts a tick and does not '
  + 're-arm; the periodic branch of pt_intr_post (pt_irq_fired since the split) takes one tick off pending_intr_nr at each '
  + 'injection and, when none is left, pt_process_missed_ticks adds the expiries that passed meanwhile (pending_intr_nr += '
  + 'missed_ticks; likewise pt_restore_timer after pt_save_timer stopped the timer of a vCPU taken down); set_timer re-arms '
  + 'only when nothing is owed. Each owed tick is raised again by pt_update_irq at the next svm_intr_assist and injected as '
  + 'its own interrupt. Bare metal has one IRR bit: an expiry that finds the vector still pending collapses into it (SDM '
  + '10.8.4), so the ticks that passed while one waited (IF = 0, a higher vector in service, the vCPU in Xen or descheduled) '
  + 'are one interrupt there and several in Xen. ';
const MISSED_SRC = `vpt.c pt_timer_fn, pt_process_missed_ticks, pt_intr_post/pt_irq_fired, pt_update_irq, pt_save_timer, `
  + `pt_restore_timer @ ${ALL}; libxl_create.c libxl__domain_build_info_setdefault (timer_mode default) @ ${ALL}`;
const TIMER: CauseDoc[] = [
  {
    // Session 9 (soak s9tacrnxen2): named by explain since the timer model, declared here.
    cause: 'read:tmcct-rebased-at-injection',
    why: 'pt_intr_post (at the injection of a periodic LAPIC tick) calls vlapic_pt_cb, which sets timer_last_update to the '
      + 'guest time of the injection, and vlapic_get_tmcct counts TMCCT from timer_last_update (modulo TMICT when periodic). '
      + 'Bare metal reloads the count at the expiry itself (SDM 10.5.4), so once a tick is injected later than it expired '
      + '(the vCPU was in Xen, or the tick waited for TIMER_SOFTIRQ), TMCCT reads high by that latency until the next '
      + 'reload; it reads TMICT right after a late injection. [vlapic.c vlapic_pt_cb, vlapic_get_tmcct; vpt.c pt_intr_post @ '
      + `${FIRST}, ${PREFIX_TREE}, ${REWORK}, RELEASE-4.22.0]`,
  },
  { cause: 'stuck:periodic-timer-period-clamped-to-100us', why: `${CLAMP_WHY} [${TIMER_SRC}]` },
  {
    // Session 9 (guided soak s9guided): the read face of the clamp, named by explain from timerWhy (create_periodic_time).
    cause: 'read:periodic-timer-period-clamped-to-100us',
    why: 'stuck:periodic-timer-period-clamped-to-100us seen by a TMCCT read: each tick is injected on the clamped 0.1 ms '
      + 'train, and pt_intr_post → vlapic_pt_cb sets timer_last_update to the guest time of that injection, from which '
      + 'vlapic_get_tmcct counts (modulo TMICT). Bare metal reloads every TMICT ticks from the start, so once a clamped tick '
      + 'was injected at a time that is not a multiple of TMICT after the start, TMCCT reads a different phase. '
      + `[vpt.c create_periodic_time, pt_intr_post; vlapic.c vlapic_pt_cb, vlapic_get_tmcct @ ${ALL}]`,
  },
  {
    cause: 'stuck:periodic-timer-first-tick-aligned',
    why: 'A periodic period at or above the 0.1 ms minimum (the generator\'s long clock scale) is not clamped, but its first '
      + 'tick is still align_timer()ed: create_periodic_time sets scheduled = NOW() + delta and, with HVM_PARAM_VPT_ALIGN '
      + '(libxl sets vpt_align for every HVM guest), rounds it up to the next multiple of the period on Xen\'s system time. '
      + 'Unless NOW() + TMICT is already such a multiple, the first expiry comes later than bare metal\'s (up to one period); '
      + 'later ticks keep the period. vlapic_get_tmcct counts from timer_last_update with TMICT, so TMCCT reaches 0 before '
      + `the interrupt. [vpt.c create_periodic_time, align_timer (common/timer.c) @ ${ALL}]`,
  },
  {
    cause: 'duplicate:periodic-timer-first-tick-aligned',
    why: 'stuck:periodic-timer-first-tick-aligned, later in the train: every tick keeps the phase align_timer() gave the '
      + 'first (pt_timer_fn and pt_process_missed_ticks move pt->scheduled by whole periods), so Xen ticks between two of '
      + 'bare metal\'s expiries. When bare metal\'s last expiry collapsed into an instance still pending (an MSI of the '
      + 'vector, or earlier ticks not yet taken) and that instance was taken, Xen\'s next tick comes before bare metal\'s '
      + `next expiry: a second interrupt where bare metal has none yet. [vpt.c create_periodic_time, pt_timer_fn, pt_process_missed_ticks, align_timer @ ${ALL}]`,
  },
  {
    cause: 'read:periodic-timer-first-tick-aligned',
    why: 'stuck:periodic-timer-first-tick-aligned seen by a register read: an IRR read without the vector bare metal\'s '
      + `first expiry raised, Xen's aligned tick not due yet. [vpt.c create_periodic_time, align_timer @ ${ALL}]`,
  },
  {
    cause: 'stuck:timer-tick-waits-for-timer-softirq',
    why: 'A timer that expires while the vCPU\'s pCPU is in Xen (after a #VMEXIT, GIF = 1) raises TIMER_SOFTIRQ, but '
      + 'svm_asm_do_resume calls svm_intr_assist before its CLGI softirq check: an interrupt already in IRR (an MSI, an IPI) '
      + 'is injected first, and pt_timer_fn / pt_update_irq put the tick into IRR one pass later, behind EVENTINJ. Bare '
      + 'metal had the timer\'s vector in IRR at the expiry and takes the higher one first. [svm/entry.S svm_asm_do_resume, '
      + `svm/intr.c svm_intr_assist (pt_update_irq first), vpt.c pt_timer_fn @ ${ALL}]`,
  },
  {
    cause: 'duplicate:timer-tick-waits-for-timer-softirq',
    why: 'stuck:timer-tick-waits-for-timer-softirq when the vector already pending is the timer\'s own (an IPI or MSI of '
      + 'the same vector): bare metal\'s expiry collapses into the pending instance; Xen injects that instance before '
      + 'pt_timer_fn runs, and the tick then sets IRR again — a second interrupt. [svm/intr.c svm_intr_assist, vpt.c '
      + `pt_timer_fn/pt_update_irq @ ${ALL}]`,
  },
  {
    // Session 9 (random soak s9rand): the duplicate face when a level I/O APIC pin's entry carries the timer's vector.
    cause: 'ioapic:timer-tick-waits-for-timer-softirq',
    why: 'duplicate:timer-tick-waits-for-timer-softirq when the timer\'s vector is also an I/O APIC pin\'s (a level pin '
      + 'sharing it with the LVT timer and an IPI or MSI): the oracle files a duplicate of a pin\'s vector under ioapic, '
      + 'though the second interrupt is the tick, not a pin message. [svm/intr.c svm_intr_assist, vpt.c '
      + `pt_timer_fn/pt_update_irq @ ${ALL}]`,
  },
  {
    cause: 'read:timer-tick-waits-for-timer-softirq',
    why: 'duplicate:timer-tick-waits-for-timer-softirq seen by an IRR read: the tick that bare metal collapsed into the '
      + `instance already taken is back in IRR. [svm/intr.c svm_intr_assist, vpt.c pt_timer_fn/pt_update_irq @ ${ALL}]`,
  },
  {
    cause: 'duplicate:periodic-tick-due-at-injection-resent',
    why: 'pt_timer_fn counts a tick and advances pt->scheduled by the period without re-arming the host timer; the next '
      + 'set_timer comes from pt_irq_fired, when the tick is injected (svm_intr_assist → pt_intr_post), after '
      + 'pt_process_missed_ticks has skipped the ticks due before NOW() ("if ( missed_ticks <= 0 ) return": a tick due at '
      + 'that very instant is not missed). When the previous tick is injected exactly at the next tick\'s due time, that '
      + 'timer fires at once and the tick is injected as a second interrupt; bare metal\'s expiry at that instant found the '
      + 'previous instance still in IRR and collapsed into it. Shows with periods at or above the 0.1 ms minimum (the '
      + `generator's long clock scale), on the logical clock's exact instants. [vpt.c pt_timer_fn/pt_intr_post/pt_irq_fired/pt_process_missed_ticks @ ${ALL}]`,
  },
  {
    // Session 10: the timer mode is libxl's default, no_delay_for_missed_ticks (the model dropped missed ticks before).
    cause: 'duplicate:missed-ticks-delivered-one-by-one',
    why: MISSED_WHY + `[${MISSED_SRC}]`,
  },
  {
    // Session 10 (soak s10xvpt4, seed :53390): the other side of the owed count.
    cause: 'stuck:owed-ticks-dropped-by-timer-reprogram',
    why: 'While ticks are owed (no_delay_for_missed_ticks) the periodic timer is not armed: pt_intr_post re-arms only when '
      + 'pending_intr_nr reaches 0, so the expiries that pass meanwhile exist only as a count pt_process_missed_ticks makes '
      + 'later. A timer write before then — vlapic_update_timer\'s create_periodic_time for an LVTT or TMICT write (10a674b4: '
      + 'the TMICT write, or an LVTT mode change), or destroy_periodic_time — sets pending_intr_nr = 0: the owed ticks and '
      + 'those expiries are gone. Bare metal keeps the instance its expiry left in IRR (collapsed behind the one in service) '
      + 'and takes it at the EOI; Xen\'s next tick is a period after the write. '
      + `[vpt.c create_periodic_time, destroy_periodic_time, pt_intr_post/pt_irq_fired; vlapic.c vlapic_update_timer / vlapic_reg_write @ ${ALL}]`,
  },
  {
    cause: 'read:missed-ticks-delivered-one-by-one',
    why: 'duplicate:missed-ticks-delivered-one-by-one seen by an IRR read: the owed tick pt_update_irq raised at the entry after '
      + 'the injection is in IRR (behind the instance in service), where bare metal\'s IRR is empty: its expiries collapsed '
      + `into the instance taken. [${MISSED_SRC}]`,
  },
  {
    cause: 'livelock:missed-ticks-delivered-one-by-one',
    why: 'duplicate:missed-ticks-delivered-one-by-one with many periods missed (a clamped 0.1 ms period, or a long IF = 0 '
      + 'stretch): pt_process_missed_ticks counts (NOW() - scheduled) / period + 1 ticks, without bound, and each is '
      + 'injected, EOIed and IRETed in turn, an exit or more per tick. The catch-up outlasts the drain\'s bound (48 + 16 '
      + 'rounds per vCPU), which the oracle files as a livelock; it ends once pending_intr_nr is 0. Named while ticks are '
      + `still owed at the bound. [${MISSED_SRC}]`,
  },
  {
    cause: 'ioapic:missed-ticks-delivered-one-by-one',
    why: 'duplicate:missed-ticks-delivered-one-by-one when the timer\'s vector is also an I/O APIC pin\'s: the oracle files a '
      + `duplicate of a pin's vector under ioapic, though the second interrupt is the owed tick, not a pin message. [${MISSED_SRC}]`,
  },
  {
    cause: 'read:periodic-tick-due-at-injection-resent',
    why: 'duplicate:periodic-tick-due-at-injection-resent seen by an IRR read: the tick bare metal collapsed into the '
      + `instance just injected is back in IRR. [vpt.c pt_intr_post/pt_irq_fired/pt_process_missed_ticks @ ${ALL}]`,
  },
  {
    cause: 'core:hlt-ended-by-timer-tick-kick',
    why: 'pt_timer_fn counts the tick and vcpu_kick()s the vCPU — vcpu_unblock ends its SCHEDOP_block — before anything '
      + 'looks at the LVT: the mask is checked only by pt_update_irq in svm_intr_assist (which then suspends the timer), '
      + 'and TPR/ISR only by hvm_vcpu_has_pending_irq. A HLT ends for a masked (or undeliverable) timer expiry and hvm_hlt '
      + `does not loop; bare metal stays halted. [vpt.c pt_timer_fn/pt_update_irq/pt_irq_masked, hvm.c hvm_hlt @ ${ALL}]`,
  },
];
/** vlapic_update_timer (e4e1896b2c, 2017-08-25) and later: a real bug present today. */
const TDT_DISARMED: CauseDoc = {
  cause: 'stuck:tsc-deadline-disarmed-by-lvtt-write',
  why: 'A real bug, present today: docs/findings/xen-tsc-deadline-disarmed-by-lvtt-write.md. In TSC-deadline mode TMICT '
    + 'is 0, so the vlapic_update_timer that every APIC_LVTT write calls finds no count to continue and '
    + 'destroy_periodic_time()s the armed deadline timer — for a write that keeps the mode (a new vector, masking or '
    + 'unmasking) too — while hw.tdt_msr still holds the deadline. Bare metal disarms only on a change of the timer '
    + 'mode (SDM 10.5.4.1), so its timer fires at the deadline; Xen\'s never does until the guest writes the MSR again. '
    + `[vlapic.c vlapic_reg_write(APIC_LVTT), vlapic_update_timer @ ${PREFIX_TREE}, ${REWORK}, RELEASE-4.22.0; `
    + `not ${FIRST}, whose LVTT write touched the timer only on a mode change]`,
};
/** 10a674b4 only: the LVTT write before vlapic_update_timer (2017-08-25). */
const TIMER_2016: CauseDoc[] = [
  {
    // Session 10: an owed tick (no_delay_for_missed_ticks) under a rewritten LVTT vector.
    cause: 'spurious:missed-ticks-delivered-one-by-one',
    why: 'duplicate:missed-ticks-delivered-one-by-one when the guest rewrites the LVTT vector (same mode) while a tick is '
      + 'owed: vlapic_reg_write(APIC_LVTT) only sets vlapic->pt.irq, pending_intr_nr stays, and pt_update_irq raises the '
      + 'owed tick under the new vector, which bare metal never raised (its expiries collapsed into the old vector\'s '
      + 'instance). From 2017-08-25 (e4e1896b2c) the write re-creates the timer with nothing pending. '
      + `[vlapic.c vlapic_reg_write @ ${FIRST}; ${MISSED_SRC}]`,
  },
  {
    cause: 'read:timer-stopped-by-lvtt-mode-change',
    why: 'vlapic_reg_write(APIC_LVTT) destroy_periodic_time()s the timer and zeroes TMICT on any change of the timer mode, '
      + 'one-shot ↔ periodic included, so TMCCT reads 0 where bare metal keeps the running count (SDM 10.5.4; kvm-unit-tests '
      + 'test_apic_change_mode). Fixed by d8ce0309c1 "x86/vlapic: keep timer running when switching between one-shot and '
      + `periodic mode" (2017-08-25). [vlapic.c vlapic_reg_write @ ${FIRST}]`,
  },
  {
    cause: 'stuck:timer-stopped-by-lvtt-mode-change',
    why: 'read:timer-stopped-by-lvtt-mode-change seen by the expiry: the count the mode switch destroyed never fires. '
      + `[vlapic.c vlapic_reg_write @ ${FIRST}]`,
  },
  {
    cause: 'spurious:masked-timer-tick-delivered-on-unmask',
    why: 'A tick that expires while the LVT is masked is counted by pt_timer_fn and only suspended by pt_update_irq '
      + '(list_del, pending_intr_nr kept); an LVTT write that unmasks without changing the mode leaves that periodic_time '
      + 'alone and pt_may_unmask_irq → pt_resume puts it back on the list and kicks the vCPU: the stale tick is injected. '
      + 'On bare metal a masked expiry sends nothing. From 2017-08-25 (e4e1896b2c) every LVTT write re-creates or destroys '
      + `the timer first (pending_intr_nr = 0), so pt_resume finds nothing. [vlapic.c vlapic_reg_write, vpt.c pt_resume @ ${FIRST}]`,
  },
  {
    cause: 'duplicate:masked-timer-tick-delivered-on-unmask',
    why: 'spurious:masked-timer-tick-delivered-on-unmask when the vector was sent before by another source: the resumed '
      + `tick is a second instance. [vlapic.c vlapic_reg_write, vpt.c pt_resume @ ${FIRST}]`,
  },
  ...['spurious', 'duplicate', 'read'].map((cls): CauseDoc => ({
    cause: `${cls}:timer-tick-reposted-under-new-vector`,
    why: 'vlapic_reg_write(APIC_LVTT) sets vlapic->pt.irq to the new vector and destroys the periodic_time only on a mode '
      + 'change. A tick pt_update_irq already posted to IRR under the old vector but not yet injected (a higher vector '
      + 'went first) keeps pending_intr_nr; the next svm_intr_assist → pt_update_irq posts it again under the new '
      + 'vector, and the one tick is delivered twice, once per vector (pt_intr_post retires it only for pt->irq). Bare '
      + 'metal raised it once, with the vector the LVT held at the expiry. From 2017-08-25 (e4e1896b2c) every LVTT write '
      + `goes through vlapic_update_timer, which re-creates the timer with nothing pending. [vlapic.c vlapic_reg_write, vpt.c pt_update_irq/pt_intr_post @ ${FIRST}]`,
  })),
  {
    // Session 9 (a 2-minute random soak, seed rxen): the spurious/duplicate face on a vector a level pin's entry also carries.
    cause: 'ioapic:masked-timer-tick-delivered-on-unmask',
    why: 'spurious:/duplicate:masked-timer-tick-delivered-on-unmask when the timer\'s vector is also an I/O APIC pin\'s (the '
      + 'LVT written to a level pin\'s vector): the oracle files an extra interrupt of a pin\'s vector under ioapic, though '
      + `it is the resumed tick, not a pin message. [vlapic.c vlapic_reg_write, vpt.c pt_resume @ ${FIRST}]`,
  },
  {
    cause: 'read:masked-timer-tick-delivered-on-unmask',
    why: 'spurious:masked-timer-tick-delivered-on-unmask seen by an IRR read before the resumed tick is injected (or while '
      + `it cannot be: the APIC software-disabled again): the vector bare metal never raised is in IRR. [vlapic.c vlapic_reg_write, vpt.c pt_resume @ ${FIRST}]`,
  },
];

export const VARIANTS: VariantInfo[] = [
  {
    name: 'first',
    source: `${FIRST} "x86/hvm/viridian: enable APIC assist enlightenment" (2016-03-18), read at that commit`,
    summary: 'A latched vector (-1 = none) reset by every VP-assist MSR write; vlapic_has_pending_irq aborts the assist only '
      + 'when the in-service priority is >= the pending one; vlapic_EOI_set ignores the assist.',
    status: 'buggy',
    expectedBugs: [
      {
        cause: 'crash:viridian_start_apic_assist',
        why: 'The seed\'s sequence: an assisted interrupt EOIed normally leaves bit 0 set and the vector latched; the next '
          + 'interrupt acked with nothing in service calls viridian_start_apic_assist, which finds the latch and calls '
          + `domain_crash. [viridian.c viridian_start_apic_assist, vlapic.c vlapic_ack_pending_irq @ ${FIRST}]`,
      },
      {
        cause: 'stuck:assist-kept-across-nested-interrupt',
        why: 'The bug 4361e80d fixed ("abort existing APIC assist if any vector is pending in ISR": "it is also necessary '
          + 'to abort an APIC assist in the case where a higher priority is about to be delivered"). vlapic_has_pending_irq '
          + 'aborts only when the in-service class is >= the pending one, so a higher interrupt nests with the assist still '
          + 'set and the guest avoids the nested vector\'s EOI; viridian_complete_apic_assist then clears the latched outer '
          + 'vector from ISR while the nested one stays: interrupts between the two classes are held behind a vector the '
          + `guest has finished, and an abort in between loses the latch for good. [vlapic.c vlapic_has_pending_irq, `
          + `vlapic_ack_pending_irq (vlapic_find_lowest_vector); viridian.c viridian_complete_apic_assist @ ${FIRST}]`,
      },
      {
        cause: 'eoi:assist-kept-across-nested-interrupt',
        why: 'The same bug, seen by REF-EOI-3 when the guest\'s next normal EOI comes first: viridian_complete_apic_assist '
          + 'retired the latched outer vector, so the EOI of the nested one retires the outer and the nested vector stays '
          + `in service. [viridian.c viridian_complete_apic_assist, vlapic.c vlapic_EOI_set @ ${FIRST}]`,
      },
      STALE_BIT,
      STALE_BIT_READ,
    ],
    knownDeviations: [
      ...COMMON, ...LOGICAL_BROADCAST, ...OLD_REGS, APIC_ID, ...SW_DISABLED, UNMAP_LOST, UNMAP_LOST_READ, UNMAP_LOST_DUP, UNMAP_MISRETIRED, UNMAP_MISRETIRED_EOI, UNMAP_MISRETIRED_IOAPIC, LEVEL_DEFERRED, LEVEL_DEFERRED_READ, LEVEL_DEFERRED_RESENT,
      ...TIMER, ...TIMER_2016, ...AVOIDED_EDGE_LATE_TMR_LATCH,
      {
        cause: 'read:assist-kept-across-nested-interrupt',
        why: 'The nested-assist bug (stuck:assist-kept-across-nested-interrupt) seen by an ISR (or PPR) read: '
          + 'viridian_complete_apic_assist cleared the latched outer vector, which the guest is still handling, while the '
          + `nested vector whose EOI it avoided stays. [viridian.c viridian_complete_apic_assist @ ${FIRST}]`,
      },
      {
        cause: 'stuck:avoided-eoi-dropped-by-vp-assist-remap',
        why: 'initialize_apic_assist resets the latched vector to -1 on every HV_X64_MSR_APIC_ASSIST write: an EOI the guest '
          + 'had avoided (bit clear, not yet completed) is forgotten and its vector stays in ISR for good. Changed by '
          + `78c5f59e (the latch is no longer reset). [viridian.c initialize_apic_assist @ ${FIRST}]`,
      },
      {
        cause: 'read:avoided-eoi-dropped-by-vp-assist-remap',
        why: 'stuck:avoided-eoi-dropped-by-vp-assist-remap seen by an ISR (or PPR) read: the avoided EOI whose latch the MSR '
          + `write reset is never retired, so its vector reads as still in service. [viridian.c initialize_apic_assist @ ${FIRST}]`,
      },
    ],
  },
  {
    name: 'pre-fix',
    source: `${ABORT_ANY} "vlapic/viridian: abort existing APIC assist if any vector is pending in ISR" (2017-03-07); `
      + `code read at ${PREFIX_TREE}, the parent of the 2018 rework (the seed's pre-fix tree)`,
    summary: 'A latched vector (0 = none, 78c5f59e); any vector in service aborts the assist, an assist starts only with ISR '
      + 'empty; a completed assist only clears the ISR bit; vlapic_EOI_set ignores the assist.',
    status: 'buggy',
    expectedBugs: [
      {
        cause: 'crash:viridian_start_apic_assist',
        why: 'Seed 004: a guest that ignores "No EOI required" and EOIs normally leaves bit 0 set and the vector latched '
          + '(vlapic_EOI_set has no viridian code); the next interrupt acked with ISR empty reaches viridian_start_apic_assist '
          + `with vp_assist.vector != 0: domain_crash (viridian.c:452). [viridian.c, vlapic.c @ ${PREFIX_TREE}]`,
      },
      STALE_BIT,
      STALE_BIT_READ,
    ],
    knownDeviations: [...COMMON, ...LOGICAL_BROADCAST, ...OLD_REGS, APIC_ID, ...SW_DISABLED, UNMAP_LOST, UNMAP_LOST_READ, UNMAP_LOST_DUP, ...PHANTOM, ...AVOIDED_EDGE_LATE_TMR_LATCH, ...TIMER, TDT_DISARMED],
  },
  {
    name: 'rework',
    source: `${REWORK} "x86/hvm: re-work viridian APIC assist code" (2018-01-19), read at that commit`,
    summary: 'A pending flag instead of a latch; an avoided EOI found in vlapic_has_pending_irq or vlapic_EOI_set is a full '
      + 'vlapic_EOI_set; a normal EOI clears the bit; nesting above an assisted interrupt keeps the assist.',
    status: 'clean',
    expectedBugs: [],
    knownDeviations: [...COMMON, ...LOGICAL_BROADCAST, ...OLD_REGS, APIC_ID, ...SW_DISABLED, UNMAP_LOST, UNMAP_LOST_READ, UNMAP_LOST_DUP, UNMAP_MISRETIRED, UNMAP_MISRETIRED_EOI, UNMAP_MISRETIRED_IOAPIC, UNMAP_MISRETIRED_READ, ...PHANTOM, LEVEL_DEFERRED, LEVEL_DEFERRED_READ, LEVEL_DEFERRED_RESENT, SNAPSHOT, AVOIDED_NOT_NOTICED_KICKED, ...AVOIDED_EDGE_LATE_TMR, ...TIMER, TDT_DISARMED],
  },
  {
    name: '4.22',
    source: `RELEASE-4.22.0 (${R422}): viridian/synic.c viridian_apic_assist_{set,completed,clear}, vlapic.c, svm/intr.c; `
      + 'modelled on SVM hardware without vNMI (vmcb->_vintr.fields.vnmi_enable = 0, i.e. before AMD Zen 4)',
    summary: 'The rework as refactored into viridian/synic.c (a85089d0), plus TMR cleared on edge acceptance (12a50030) and '
      + 'ESR writes that publish latched errors (b28b590d).',
    status: 'clean',
    expectedBugs: [],
    knownDeviations: [...COMMON, ...LOGICAL_BROADCAST, APIC_ID, ILLEGAL_SKIPPED_DISABLED, UNMAP_LOST, UNMAP_LOST_READ, UNMAP_LOST_DUP, UNMAP_MISRETIRED, UNMAP_MISRETIRED_EOI, UNMAP_MISRETIRED_IOAPIC, UNMAP_MISRETIRED_READ, ...PHANTOM, LEVEL_DEFERRED, LEVEL_DEFERRED_READ, LEVEL_DEFERRED_RESENT, SNAPSHOT, AVOIDED_NOT_NOTICED_KICKED, ...AVOIDED_EDGE_LATE_TMR, AVOIDED_LEVEL_LATE_EDGE, ...TIMER, TDT_DISARMED],
  },
];
