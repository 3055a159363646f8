// The points of history modelled (before and after the 2018 fix, and today's main), with what
// the fuzzer must find on each and the real deviations that are not the subject of that
// history (each with its evidence).
import type { CauseDoc, VariantInfo } from '../api.js';

export type BhyveVariant = 'prefix' | 'fixed' | 'main';

/** The fix: "vmm/svm: post LAPIC interrupts using event injection, not virtual interrupts". */
export const FIX_COMMIT = 'bedef9326b558ea7389fb61ee7acbff2088c212a';
const FIX_REF = `FreeBSD head r328622 (avg, 2018-01-31, D13780, PR 215972), git ${FIX_COMMIT}`;
const PREFIX_READ = 'coder03/freebsd10.4@3d3f8b116d561bc3ce3a6c68681ac74ed73695ab (sys/amd64/vmm/amd/svm.c r308436)';
const FIXED_READ = 'freebsd/freebsd-src@001345683da712c21ec449c4116671a4554c737b (sys/amd64/vmm/amd/svm.c)';
/** vlapic.c as the fix ran with it: vlapic_intr_accepted ends with vlapic_update_ppr. */
const FIXED_VLAPIC_READ = 'coder03/freebsd10.4@3d3f8b116d561bc3ce3a6c68681ac74ed73695ab and '
  + 'freebsd/freebsd-src@1f08342a1ca073fe487a62ffae99352435c9c1a6 (sys/amd64/vmm/io/vlapic.c)';
/** Today's main: svm.c and vmm.c, vlapic.c, vioapic.c at the commits read. */
const MAIN_READ = 'freebsd/freebsd-src@001345683da712c21ec449c4116671a4554c737b (sys/amd64/vmm/amd/svm.c, sys/amd64/vmm/vmm.c), '
  + 'freebsd/freebsd-src@0162500b7d2d686f3f745c12339271be645a2cf8 (sys/amd64/vmm/io/vlapic.c), '
  + 'freebsd/freebsd-src@0907f0c79b36ad891a73d601d823c1a9cc5427b5 (sys/amd64/vmm/io/vioapic.c)';

/** Deviations both variants share: none of this code changed with the fix. */
const COMMON: CauseDoc[] = [
  {
    cause: 'stuck:tpr-cr8-unnoticed',
    why: 'CR8 is not intercepted (vmcb_init leaves the cr8 intercept off, V_INTR_MASKING = 1) and V_TPR is read back '
      + 'only at #VMEXIT (svm_update_virqinfo → vlapic_set_cr8). When svm_inj_interrupts finds the highest IRR vector '
      + 'blocked by PPR it arms neither V_IRQ nor a VINTR window, so a guest that lowers TPR through CR8 gets the '
      + `vector only at the next unrelated exit. [svm.c svm_inj_interrupts, svm_update_virqinfo, vmcb_init @ ${PREFIX_READ} and ${FIXED_READ}; `
      + 'the same in illumos-gate@09ea9c53cd9a svm.c svm_inject_vlapic, svm_inject_recheck. docs/findings/bhyve-tpr-cr8-latency.md]',
  },
  {
    cause: 'read:tmr-programmed-from-rtbl',
    why: 'The vlapic TMR is programmed from the redirection table (vioapic_update_tmr → vlapic_set_tmr_level, run for '
      + 'every level pin whose destination includes the vCPU, masked or not); vlapic_set_intr_ready only compares it. '
      + 'Bare metal sets TMR on acceptance — and clears it on an edge acceptance, so an edge message of a level pin\'s '
      + 'vector (an IPI, MSI or timer sharing it) leaves bhyve\'s bit set where bare metal\'s is clear. [io/vioapic.c vioapic_update_tmr, io/vlapic.c vlapic_set_intr_ready, '
      + 'vlapic_set_tmr_level @ coder03/freebsd10.4@3d3f8b1; unchanged in freebsd-src@0907f0c]',
  },
  // Issue 8's shared vectors: the EOI side of read:tmr-programmed-from-rtbl (as ACRN 2018's of the same name).
  ...['ioapic', 'read'].map((cls) => ({
    cause: `${cls}:eoi-of-edge-instance-broadcast-by-table-tmr`,
    why: 'The EOI side of read:tmr-programmed-from-rtbl: after an edge message of a level pin\'s vector (an IPI, MSI or the '
      + 'timer sharing it) was accepted, the table\'s TMR bit is still set, so vlapic_process_eoi calls vioapic_process_eoi, '
      + 'which clears the pin\'s Remote IRR and re-sends a still-asserted line. Bare metal\'s edge acceptance cleared TMR: '
      + 'the EOI is not broadcast and Remote IRR stays set (SDM 10.8.4, 10.8.5). Seen as the re-sent message (ioapic) or a '
      + 'redirection-entry read with Remote IRR clear (read). [io/vlapic.c vlapic_process_eoi, vlapic_set_intr_ready; '
      + 'io/vioapic.c vioapic_update_tmr, vioapic_process_eoi @ coder03/freebsd10.4@3d3f8b1 and freebsd-src@0907f0c]',
  })),
  {
    cause: 'read:illegal-vector-dropped-before-receiver',
    why: 'A FIXED IPI with vector < 16 sets SEND_ILLEGAL_VECTOR in the sender and returns before any receiver is '
      + 'chosen, so no receiver latches RECEIVE_ILLEGAL_VECTOR; lapic_set_intr drops an MSI/IOAPIC vector < 16 with '
      + 'EINVAL and no ESR bit. The x2APIC SELF_IPI takes the same lapic_set_intr path (vlapic_self_ipi_handler → '
      + 'lapic_intr_edge), so a self-IPI with vector < 16 sets neither SEND_ILLEGAL_VECTOR nor RECEIVE_ILLEGAL_VECTOR (bare '
      + 'metal: both). [io/vlapic.c vlapic_icrlo_write_handler, vlapic_self_ipi_handler, vmm_lapic.c lapic_set_intr @ '
      + 'coder03/freebsd10.4@3d3f8b1 and freebsd-src@0162500b7d2d]',
  },
  {
    cause: 'read:lvt-illegal-vector-sets-send-illegal',
    why: 'vlapic_fire_lvt with a FIXED entry whose vector is below 16 calls vlapic_set_error(APIC_ESR_SEND_ILLEGAL_VECTOR) '
      + 'and delivers nothing: an LVT (timer, LINT, error) with an illegal vector reads back as Send Illegal Vector (0x20) '
      + 'in ESR. The SDM (10.5.3) sets Receive Illegal Vector (0x40) for an illegal vector "in an interrupt generated '
      + 'locally from the local vector table". [io/vlapic.c vlapic_fire_lvt @ coder03/freebsd10.4@3d3f8b1 and '
      + 'freebsd-src@0162500b7d2d]',
  },
  {
    cause: 'read:tpr-low-nibble-cleared-by-vlapic-set-cr8',
    why: 'Every #VMEXIT runs svm_update_virqinfo → vlapic_set_cr8(v_tpr), which rewrites TPR as V_TPR << 4: TPR[3:0] '
      + 'written through the APIC register (MMIO or x2APIC MSR) is lost at the next exit, and PPR, recomputed from the truncated TPR (vlapic_update_ppr), with it. [svm.c svm_update_virqinfo, '
      + `io/vlapic.c vlapic_set_cr8 @ ${PREFIX_READ} and ${FIXED_READ}]`,
  },
  {
    cause: 'ioapic:level-resent-on-reassert',
    why: 'vioapic_set_pinstate sends on every 0 → 1 transition of the assertion count and vioapic_send_intr does not '
      + 'look at Remote IRR, so a level line that is deasserted and reasserted (or pulsed) before the EOI sends again: '
      + 'a second delivery of a vector still in service, or an IRR bit bare metal holds back behind Remote IRR. '
      + '[io/vioapic.c vioapic_set_pinstate, vioapic_send_intr @ coder03/freebsd10.4@3d3f8b1 and freebsd-src@0907f0c]',
  },
  {
    cause: 'ioapic:edge-resent-on-unmask',
    why: 'A redirection-table write that unmasks a pin sends when Remote IRR is clear and the assertion count is '
      + 'positive, whatever the trigger mode: unmasking an edge pin whose line is still high re-sends its vector. '
      + '[io/vioapic.c vioapic_write @ coder03/freebsd10.4@3d3f8b1; the mask test moved into vioapic_send_intr in '
      + 'freebsd-src@0907f0c, same effect]',
  },
  {
    cause: 'ioapic:edge-raised-while-masked-sent',
    why: 'Same vioapic_write path when the edge was first raised while the pin was masked (bare metal drops it). '
      + '[io/vioapic.c vioapic_write]',
  },
  {
    cause: 'stuck:nmi-behind-vintr-window',
    why: 'Found by the timeliness rule (REF-TIME-1). An NMI pending while the guest is in an interrupt shadow — in '
      + 'particular the shadow clear_nmi_blocking forces when the IRET intercept fires — makes svm_inj_interrupts set '
      + 'need_intr_window and arm V_IRQ with the VINTR intercept. The CPU takes that virtual interrupt only with '
      + 'RFLAGS.IF = 1, so when the NMI handler returns to code running with IF = 0 the NMI waits until the guest '
      + 'executes STI (bare metal takes it right after the IRET). [svm.c svm_inj_interrupts ("Cannot inject NMI due '
      + `to interrupt shadow"), clear_nmi_blocking, enable_intr_window_exiting @ ${FIXED_READ}; same code in ${PREFIX_READ}]`,
  },
  {
    cause: 'core:hlt-ended-by-blocked-nmi',
    why: 'Found by REF-HLT-1. vm_handle_hlt breaks out of its sleep loop on vm_nmi_pending() without looking at NMI '
      + 'blocking, and svm_inj_interrupts then cannot inject the NMI (the IRET intercept is still set): the guest '
      + 'resumes after its HLT with nothing delivered. On bare metal a blocked NMI is held and does not end HLT. A guest '
      + 'that halts inside its NMI handler sees HLT return early. [vmm.c vm_handle_hlt @ freebsd-src@001345683da7; '
      + 'the same check is in every version read, up to today\'s vm_handle_hlt(struct vcpu *)]',
  },
  {
    cause: 'stuck:msi-xapic-dest-format',
    why: 'vlapic_deliver_intr decodes MSI destinations with x2apic_dest = false; in x2APIC mode the vlapic uses the '
      + 'cluster model (DFR = 0, x2APIC LDR), so a logical MSI destination is read as cluster (dest >> 4) & 0xf and '
      + 'bits (dest & 0xf), and vCPUs 4..7 are never matched in cluster 0. [io/vlapic.c vlapic_deliver_intr, vlapic_calcdest, '
      + 'vlapic_dfr_write_handler]',
  },
  {
    cause: 'read:msi-xapic-dest-format',
    why: 'stuck:msi-xapic-dest-format for an MSI with an illegal vector: the vCPUs the 8-bit decoding leaves out never reach '
      + 'vlapic_set_intr_ready\'s vector check, so an ESR read there lacks the Receive Illegal Vector bare metal sets. '
      + '[see stuck:msi-xapic-dest-format]',
  },
  // --- redirection-table writes (ioapic_write) and vIOAPIC reads (ioapic_read), issue 8 ---
  {
    cause: 'read:ioapic-id-8-bits-writable',
    why: 'vioapic_write(IOAPIC_ID) stores `data & APIC_ID_MASK`, and APIC_ID_MASK is the local APIC\'s 0xff000000 '
      + '(x86/include/apicreg.h), so the guest can set I/O APIC ID bits 31:28, which the 82093AA keeps reserved (3.2.1: a '
      + '4-bit ID in bits 27:24); vioapic_read returns vioapic->id for IOAPIC_ID and IOAPIC_ARB alike, so both reads show '
      + 'them (kvm-unit-tests ioapic_reg_id writes ~id and expects only bits 27:24 to change). The arbitration register '
      + 'follows the ID as on the 82093AA (3.2.3). Harmless to a guest that writes a 4-bit ID. [io/vioapic.c vioapic_write, '
      + `vioapic_read @ ${MAIN_READ} and coder03/freebsd10.4@3d3f8b1; x86/include/apicreg.h APIC_ID_MASK]`,
  },
  {
    cause: 'stuck:eoi-lost-tmr-reset-by-rtbl-write',
    why: 'A real bug, present today: docs/findings/bhyve-eoi-lost-after-rtbl-write.md. A guest write that changes a level '
      + 'entry\'s destination (any field but mask/polarity) rendezvouses every vCPU into vioapic_update_tmr, which runs '
      + 'vlapic_reset_tmr and sets TMR only for the pins\' current destinations. A vCPU that already has the pin\'s vector '
      + 'pending or in service loses its TMR bit: its EOI is not forwarded (vlapic_process_eoi calls vioapic_process_eoi '
      + 'only when the TMR bit is set), Remote IRR stays set and the pin never sends again while its line stays asserted. '
      + 'Bare metal latched TMR at acceptance and broadcasts the EOI. [io/vioapic.c vioapic_write, vioapic_update_tmr; '
      + `io/vlapic.c vlapic_reset_tmr, vlapic_process_eoi @ ${MAIN_READ}; the same code in coder03/freebsd10.4@3d3f8b1]`,
  },
  {
    cause: 'read:eoi-lost-tmr-reset-by-rtbl-write',
    why: 'The same lost EOI seen by a read of the redirection entry: Remote IRR (bit 14) still set after the EOI that '
      + 'clears it on bare metal. [io/vioapic.c vioapic_read, vioapic_process_eoi; io/vlapic.c vlapic_process_eoi]',
  },
  {
    cause: 'read:tmr-reset-by-rtbl-write',
    why: 'The other side of read:tmr-programmed-from-rtbl: vioapic_update_tmr starts with vlapic_reset_tmr, so after '
      + 'a redirection-table write a vector this vCPU accepted as level shows TMR = 0 once no level pin targets it with '
      + 'that vector any more; bare metal keeps the bit until the next acceptance of the vector. [io/vioapic.c '
      + 'vioapic_update_tmr, io/vlapic.c vlapic_reset_tmr @ freebsd-src@0907f0c and coder03/freebsd10.4@3d3f8b1]',
  },
  {
    cause: 'core:hlt-ended-by-rendezvous',
    why: 'A redirection-table write that changes a field other than mask/polarity runs vm_smp_rendezvous over every '
      + 'active vCPU; vm_handle_hlt breaks out of its sleep on "vm->rendezvous_func != NULL" before looking at pending '
      + 'interrupts, and after the rendezvous vm_run re-enters the guest after its HLT: a halted vCPU resumes with nothing '
      + 'delivered. Harmless for idle loops (they re-check and halt again). [vmm.c vm_handle_hlt, vm_smp_rendezvous @ '
      + 'freebsd-src@001345683da7; io/vioapic.c vioapic_write @ freebsd-src@0907f0c]',
  },
  {
    cause: 'ioapic:edge-resent-on-rtbl-write',
    why: 'vioapic_write ends every redirection-register write with "if Remote IRR == 0 && acnt > 0 → vioapic_send_intr", '
      + 'whatever the trigger mode and whether or not the mask changed; a guest rewrites an entry with two writes (high '
      + 'dword, then low). An edge pin whose line is still high therefore sends again on each write — the high-dword write '
      + 'with the old vector to the new destination. The 82093AA sends an edge only on a rising edge. [io/vioapic.c '
      + `vioapic_write, vioapic_send_intr @ ${MAIN_READ}; coder03/freebsd10.4@3d3f8b1 tests the mask in vioapic_write, same effect]`,
  },
  {
    cause: 'spurious:edge-resent-on-rtbl-write',
    why: 'ioapic:edge-resent-on-rtbl-write when the re-sent vector is no longer the pin\'s (the high-dword write sends the '
      + 'old vector, the low-dword write then changes it) and the vCPU never had it: the oracle cannot tie it to a pin. [io/vioapic.c vioapic_write]',
  },
  {
    cause: 'duplicate:edge-resent-on-rtbl-write',
    why: 'As spurious:edge-resent-on-rtbl-write, on a vCPU that had that vector before. [io/vioapic.c vioapic_write]',
  },
  {
    cause: 'read:edge-resent-on-rtbl-write',
    why: 'The same re-send seen by a read of IRR before the vCPU takes it. [io/vioapic.c vioapic_write]',
  },
  {
    cause: 'spurious:level-resent-on-reassert',
    why: 'ioapic:level-resent-on-reassert after a redirection-table write changed the pin\'s vector back and forth, so the '
      + 'oracle cannot tie the extra message to a pin (the vCPU never had the vector). [io/vioapic.c vioapic_set_pinstate]',
  },
  {
    cause: 'duplicate:level-resent-on-reassert',
    why: 'As spurious:level-resent-on-reassert, on a vCPU that had that vector before. [io/vioapic.c vioapic_set_pinstate]',
  },
  {
    cause: 'read:level-resent-on-reassert',
    why: 'The same re-sent level message seen by an IRR read before the vCPU takes it (found by the guided soak of this '
      + 'issue: IRR shows the pin\'s vector while bare metal holds it behind Remote IRR). [io/vioapic.c vioapic_set_pinstate]',
  },
  {
    cause: 'spurious:edge-resent-on-unmask',
    why: 'ioapic:edge-resent-on-unmask of a vector a redirection-table write has since changed, so the oracle cannot tie '
      + 'it to a pin. [io/vioapic.c vioapic_write]',
  },
  {
    cause: 'read:edge-resent-on-unmask',
    why: 'ioapic:edge-resent-on-unmask seen by an IRR read before the vCPU takes the re-sent vector (found by the guided '
      + 'soak of issue 8, third session). [io/vioapic.c vioapic_write]',
  },
  {
    cause: 'duplicate:edge-resent-on-unmask',
    why: 'As spurious:edge-resent-on-unmask, on a vCPU that had that vector before. [io/vioapic.c vioapic_write]',
  },
  {
    cause: 'spurious:edge-raised-while-masked-sent',
    why: 'ioapic:edge-raised-while-masked-sent of a vector a redirection-table write has since changed (the high-dword '
      + 'write sends the old vector), so the oracle cannot tie it to a pin. [io/vioapic.c vioapic_write]',
  },
  {
    cause: 'duplicate:edge-raised-while-masked-sent',
    why: 'As spurious:edge-raised-while-masked-sent, on a vCPU that had that vector before. [io/vioapic.c vioapic_write]',
  },
  {
    cause: 'read:remote-irr-kept-on-edge-entry',
    why: 'Remote IRR is in RTBL_RO_BITS: a write that switches a level entry with Remote IRR set to edge keeps the bit '
      + '(the 82093AA leaves it undefined for edge; the reference clears it, as KVM and Xen do), and vioapic_write then '
      + 'never sends for that pin until an EOI of its vector. [io/vioapic.c vioapic_write @ freebsd-src@0907f0c]',
  },
  {
    cause: 'stuck:remote-irr-kept-on-edge-entry',
    why: 'The held side of read:remote-irr-kept-on-edge-entry (issue 8, a pin rewritten edge then level, as kvm-unit-tests\' '
      + 'test_ioapic_edge_tmr does): the entry written back to level with its line asserted finds the kept Remote IRR set, '
      + 'so vioapic_write ("previous interrupt has been EOIed") does not send; bare metal, whose edge entry cleared it, '
      + 'sends. The message waits for an EOI of the vector, lost if the line drops first, and for good once a later write '
      + 'gives the entry another vector (vioapic_process_eoi matches the entry\'s current vector; session 9: also seen as a '
      + 'lower vector injected first). '
      + '[io/vioapic.c vioapic_write, vioapic_process_eoi @ freebsd-src@0907f0c and coder03/freebsd10.4@3d3f8b1]',
  },
  // --- local-APIC programming (issue 8): LDR/DFR writes and logical redirection entries ---
  {
    cause: 'stuck:eoi-lost-tmr-stale-after-ldr-write',
    why: 'A real bug, present today: docs/findings/bhyve-tmr-stale-after-ldr-write.md. The vlapic TMR is computed from the '
      + 'redirection table only by vioapic_update_tmr (at a redirection-table write, through vlapic_set_tmr_level → '
      + 'vlapic_calcdest with each vlapic\'s LDR/DFR of that moment). vlapic_ldr_write_handler and vlapic_dfr_write_handler '
      + 'do not run it again, while vioapic_send_intr → vlapic_deliver_intr matches the current LDR/DFR. A vCPU that an '
      + 'LDR/DFR write made a destination of a logical level entry receives its messages with TMR clear: '
      + 'vlapic_process_eoi does not forward its EOI, Remote IRR stays set and the pin never sends again. Bare metal '
      + 'latches TMR at acceptance and broadcasts the EOI. [io/vlapic.c vlapic_ldr_write_handler, '
      + 'vlapic_dfr_write_handler, vlapic_process_eoi, vlapic_set_tmr_level; io/vioapic.c vioapic_update_tmr, '
      + `vioapic_send_intr @ ${MAIN_READ}; the same code in coder03/freebsd10.4@3d3f8b1]`,
  },
  {
    cause: 'read:eoi-lost-tmr-stale-after-ldr-write',
    why: 'The same lost EOI seen by a read of the redirection entry (Remote IRR still set) or of IRR. [io/vioapic.c '
      + 'vioapic_read, vioapic_process_eoi; io/vlapic.c vlapic_process_eoi]',
  },
  {
    cause: 'read:tmr-stale-after-ldr-write',
    why: 'The TMR side of stuck:eoi-lost-tmr-stale-after-ldr-write: after an LDR/DFR write the TMR read shows the level '
      + 'vectors of the logical entries that matched the old LDR/DFR (set, or clear for a level vector accepted since). '
      + '[io/vlapic.c vlapic_ldr_write_handler, vlapic_set_tmr_level; io/vioapic.c vioapic_update_tmr]',
  },
  // --- local-APIC programming (issue 8): ID writes ---
  ...['read', 'stuck', 'spurious', 'duplicate', 'ioapic'].map((kind): CauseDoc => ({
    cause: `${kind}:apic-id-write-ignored`,
    why: 'bhyve does not let the guest change its xAPIC ID: vlapic_write(APIC_OFFSET_ID) stores the value and '
      + 'vlapic_id_write_handler at once puts lapic->id back to vlapic_get_id() = vcpuid << 24 ("We don\'t allow the ID '
      + 'register to be modified"), and vlapic_calcdest maps a physical destination to the vCPU whose vcpuid it is '
      + '(vm_apicid2vcpuid). After an ID write an ID read returns the old ID, and physical IPIs, MSIs and redirection '
      + 'entries still reach the vCPU of the old ID (and vioapic_update_tmr sets TMR there): a message to the new ID is '
      + 'lost or lands on another vCPU. The reference models a writable xAPIC ID (kvm-unit-tests apic.c test_apic_id '
      + '"writeable xapic id", as KVM); SDM 10.4.6 leaves writability model-specific, so this is a permitted processor '
      + `model, not a bug — documented so that such scenarios still run on bhyve. [io/vlapic.c vlapic_write, vlapic_id_write_handler, vlapic_calcdest @ ${PREFIX_READ.split(' ')[0]} `
      + 'and freebsd-src@0162500b7d2d]',
  })),
];

/** vlapic.c as read for the timer and LINT paths. */
const VLAPIC_2018 = 'freebsd/freebsd-src@1f08342a1ca073fe487a62ffae99352435c9c1a6 (sys/amd64/vmm/io/vlapic.c)';
const VLAPIC_MAIN = 'freebsd/freebsd-src@0162500b7d2d686f3f745c12339271be645a2cf8 (sys/amd64/vmm/io/vlapic.c)';

/** The APIC timer and LINT (issue 8, fourth session): what every variant shares. */
const TIMER_LINT: CauseDoc[] = [
  {
    cause: 'stuck:lint-raised-on-other-cpu',
    why: 'A LINT input is raised by a device model, never by the local APIC: lapic_set_local_intr → vlapic_trigger_lvt → '
      + 'vlapic_fire_lvt runs on the thread that raised the line (vatpic_notify_intr for the 8259 on LINT0, the '
      + 'VM_LAPIC_LOCAL_IRQ ioctl from userland), sets the vIRR (or vm_inject_nmi) and notifies the vCPU with '
      + 'vcpu_notify_event → ipi_cpu(hostcpu, vmm_ipinum). The guest runs on until that IPI makes it exit; bare metal takes '
      + `the local interrupt at the next instruction boundary. [io/vlapic.c vlapic_trigger_lvt, vlapic_fire_lvt @ ${VLAPIC_MAIN} and ${VLAPIC_2018}; vmm.c vcpu_notify_event]`,
  },
  {
    cause: 'stuck:lint-level-as-edge',
    why: 'vlapic_fire_lvt delivers a fixed LVT entry with vlapic_set_intr_ready(vlapic, vec, false) whatever its trigger mode '
      + '(vlapic_lvt_write_handler stores APIC_LVT_TM and APIC_LVT_RIRR, nothing reads them): a level-triggered LINT entry '
      + 'has no Remote IRR, sets no TMR bit, and its EOI does not re-raise a line still asserted (bare metal raises again, '
      + `SDM 10.5.1). [io/vlapic.c vlapic_fire_lvt, vlapic_lvt_write_handler, vlapic_process_eoi @ ${VLAPIC_MAIN} and ${VLAPIC_2018}]`,
  },
  ...['read', 'duplicate', 'spurious'].map((kind): CauseDoc => ({
    cause: `${kind}:lint-level-as-edge`,
    why: 'stuck:lint-level-as-edge seen as a TMR read without the level vector, or as a second raise of a level LINT that '
      + 'bare metal holds behind the entry\'s Remote IRR (each rising edge fires again). [io/vlapic.c vlapic_fire_lvt]',
  })),
  ...['spurious', 'duplicate', 'stuck', 'read'].map((kind): CauseDoc => ({
    cause: `${kind}:lint0-extint-while-sw-disabled`,
    why: 'vlapic_trigger_lvt tests vlapic_enabled(), which is false for a software-disabled APIC (SVR bit 8 clear) as for a '
      + 'hardware-disabled one, and then treats the pins as the hardware-disabled APIC\'s ("LINT[1:0] pins are configured as '
      + 'INTR and NMI pins"): LINT0 → vm_inject_extint whatever its (masked) LVT. svm_inj_interrupts asks the 8259 first '
      + '(vm_extint_pending before the vIRR); with no 8259 pin raised vatpic_pending_intr returns its spurious vector, '
      + 'irq_base + 7 (7 for an 8259 the guest never initialised), injected as an external interrupt. Bare metal: a '
      + `software-disabled APIC masks LINT0 (SDM 10.4.7.2), nothing is delivered (read: the ISR read lacks the vector the `
      + `oracle mirrored; the ExtINT never enters the vlapic). [io/vlapic.c vlapic_trigger_lvt, vlapic_enabled @ ${VLAPIC_MAIN} `
      + `and ${VLAPIC_2018}; io/vatpic.c vatpic_pending_intr; svm.c svm_inj_interrupts @ freebsd-src@001345683da7]`,
  })),
  ...['spurious', 'duplicate', 'stuck', 'read'].map((kind): CauseDoc => ({
    cause: `${kind}:lint1-nmi-while-sw-disabled`,
    why: 'The same vlapic_trigger_lvt branch for LINT1: a software-disabled APIC turns a LINT1 edge into vm_inject_nmi, '
      + 'whatever the (masked) LVT says; bare metal delivers nothing (stuck: the NMI is taken ahead of a vector bare metal '
      + `takes there; read: a register read the extra NMI handler's frames left behind). [io/vlapic.c vlapic_trigger_lvt @ ${VLAPIC_MAIN} and ${VLAPIC_2018}]`,
  })),
  ...['read', 'stuck', 'spurious', 'duplicate'].map((kind): CauseDoc => ({
    cause: `${kind}:timer-stopped-by-sw-disable`,
    why: 'vlapic_svr_write_handler on a software disable: "stop the apic timer and mask all the LVT entries" '
      + '(callout_stop): TMCCT (vlapic_get_ccr: 0 once the callout is not active) reads 0 and a one-shot count never '
      + 'expires. Bare metal masks the LVT and the count runs on (SDM 10.4.7.2): TMCCT keeps counting, and with the LVT '
      + `unmasked again the expiry is delivered. [io/vlapic.c vlapic_svr_write_handler, vlapic_get_ccr @ ${VLAPIC_MAIN} and ${VLAPIC_2018}]`,
  })),
  ...['read', 'stuck', 'spurious', 'duplicate'].map((kind): CauseDoc => ({
    cause: `${kind}:timer-restarted-by-sw-enable`,
    why: 'vlapic_svr_write_handler on a software enable: "restart the apic timer if it is configured in periodic mode" '
      + '(vlapic_icrtmr_write_handler: a full period from now), where bare metal\'s count kept its phase through the disable: '
      + `TMCCT and the expiries differ. [io/vlapic.c vlapic_svr_write_handler @ ${VLAPIC_MAIN} and ${VLAPIC_2018}]`,
  })),
  ...['read', 'stuck', 'spurious', 'duplicate'].map((kind): CauseDoc => ({
    cause: `${kind}:timer-rebased-after-lag`,
    why: 'vlapic_callout_handler re-arms a periodic timer from timer_fire_bt unless it ran a whole period (or more) late: '
      + 'then it "just reset[s] our time base instead of trying to catch up" (timer_fire_bt = now), so the next expiry is a '
      + 'period after the late callout, not on the period grid. Bare metal\'s periodic count keeps its phase (SDM 10.5.4): '
      + `TMCCT and the following expiries differ. [io/vlapic.c vlapic_callout_handler @ ${VLAPIC_MAIN} and ${VLAPIC_2018}]`,
  })),
];

/** Lowest-priority MSIs and redirection entries (issue 8, fourth session). */
const LOWPRIO: CauseDoc[] = ['spurious', 'duplicate', 'read', 'ioapic'].map((kind): CauseDoc => ({
  cause: `${kind}:lowprio-broadcast-to-all`,
  why: 'vlapic_deliver_intr passes lowprio to vlapic_calcdest, which stops at the first logical match ("if (lowprio) '
    + 'break") but returns vm_active_cpus() for the broadcast MDA (0xff) before it looks at lowprio: a lowest-priority '
    + 'broadcast MSI or redirection entry reaches every vCPU (and vioapic_update_tmr sets TMR on all). Bare metal '
    + `delivers a lowest-priority message to exactly one APIC (SDM 10.6.2.4). [io/vlapic.c vlapic_calcdest, vlapic_deliver_intr @ ${VLAPIC_MAIN} and ${VLAPIC_2018}]`,
}));

/**
 * Today's callout placement (main): callout_reset_sbt_curcpu keeps the callout on the vCPU's own host CPU, where the
 * hardclock interrupt (held while GIF = 0 on svm_vmrun's entry path) makes the softclock thread runnable, and
 * vlapic_callout_handler runs only once the vCPU thread yields (vcpu_should_yield → vm_exit_astpending).
 */
const TIMER_MAIN: CauseDoc[] = ['stuck', 'duplicate'].map((cls): CauseDoc => ({
  cause: `${cls}:timer-callout-softclock-owed`,
  why: 'The timer is a callout (vlapic_callout_reset: callout_reset_sbt_curcpu, not C_DIRECT_EXEC). At its expiry the host '
    + 'CPU\'s timer interrupt runs hardclock → callout_process, which only makes the softclock thread runnable; while the '
    + 'vCPU thread is on svm_vmrun\'s entry path with GIF = 0 the interrupt itself waits for VMRUN (an immediate #VMEXIT), '
    + 'and vlapic_callout_handler → vlapic_fire_timer runs only when the vCPU thread yields. Meanwhile svm_inj_interrupts '
    + 'injects what the vIRR holds: a lower vector ahead of the timer\'s (stuck), or an instance of the timer\'s own vector '
    + 'after which the late expiry raises a second one that bare metal\'s expiry had merged into it (duplicate). Bare '
    + 'metal\'s timer interrupt is pending at the expiry. Found by the session-7 rates run on the long clock scale. '
    + `[io/vlapic.c vlapic_callout_reset, vlapic_callout_handler @ ${VLAPIC_MAIN}; kern/kern_timeout.c callout_process; `
    + 'amd64/vmm/amd/svm.c svm_vmrun (disable_gintr, vcpu_should_yield) @ freebsd-src@001345683da7]',
}));

/** The 2018 callout placement (prefix, fixed). */
const TIMER_2018: CauseDoc[] = [
  {
    cause: 'stuck:timer-callout-on-other-cpu',
    why: 'vlapic_icrtmr_write_handler and vlapic_callout_handler arm the timer with callout_reset_sbt (cpu -1: the callout '
      + 'keeps its c_cpu, which callout_init sets to cc_default_cpu, sys/kern/kern_timeout.c), so vlapic_callout_handler '
      + 'runs on the default callout CPU, not the vCPU\'s: it sets the vIRR and notifies the vCPU by IPI (vcpu_notify_event '
      + '→ ipi_cpu), and the guest runs on until that IPI arrives. Bare metal\'s timer interrupt is taken at the boundary '
      + `after the expiry. Today's vlapic_callout_reset uses callout_reset_sbt_curcpu (bhyve/main). [io/vlapic.c @ ${VLAPIC_2018}]`,
  },
];

export const VARIANTS: VariantInfo[] = [
  {
    name: 'prefix',
    source: `parent of ${FIX_REF}; code read at ${PREFIX_READ} (same svm_inj_interrupts / svm_update_virqinfo as head before r328622). `
      + 'The parent git hash could not be resolved here (no FreeBSD history mirror under the fetch limit).',
    summary: 'LAPIC vectors are posted through V_IRQ / V_INTR_VECTOR / V_INTR_PRIO and stay in the vIRR; IRR→ISR happens '
      + 'only in svm_update_virqinfo at the first #VMEXIT after the guest took the virtual interrupt.',
    status: 'buggy',
    expectedBugs: [
      {
        cause: 'stuck:collapsed-into-taken-v_irq',
        why: 'Between the guest taking V through V_IRQ and the next #VMEXIT, bhyve still has V in IRR and not in ISR; a '
          + 'second V sent in that window collapses into the stale IRR bit and svm_update_virqinfo then accepts both as one '
          + '(seed 000, the commit message of the fix).',
      },
    ],
    knownDeviations: [
      ...COMMON,
      ...TIMER_LINT,
      ...TIMER_2018,
      ...LOWPRIO,
      {
        cause: 'livelock:vintr',
        why: 'The branch of svm_inj_interrupts that posts a real vector in V_IRQ does not clear the VINTR intercept. The '
          + 'NMI path can leave it on (NMI pending in an interrupt shadow → enable_intr_window_exiting); a LAPIC vector '
          + 'posted on a later entry then makes the CPU take #VMEXIT(VINTR) instead of the virtual interrupt (APM '
          + '§15.13.5), V_IRQ stays 1, svm_update_virqinfo sees "pending" and re-posts it: an exit storm that never '
          + `delivers (the research notes' observation A.7, reachable). [svm.c svm_inj_interrupts, enable_intr_window_exiting @ ${PREFIX_READ}]`,
      },
    ],
  },
  {
    name: 'fixed',
    source: `${FIX_REF}: the 2018 code. svm.c interrupt paths read at ${FIXED_READ} (svm_inj_interrupts, `
      + 'svm_update_virqinfo, svm_vmexit unchanged in behaviour since the fix); vlapic.c as the fix ran with it, read at '
      + `${FIXED_VLAPIC_READ}: vlapic_intr_accepted recomputes PPR. Today's main moved that update (see bhyve/main).`,
    summary: 'LAPIC vectors are injected through EVENTINJ and accepted (vlapic_intr_accepted) before VMRUN; V_IRQ is used '
      + 'only as the VINTR interrupt-window trigger.',
    status: 'clean',
    expectedBugs: [],
    knownDeviations: [...COMMON, ...TIMER_LINT, ...TIMER_2018, ...LOWPRIO],
  },
  {
    name: 'main',
    source: `today's FreeBSD main: ${MAIN_READ}. svm.c is the fix's EVENTINJ code; vlapic.c changed since `
      + 'freebsd-src@1f08342a1ca0 (the exact commit was not identified here): vlapic_intr_accepted no longer calls '
      + 'vlapic_update_ppr, vlapic_pending_intr calls it first instead; the timer callout is armed with '
      + 'callout_reset_sbt_curcpu (vlapic_callout_reset), so it runs on the vCPU\'s host CPU.',
    summary: 'As fixed (EVENTINJ, vlapic_intr_accepted before VMRUN), with the vlapic PPR updated lazily: '
      + 'vlapic_intr_accepted pushes isrvec_stk only, and lapic->ppr is recomputed at the next vlapic_pending_intr, '
      + 'EOI or TPR change.',
    status: 'buggy',
    expectedBugs: [
      {
        cause: 'read:ppr-stale-after-accept',
        why: 'vlapic_intr_accepted moves the vector IRR → ISR and pushes isrvec_stk but no longer calls '
          + 'vlapic_update_ppr; vlapic_read(APIC_OFFSET_PPR) returns the stored lapic->ppr. A guest that reads PPR in '
          + 'its handler before anything else recomputes it (the read is the first exit after the VMRUN that injected '
          + 'the vector: svm_update_virqinfo → vlapic_set_cr8 recomputes only when TPR changed) gets the PPR from '
          + 'before the acceptance. Bare metal raises PPR with the INTA. [io/vlapic.c vlapic_intr_accepted, '
          + 'vlapic_pending_intr, vlapic_read @ freebsd-src@0162500b7d2d; svm.c svm_inj_interrupts, svm_update_virqinfo '
          + '@ freebsd-src@001345683da7. illumos-gate raises PPR in vlapic_intr_accepted (vlapic_raise_ppr).]',
      },
    ],
    knownDeviations: [...COMMON, ...TIMER_LINT, ...TIMER_MAIN, ...LOWPRIO],
  },
];
