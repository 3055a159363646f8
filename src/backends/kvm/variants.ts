// The KVM code versions this backend models. Each field selects one real code shape (read at
// the cited tag); a variant differs from another only where the kernel source differs.
import type { CauseDoc, VariantInfo } from '../api.js';

export interface KvmCode {
  /**
   * vmx_deliver_posted_interrupt: 'v4.10' makes KVM_REQ_EVENT and kicks when ON was already
   * set or the notification IPI was not sent; 'v4.11' (b95234c84004) returns early when ON was
   * already set and kicks only when the IPI was not sent, with no KVM_REQ_EVENT.
   */
  sender: 'v4.10' | 'v4.11';
  /**
   * vcpu_enter_guest step order. 'pre': RVI refresh, KVM_REQ_EVENT block, mode store,
   * local_irq_disable (v4.10). 'post': KVM_REQ_EVENT block, local_irq_disable, mode store,
   * sync_pir_to_irr (b95234c84004, v4.11).
   */
  order: 'pre' | 'post';
  /**
   * vmx_sync_pir_to_irr / kvm_apic_update_irr: 'v4.10' (void; kvm_apic_update_irr makes
   * KVM_REQ_EVENT; reached through apic_find_highest_irr), 'v4.11' (returns max_irr, writes
   * RVI through vmx_hwapic_irr_update, no request), 'v4.16' (f27a85c4988d: a newly posted
   * highest vector while L2 runs forces EXITING_GUEST_MODE or KVM_REQ_EVENT), 'today' (v6.12:
   * KVM_REQ_EVENT for any newly posted highest vector while L2 runs, RVI only outside guest mode).
   */
  sync: 'v4.10' | 'v4.11' | 'v4.16' | 'today';
  /** kvm_vcpu_running calls check_nested_events (v4.11 to 5.x; not in v4.10, moved to vcpu_block in 2021). */
  runningChecksNested: boolean;
  /**
   * What makes vmx_check_nested_events return -EBUSY besides nested_run_pending: 'v4.10'
   * refuses only the NMI exit, while an interrupt is re-injected (arch.interrupt.pending);
   * 'reinjection' (acc9ab601327, v4.11) refuses every nested exit while an event needs re-injection.
   */
  nestedBlock: 'v4.10' | 'reinjection';
  /**
   * vmcs02's posted-interrupt notification vector when L1 gives L2 posted interrupts
   * (machine nested.postedIntr): 'shared' = POSTED_INTR_VECTOR, the one L0 notifies L1 with
   * (v4.10, v4.11); 'separate' = POSTED_INTR_NESTED_VECTOR (present by v4.13; v4.16, v6.12).
   */
  nestedPiVector: 'shared' | 'separate';
  /** nested_vmx_enter_non_root_mode makes KVM_REQ_EVENT when vmcs01 had an L1 event pending (2018; v6.12). */
  nestedEntryEvent: boolean;
  /** kvm_check_and_inject_events: nested events before re-injection, -EBUSY → immediate exit (v6.12). */
  nestedEventsFirst: boolean;
  /** Device MSIs are posted by the VT-d IOMMU (assigned device, IRQ posting capability). */
  vtd: boolean;
  /**
   * ioapic_write_indirect keeps Remote IRR on a redirection-entry write ("Preserve
   * read-only values in the redirection table", v4.15); before, it cleared it.
   */
  ioapicPreservesRemoteIrr: boolean;
  /**
   * Blocking with VT-d posting: 'pre-block' (v4.x pi_pre_block: never block while ON is set);
   * 'wakeup-self-ipi' (v6.12 pi_enable_wakeup_handler: block, with a wakeup self-IPI if ON is set).
   */
  piBlock: 'pre-block' | 'wakeup-self-ipi';
  /** The cancel_injection path of vcpu_enter_guest makes KVM_REQ_EVENT when an immediate exit was asked for (v6.12). */
  cancelKeepsImmediateExit: boolean;
  /** ioapic_service returns early for a level entry with Remote IRR set (v6.12 ioapic.c). */
  ioapicServiceChecksRemoteIrr: boolean;
  /**
   * kvm_vcpu_has_events and NMIs: 'queued' looks at nmi_queued only (v4.10, v4.11);
   * 'pending' also at KVM_REQ_NMI and at nmi_pending when nmi_allowed (v4.15, v4.16).
   */
  hasEventsNmi: 'queued' | 'pending';
  /**
   * Where vcpu_scan_ioapic's EOI-exit bitmap goes: 'current-vmcs' loads it at once into the
   * loaded VMCS, vmcs02 while L2 is the guest (v4.10 to v4.16); 'deferred-in-l2' (4cf4df7ab4d1
   * "KVM: nVMX: Do not load EOI-exitmap while running L2"; v6.12) sets load_eoi_exitmap_pending
   * in guest mode and makes KVM_REQ_LOAD_EOI_EXITMAP at the nested VM exit.
   */
  eoiExitmapLoad: 'current-vmcs' | 'deferred-in-l2';
  /**
   * Who gets KVM_REQ_SCAN_IOAPIC after a redirection-entry write: 'all' vCPUs
   * (kvm_make_scan_ioapic_request, v4.x); 'dest' (kvm_make_scan_ioapic_request_mask for a fixed
   * entry: the vCPUs its new and, if it changed, old destination address; v6.12 ioapic.c).
   */
  scanRequest: 'all' | 'dest';
  /**
   * The optimized APIC map (lapic.c): 'v4' is recalculate_apic_map of v4.10-v4.16 (xAPIC logical
   * slots keep the lowest LDR bit only, a later APIC overwrites an earlier one, software-disabled
   * APICs are in the map); 'v6' is v6.12 kvm_recalculate_logical_map (an aliased or multi-bit
   * logical ID, or APICs in different DFR models, disable the logical map: the slow path matches
   * every APIC; software-disabled APICs are left out).
   */
  apicMap: 'v4' | 'v6';
  /**
   * The APIC timer's expiry path (timer.ts). 'v4': apic_timer_expired(apic) always goes through
   * lapic_timer.pending + kvm_set_pending_timer (KVM_REQ_PENDING_TIMER) + swake_up, and apic_update_lvtt's
   * deadline ↔ count change only hrtimer_cancels (pending kept) — a v4.17–v4.19-era lapic.c in the library, with a
   * v4.x x86.c for kvm_set_pending_timer; 'v6.12': apic_timer_expired(apic, from_timer_fn) injects at once when
   * called from the vCPU with APICv active (a TSC deadline already past when written), otherwise pending +
   * KVM_REQ_UNBLOCK + kvm_vcpu_kick, kvm_vcpu_check_block consumes KVM_REQ_UNBLOCK, and cancel_apic_timer also
   * zeroes pending (torvalds/linux 000d75b0b186; the from_timer_fn split and the kick are Wanpeng Li's 2020 patches
   * seen on the kvm list, well before v6.12; that cancel_apic_timer's pending := 0 is in v6.12 itself was not checked
   * against the v6.12 tag).
   */
  timer: 'v4' | 'v6.12';
  /**
   * kvm_intel.enable_apicv. true: virtual-interrupt delivery and posted interrupts (vmx_deliver_posted_interrupt,
   * kvm_x86_ops.sync_pir_to_irr set). false (enable_apicv=0, or a CPU without APICv: hardware_setup clears
   * enable_apicv and sets sync_pir_to_irr to NULL): every vCPU's apic->apicv_active is false, vmx_deliver_interrupt
   * takes its kvm_lapic_set_irr + KVM_REQ_EVENT + kvm_vcpu_kick branch, kvm_check_and_inject_events injects LAPIC
   * interrupts through VM_ENTRY_INTR_INFO (inject.ts), and EOIs, APIC reads and self-IPIs exit; TPR stays shadowed
   * (TPR threshold). [vmx/vmx.c vmx_deliver_interrupt, vmx_deliver_posted_interrupt; x86.c kvm_check_and_inject_events,
   * update_cr8_intercept; irq.c kvm_cpu_has_injectable_intr; lapic.c apic_has_interrupt_for_ppr @ v6.12]
   */
  apicv: boolean;
}

const V410: KvmCode = { sender: 'v4.10', order: 'pre', sync: 'v4.10', runningChecksNested: false, nestedBlock: 'v4.10', nestedPiVector: 'shared', nestedEntryEvent: false, nestedEventsFirst: false, vtd: false, ioapicPreservesRemoteIrr: false, ioapicServiceChecksRemoteIrr: false, piBlock: 'pre-block', cancelKeepsImmediateExit: false, hasEventsNmi: 'queued', eoiExitmapLoad: 'current-vmcs', scanRequest: 'all', apicMap: 'v4', timer: 'v4', apicv: true };
const V611U: KvmCode = { ...V410, sender: 'v4.11', sync: 'v4.11', runningChecksNested: true, nestedBlock: 'reinjection' };
const V411: KvmCode = { ...V611U, order: 'post' };
const V416: KvmCode = { ...V411, sync: 'v4.16', nestedPiVector: 'separate', ioapicPreservesRemoteIrr: true, hasEventsNmi: 'pending' };
const V612: KvmCode = { ...V416, sync: 'today', runningChecksNested: false, nestedEntryEvent: true, nestedEventsFirst: true, ioapicServiceChecksRemoteIrr: true, piBlock: 'wakeup-self-ipi', cancelKeepsImmediateExit: true, eoiExitmapLoad: 'deferred-in-l2', scanRequest: 'dest', apicMap: 'v6', timer: 'v6.12' };

export const CODE: Record<string, KvmCode> = {
  'v4.10': V410,
  'v4.10-vtd': { ...V410, vtd: true },
  '6of6-unordered': V611U,
  'v4.11': V411,
  'v4.11-vtd': { ...V411, vtd: true },
  'v4.16': V416,
  'v4.16-vtd': { ...V416, vtd: true },
  'v6.12': V612,
  'v6.12-vtd': { ...V612, vtd: true },
  'v6.12-noapicv': { ...V612, apicv: false },
};

// Deviations every variant shares: real KVM behaviour outside the history studied here.
// Found by the guided soak of the run-time redirection-write issue (issue 8) on v4.16, v4.16-vtd and v6.12-vtd.
const EOI_NOT_IN_HANDLED: CauseDoc[] = [
  {
    cause: 'stuck:eoi-before-vcpu-scan-ioapic',
    why: 'A level vector in service on a vCPU is missing from its ioapic_handled_vectors when the guest EOIs it, so the '
      + 'EOI is virtualized without an exit, kvm_ioapic_update_eoi never runs, Remote IRR stays set and the still-asserted '
      + 'line is never sent again (bare metal\'s EOI broadcast clears Remote IRR by vector and re-sends). Two ways, both '
      + 'in the code: the EOI comes before the vCPU handles the KVM_REQ_SCAN_IOAPIC a concurrent redirection write '
      + 'requested (kvm_make_scan_ioapic_request kicks but does not wait); or the entry\'s vector was rewritten while the '
      + 'old one was in service, and kvm_ioapic_scan_entry asks kvm_apic_pending_eoi only about each entry\'s current '
      + 'vector (v6.12 also requests the scan only for the old and new destinations, kvm_make_scan_ioapic_request_mask). '
      + 'Needs a guest that rewrites a level entry while its interrupt is in service. [ioapic.c ioapic_write_indirect, '
      + 'kvm_ioapic_scan_entry; x86.c vcpu_scan_ioapic @ v4.16 and v6.12; kvm_ioapic_scan_entry read in the library]',
  },
  {
    cause: 'read:eoi-before-vcpu-scan-ioapic',
    why: 'stuck:eoi-before-vcpu-scan-ioapic seen by a read: the entry\'s Remote IRR still set, or TMR clear on the new '
      + 'destination that bare metal\'s re-sent level message would have set. [see stuck:eoi-before-vcpu-scan-ioapic]',
  },
];

// Issue 8 (SVR software disable): what KVM with APICv still lets through to a software-disabled
// local APIC, and what its I/O APIC does with a level message every destination discarded.
// Read at torvalds/linux 000d75b0b186 (lapic.c kvm_lapic_reg_write APIC_SPIV, apic_set_spiv,
// __apic_accept_irq, kvm_recalculate_apic_map) and a v4.19-era lapic.c in the library (same shape);
// ioapic.c ioapic_service in v4.x and v6.x copies; SDM 29.1.5 (self-IPI virtualization).
const SW_DISABLED_DOCS: CauseDoc[] = [
  // (ioapic: the extra instance's vector is, or was before a redirection write, an I/O APIC pin's.)
  ...['duplicate', 'spurious', 'read', 'ioapic'].map((cls): CauseDoc => ({
    cause: `${cls}:self-ipi-virtualized-while-apic-sw-disabled`,
    why: 'A guest that has software-disabled its local APIC (SVR bit 8 clear) sends itself a fixed IPI (x2APIC SELF_IPI '
      + 'MSR, or the xAPIC ICR with the self shorthand). KVM does not intercept either with APICv (MSR bitmap / APIC-write '
      + 'emulation), so the CPU performs self-IPI virtualization (SDM 29.1.5: VIRR[v] = 1, RVI raised, evaluation), which '
      + 'knows nothing of the virtual SVR; apic_set_spiv only rebuilds the APIC map and inhibits nothing, so the vector '
      + 'is delivered. Bare metal discards a fixed interrupt at a software-disabled APIC (SDM 10.4.7.2; REF-SVR-1, and '
      + 'KVM\'s own __apic_accept_irq does the same: "if (unlikely(!apic_enabled(apic))) break;"). The class is the '
      + 'oracle\'s: duplicate/spurious at the delivery, read when an IRR read shows it. Every variant, today\'s included '
      + '(docs/findings/kvm-apicv-sw-disabled-apic.md). [lapic.c apic_set_spiv, __apic_accept_irq; vmx.c MSR bitmap of '
      + 'SELF_IPI @ v4.x and torvalds/linux 000d75b0b186]',
  })),
  {
    cause: 'read:remote-irr-not-set-by-sw-disabled-apic',
    why: 'A level I/O APIC entry fires while every destination APIC is software-disabled: __apic_accept_irq discards the '
      + 'message and returns 0, and ioapic_service sets Remote IRR only "if (ret && irqe.trig_mode == IOAPIC_LEVEL_TRIG)". '
      + 'A redirection-entry read shows Remote IRR clear where the 82093AA (the reference) holds it set until an EOI. '
      + '[ioapic.c ioapic_service @ v4.x and v6.x; lapic.c __apic_accept_irq]',
  },
  ...['ioapic', 'spurious', 'duplicate', 'read'].map((cls): CauseDoc => ({
    cause: `${cls}:level-resent-after-sw-disabled-apic-discarded`,
    why: 'As read:remote-irr-not-set-by-sw-disabled-apic: with Remote IRR left clear, the next assertion of the still-high '
      + 'level line (ioapic_set_irq) or a redirection-entry write (ioapic_write_indirect) services the entry again, and once '
      + 'the APIC is enabled again the message is accepted and delivered; on the 82093AA, Remote IRR set by the first '
      + 'message holds the pin until an EOI of its vector. The class is the oracle\'s (ioapic while the vector is the '
      + 'pin\'s; spurious/duplicate after a rewrite gave the pin another vector; read for the IRR/TMR it shows). '
      + '[ioapic.c ioapic_set_irq, ioapic_service @ v4.x and v6.x]',
  })),
];

/** VT-d variants: the IOMMU posts whatever the guest's APIC state. */
/** VT-d posting of a device MSI with a vector below 16 (the -vtd variants). */
const VTD_ILLEGAL: CauseDoc = {
  cause: 'read:illegal-vector-posted-by-vtd',
  why: 'An assigned device\'s MSI with a vector below 16 is posted by the IOMMU (IRTE in posted format: PIR bit, ON, '
    + 'the notification) with no illegal-vector check, and nothing in KVM sets ESR: no Receive Illegal Vector, and the '
    + 'vector shows in an IRR read once synced from PIR (never delivered: class 0). [VT-d spec 9.11; vmx.c '
    + 'vmx_sync_pir_to_irr; lapic.c (no ESR state) @ v4.10..v6.12]',
};

const VTD_SW_DISABLED: CauseDoc[] = ['duplicate', 'spurious', 'read', 'ioapic'].map((cls): CauseDoc => ({
  cause: `${cls}:vtd-posted-while-apic-sw-disabled`,
  why: 'With VT-d posting, a device MSI is posted into the vCPU\'s PIR by the IOMMU from the IRTE alone (VT-d 9.11), '
    + 'never through __apic_accept_irq, so its apic_enabled check does not apply: a vector posted while the guest has '
    + 'software-disabled its local APIC is synced into VIRR and delivered. Bare metal discards it (SDM 10.4.7.2). KVM '
    + 'updates the IRTEs only when the guest reprograms the MSI (kvm_arch_update_irqfd_routing), not on an SVR write. '
    + '[vmx.c/posted_intr.c vmx_pi_update_irte; lapic.c apic_set_spiv @ v4.x and torvalds/linux 000d75b0b186]',
}));

/** VT-d variants, a level pin's vector shared with a device MSI (issue 8): the posting leaves TMR as it was. */
const VTD_TMR_KEPT: CauseDoc[] = ['ioapic', 'read'].map((cls): CauseDoc => ({
  cause: `${cls}:tmr-kept-by-vtd-posted-msi`,
  why: 'A level pin\'s vector also used by a device MSI: the level message went through __apic_accept_irq, which set TMR; '
    + 'the MSI is posted by the IOMMU straight into PIR (VT-d 9.11) and synced into VIRR by vmx_sync_pir_to_irr / '
    + 'kvm_apic_update_irr, neither of which touches TMR. The EOI of either instance exits (the vector is in the EOI-exit '
    + 'bitmap, ioapic_handled_vectors) and kvm_ioapic_send_eoi takes the trigger mode from TMR: level, so '
    + 'kvm_ioapic_update_eoi clears Remote IRR and re-services a still-asserted line. Bare metal cleared TMR when it '
    + 'accepted the edge MSI (SDM 10.8.4) and broadcasts no EOI: Remote IRR stays set. Seen as the re-sent message '
    + '(ioapic), a TMR read or a Remote IRR read (read). [lapic.c __apic_accept_irq, kvm_ioapic_send_eoi, '
    + 'kvm_apic_set_eoi_accelerated; vmx.c vmx_sync_pir_to_irr; ioapic.c kvm_ioapic_update_eoi @ v4.x and torvalds/linux 000d75b0b186]',
}));

// Issue 8 (lowest-priority IPIs and MSIs): vector hashing on the map's fast path, every tree from v4.10 to
// today (docs/findings/kvm-lowest-priority-hashed-to-absent-apic.md).
const LOWEST_ABSENT_READ: CauseDoc = {
  cause: 'read:lowest-priority-hashed-to-absent-apic',
  why: 'stuck:lowest-priority-hashed-to-absent-apic for a level message (a lowest-priority redirection entry, ioapic.lowest), '
    + 'seen first by a TMR read: the message reached no vCPU, so the TMR bit bare metal\'s accepting APIC set is clear; '
    + 'in v6.12 kvm_irq_delivery_to_apic_fast returns r = 0 for it, so ioapic_service leaves Remote IRR clear and a '
    + 'redirection-entry read shows it. For an edge IPI or MSI of a level pin\'s vector, the reverse: bare metal\'s '
    + 'acceptance on a vCPU where the level message is in service clears TMR (SDM 10.8.4), __apic_accept_irq never ran '
    + 'there, and a TMR read shows the level bit still set. '
    + '[see stuck:lowest-priority-hashed-to-absent-apic; ioapic.c ioapic_service → irq_comm.c kvm_irq_delivery_to_apic; '
    + 'lapic.c kvm_irq_delivery_to_apic_fast, __apic_accept_irq]',
};

/** The EOI side of LOWEST_ABSENT_DOC on a level pin's vector (issue 8's shared vectors). */
const LOWEST_ABSENT_EOI: CauseDoc = {
  cause: 'ioapic:lowest-priority-hashed-to-absent-apic',
  why: 'stuck:lowest-priority-hashed-to-absent-apic when the dropped IPI or MSI carries a level pin\'s vector and bare metal '
    + 'would have accepted it on a vCPU where that pin\'s level message is in service: bare metal\'s edge acceptance clears '
    + 'TMR (SDM 10.8.4), so the level instance\'s EOI is not broadcast and Remote IRR stays set; KVM never accepted the '
    + 'message, TMR keeps the level bit, kvm_ioapic_send_eoi takes the EOI as level and kvm_ioapic_update_eoi clears Remote '
    + 'IRR and re-services the still-asserted line: an extra message. [lapic.c kvm_apic_map_get_dest_lapic, '
    + 'kvm_ioapic_send_eoi; ioapic.c kvm_ioapic_update_eoi @ v4.10..v4.16 and v6.12]',
};

const LOWEST_ABSENT_DOC: CauseDoc = {
  cause: 'stuck:lowest-priority-hashed-to-absent-apic',
  why: 'A lowest-priority IPI or MSI in logical mode whose MDA names, besides present APICs, bits (flat) or cluster '
    + 'members (cluster, x2APIC) that no APIC holds. kvm_apic_map_get_dest_lapic with vector hashing (the default: '
    + 'kvm_vector_hashing_enabled) picks "kvm_vector_to_index(irq->vector, hweight16(*bitmap), bitmap, 16)" over the MDA\'s '
    + 'bits, not over the APICs present; when that slot is empty it calls kvm_apic_disabled_lapic_found, sets the '
    + 'bitmap to 0 and returns true, so kvm_irq_delivery_to_apic does not fall back to the slow path and the message '
    + 'reaches no vCPU. Bare metal delivers a lowest-priority message to one of the APICs it addresses (SDM 10.6.2.4). '
    + 'With VT-d an MSI whose MDA matches exactly one vCPU is still posted to it (kvm_intr_is_single_vcpu\'s slow '
    + 'count). The same for a lowest-priority redirection entry\'s level message: in v6.12 the fast path returns r = 0, '
    + 'ioapic_service leaves Remote IRR clear, and what bare metal\'s accepting APIC holds of the pin (the message, then '
    + 'the re-send its EOI makes while the line is high) stays owed even after the vCPU took another instance of the '
    + 'vector. [lapic.c kvm_apic_map_get_dest_lapic, kvm_vector_to_index @ v4.10..v4.16 and v6.12 (library copies, and '
    + 'the 2025 kvm_plane patch mail that still carries it); irq_comm.c kvm_irq_delivery_to_apic]',
};

/** "kvm: apic: phys broadcast and lowest prio": every tree. Not drawn by the generator (its physical lowest-priority IPIs name a vCPU). */
const LOWEST_PHYS_BROADCAST_DOCS: CauseDoc[] = ['spurious', 'duplicate', 'read', 'ioapic'].map((cls): CauseDoc => ({
  cause: `${cls}:lowest-priority-phys-broadcast-sent-fixed`,
  why: 'A lowest-priority message to the xAPIC physical broadcast 0xFF goes to one APIC on bare metal (SDM 10.6.2.4). '
    + 'kvm_irq_delivery_to_apic turns it into a fixed broadcast ("if (irq->dest_mode == APIC_DEST_PHYSICAL && '
    + 'irq->dest_id == 0xff && kvm_lowest_prio_delivery(irq)) { printk(\"kvm: apic: phys broadcast and lowest prio\"); '
    + 'irq->delivery_mode = APIC_DM_FIXED; }"), so every APIC gets a copy; the class is the oracle\'s (spurious or '
    + 'duplicate at the extra copies\' delivery, read for an IRR read). [irq_comm.c kvm_irq_delivery_to_apic @ v4.x and '
    + 'v6.x copies in the library]',
}));

// Issue 8 (the APIC timer, sixth session): what KVM's timer emulation does that a local APIC does not, in every
// modelled tree (timer.ts has the functions and the trees they were read at).
const LAPIC_C_TIMER = 'lapic.c @ torvalds/linux 000d75b0b186 and a v4.17–v4.19-era copy in the library';
const TIMER_DOCS: CauseDoc[] = [
  {
    cause: 'stuck:timer-pending-behind-nested-exit-ack',
    why: 'On nested.ackOnExit machines, APICv or not: an APIC timer expiry (apic_timer_fn → apic_timer_expired) only sets '
      + 'lapic_timer.pending and a request; kvm_inject_apic_timer_irqs raises the vector in IRR at the vcpu_run loop tail. '
      + 'When the expiry comes after the requests phase of a pass that then emulates an EXTERNAL_INTERRUPT exit to L1, '
      + 'nested_vmx_vmexit with L1\'s VM_EXIT_ACK_INTR_ON_EXIT acknowledges the highest vector in IRR '
      + '(kvm_cpu_get_interrupt → kvm_get_apic_interrupt), a lower one, and L1 runs its handler before the timer\'s; '
      + 'on bare metal the expiry set IRR at once and the exit acknowledges the timer vector (SDM 27.2.2, REF-NST-4). '
      + 'The nested form of timer-pending-behind-irq-injection; found by session 10\'s soak (s10final:1:2792607, '
      + 'test/oracle/scenarios/kvm-timer-pending-behind-nested-exit-ack.json). [lapic.c apic_timer_expired, '
      + 'kvm_inject_apic_timer_irqs, kvm_get_apic_interrupt; x86.c vcpu_run; vmx/nested.c nested_vmx_vmexit @ v6.12; '
      + 'the same pending path (kvm_set_pending_timer) and ack in the v4.x trees]',
  },
  // ioapic: the timer's vector is also a level pin's (issue 8's shared vectors): the oracle files an extra instance of
  // a pin's vector under the pin, whatever sent it.
  ...['spurious', 'duplicate', 'read', 'ioapic'].map((kind): CauseDoc => ({
    cause: `${kind}:timer-expiry-while-masked-delivered-on-unmask`,
    why: 'An expiry of a timer whose LVT is masked still runs apic_timer_expired (apic_timer_fn calls it whatever the '
      + 'mask): lapic_timer.pending is set, but apic_has_pending_timer counts it only with the LVT unmasked, so the '
      + 'vcpu_run loop tail never injects it and nothing clears it (only start_apic_timer, a TMICT or TSC-deadline write, '
      + 'an SVR disable, and in v6.12 cancel_apic_timer on a deadline/count mode change). When the guest later unmasks '
      + 'LVTT (kvm_lapic_reg_write APIC_LVTT: apic_update_lvtt does nothing for an unchanged mode), the next loop tail '
      + 'finds the pending expiry and kvm_apic_local_deliver sends the timer vector. Bare metal discards an expiry '
      + 'while the LVT is masked (SDM 10.5.1: the mask "inhibits reception of the interrupt"), so the guest takes an '
      + 'interrupt bare metal never raises (read: the IRR read shows it). Today\'s code: '
      + `docs/findings/kvm-timer-masked-expiry-delivered-on-unmask.md, corpus/kvm/kvm-timer-masked-expiry-delivered-on-unmask.json. [${LAPIC_C_TIMER}: `
      + 'apic_timer_expired, apic_has_pending_timer, kvm_inject_apic_timer_irqs, kvm_apic_local_deliver; x86.c vcpu_run]',
  })),
  ...['stuck', 'read', 'duplicate', 'spurious'].map((kind): CauseDoc => ({
    cause: `${kind}:periodic-timer-period-limited`,
    why: 'limit_periodic_timer_frequency raises a periodic timer\'s period to min_timer_period_us (x86.c module '
      + 'parameter, 200 µs): "Do not allow the guest to program periodic timers with small interval, since the hrtimers '
      + 'are not throttled by the host scheduler". A tick is one APIC bus cycle, 1 ns by default (APIC_BUS_CYCLE_NS), so '
      + 'a periodic TMICT below 200000 with divide-by-1 expires every 200000 ticks, the first time too '
      + '(set_target_expiration uses the limited period; apic_update_lvtt applies it when the mode becomes periodic): '
      + 'expiries bare metal raises come late or not at all (stuck, duplicate or spurious when a later one lands where '
      + 'bare metal has none), and TMCCT counts down from 200000 (read); with an LVT vector 0-15 an ESR read lacks the Receive '
      + `Illegal Vector bit of the expiry bare metal already had (SDM 10.5.3; read). [${LAPIC_C_TIMER}: limit_periodic_timer_frequency, `
      + 'set_target_expiration, apic_update_lvtt, apic_get_tmcct; the same limit inline in start_apic_timer of older trees]',
  })),
];

/** APICv variants, a level pin's vector shared with a self-IPI (issue 8): self-IPI virtualization leaves TMR as it was. */
const SELF_IPI_TMR_KEPT: CauseDoc[] = ['ioapic', 'read'].map((cls): CauseDoc => ({
  cause: `${cls}:tmr-kept-by-virtualized-self-ipi`,
  why: 'A level pin\'s vector also sent by the guest as a self-IPI (x2APIC SELF_IPI MSR, or the xAPIC ICR with the self '
    + 'shorthand): the level message went through __apic_accept_irq, which set TMR; the self-IPI is virtualized by the CPU '
    + 'without an exit (KVM passes the SELF_IPI MSR write through, vmx_update_msr_bitmap_x2apic; an xAPIC ICR self-IPI is '
    + 'virtualized by APIC-write emulation), and self-IPI virtualization sets VIRR and RVI only (SDM 29.1.5), never the '
    + 'virtual-APIC page\'s TMR. A TMR read (passed through with APIC-register virtualization) shows the bit set (read), '
    + 'and the EOI of either instance exits (EOI-exit bitmap) with kvm_ioapic_send_eoi taking the trigger mode from TMR: '
    + 'level, so kvm_ioapic_update_eoi clears Remote IRR and re-services a still-asserted line (ioapic). Bare metal cleared '
    + 'TMR when it accepted the edge self-IPI (SDM 10.8.4): no EOI broadcast, Remote IRR stays set. Not without APICv '
    + '(the SELF_IPI write exits into __apic_accept_irq). [vmx.c vmx_update_msr_bitmap_x2apic; lapic.c __apic_accept_irq, '
    + 'kvm_ioapic_send_eoi, kvm_apic_set_eoi_accelerated; ioapic.c kvm_ioapic_update_eoi @ v4.x and torvalds/linux 000d75b0b186]',
}));

const COMMON_DEVIATIONS: CauseDoc[] = [
  ...TIMER_DOCS,
  ...['ioapic', 'spurious', 'duplicate', 'read'].map((cls): CauseDoc => ({
    cause: `${cls}:edge-entry-reserviced-by-level-eoi`,
    why: 'kvm_ioapic_update_eoi_one takes the trigger mode from the LAPIC\'s TMR (level: the instance in service was '
      + 'accepted level), not from the entry: after the guest rewrote the entry to edge while that instance was in service '
      + '(and before the vCPU processed KVM_REQ_SCAN_IOAPIC, so the vector is still in ioapic_handled_vectors), the EOI '
      + 'clears remote_irr and, the line still high in ioapic->irr, calls ioapic_service, which sends the edge entry\'s '
      + 'message. Only ASSERT(ent->fields.trig_mode == IOAPIC_LEVEL_TRIG) (a no-op unless DEBUG) says it must not. The '
      + '82093AA matches the EOI against level entries only and sends an edge entry on a rising edge: nothing here. '
      + 'The same for another pin\'s edge entry that shares the level pin\'s vector (issue 8): kvm_ioapic_update_eoi visits '
      + 'every entry with "ent->fields.vector == vector", and ioapic_set_irq keeps an edge pin\'s ioapic->irr bit while '
      + 'its line is high, so the level instance\'s EOI re-sends the edge pin\'s message too (spurious when it is a '
      + 'lowest-priority message whose choice the reference reads as the level pin\'s re-send). '
      + '[ioapic.c kvm_ioapic_update_eoi, kvm_ioapic_update_eoi_one, ioapic_set_irq, ioapic_service @ v4.x and 6.12.19]',
  })),
  LOWEST_ABSENT_DOC,
  LOWEST_ABSENT_READ,
  LOWEST_ABSENT_EOI,
  ...LOWEST_PHYS_BROADCAST_DOCS,
  ...SW_DISABLED_DOCS,
  ...SELF_IPI_TMR_KEPT,
  ...EOI_NOT_IN_HANDLED,
  {
    cause: 'stuck:l1-pending-at-nested-entry',
    why: 'An L1 interrupt (or NMI) already pending when L1 executes VMLAUNCH/VMRESUME (L1 had IF=0), or synced by '
      + 'check_nested_events while nested_run_pending refuses the exit, is not re-evaluated: nested_vmx_run makes '
      + 'no KVM_REQ_EVENT and vmx_hwapic_irr_update ignores RVI in guest mode, so L2 runs until it exits for '
      + 'another reason. Fixed upstream later (the "evaluate_pending_interrupts" KVM_REQ_EVENT at nested VM-entry, and '
      + 'sync_pir_to_irr\'s KVM_REQ_EVENT in guest mode): clean on kvm/v6.12 (corpus/kvm/kvm-nested-entry-l1-pending.json). '
      + 'In v4.10 kvm_vcpu_running does not call check_nested_events, so without a KVM_REQ_EVENT even timer exits '
      + 'of L2 do not leave L2 for the pending L1 interrupt (lost rather than late).',
  },
  ...['ioapic', 'spurious', 'duplicate', 'read'].map((cls): CauseDoc => ({
    cause: `${cls}:level-resent-on-redirection-write`,
    why: 'ioapic_write_indirect re-services an asserted level line on any redirection-entry write without looking '
      + 'at Remote IRR, so a mask/unmask or a rewrite while the vector is in service delivers it again (and the EOI of '
      + 'that extra instance re-sends the line once more). The class is the oracle\'s: ioapic while the vector is '
      + 'still the pin\'s, spurious or duplicate once a rewrite (ioapic_write) gave the pin another vector, read when '
      + 'an IRR read shows the extra instance.',
  })),
  ...['spurious', 'ioapic', 'duplicate', 'read'].map((cls): CauseDoc => ({
    cause: `${cls}:old-vector-resent-on-destination-write`,
    why: 'A guest rewrites a level entry whose line is asserted and whose vector is in service, changing its '
      + 'destination. The guest writes the high dword (destination) first, as Linux\'s __ioapic_write_entry does; '
      + 'ioapic_write_indirect then re-services the asserted line without looking at Remote IRR (as for '
      + 'ioapic:level-resent-on-redirection-write), with the entry half written: the old vector goes to the new '
      + 'destination. The class is the oracle\'s: ioapic while the vector is still a pin\'s, spurious or duplicate once '
      + 'the write gave the pin another vector, read when an IRR read shows the extra instance. Gone on v6.12, whose ioapic_service refuses a level entry with Remote IRR set. '
      + '[ioapic.c ioapic_write_indirect, ioapic_service @ v4.10..v4.16]',
  })),
  {
    cause: 'stuck:nmi-behind-irq-window',
    why: 'With STI blocking, enable_nmi_window asks for an interrupt window instead: a pending NMI then waits '
      + 'for RFLAGS.IF = 1.',
  },
  {
    cause: 'read:no-illegal-vector-check',
    why: 'KVM never sets ESR send/receive-illegal-vector bits and accepts fixed vectors 0-15 (apic_send_ipi and '
      + '__apic_accept_irq have no illegal-vector check): the ESR stays 0, so neither the sender\'s Send Illegal Vector nor '
      + 'a receiver\'s Receive Illegal Vector shows, and the vector is posted into PIR/IRR, where a guest IRR read shows '
      + 'it although it is never delivered (class 0 never beats VPPR). [lapic.c apic_send_ipi, __apic_accept_irq @ v4.x]',
  },
  {
    cause: 'duplicate:l1-nmi-exit-inside-l1-nmi-handler',
    why: 'A limit of the reference, not a KVM bug: L1 executed VMRESUME from inside its own NMI handler, and an NMI '
      + 'for L1 arrived while L2 ran. vmx_check_nested_events reflects it as an NMI exit (NMI exiting is set; L2\'s '
      + 'blocking, not L1\'s, applies in VMX non-root operation) and vmx_set_nmi_mask blocks the next one, which '
      + 'stays pending; the abstract L1 handles the exit after its IRET. The reference keeps L1\'s NMI blocking '
      + 'across L2 and so holds the exit\'s NMI pending and collapses the next one into it. Rate ~1e-6 of '
      + 'interleavings. [nested.c/vmx.c vmx_check_nested_events: "The NMI-triggered VM exit counts as injection"]',
  },
  {
    cause: 'duplicate:process-nmi-two-pending',
    why: 'Found by REF-NMI-1 once the reference kept NMIs sent after a take apart from those that could have '
      + 'collapsed. process_nmi: "x86 is limited to one NMI running, and one NMI pending after it. If an NMI is '
      + 'already in progress, limit further NMIs to just one. Otherwise, allow two (and we\'ll inject the first one '
      + 'immediately)" — nmi_pending = min(nmi_pending + nmi_queued, 2) when neither get_nmi_mask nor nmi_injected. '
      + 'When the first cannot be injected at once (an STI shadow: enable_nmi_window falls back to an interrupt '
      + 'window), the two NMIs that landed together are both delivered, where bare metal latches one. Unchanged in '
      + 'v4.10 through v4.16 (and today\'s x86.c keeps the same limit). [x86.c process_nmi, inject_pending_event]',
  },
  {
    cause: 'core:hlt-ended-by-blocked-nmi',
    why: 'Found by REF-HLT-1. kvm_vcpu_has_events counts a queued NMI (nmi_queued in v4.10/v4.11, KVM_REQ_NMI from '
      + 'v4.15) without asking whether NMIs are blocked, so an NMI sent to a vCPU halted inside its NMI handler makes '
      + 'vcpu_block set mp_state RUNNABLE; inject_pending_event cannot inject it and the guest resumes after its HLT '
      + 'with nothing delivered. On bare metal a blocked NMI does not end HLT. [x86.c kvm_vcpu_has_events, vcpu_block]',
  },
];

// Issue 8 (LDR/DFR writes, logical destinations): the v4.x optimized APIC map. Read at v4.10-v4.16
// lapic.c recalculate_apic_map (the kvm_kvzalloc map; the v4.12 kvzalloc conversion patch in the library
// shows its head) and the two 2022/2023 fixes by Sean Christopherson in the library's patch mail, both
// "Fixes: 1e08ec4a130e (KVM: optimize apic interrupt delivery)".
const APIC_MAP_V4: CauseDoc[] = [
  {
    cause: 'stuck:apic-map-logical-id-multiple-bits',
    why: 'A guest gives an xAPIC a logical ID with more than one bit (LDR write, flat model: e.g. 0x03; cluster model: '
      + 'two bits of the low nibble). recalculate_apic_map puts each APIC in one slot of the flat/cluster map, that of the '
      + 'lowest bit ("if (mask) cluster[ffs(mask) - 1] = apic;"), and kvm_irq_delivery_to_apic_fast resolves a logical '
      + 'MDA through those slots: a message (IPI, MSI, I/O APIC entry) whose MDA names only another of its bits never '
      + 'reaches it, where bare metal matches MDA & LDR != 0 (SDM 10.6.2.2). Every tree before "KVM: x86: Disable APIC '
      + 'logical map if logical ID covers multiple MDAs" (Sean Christopherson, 2022; clean on kvm/v6.12, which falls back '
      + 'to kvm_apic_match_dest). [lapic.c recalculate_apic_map, kvm_apic_map_get_logical_dest, '
      + 'kvm_apic_map_get_dest_lapic @ v4.10..v4.16]',
  },
  {
    cause: 'stuck:apic-map-logical-id-aliased',
    why: 'Two xAPICs end up with the same logical ID bit (LDR writes; flat, or the same cluster in the cluster model). '
      + 'recalculate_apic_map overwrites the slot ("cluster[ffs(mask) - 1] = apic;": the higher vCPU wins), so a '
      + 'logical message to that bit reaches one of them; bare metal delivers to every APIC whose LDR matches. Fixed by '
      + '"KVM: x86: Disable APIC logical map if vCPUs are aliased in logical mode" ("overwriting existing map entries can '
      + 'result in missed IPIs", Fixes: 1e08ec4a130e; clean on kvm/v6.12). [lapic.c recalculate_apic_map @ v4.10..v4.16]',
  },
  ...['multiple-bits', 'aliased'].map((shape): CauseDoc => ({
    cause: `read:apic-map-logical-id-${shape}`,
    why: `stuck:apic-map-logical-id-${shape} seen first by a TMR read: a level message (logical I/O APIC entry) the map did `
      + 'not send to this vCPU leaves its TMR clear where bare metal\'s accepted message set it. Found by the guided soak. '
      + `[see stuck:apic-map-logical-id-${shape}]`,
  })),
];

// Issue 8 (xAPIC ID writes, machine.apicIds): the v4.x physical map keeps the first vCPU of an aliased xAPIC ID.
const APIC_MAP_V4_PHYS: CauseDoc[] = ['stuck', 'read'].map((cls): CauseDoc => ({
  cause: `${cls}:apic-map-physical-id-aliased`,
  why: 'A guest gives two xAPICs the same APIC ID (an APIC_ID write: kvm_apic_set_xapic_id, then recalculate_apic_map). The '
    + 'v4.x map keeps the first: "if (!apic_x2apic_mode(apic) && !new->phys_map[xapic_id]) new->phys_map[xapic_id] = apic;", '
    + 'and kvm_irq_delivery_to_apic_fast sends a physical message to that slot only, so the other vCPU never receives '
    + 'it; bare metal delivers to every APIC whose ID matches (SDM 10.6.2.1). Replaced by "KVM: x86: Honor architectural '
    + 'behavior for aliased 8-bit APIC IDs" (Sean Christopherson, 2022/2023: the map is dropped and the slow path matches '
    + 'every APIC; clean on kvm/v6.12). Stuck, or read when a TMR read shows the level message missing. [lapic.c '
    + 'recalculate_apic_map @ v4.x: the pre-image of that patch and of the 2016 stable patch "ignore SW-disabled APICs in '
    + 'the logical map", both in the library]',
}));

// Issue 8: today's logical map leaves software-disabled APICs out (docs/findings/kvm-logical-nmi-to-sw-disabled-apic.md).
const APIC_MAP_SW_DISABLED: CauseDoc = {
  cause: 'stuck:apic-map-sw-disabled-apic-left-out',
  why: 'kvm_recalculate_logical_map skips a software-disabled APIC ("if (!kvm_apic_sw_enabled(apic)) return;"), and '
    + 'kvm_irq_delivery_to_apic_fast resolves a logical destination through that map whenever its mode allows '
    + '(kvm_apic_map_get_dest_lapic; with no enabled APIC holding an LDR, KVM_APIC_MODE_SW_DISABLED gives an empty mask). '
    + 'A fixed message would be discarded there anyway, but an NMI sent in logical destination mode to an APIC the guest '
    + 'software-disabled (SVR bit 8 clear) reaches nobody: bare metal accepts NMI, INIT, SMI and SIPI at a '
    + 'software-disabled APIC (SDM 10.4.7.2). Physical destinations are unaffected (the physical map keeps every '
    + 'present APIC). Not drawn by the generator (its NMIs are physical): '
    + 'corpus/kvm/kvm-logical-nmi-to-sw-disabled-apic.json. [lapic.c kvm_recalculate_logical_map, '
    + 'kvm_apic_map_get_logical_dest, kvm_apic_map_get_dest_lapic @ v6.12, as in the 2023 series 2bf934aadcac/2970052481b9 '
    + 'read in the library]',
};

/** Before v4.15 ("Preserve read-only values in the redirection table") a redirection write cleared Remote IRR. */
const REMOTE_IRR_CLEARED_DOCS: CauseDoc[] = ['ioapic', 'spurious', 'duplicate', 'read'].map((cls) => ({
  cause: `${cls}:level-resent-after-write-cleared-remote-irr`,
  why: 'ioapic_write_indirect before v4.15 cleared Remote IRR on every redirection-entry write; a level line '
    + 'asserted again before the vector\'s EOI is then serviced by ioapic_set_irq although the vector is still in '
    + 'service. Fixed in v4.15 (Remote IRR preserved). The class is the oracle\'s (ioapic while the vector is the '
    + 'pin\'s; spurious, duplicate or read after a rewrite gave the pin another vector).',
}));

/** The same pre-v4.15 write, seen by a guest read of the entry. */
const REMOTE_IRR_CLEARED_READ: CauseDoc = {
  cause: 'read:remote-irr-cleared-by-redirection-write',
  why: 'As ioapic:level-resent-after-write-cleared-remote-irr: before v4.15 ioapic_write_indirect clears Remote IRR '
    + 'on every low-dword write, so a guest that reads a level entry it rewrote while the vector is in service sees '
    + 'Remote IRR clear (ioapic_read_indirect returns redirtbl[].bits). [ioapic.c @ v4.10, v4.11]',
};

/** v4.10 and v4.11: kvm_vcpu_has_events looks at nmi_queued only (hasEventsNmi 'queued'). */
const NMI_NOT_RUNNABLE: CauseDoc = {
  cause: 'stuck:nmi-pending-halted-not-runnable',
  why: 'kvm_vcpu_has_events of v4.10/v4.11 looks at nmi_queued only. An NMI already processed into nmi_pending '
    + '(process_nmi ran, but inject_pending_event could not inject it: STI blocking, enable_nmi_window fell back to '
    + 'an interrupt window) is invisible to kvm_vcpu_block when the guest then halts: the vCPU sleeps with an NMI '
    + 'pending. v4.15 made kvm_vcpu_has_events look at KVM_REQ_NMI and nmi_pending too.',
};

/**
 * Nested "acknowledge interrupt on exit" (machine nested.ackOnExit) where kvm_vcpu_running calls check_nested_events
 * (v4.11 to 5.x: KvmCode.runningChecksNested).
 */
const NMI_BEHIND_NESTED_ACK: CauseDoc = {
  cause: 'stuck:nmi-queued-behind-nested-exit-ack',
  why: 'An NMI sent to a vCPU running L2 before a pass of the run loop is only queued (nmi_queued, KVM_REQ_NMI) until '
    + 'process_nmi in vcpu_enter_guest\'s requests phase. kvm_vcpu_running calls check_nested_events before that (v4.11 to 5.x); '
    + 'vmx_check_nested_events sees no nmi_pending and emulates the EXTERNAL_INTERRUPT exit for a pending L1 '
    + 'interrupt, and with L1\'s VM_EXIT_ACK_INTR_ON_EXIT nested_vmx_vmexit acknowledges it (kvm_cpu_get_interrupt): '
    + 'L1 runs that vector\'s handler and takes the NMI only after, where bare metal exits for the NMI first '
    + '(REF-DISP-4). Without the ack the NMI still goes first (L1 takes the interrupt through its IDT after the '
    + 'injected NMI). v4.10 (no check_nested_events in kvm_vcpu_running) and v6.12 (moved to vcpu_block in 2021) '
    + 'do not show it.',
};

/** Every variant, on nested.ackOnExit machines: the entry path's own nested check acknowledges after the requests phase. */
const NMI_AFTER_REQUESTS_BEHIND_NESTED_ACK: CauseDoc = {
  cause: 'stuck:nmi-queued-after-requests-behind-nested-exit-ack',
  why: 'An NMI sent to a vCPU in L2 after the requests phase of a vcpu_enter_guest pass is only queued (nmi_queued, '
    + 'KVM_REQ_NMI; process_nmi has run). The same pass\'s nested check (inject_pending_event → check_nested_events in '
    + 'v4.x, kvm_check_and_inject_events in v6.12) sees no nmi_pending and emulates the EXTERNAL_INTERRUPT exit, and with '
    + 'L1\'s VM_EXIT_ACK_INTR_ON_EXIT nested_vmx_vmexit acknowledges the interrupt (kvm_cpu_get_interrupt). The '
    + 'exit-request check then cancels the entry, but L1 already has the interrupt in service: it runs that handler and '
    + 'takes the NMI after, where bare metal exits for the landed NMI first (REF-DISP-4). The nested form of '
    + 'nmi-queued-behind-irq-injection (no APICv, no nesting). [x86.c vcpu_enter_guest, process_nmi; vmx.c / '
    + 'vmx/nested.c vmx_check_nested_events, nested_vmx_vmexit]',
};

/** VT-d variants: pi_pre_block. */
const PI_PRE_BLOCK: CauseDoc = {
  cause: 'core:hlt-ended-by-pi-pre-block-on',
  why: 'Found by REF-HLT-1. With VT-d posting, vcpu_block calls pi_pre_block, which returns 1 ("We should not block '
    + 'the vCPU if an interrupt is posted for it") whenever PIR.ON is set — also when the guest halted with IF = 0 '
    + 'or the posted vector is blocked by PPR. vcpu_block then sets mp_state RUNNABLE and the guest resumes after its '
    + 'HLT with nothing delivered: a `cli; hlt` returns. [vmx.c pi_pre_block, x86.c vcpu_block @ v4.10..v4.16]',
};


const RACE1: CauseDoc = {
  cause: 'stuck:pir-on-swallowed-in-guest-mode',
  why: 'Race 1: the notification IPI is sent after vcpu->mode = IN_GUEST_MODE but lands before '
    + 'local_irq_disable, so the host POSTED_INTR_VECTOR handler swallows it; the guest is entered with '
    + 'PIR.ON = 1 and no notification pending. ON stays set, so later postings stall behind it.',
};
const RACE2_KICK: CauseDoc = {
  cause: 'stuck:pir-on-kick-noop',
  why: 'Race 2: the vector is posted after the RVI refresh but before the mode store; the sender sees '
    + 'OUTSIDE_GUEST_MODE and kvm_vcpu_kick does nothing; entry with PIR.ON = 1 and no IPI. Also shows as '
    + 'priority-inversion and read-mismatch:irr-missing.',
};
const RACE2_VTD: CauseDoc = {
  cause: 'stuck:pir-on-swallowed-outside-guest-mode',
  why: 'Race 2 with VT-d: the IOMMU posts after the RVI refresh and notifies at once; the notification lands '
    + 'in root with IRQs on (mode still OUTSIDE) and is swallowed; entry with PIR.ON = 1.',
};
const V410_WINDOW: CauseDoc = {
  cause: 'stuck:pir-on-kick-noop',
  why: 'v4.10 itself: a vector posted between the RVI refresh (hwapic_irr_update(kvm_lapic_find_highest_irr)) and '
    + 'kvm_check_request(KVM_REQ_EVENT) has its KVM_REQ_EVENT consumed by a block that, with APICv, never looks at '
    + 'PIR (kvm_cpu_has_injectable_intr is 0), and the sender saw OUTSIDE_GUEST_MODE: entry with PIR.ON = 1. '
    + 'The 6/6 commit message says KVM_REQ_EVENT cancelled the entry "in both race scenarios"; it does only '
    + 'after that check.',
};
const NESTED_RACE: CauseDoc = {
  cause: 'stuck:l2-resumed-after-pir-sync',
  why: 'Nested (Radim Krčmář, review of 6/6): a posted L1 interrupt that arrives after check_nested_events '
    + 'but before local_irq_disable is synced into L1\'s IRR by sync_pir_to_irr, vmx_hwapic_irr_update '
    + 'returns (guest mode, exit-on-intr), nothing makes a request and KVM resumes L2 instead of an '
    + 'EXTERNAL_INTERRUPT exit to L1. Fixed by f27a85c4988d (v4.16).',
};

// Found by the fuzzer on the fixed variant (not part of the history the seed documents).
const V416_RESIDUAL: CauseDoc = {
  cause: 'stuck:l2-resumed-exit-request-missed',
  why: 'f27a85c4988d forces the nested exit with kvm_vcpu_exiting_guest_mode, a cmpxchg IN → EXITING that does '
    + 'nothing while vcpu->mode is still OUTSIDE_GUEST_MODE. vcpu_scan_ioapic (KVM_REQ_SCAN_IOAPIC, e.g. after an '
    + 'IOAPIC redirection-entry write) calls sync_pir_to_irr in the requests phase, before the mode store: a vector '
    + 'posted for L1 just before is moved into IRR there, the forced exit is lost, the sync after the mode store '
    + 'finds ON clear, and L2 is resumed. Later kernels make KVM_REQ_EVENT on this branch in both cases '
    + '(3a25dfa67fe4 per the research notes), which closes it: kvm/v6.12 models that form and is clean on '
    + 'corpus/kvm/kvm-v416-scan-ioapic-nested.json.',
};

// Issue 8 (redirection-entry writes at run time): the nVMX bug the EOI-exit bitmap path reaches.
const EOI_EXITMAP_VMCS02: CauseDoc = {
  cause: 'stuck:eoi-exitmap-loaded-into-vmcs02',
  why: 'A redirection-entry write (ioapic_write_indirect → kvm_make_scan_ioapic_request) reaches a vCPU while it runs '
    + 'L2. Its next vcpu_enter_guest handles KVM_REQ_SCAN_IOAPIC in guest mode: vcpu_scan_ioapic updates '
    + 'ioapic_handled_vectors and load_eoi_exitmap writes EOI_EXIT_BITMAP0..3 of the current VMCS, vmcs02; the request '
    + 'is consumed and vmcs01 keeps the old bitmap. After the nested exit to L1, a vector the write made level (or '
    + 'pointed at this vCPU) has no EOI-exit bit in vmcs01: L1\'s EOI is virtualized without an exit, '
    + 'kvm_ioapic_update_eoi never runs, Remote IRR stays set, and the level line is never delivered again (an edge '
    + 'vector left in the bitmap only exits needlessly). Fixed by 4cf4df7ab4d1 "KVM: nVMX: Do not load EOI-exitmap '
    + 'while running L2" (Liran Alon, 2018; in the 4.17 merge window, after v4.16 — the release was not checked against '
    + 'a tree in the library): the load is deferred (load_eoi_exitmap_pending) to the nested VM exit as '
    + 'KVM_REQ_LOAD_EOI_EXITMAP, while ioapic_handled_vectors is still updated at once (for an L2 that owns L1\'s APIC). '
    + 'Clean on kvm/v6.12 (corpus/kvm/kvm-eoi-exitmap-loaded-into-vmcs02.json). [commit message of 4cf4df7ab4d1; x86.c '
    + 'vcpu_scan_ioapic / vcpu_load_eoi_exitmap, kvm_cache_regs.h leave_guest_mode in later trees]',
};

// Found by the fuzzer on v4.11 and later (vmx_check_nested_events blocks on re-injection).
const BEHIND_REINJECTION: CauseDoc = {
  cause: 'stuck:l2-resumed-after-reinjection',
  why: 'L1\'s injection into L2 faulted (IDT-vectoring info) and an L1 interrupt is pending: '
    + 'vmx_check_nested_events returns -EBUSY while the event needs re-injection (v4.11+; in v4.10 '
    + 'inject_pending_event returns before calling it), inject_pending_event re-injects it (interrupt.injected → '
    + 'set_irq, return 0) without asking for an immediate exit, and '
    + 'nothing re-evaluates the L1 interrupt once L2 has taken the re-injected event: it waits for an '
    + 'unrelated exit. The same shape as kvm-nvmx\'s in-l2-after-idt-reinjection in the 2011 code. L1 events that were '
    + 'pending (in IRR, still in PIR, or an NMI) when the re-injection was chosen carry this tag rather than the entry '
    + 'race\'s or the nested entry\'s. Closed later: kvm_check_and_inject_events (v6.12) checks nested events first and '
    + 'turns -EBUSY into an immediate exit (corpus/kvm/kvm-nested-reinjection-l1-pending.json).',
};

// Seed 001's second remark (Radim Krčmář, review of 6/6): "we allow posted interrupts in L2 while L1
// has assigned devices that use posted interrupts, and that it doesn't work".
const NESTED_PI_SHARED: CauseDoc = {
  cause: 'stuck:pir-on-consumed-by-l2-posted-intr',
  why: 'L1 gives L2 posted interrupts (vmcs12 process-posted-interrupts; machine nested.postedIntr). prepare_vmcs02 '
    + 'writes POSTED_INTR_NV = POSTED_INTR_VECTOR, the vector vmx_deliver_posted_interrupt notifies L1 with. A '
    + 'notification meant for L1 (an IPI or, with VT-d, a device MSI posted into L1\'s descriptor) that reaches the '
    + 'pCPU while L2 runs matches vmcs02\'s PINV: the CPU does posted-interrupt processing on L1\'s descriptor for '
    + 'L2, with no VM exit. L1\'s vector stays in L1\'s PIR with ON set, every later posting to L1 sees ON and sends '
    + 'nothing, and L1 waits until L2 exits for another reason. Fixed by POSTED_INTR_NESTED_VECTOR (0xf0, '
    + 'kvm_vcpu_trigger_posted_interrupt(vcpu, nested); present by v4.13, absent from v4.11; the introducing commit '
    + 'was not found in the library). Needs a nested.postedIntr machine, which the generator does not draw: '
    + 'corpus/kvm/kvm-nested-pi-shared-vector.json. [vmx.c prepare_vmcs02, vmx_deliver_posted_interrupt @ v4.10, v4.11]',
};

/**
 * v6.12 keeps the v4.x deviations below (re-read at v6.12 where stated in each); the
 * nested-entry one and the redirection-write re-service (ioapic_service checks Remote IRR)
 * are gone.
 */
const V612_NO_APIC_DOCS: CauseDoc[] = [
  {
    cause: 'read:remote-irr-not-set-without-destination-apic',
    why: 'A level I/O APIC entry fires at a destination no APIC has (a physical APIC ID no vCPU holds — after an xAPIC ID '
      + 'write, or with machine.apicIds — or a logical MDA of empty map slots). v6.12 kvm_irq_delivery_to_apic_fast sets '
      + '"*r = 0" as soon as kvm_apic_map_get_dest_lapic answers (a physical ID: "*dst = &map->phys_map[dest_id]; *bitmap '
      + '= 1", the slot NULL), so kvm_irq_delivery_to_apic returns 0 and ioapic_service sets Remote IRR only "if (ret && '
      + 'irqe.trig_mode == IOAPIC_LEVEL_TRIG)": a redirection-entry read shows Remote IRR clear where the 82093AA (the '
      + 'reference) set it when it sent the message. A deviation from the reference\'s choice rather than a KVM bug: the '
      + '82093AA datasheet sets Remote IRR "when local APIC(s) accept the level interrupt", and here none does (the same '
      + 'question as read:remote-irr-not-set-by-sw-disabled-apic). [lapic.c kvm_irq_delivery_to_apic_fast, kvm_apic_map_get_dest_lapic; '
      + 'irq_comm.c kvm_irq_delivery_to_apic; ioapic.c ioapic_service @ 6.12.19, wishday/linux-6.12.y aa44b5f5b]',
  },
  ...['ioapic', 'spurious', 'duplicate', 'read'].map((cls): CauseDoc => ({
    cause: `${cls}:level-resent-after-message-reached-no-apic`,
    why: 'As read:remote-irr-not-set-without-destination-apic: with Remote IRR left clear, the next assertion of the '
      + 'still-high level line or a redirection-entry write services the entry again; once the entry (or an APIC ID, or '
      + 'an LDR) makes it reach a vCPU, the message is delivered where the 82093AA, whose Remote IRR the first message set, '
      + 'sends nothing until an EOI. The class is the oracle\'s (ioapic while the vector is the pin\'s, spurious/duplicate '
      + 'after a rewrite, read for the IRR/TMR it shows). [ioapic.c ioapic_set_irq, ioapic_write_indirect, ioapic_service '
      + '@ 6.12.19]',
  })),
];

// Issue 8 (xAPIC ID writes): the run-time APICv inhibit of v6.12 (apicv.ts). A real bug of v6.12, fixed upstream and in
// 6.12.94 (not in 6.12.19, the tree read): documented here, as the clean variants model the v6.12 release.
const SVI_STALE_DOCS: CauseDoc[] = ['eoi', 'masked-ppr', 'stuck', 'read'].map((cls): CauseDoc => ({
  cause: `${cls}:svi-stale-after-apicv-activation`,
  why: 'A guest writes an xAPIC ID other than its vcpu_id (or two vCPUs share one): kvm_recalculate_apic_map sets '
    + 'APICV_INHIBIT_REASON_APIC_ID_MODIFIED (PHYSICAL_ID_ALIASED), every vCPU handles KVM_REQ_APICV_UPDATE and runs on '
    + 'the software LAPIC, which injects an interrupt through VM_ENTRY_INTR_INFO after moving it IRR→ISR '
    + '(kvm_get_apic_interrupt; apic_set_isr touches SVI only "if (unlikely(apic->apicv_active))"). The guest writes the ID '
    + 'back, the inhibit is cleared and __kvm_vcpu_update_apicv re-activates APICv (kvm_apic_update_apicv, '
    + 'vmx_refresh_apicv_exec_ctrl) without writing GUEST_INTR_STATUS.SVI. The handler\'s EOI is now virtualized: the CPU '
    + 'clears VISR[SVI] (SDM 29.1.4), not the vector in service, which stays in ISR and holds every vector of its class '
    + 'and below until a second EOI (eoi); and before that EOI, PPR virtualization computes VPPR from the stale SVI, so '
    + 'virtual-interrupt delivery can take a vector the one in service masks (masked-ppr); when nothing is in service any '
    + 'more (the EOI came while APICv was off), VPPR from the stale SVI still holds a new vector of SVI\'s class or below in '
    + 'VIRR (RVI not above VPPR, SDM 29.2.1) until something else exits (stuck); L1\'s VMLAUNCH/VMRESUME compares RVI '
    + 'with that VPPR too (nested_vmx_enter_non_root_mode → vmx_has_apicv_interrupt reads the virtual-APIC page\'s '
    + 'PROCPRI), makes no KVM_REQ_EVENT and L2 runs over L1\'s interrupt (stuck). A level vector retired in place of SVI\'s '
    + 'never reaches the vIOAPIC: Remote IRR stays set (stuck, or read when a redirection read shows it first). '
    + 'Bare metal retires it (REF-EOI-3) '
    + 'and masks by the real ISR. Fixed by Dongli Zhang\'s "KVM: VMX: configure SVI '
    + 'during runtime APICv activation" (kvm-list, 2025-11; "else kvm_apic_update_hwapic_isr(vcpu);" in '
    + '__kvm_vcpu_update_apicv), in the 6.12.94 stable diff. [x86.c __kvm_vcpu_update_apicv; lapic.c apic_set_isr, '
    + 'kvm_apic_update_apicv; vmx/nested.c vmx_has_apicv_interrupt, nested_vmx_enter_non_root_mode @ 6.12.19, wishday/linux-6.12.y aa44b5f5b; the patch and the 6.12.94 diff in the library]',
}));

// Issue 8 (xAPIC ID writes): the EOI-exit bitmap across a run-time APICv inhibit. A real bug of v6.12 and of today's code
// (docs/findings/kvm-eoi-exitmap-not-loaded-after-apicv-reactivation.md).
const EOI_EXITMAP_NOT_LOADED_DOCS: CauseDoc[] = ['stuck', 'read'].map((cls): CauseDoc => ({
  cause: `${cls}:eoi-exitmap-not-loaded-while-apicv-inhibited`,
  why: 'While APICv is inhibited (here: an xAPIC ID other than vcpu_id, APICV_INHIBIT_REASON_APIC_ID_MODIFIED), a redirection '
    + 'write makes KVM_REQ_SCAN_IOAPIC: vcpu_scan_ioapic recomputes ioapic_handled_vectors and KVM_REQ_LOAD_EOI_EXITMAP runs '
    + 'vcpu_load_eoi_exitmap, but vmx_load_eoi_exitmap returns at once "if (!kvm_vcpu_apicv_active(vcpu))". When the inhibit '
    + 'is cleared, vcpu_enter_guest handles KVM_REQ_SCAN_IOAPIC and KVM_REQ_LOAD_EOI_EXITMAP (still inactive: nothing loaded) '
    + 'before KVM_REQ_APICV_UPDATE, and neither __kvm_vcpu_update_apicv nor vmx_refresh_apicv_exec_ctrl reloads the bitmap. '
    + 'vmcs01 keeps the EOI-exit bitmap of before the inhibit: the EOI of the rewritten level entry\'s vector is virtualized '
    + 'without an exit, kvm_ioapic_update_eoi never runs, Remote IRR stays set and the line is never sent again (stuck), or a '
    + 'redirection read shows Remote IRR still set (read). Bare metal\'s EOI broadcast clears it. [x86.c vcpu_enter_guest, '
    + 'vcpu_scan_ioapic, vcpu_load_eoi_exitmap, __kvm_vcpu_update_apicv; vmx/vmx.c vmx_load_eoi_exitmap, '
    + 'vmx_refresh_apicv_exec_ctrl @ 6.12.19 (wishday/linux-6.12.y aa44b5f5b) and linux-next (ColinIanKing/linux-next 046408cf)]',
}));

const V612_DEVIATIONS: CauseDoc[] = [...COMMON_DEVIATIONS.filter((d) =>
  d.cause !== 'stuck:l1-pending-at-nested-entry' && !d.cause.endsWith(':level-resent-on-redirection-write')
  && !d.cause.endsWith(':old-vector-resent-on-destination-write')), ...V612_NO_APIC_DOCS];

// Without APICv (v6.12-noapicv): the software LAPIC acknowledges an interrupt when KVM prepares its injection, and two
// higher-priority events can be held at that moment in KVM-side queues that the entry path drains elsewhere. Found by
// the first rates run of the variant (rates:1396, rates:12548); real v6.12 code, documented, not bugs of the model.
const NOAPICV_DEVIATIONS: CauseDoc[] = [
  {
    cause: 'stuck:nmi-queued-behind-irq-injection',
    why: 'Without APICv, kvm_check_and_inject_events acknowledges the highest LAPIC interrupt (kvm_cpu_get_interrupt → '
      + 'kvm_get_apic_interrupt: IRR→ISR) and writes VM_ENTRY_INTR_INFO, looking only at arch.nmi_pending for NMIs. An NMI '
      + 'sent after the requests phase of the same vcpu_enter_guest pass is still in nmi_queued (KVM_REQ_NMI: process_nmi '
      + 'runs in the requests phase), so the interrupt is acknowledged ahead of it; the exit-request check then cancels the '
      + 'entry, vmx_cancel_injection → __vmx_complete_interrupts keeps the interrupt as arch.interrupt.injected, and the next '
      + 'pass re-injects it before the NMI (can_inject is false). The guest takes the interrupt and then the NMI on top of '
      + 'its frame; on bare metal a landed NMI is taken before a maskable interrupt (SDM 6.9). With APICv the interrupt is '
      + 'delivered by the CPU at the guest boundary, after the NMI injected at the entry. [x86.c vcpu_enter_guest, '
      + 'kvm_check_and_inject_events, process_nmi; lapic.c kvm_get_apic_interrupt; vmx/vmx.c vmx_cancel_injection @ v6.12]',
  },
  {
    cause: 'stuck:timer-pending-behind-irq-injection',
    why: 'Without APICv: the APIC timer\'s expiry (apic_timer_fn → apic_timer_expired) only sets lapic_timer.pending and '
      + 'KVM_REQ_UNBLOCK; kvm_inject_apic_timer_irqs puts the vector into IRR at the vcpu_run loop tail. An expiry after the '
      + 'requests phase is not in IRR when kvm_check_and_inject_events acknowledges a lower-priority interrupt at injection '
      + '(IRR→ISR); the request cancels the entry, the loop tail raises the timer vector, and the acknowledged interrupt is '
      + 're-injected first — a priority inversion bare metal cannot show (the timer sets IRR at expiry and the higher vector '
      + 'is accepted first). With APICv nothing is acknowledged before the entry: VID picks the higher vector. '
      + '[lapic.c apic_timer_expired, kvm_inject_apic_timer_irqs, kvm_get_apic_interrupt; x86.c vcpu_run, vcpu_enter_guest '
      + '@ v6.12]',
  },
  // ioapic: the timer's vector is also a level pin's (shared vectors): the oracle files an extra instance of a pin's
  // vector under the pin, whatever sent it (soak s9rand, kvm/v6.12-noapicv, an MSI of the vector behind the expiry).
  ...['duplicate', 'read', 'ioapic'].map((cls): CauseDoc => ({
    cause: `${cls}:timer-pending-behind-irq-injection`,
    why: 'stuck:timer-pending-behind-irq-injection with the same vector: an instance of the timer\'s vector is in IRR when '
      + 'the expiry sets lapic_timer.pending; bare metal merges the expiry into the pending instance, KVM acknowledges the '
      + 'IRR instance at injection and the loop tail then raises the vector again, so it is delivered twice (duplicate, or '
      + 'ioapic when a redirection entry carries the vector), or an IRR read shows the second instance (read). '
      + '[see stuck:timer-pending-behind-irq-injection]',
  })),
  {
    cause: 'stuck:tpr-threshold-not-armed-while-sw-disabled',
    why: 'Without APICv a TPR write stays in the TPR shadow and exits only below TPR_THRESHOLD, which update_cr8_intercept '
      + 'recomputes in the KVM_REQ_EVENT block "if (kvm_lapic_enabled(vcpu))" only. A vector that arrived while TPR blocked '
      + 'it, whose KVM_REQ_EVENT is handled while the guest has its APIC software-disabled, leaves the threshold unarmed; the '
      + 'SVR write that re-enables the APIC makes no KVM_REQ_EVENT (apic_set_spiv: the map and KVM_REQ_APF_READY only), so '
      + 'the guest\'s later TPR drop does not exit and the vector stays in IRR until an unrelated KVM_REQ_EVENT. Bare metal '
      + 'takes it once TPR falls below it (the oracle settles the instance that crossed the SVR write as discarded there, '
      + 'and a later IRR read shows it). [x86.c vcpu_enter_guest, update_cr8_intercept; lapic.c apic_set_spiv, '
      + 'kvm_lapic_reg_write(APIC_SPIV); vmx/vmx.c vmx_update_cr8_intercept @ v6.12]',
  },
  {
    cause: 'core:tpr-threshold-not-armed-while-sw-disabled',
    why: 'stuck:tpr-threshold-not-armed-while-sw-disabled followed by HLT: the stranded vector is above PPR once TPR '
      + 'dropped, so kvm_vcpu_has_events (kvm_cpu_has_interrupt) makes the halted vCPU runnable, but nothing made '
      + 'KVM_REQ_EVENT and vcpu_block → vcpu_enter_guest resumes the guest after its HLT without injecting it: the guest '
      + 'runs on from a HLT that nothing it took ended (REF-HLT-1). Found by the 60 s campaign of the variant. [x86.c '
      + 'vcpu_block, kvm_vcpu_has_events, vcpu_enter_guest @ v6.12; see stuck:tpr-threshold-not-armed-while-sw-disabled]',
  },
];

export const VARIANTS: VariantInfo[] = [
  {
    name: 'v4.10',
    source: 'Linux v4.10 (arch/x86/kvm/x86.c vcpu_enter_guest, vmx.c vmx_deliver_posted_interrupt)',
    summary: 'Pre-6/6: sender makes KVM_REQ_EVENT, RVI refresh before the mode store, IN_GUEST_MODE before local_irq_disable; '
      + 'KVM_REQ_EVENT masks race 1 and most of race 2, but not a posting between the RVI refresh and the KVM_REQ_EVENT check. '
      + 'vmx_check_nested_events refuses only the NMI exit while an interrupt is re-injected (acc9ab601327 widened it in v4.11).',
    status: 'buggy',
    expectedBugs: [V410_WINDOW, NESTED_PI_SHARED, EOI_EXITMAP_VMCS02],
    knownDeviations: [NMI_AFTER_REQUESTS_BEHIND_NESTED_ACK, ...COMMON_DEVIATIONS, ...REMOTE_IRR_CLEARED_DOCS, REMOTE_IRR_CLEARED_READ, NMI_NOT_RUNNABLE, BEHIND_REINJECTION, ...APIC_MAP_V4, ...APIC_MAP_V4_PHYS],
  },
  {
    name: 'v4.10-vtd',
    source: 'Linux v4.10 with VT-d posted interrupts for an assigned device (IOMMU posts, never KVM_REQ_EVENT)',
    summary: 'The existing problem Radim asked to mention: device MSIs posted by the IOMMU hit both windows.',
    status: 'buggy',
    expectedBugs: [RACE1, RACE2_VTD, V410_WINDOW, NESTED_PI_SHARED, EOI_EXITMAP_VMCS02],
    knownDeviations: [NMI_AFTER_REQUESTS_BEHIND_NESTED_ACK, ...COMMON_DEVIATIONS, ...REMOTE_IRR_CLEARED_DOCS, REMOTE_IRR_CLEARED_READ, NMI_NOT_RUNNABLE, BEHIND_REINJECTION, ...APIC_MAP_V4, ...APIC_MAP_V4_PHYS, PI_PRE_BLOCK, ...VTD_SW_DISABLED, VTD_ILLEGAL, ...VTD_TMR_KEPT],
  },
  {
    name: '6of6-unordered',
    source: 'Counterfactual — never existed in any tree: the code the 6/6 commit message describes, i.e. patch 6/6 '
      + '(b95234c84004 "kvm: x86: do not use KVM_REQ_EVENT for APICv interrupt injection") without its x86.c reordering '
      + '(lapic.c/vmx.c of v4.11, vcpu_enter_guest order of v4.10)',
    summary: 'The counterfactual of the 6/6 commit message (the patch without its reordering; in no tree): no KVM_REQ_EVENT '
      + 'from the sender but the v4.10 order of vcpu_enter_guest, so both races the message describes are live.',
    status: 'buggy',
    expectedBugs: [RACE1, RACE2_KICK, NESTED_RACE, NESTED_PI_SHARED, EOI_EXITMAP_VMCS02],
    knownDeviations: [NMI_BEHIND_NESTED_ACK, NMI_AFTER_REQUESTS_BEHIND_NESTED_ACK, ...COMMON_DEVIATIONS, ...REMOTE_IRR_CLEARED_DOCS, REMOTE_IRR_CLEARED_READ, NMI_NOT_RUNNABLE, BEHIND_REINJECTION, ...APIC_MAP_V4, ...APIC_MAP_V4_PHYS],
  },
  {
    name: 'v4.11',
    source: 'Linux v4.11 (contains b95234c84004)',
    summary: 'local_irq_disable before IN_GUEST_MODE, sync_pir_to_irr after it: L1 clean; the nested case of the review is open.',
    status: 'buggy',
    expectedBugs: [NESTED_RACE, NESTED_PI_SHARED, EOI_EXITMAP_VMCS02],
    knownDeviations: [NMI_BEHIND_NESTED_ACK, NMI_AFTER_REQUESTS_BEHIND_NESTED_ACK, ...COMMON_DEVIATIONS, ...REMOTE_IRR_CLEARED_DOCS, REMOTE_IRR_CLEARED_READ, NMI_NOT_RUNNABLE, BEHIND_REINJECTION, ...APIC_MAP_V4, ...APIC_MAP_V4_PHYS],
  },
  {
    name: 'v4.11-vtd',
    source: 'Linux v4.11 with VT-d posted interrupts for an assigned device',
    summary: 'IOMMU postings are covered by the reordering for L1. Radim\'s review has two remarks for L1 with assigned '
      + 'devices: the entry race (stuck:l2-resumed-after-pir-sync), and, when L1 also gives L2 posted interrupts '
      + '(machine nested.postedIntr), vmcs02 sharing L1\'s notification vector (stuck:pir-on-consumed-by-l2-posted-intr). '
      + 'Without nested.postedIntr only the first applies.',
    status: 'buggy',
    expectedBugs: [NESTED_RACE, NESTED_PI_SHARED, EOI_EXITMAP_VMCS02],
    knownDeviations: [NMI_BEHIND_NESTED_ACK, NMI_AFTER_REQUESTS_BEHIND_NESTED_ACK, ...COMMON_DEVIATIONS, ...REMOTE_IRR_CLEARED_DOCS, REMOTE_IRR_CLEARED_READ, NMI_NOT_RUNNABLE, BEHIND_REINJECTION, ...APIC_MAP_V4, ...APIC_MAP_V4_PHYS, PI_PRE_BLOCK, ...VTD_SW_DISABLED, VTD_ILLEGAL, ...VTD_TMR_KEPT],
  },
  {
    name: 'v4.16',
    source: 'f27a85c4988d "KVM: nVMX: Re-evaluate L1 pending events when running L2 and L1 got posted-interrupt" (first released in v4.16; absent from v4.15)',
    summary: 'sync_pir_to_irr forces EXITING_GUEST_MODE when a newly posted highest L1 vector arrives while L2 runs. '
      + 'Still loads the EOI-exit bitmap into vmcs02 when a scan runs in guest mode (4cf4df7ab4d1 came after v4.16).',
    status: 'buggy',
    expectedBugs: [EOI_EXITMAP_VMCS02],
    knownDeviations: [NMI_BEHIND_NESTED_ACK, NMI_AFTER_REQUESTS_BEHIND_NESTED_ACK, ...COMMON_DEVIATIONS, V416_RESIDUAL, BEHIND_REINJECTION, ...APIC_MAP_V4, ...APIC_MAP_V4_PHYS],
  },
  {
    name: 'v4.16-vtd',
    source: 'f27a85c4988d (v4.16) with VT-d posted interrupts for an assigned device',
    summary: 'As v4.16, device MSIs posted by the IOMMU.',
    status: 'buggy',
    expectedBugs: [EOI_EXITMAP_VMCS02],
    knownDeviations: [NMI_BEHIND_NESTED_ACK, NMI_AFTER_REQUESTS_BEHIND_NESTED_ACK, ...COMMON_DEVIATIONS, V416_RESIDUAL, BEHIND_REINJECTION, ...APIC_MAP_V4, ...APIC_MAP_V4_PHYS, PI_PRE_BLOCK, ...VTD_SW_DISABLED, VTD_ILLEGAL, ...VTD_TMR_KEPT],
  },
  {
    name: 'v6.12',
    source: 'Linux v6.12 (stable release; files read through the library\'s torvalds/linux snapshots and v6.x patch '
      + 'mail: arch/x86/kvm/x86.c vcpu_enter_guest, kvm_check_and_inject_events, kvm_vcpu_running, vcpu_block, '
      + 'kvm_vcpu_has_events; vmx/vmx.c vmx_sync_pir_to_irr, vmx_deliver_posted_interrupt, '
      + 'vmx_deliver_nested_posted_interrupt, kvm_vcpu_trigger_posted_interrupt; vmx/common.h '
      + '__vmx_deliver_posted_interrupt; vmx/posted_intr.c; vmx/nested.c vmx_check_nested_events, '
      + 'nested_vmx_enter_non_root_mode; lapic.c; ioapic.c ioapic_service)',
    summary: 'Today\'s code: the v4.11 order, POSTED_INTR_NESTED_VECTOR for L2, sync_pir_to_irr makes KVM_REQ_EVENT for a '
      + 'new L1 vector while L2 runs (also from vcpu_scan_ioapic, consumed by the same pass), KVM_REQ_EVENT at nested '
      + 'VM-entry for a pending L1 event, nested events checked before re-injection with an immediate exit on -EBUSY. '
      + 'The v4.16 deviations l1-pending-at-nested-entry, l2-resumed-exit-request-missed and '
      + 'l2-resumed-after-reinjection are expected clean here.',
    status: 'clean',
    expectedBugs: [],
    // After a run-time APICv inhibit (xAPIC ID writes) the vCPUs run the software LAPIC: its deviations apply too.
    knownDeviations: [NMI_AFTER_REQUESTS_BEHIND_NESTED_ACK, ...V612_DEVIATIONS, APIC_MAP_SW_DISABLED, ...SVI_STALE_DOCS, ...EOI_EXITMAP_NOT_LOADED_DOCS, ...NOAPICV_DEVIATIONS],
  },
  {
    name: 'v6.12-vtd',
    source: 'Linux v6.12 with VT-d posted interrupts for an assigned device (posted_intr.c pi_enable_wakeup_handler)',
    summary: 'As v6.12, device MSIs posted by the IOMMU; a halted vCPU with ON set blocks after a wakeup self-IPI.',
    status: 'clean',
    expectedBugs: [],
    knownDeviations: [NMI_AFTER_REQUESTS_BEHIND_NESTED_ACK, ...V612_DEVIATIONS, APIC_MAP_SW_DISABLED, ...SVI_STALE_DOCS, ...EOI_EXITMAP_NOT_LOADED_DOCS, ...NOAPICV_DEVIATIONS, ...VTD_SW_DISABLED, VTD_ILLEGAL, ...VTD_TMR_KEPT],
  },
  {
    name: 'v6.12-noapicv',
    source: 'Linux v6.12 with kvm_intel.enable_apicv=0 (or a CPU without APICv): the same tree as v6.12 (lapic.c as read at '
      + 'torvalds/linux 000d75b0b186, the other files in v6.x copies in the library); '
      + 'vmx/vmx.c hardware_setup (sync_pir_to_irr = NULL), vmx_deliver_interrupt (kvm_lapic_set_irr, KVM_REQ_EVENT, '
      + 'kvm_vcpu_kick), vmx_inject_irq, vmx_enable_irq_window, vmx_interrupt_allowed, vmx_update_cr8_intercept, '
      + 'handle_tpr_below_threshold, handle_apic_access; x86.c kvm_check_and_inject_events, update_cr8_intercept; '
      + 'irq.c kvm_cpu_has_injectable_intr, kvm_cpu_get_interrupt; lapic.c kvm_get_apic_interrupt, '
      + 'apic_has_interrupt_for_ppr, apic_set_eoi, kvm_ioapic_send_eoi, apic_timer_expired',
    summary: 'Today\'s code without APICv: __apic_accept_irq sets the software IRR, makes KVM_REQ_EVENT and kicks; '
      + 'kvm_check_and_inject_events acknowledges the highest vector above PPR at injection (IRR→ISR) and injects it '
      + 'through VM_ENTRY_INTR_INFO, or asks for an interrupt window (IF = 0, STI shadow); update_cr8_intercept arms '
      + 'the TPR threshold; EOIs, APIC register reads and self-IPIs exit; TPR writes stay in the TPR shadow.',
    status: 'clean',
    expectedBugs: [],
    // Self-IPI virtualization needs APICv: without it a self-IPI exits into __apic_accept_irq, which discards it at a
    // software-disabled APIC (corpus/kvm/kvm-self-ipi-while-apic-sw-disabled.json is clean here) and clears TMR.
    knownDeviations: [NMI_AFTER_REQUESTS_BEHIND_NESTED_ACK, ...V612_DEVIATIONS.filter((d) => !d.cause.endsWith(':self-ipi-virtualized-while-apic-sw-disabled')
      && !d.cause.endsWith(':tmr-kept-by-virtualized-self-ipi')),
      APIC_MAP_SW_DISABLED, ...NOAPICV_DEVIATIONS],
  },
];
