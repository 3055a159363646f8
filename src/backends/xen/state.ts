// Per-vCPU state of a Xen HVM guest on AMD SVM that interrupt delivery depends on: the
// vlapic register page (struct vlapic), the VMCB control fields Xen programs (struct
// vmcb_struct), the viridian VP-assist state (struct viridian_vcpu), the scheduler and
// softirq bits, and where the vCPU's pCPU is on the svm_asm_do_resume loop.
import { GuestCpu } from '../../apic/guestcpu.js';
import { LapicTimer } from '../../apic/timer.js';
import { vecSet } from '../../apic/vecset.js';

/** Where the vCPU (pinned: vCPU i runs on pCPU i) is. */
export const enum Phase {
  /** Between VMRUN and #VMEXIT. */
  Guest = 0,
  /** At .Lsvm_do_resume (after svm_vmexit_handler or a softirq pass): about to call svm_intr_assist. */
  Hv = 1,
  /** svm_intr_assist has run; CLGI and the softirq check come next. */
  Assisted = 2,
  /** CLGI done and no softirq pending: VMRUN next. Host interrupts are held (GIF = 0). */
  Clgi = 3,
  /** Woken (vcpu_wake) but not scheduled yet: schedule() → svm_do_resume comes next. */
  Runnable = 4,
  /** SCHEDOP_block from hvm_hlt: descheduled until vcpu_unblock. */
  Blocked = 5,
  /** _VPF_down (hvm_vcpu_down, a HLT with RFLAGS.IF = 0): only an NMI IPI wakes it. */
  Down = 6,
  /** The domain crashed (domain_crash): no vCPU runs again. */
  Dead = 7,
}
export const PHASE_NAMES = ['guest', 'hv', 'assisted', 'clgi', 'runnable', 'blocked', 'down', 'dead'] as const;

/** No intercepted IRET waits for its restart (drain indices are negative). */
export const NO_IRET = -0x7fffffff;

export const APIC_LVT_MASKED = 0x10000;
/** APIC_TIMER_MODE_MASK values (bits 18:17). */
export const APIC_TIMER_MODE_ONESHOT = 0;
export const APIC_TIMER_MODE_PERIODIC = 0x20000;
export const APIC_TIMER_MODE_TSC_DEADLINE = 0x40000;
export const APIC_TIMER_MODE_MASK = 0x60000;

/** struct vlapic: the register page as Xen keeps it (PPR is computed on demand). */
export class VlapicRegs {
  readonly irr = vecSet();
  readonly isr = vecSet();
  readonly tmr = vecSet();
  /** Diagnostics (before b28b590d): an error went straight into APIC_ESR (shown before any ESR write latched it), or an ESR write left errors standing. */
  esrUnlatched = false;
  /** APIC_TASKPRI, the whole byte. */
  taskpri = 0;
  /** APIC_ESR as the guest reads it. */
  esr = 0;
  /** hw.pending_esr (b28b590d and later): errors since the last ESR write. */
  pendingEsr = 0;
  /**
   * vlapic_enabled(): hardware- and software-enabled (the initial state: the guest OS set
   * SVR bit 8 at boot); vlapic_reg_write(APIC_SPIV) sets or clears VLAPIC_SW_DISABLED.
   */
  enabled = true;
  /** APIC_SPIV as stored (val & 0x3ff); the OS left 0x1ff. */
  svr = 0x1ff;
  /**
   * APIC_ID as Xen holds it: (vcpu_id * 2) << 24 from vlapic_reset (xAPIC), vcpu_id * 2 from
   * set_x2apic_id; vlapic_reg_write(APIC_ID) stores whatever the guest writes (xAPIC).
   */
  apicId = 0;
  /**
   * APIC_LDR: xAPIC as the guest wrote it (val & APIC_LDR_MASK; the OS's boot write is flat bit i,
   * as the reference assumes); x2APIC as set_x2apic_id derived it (read-only).
   */
  ldr = 0;
  /** APIC_DFR: 0xFFFFFFFF from vlapic_do_init; vlapic_reg_write stores val | 0x0FFFFFFF. */
  dfr = 0xffffffff;
  /** Diagnostics: the xAPIC ID in the scenario's numbering (vCPU i = ID i until the guest writes it). */
  archId = 0;
  /** The guest has written ESR (lapic_write esr): a base-language `read esr` is then a plain read. */
  esrWritten = false;
  /** APIC_LVTT as stored (vector, mask bit 16, timer mode bits 18:17); reset value: masked. */
  lvtt = APIC_LVT_MASKED;
  /** APIC_TMICT. */
  tmict = 0;
  /** hw.tdt_msr: IA32_TSC_DEADLINE as armed (0 when none or fired and injected). */
  tdtMsr = 0;
  /** timer_last_update: guest time (ticks) the count last started from; 0 = "TMCCT reads 0". */
  timerLastUpdate = 0;
}

/**
 * struct periodic_time (hvm/vpt.h) for the vlapic's timer (PTSRC_lapic), with its struct timer:
 * the host timer on v->processor (vCPU i's pCPU i) that runs pt_timer_fn at `expires`.
 */
export class PeriodicTime {
  /** pt->vcpu != NULL: create_periodic_time ran once (destroy_periodic_time checks it). */
  created = false;
  onList = false;
  pendingIntrNr = 0;
  irqIssued = false;
  oneShot = true;
  doNotFreeze = false;
  /** Period in ticks after the 0.1 ms clamp (0: one-shot). */
  period = 0;
  /** Host time (ticks) of the next expiry pt_timer_fn accounts for. */
  scheduled = 0;
  lastPltGtime = 0;
  /** pt->irq: the LVTT vector as of the last LVTT write. */
  irq = 0;
  cb: 'vlapic_pt_cb' | 'vlapic_tdt_pt_cb' | null = null;
  /** The host timer: expiry in host ticks, -1 when not pending (fired, stopped or killed). */
  timerExpires = -1;
}

/** struct viridian_vcpu (the VP assist page part). */
export class ViridianVcpu {
  /** HV_X64_MSR_VP_ASSIST_PAGE as the guest last wrote it: enabled bit. */
  msrEnabled = false;
  /** vp_assist.va / vp_assist.ptr: Xen's global mapping of the page (NULL when unmapped). */
  mapped = false;
  /**
   * Bit 0 of the first word of the page ("No EOI required"). Guest memory: it keeps its
   * value when Xen unmaps the page; the guest reads and clears it without an exit.
   */
  pageBit = false;
  /** The latched vector of the 2016/2017 code (-1 none in 10a674b4, 0 none later). */
  vector = 0;
  /** apic_assist_pending / vp_assist.pending (66bf4ef0 and later). */
  pending = false;
}

export class XenVcpu {
  phase: Phase = Phase.Guest;
  readonly vlapic = new VlapicRegs();
  readonly viridian = new ViridianVcpu();
  /** The guest's registers (RFLAGS.IF, frames, NMI blocking, HLT) as the VMCB save area has them. */
  readonly guest = new GuestCpu();

  // ---- scheduler, softirqs, physical interrupts
  /** VCPU_KICK_SOFTIRQ pending on this vCPU's pCPU (softirq_pending, a memory bit). */
  kickSoftirq = false;
  /** The event-check IPI cpu_raise_softirq sent to this pCPU is in flight or latched. */
  ipiPending = false;
  /** v->arch.nmi_pending. */
  nmiPending = false;
  /** TIMER_SOFTIRQ pending on this vCPU's pCPU (its host timer interrupt was taken). */
  timerSoftirq = false;
  /** The pCPU's host timer interrupt arrived at GIF = 0 (CLGI .. VMRUN): taken right after VMRUN. */
  hostTimerHeld = false;
  /** The logical clock of this vCPU (scenario `time`): NOW() and guest time are TIME_ORIGIN + now. */
  now = 0;
  /** The vlapic timer's periodic_time. */
  readonly pt = new PeriodicTime();

  // ---- VMCB (the fields svm_intr_assist and svm_vmexit_handler use)
  eventinjValid = false;
  eventinjNmi = false;
  eventinjVector = 0;
  /** vintr: V_IRQ (always a dummy vector 0 in Xen: interrupt-window exiting). */
  vIrq = false;
  vIntrPrio = 0;
  vIgnTpr = false;
  /** vintr.fields.tpr: the guest's CR8, written without an exit (V_INTR_MASKING). */
  vTpr = 0;
  interceptVintr = false;
  /** GENERAL1_INTERCEPT_IRET: Xen's NMI blocking on hardware without vNMI. */
  interceptIret = false;
  /** int_stat.intr_shadow as saved at #VMEXIT and loaded at VMRUN. */
  intrShadow = false;

  // ---- guest instructions that trapped before they executed
  /** The last exit was the IRET intercept: the IRET restarts as the first instruction after VMRUN. */
  iretRestart = false;
  pendingIret = NO_IRET;
  /** Scenario `fault`: the next event delivery takes a nested page fault. */
  faultArmed = false;

  // ---- diagnostics (whereStuck / explain only; never read by the mechanism)
  /** The vector isrClear retired last was one whose EOI the guest had avoided (set per retirement). */
  eoiWasAvoided = false;
  /** Level vectors whose TMR bit vlapic_handle_EOI cleared (before 12a50030) and no acceptance has set again. */
  readonly tmrClearedByEoi = vecSet();
  /** Diagnostics: vectors whose TMR bit an edge acceptance left set (before 12a50030), until a level acceptance or EOI. */
  readonly tmrKeptOnEdge = vecSet();
  /** What the guest has retired: acked vectors minus one per guest EOI (written or avoided). */
  readonly archIsr = vecSet();
  /** Vectors whose EOI the guest avoided through the assist and Xen has not cleared from ISR yet. */
  readonly avoided = vecSet();
  /** Xen emulated an avoided EOI that the guest never avoided (the page was cleared by a re-map). */
  phantomEoi = false;
  /** Diagnostics: the next EOI vlapic_EOI_set emulates is that phantom one (consumed by it). */
  phantomRetiring = false;
  /** The assist bit went 1 → 0 because the MSR write cleared the page, not because the guest skipped an EOI. */
  bitClearedByRemap = false;
  /** Level vectors whose EOI the guest avoided: their vioapic_update_EOI waits for Xen to notice. */
  readonly levelDeferred = vecSet();
  /** Vectors whose EOI the guest avoided while TMR was clear (bare metal broadcasts nothing), until Xen retires them. */
  readonly avoidedEdge = vecSet();
  /** The vector isrClear retired last was one of avoidedEdge (set per retirement, as eoiWasAvoided). */
  eoiAvoidedEdge = false;
  /** Vectors vlapic_has_pending_irq left out because it compared the ISR with an IRR snapshot taken before a missed EOI re-sent them. */
  readonly snapshotMissed = vecSet();
  /** 2016/2017: the guest avoided an EOI on a bit a normal EOI had left set (the latched vector was no longer in service). */
  staleBitAvoided = false;
  /**
   * 2016/2017: the latched vector whose instance a normal guest EOI retired with the bit still set (-1: none); a later
   * instance of the same vector in service does not make the bit fresh (only viridian_start_apic_assist does).
   */
  latchRetiredVector = -1;
  /** The guest disabled the VP assist page with an avoided EOI not yet retired. */
  avoidedLostByUnmap = false;
  /** 10a674b4: the MSR write reset the latch while the guest's avoided EOI was still unretired. */
  latchDroppedByRemap = false;
  /** Before f1d7aac1e3: vectors an MSI or the vIOAPIC put in IRR while the vlapic was software-disabled. */
  readonly acceptedDisabled = vecSet();
  /** Level vectors of acceptedDisabled whose EOI then reached vioapic_update_EOI (Remote IRR cleared, the pin live again). */
  readonly levelEoiAfterDisabled = vecSet();
  /**
   * Per vector (2 for an NMI): why a message bare metal's destination logic sends to this vCPU
   * did not come ('' if it came, or none was owed): vlapic_match_logical_addr has no broadcast case.
   */
  readonly misrouted: string[] = new Array<string>(256).fill('');
  /** Diagnostics: vectors of misrouted whose missed message was edge-triggered (bare metal's acceptance cleared TMR here). */
  readonly misroutedEdge = vecSet();
  /** 10a674b4: an interrupt was acked on top of an assisted one with the assist still set. */
  nestedOverAssist = false;
  /**
   * Why the vCPU left its HLT: 0 not woken, 1 vcpu_kick → vcpu_unblock (SCHEDOP_block),
   * 2 the NMI IPI's vcpu_wake from _VPF_down (hvm_vcpu_down).
   */
  wokenBy: 0 | 1 | 2 = 0;
  /**
   * The HLT this vCPU came out of ended with nothing injected: 0 no, 1/2 the wokenBy that
   * ended it, 3 hvm_hlt found a deliverable event that svm_intr_assist then did not inject.
   */
  hltEndedEmpty: 0 | 1 | 2 | 3 = 0;
  /** At that VMRUN an NMI was pending behind NMI blocking (svm_intr_assist stopped at it). */
  hltEndedBehindNmi = false;
  /** pt_timer_fn's vcpu_kick unblocked this vCPU's HLT (reset at VMRUN). */
  ptWoke = false;
  /** The HLT this vCPU came out of ended by pt_timer_fn's kick with nothing injected. */
  hltEndedByPt = false;
  /**
   * Why this vCPU's timer does not fire when bare metal's does (set where the timer was last
   * armed or stopped): the 0.1 ms clamp, the VPT_ALIGN first tick, a 2016 LVTT mode change.
   */
  timerWhy = '';
  /** 10a674b4: pt_resume re-queued a tick that pt_update_irq suspended while the LVT was masked. */
  maskedTickResumed = -1;
  /** Diagnostics: pt_resume put back a tick counted while the LVT was masked; not posted yet. */
  maskedTickQueued = false;
  /** vlapic_pt_cb moved timer_last_update to an injection later than the expiry (periodic TMCCT rebased). */
  tmcctRebased = false;
  /** Diagnostics: the SDM timer the guest programmed (src/apic/timer.ts), to see expiries Xen's timer did not make. */
  readonly archTimer = new LapicTimer();
  /**
   * Per vector: an expiry of archTimer raised it and Xen's timer made no tick for it, with the timerWhy of that
   * moment ('' when none is owed; cleared when the vector is injected). Per vector, because the guest may reprogram
   * the LVT vector while an owed expiry of the old one is still pending on bare metal.
   */
  /** Diagnostics: an illegal-vector IPI addressed this vCPU; vlapic_ipi's SENDILL break never reached it. */
  rivSkippedBySendill = false;
  /** Diagnostics (f1d7aac1e3 and later): an MSI or vIOAPIC message with an illegal vector skipped this software-disabled vlapic. */
  illegalSkippedDisabled = false;
  readonly archOwed: string[] = new Array<string>(256).fill('');
  /** The timer's vector was injected while its tick waited for TIMER_SOFTIRQ: the tick then came as a second instance. */
  softirqTickDup = -1;
  /**
   * pt_irq_fired re-armed the periodic timer for a tick due at that very instant (pt_process_missed_ticks
   * skips only ticks strictly before NOW()): the tick's vector, sent again at once (-1: never).
   */
  tickDueAtInjection = -1;
  /**
   * pt_intr_post (pt_irq_fired) left a periodic tick owed after an injection (no_delay_for_missed_ticks: pending_intr_nr
   * still above 0, ticks counted by pt_timer_fn or pt_process_missed_ticks); pt_update_irq raises it next, one interrupt
   * per expiry where bare metal collapsed them: the tick's vector (-1: never).
   */
  missedTickOwed = -1;
  /** Diagnostics: an expiry of bare metal's timer (this vector) passed while Xen's timer was unarmed with ticks owed (-1: none since). */
  archExpiredWhileOwed = -1;
  /** Diagnostics: the last periodic pt_intr_post left a tick owed, so the next tick injected is an owed one. */
  tickOwedNext = false;
  /** Diagnostics: svm_inject_extint injections since the last owed tick was injected (large: none yet). */
  injectsSinceOwedTick = 1 << 30;
  /**
   * pt_timer_fn counted a tick of a periodic timer whose first tick align_timer() moved, at an instant that is not
   * one of bare metal's expiries (the whole train keeps the shifted phase): the ticks' vectors. A set, not the last
   * vector: a later train under a rewritten LVTT vector must not erase the note of an off-phase tick still in IRR.
   */
  readonly offPhaseTicks = vecSet();
  /** 2016: an LVTT vector rewrite with a tick posted but not injected; pt_update_irq re-posts it under this vector (-1: never). */
  tickRepostedVector = -1;
}
