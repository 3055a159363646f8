// State of the ACRN model: one AcrnVcpu per vCPU (vCPU i is the only thread, besides the idle
// thread, of pCPU i: ACRN's dedicated-pCPU configuration) and the VM. Plain fields only; the
// behaviour lives in the modules named after the real files (vlapic.ts, virq.ts, hv_main.ts,
// vmexit.ts, event.ts, notify.ts, vmx.ts for what the processor does).
import { initialAddr, type ApicAddr } from '../../apic/dest.js';
import { GuestCpu } from '../../apic/guestcpu.js';
import { LapicTimer } from '../../apic/timer.js';
import { vecSet } from '../../apic/vecset.js';
import type { MachineConfig, Shorthand } from '../../scenario/types.js';
import type { ObsSink } from '../api.js';
import type { AcrnCode } from './code.js';
import { Inj, Pc, Wait } from './consts.js';
import type { Vioapic } from './vioapic.js';

/** ISRVEC_STK_SIZE of the 2018 vlapic_priv.h: 16 nesting levels plus the placeholder at index 0. */
export const ISRVEC_STK_SIZE = 16 + 1;

/** APIC_LVT_M, APIC_LVTT_TM and its modes (include/arch/x86/asm/apicreg.h, every tree). */
export const APIC_LVT_M = 0x10000;
export const APIC_LVTT_TM = 0x60000;
export const APIC_LVTT_TM_ONE_SHOT = 0;
export const APIC_LVTT_TM_PERIODIC = 0x20000;
export const APIC_LVTT_TM_TSCDLT = 0x40000;

/** struct sched_event. */
export class SchedEvent {
  set = false;
  /** The vCPU thread is the waiting_thread. */
  waiting = false;
}

/**
 * The vLAPIC's register page (struct lapic_regs). In advanced mode it is also the virtual-APIC
 * page the processor reads and writes (vIRR, vISR, VTPR, VPPR), so the hardware paths of
 * vmx.ts update these same fields.
 */
export class LapicPage {
  readonly irr = vecSet();
  readonly isr = vecSet();
  readonly tmr = vecSet();
  tpr = 0;
  ppr = 0;
  esr = 0;
  /**
   * The registers a guest reads and programmes, as the guest left them at boot (the shared
   * conventions): ID = vCPU i << 24 (vlapic_build_id: vcpu_id for a post-launched VM in 2018;
   * vlapic_init: per_cpu(lapic_id, pcpu_id) from 2019 on, vCPU i on pCPU i whose LAPIC ID is i
   * as everywhere in this model), the version of vlapic_reset, LDR and DFR as an OS in the flat
   * model writes them (vlapic_write_ldr / vlapic_write_dfr store them), SVR software-enabled
   * with spurious vector 0xFF.
   */
  id = 0;
  version = LAPIC_VERSION;
  ldr = 0;
  dfr = 0xffffffff;
  svr = 0x1ff;
  /** lvt[APIC_LVT_TIMER]: vlapic_reset leaves every LVT masked (APIC_LVT_M). */
  lvtTimer = APIC_LVT_M;
  /** icr_timer (TMICT) as the guest last wrote it. */
  icrTimer = 0;
}

/** struct hv_timer (hypervisor/common/timer.c; arch/x86/timer.c before 2021), the vLAPIC's one. */
export class HvTimer {
  /** timeout (fire_tsc before 2021): the TSC of the expiry, 0 when none. */
  timeout = 0;
  /** TICK_MODE_PERIODIC (else one-shot) and period_in_cycle. */
  periodic = false;
  period = 0;
}

/** vlapic_reset (guest/vlapic.c, every tree): VLAPIC_VERSION 16 | VLAPIC_MAXLVT_INDEX (APIC_LVT_CMCI = 6) << MAXLVTSHIFT. */
export const LAPIC_VERSION = 0x10 | (6 << 16);
/** APIC_SVR_ENABLE: clear, the vLAPIC is software-disabled. */
export const APIC_SVR_ENABLE = 0x100;

export class AcrnVcpu {
  readonly guest = new GuestCpu();
  readonly page = new LapicPage();
  /** vlapic->isrv (2019+): the highest in-service vector as the software vLAPIC tracks it. */
  isrv = 0;
  /** vlapic->isrvec_stk / isrvec_stk_top (2018). */
  readonly isrvecStk = new Uint8Array(ISRVEC_STK_SIZE);
  isrvecStkTop = 0;
  /** vlapic->esr_pending: errors latched until the guest writes ESR. */
  esrPending = 0;
  /** Posted-interrupt descriptor (2019+), or the software pir_desc of 2018 ('pending' = ON). */
  readonly pir = vecSet();
  on = false;

  /** vcpu->arch.pending_req. */
  pendingReq = 0;
  /** Where the vCPU thread is. */
  pc: Pc = Pc.Guest;
  /** What a blocked thread waits for. */
  wait: Wait = Wait.None;
  /** Host IRQs enabled on this pCPU while the vCPU thread is current (the idle thread runs with them on). */
  irqsOn = false;
  /** NEED_RESCHEDULE of this pCPU's sched_ctl. */
  needResched = false;
  /** vcpu->events[VCPU_EVENT_VIRTUAL_INTERRUPT] and [VCPU_EVENT_IOREQ]. */
  readonly evIntr = new SchedEvent();
  readonly evIoreq = new SchedEvent();
  /** The Service VM's device model holds an I/O request of this vCPU; its completion arrives at `pirq`. */
  dmPending = false;
  /** The 2018 vCPU was paused (pause_vcpu) and is off its runqueue until resume_vcpu. */
  paused = false;

  /** Physical interrupts in flight to this pCPU (PHYS_* bits): sent, not yet in its local APIC. */
  inflight = 0;
  /** Diagnostics: the notification vector in flight is this pCPU's own self-IPI (apicv_advanced_inject_intr). */
  nvSelf = false;
  /** Physical interrupts in the local APIC's IRR, held while host IRQs are off. */
  latched = 0;

  /** VMX_ENTRY_INT_INFO_FIELD as this pass prepared it. */
  injType: Inj = Inj.None;
  injVector = 0;
  /** The prepared injection repeats an event whose delivery was already reported (a re-injection). */
  injReplay = false;
  /** vcpu->arch.idt_vectoring_info: an external interrupt whose delivery caused the last exit (-1: none). */
  idtVector = -1;
  /** arch->inject_event_pending / inject_info (cancel_event_injection, ≤ 2019). */
  cancelledType: Inj = Inj.None;
  cancelledVector = 0;
  cancelledReplay = false;
  /** VMX_PROCBASED_CTLS_IRQ_WIN and arch->irq_window_enabled (always written together). */
  irqWindow = false;
  /** VMX_TPR_THRESHOLD (basic mode), a priority class (init_exec_ctrl writes 0). */
  tprThreshold = 0;
  /**
   * Diagnostics (whereStuck): the threshold the last vlapic_update_tpr_threshold computed and wrote
   * (-1: none yet, the VMCS holds init_exec_ctrl's 0). stuck:irr-tpr-threshold-stale names a
   * threshold that pass computed and the VMCS still holds, nothing else.
   */
  tprThresholdWritten = -1;
  /** vcpu->arch.eoi_exit_bitmap and the VMCS copy written by vcpu_set_vmcs_eoi_exit. */
  readonly eoiExit = vecSet();
  readonly eoiExitVmcs = vecSet();
  /** GUEST_INTR_STATUS (advanced mode). */
  rvi = 0;
  svi = 0;
  /** The thread's pending exit-handler work: vlapic_write_icrlo's per-target steps. */
  readonly ops: number[] = [];
  /** The scenario index of the ICR write whose handler runs, until its first message is visible (-1: none). */
  icrIndex = -1;
  /** Diagnostics: that ICR write's routing (vlapic_calc_dest's mask and the ICR), noted when it is reported. */
  icrMask = 0;
  icrShorthand: Shorthand = 'none';
  icrLogical = false;
  icrDest = 0;
  icrVector = 0;
  /** Diagnostics: the targets of that ICR write bare metal's decoding does not reach (note_routing at icr_executed). */
  icrWrongMask = 0;
  /** The last exit was an HLT exit (hlt 'wait-event'): the next entry resumes after the HLT. */
  hltExit = false;
  /** Diagnostics: the guest was resumed after its HLT with no event injected. */
  hltResumed = false;
  /** Diagnostics: the notification vector that last reached the pCPU was its own self-IPI. */
  nvSelfLanded = false;
  /** The next event delivery faults into the hypervisor (scenario `fault`). */
  faultArmed = false;
  /** acrn_handle_pending_request passes since the last VM exit (2 or more: the loop came back, #3374). */
  passes = 0;
  /** An NMI request re-made by vmexit_handler for an NMI whose delivery faulted: its re-injection is not a new delivery. */
  nmiReplay = false;
  /** Messages of other pCPUs to this vCPU still being processed by their exit handlers (vlapic_write_icrlo steps). */
  swInflight = 0;
  /** A sender signalled VCPU_EVENT_VIRTUAL_INTERRUPT and has not yet made its request (signal 'before'). */
  earlySignal = 0;
  /** The last wake-up of the HLT wait came from such an early signal. */
  wokeEarly = false;
  /** The vCPU went to sleep in the HLT wait while such a signal's request was still missing. */
  sleptEarly = false;
  /** A pass since the last HLT exit ran while such a signal's request was still missing. */
  passBeforeRequest = false;
  /** The hypervisor crashed on this vCPU. */
  dead = false;

  // Diagnostics (whereStuck / explain only; never consulted by the mechanism).
  /** Level vectors EOIed by EOI virtualization before their EOI-exit bit reached the VMCS. */
  readonly eoiSwallowed = vecSet();
  /** Vectors whose injection a second acrn_handle_pending_request pass overwrote. */
  readonly overwritten = vecSet();
  overwrittenNmi = false;
  /**
   * Per vector: why an instance that a PIR → vIRR move brought in had been held apart (a skipped
   * sync, a late self-notification), until that instance is delivered (explain 'duplicate').
   */
  readonly heldWhy: string[] = new Array<string>(256).fill('');
  /** The branch that made a pass skip the VID sync of the current ON episode (2018, #1443), '' when none. */
  syncSkipWhy = '';
  /** An IDT-vectoring external interrupt an NMI branch did not re-inject (2019+; lost at the next exit). */
  idtDropped = -1;
  /** What became of the notification for the current ON=1 episode. */
  onFate = '';
  /** What the last HLT exit's handler did ('woken' after a sleep, or why it did not sleep). */
  hltWhy = '';
  /** Why the guest was last resumed after its HLT with nothing injected (explain 'ran-while-halted'). */
  hltEnd = '';
  /** A device message with a vector below 16 skipped while software-disabled since the last ESR latch (no RIV), and at that latch. */
  rivSkippedPending = false;
  rivSkippedShown = false;
  /** The last NMI was injected while the guest blocked NMIs (no blocking check before 84ad34089), for explain(). */
  nmiUnchecked = false;
  /** Some NMI was injected while blocked: the NMI accounting differs from bare metal from then on. */
  nmiNested = false;
  /** An NMI request was made while the re-injection request of a faulted NMI delivery was still
   *  pending: the two share ACRN_REQUEST_NMI, one of them is lost (vmexit_handler, every tree). */
  nmiMergedReplay = false;
  /** 2018: the last pass re-injected a cancelled event with an NMI request pending (kept). */
  nmiBehindCancelled = false;

  /** The guest has written ESR (lapic_write esr): its later `read esr` is a plain read, no longer write-then-read. */
  esrWritten = false;

  // The APIC timer (guest/vlapic.c vlapic_timer and hypervisor timer.c, every tree).
  /** cpu_ticks() / rdtsc() of this pCPU: the vCPU's logical clock (VMX_TSC_OFFSET 0: guest TSC = host TSC). */
  now = 0;
  /** vlapic->svr_last (vlapic_write_svr compares the new SVR with it). */
  svrLast = 0x1ff;
  /** vtimer->mode: the LVT timer mode vlapic_update_lvtt last saw. */
  vtimerMode = APIC_LVTT_TM_ONE_SHOT;
  /** vtimer->tmicr. The guest's DCR is divide-by-1 (the boot convention), so divisor_shift is 0. */
  tmicr = 0;
  readonly vtimer = new HvTimer();
  /** The pCPU's IA32_TSC_DEADLINE as update_physical_timer last wrote it (0: disarmed or fired). */
  tscDeadline = 0;
  /** The pCPU's timer_list: index 0 the list head, 1 the vLAPIC timer's node (INIT_LIST_HEAD: each its own). */
  readonly timerList = { next: [0, 1], prev: [0, 1] };
  /** SOFTIRQ_TIMER pending in per_cpu(softirq_pending) ('loop-top' trees: run at the top of vcpu_thread). */
  softirqTimer = false;
  /** per_cpu(softirq_servicing): do_softirq is running. */
  softirqServicing = false;
  /** Diagnostics: why the vLAPIC timer's expiries no longer fall where bare metal's do ('' while they agree). */
  timerWhy = '';
  /**
   * Diagnostics, per vector: the timer cause of an expiry bare metal may have had and the vLAPIC timer
   * did not — set for every vector the LVT carries while timerWhy is set, kept when a later write puts
   * the timer back in step (the missed instance is still owed). Never cleared: a missed periodic
   * expiry comes after deliveries of earlier ones, so no delivery proves the debt paid.
   */
  readonly timerMissedWhy: string[] = new Array<string>(256).fill('');
  /** Diagnostics: bare metal's APIC timer under the same writes and clock (src/apic/timer.ts, as the reference runs it). */
  readonly archTimer = new LapicTimer();
  /** Diagnostics: vectors bare metal's timer fired and the vLAPIC timer has not (yet); and the reverse. Paid by the other side's fire or a delivery. */
  readonly timerOwed = vecSet();
  /** Diagnostics: vectors whose last message to this vCPU was edge (bare metal's TMR bit clear), issue 8's shared vectors. */
  readonly edgeAccepted = vecSet();
  /**
   * Diagnostics: vectors self-IPI virtualization put in vIRR while TMR held a level message's bit (SDM 29.1.5 sets
   * VIRR and RVI only; bare metal's edge acceptance clears TMR), until the next acceptance writes TMR (vlapic_set_tmr).
   */
  readonly tmrKeptBySelfIpi = vecSet();
  /**
   * Diagnostics, per vector: why an edge IPI bare metal accepted here after the vector's last accepted message never
   * came (its TMR bit is clear on bare metal, set here), until ACRN accepts a message of the vector here.
   */
  readonly edgeLostWhy: string[] = new Array<string>(256).fill('');
  readonly timerExtra = vecSet();
  /** Diagnostics: the pCPU's timer interrupt now being handled waited in its IRR while host IRQs were off. */
  timerLatchedDiag = false;
  /** Diagnostics, per vector: accepted by such a held expiry after the entry delivered an instance bare metal merged it into (until delivered). */
  readonly timerHeldWhy: string[] = new Array<string>(256).fill('');

  /**
   * vlapic->vapic_id (0397cb717^ .. v3.3: vlapic_init sets it once, per_cpu(lapic_id, pcpu_id),
   * i here): what vm_apicid2vcpu_id matches a physical destination against in those trees. The
   * 2018/2019 trees match the page's ID instead (vlapic_get_apicid).
   */
  readonly vapicId: number;
  // Diagnostics of the programmable addressing (whereStuck / explain only).
  /** The xAPIC ID bare metal would hold: the last ID the guest wrote (ID i at start). */
  archId: number;
  /** Per vector: why a message bare metal sent here went elsewhere or nowhere (set at the send). */
  readonly misrouted: string[] = new Array<string>(256).fill('');
  /** Per vector: why a message bare metal sent elsewhere (or nowhere) came here. */
  readonly wrongTarget: string[] = new Array<string>(256).fill('');
  /**
   * Per vector (basic mode since 2019): a level message collapsed into a pending instance that a message bare metal
   * sent elsewhere put here (wrongTarget), so apicv_basic_accept_intr left TMR clear where bare metal's fresh level
   * acceptance sets it; the reason, until the vector's next EOI or a message sets its IRR bit.
   */
  readonly levelCollapsedWhy: string[] = new Array<string>(256).fill('');
  /**
   * Per vector (since 2019): why this vCPU's TMR bit may differ from bare metal's because the message whose acceptance last
   * wrote it (vlapic_set_tmr) is one bare metal did not accept here — a vIOAPIC message bare metal never sends (vioapic.ts
   * extraSendWhy: a redirection write's "asserted at rtbl write" edge re-send, the level re-send of an EOI bare metal does
   * not broadcast) or an IPI or device message vlapic_calc_dest sent here and bare metal elsewhere or nowhere (acceptWhy). With the
   * bit clear, an edge one cleared the bit of a level message bare metal still holds (that message's EOI is not forwarded);
   * with it set, a level one set a bit bare metal's last (edge) acceptance left clear. It lasts as long as the two bits
   * can differ: until the next vlapic_set_tmr of the vector here, or (basic mode, where a message collapsing into a pending
   * IRR bit writes no TMR) a message bare metal also accepts here that leaves bare metal's bit equal to this one.
   * (Session 10 folded tmrClearedByWhy, the cleared-bit half reset at every acceptance, into this one.)
   */
  readonly tmrExtraWhy: string[] = new Array<string>(256).fill('');
  /**
   * Diagnostics, transient: while vlapic_receive_intr hands this vCPU a device message, or an ICR write's handler an IPI,
   * that bare metal's addressing does not send here (wrongTarget), why; '' otherwise and outside the acceptance.
   */
  acceptWhy = '';
  /** Why a device message with an illegal vector (Receive Illegal Vector) went elsewhere, to or from here. */
  rivWhy = '';
  /** Diagnostics: a TPR write the TPR shadow virtualized since the last vlapic_update_ppr (basic mode). */
  pprStaleByTpr = false;

  /**
   * `apicId`: the LAPIC ID of the pCPU this vCPU runs on (machine.apicIds; i by default). vlapic_init
   * gives every VM `per_cpu(lapic_id, pcpu_id)` in 9a6e94084^ and v3.3, the Service VM only in the
   * older trees (vlapic_build_id / vlapic_init @ 7f2b9a1c7, ea849177a, 0397cb717^), which is then the
   * VM modelled.
   */
  constructor(readonly id: number, apicId = id, x2apic = false) {
    this.guest.reset();
    if (x2apic) {
      // The guest enabled x2APIC at boot: vlapic_set_apicbase → vlapic_build_x2apic_id (guest/vlapic.c
      // @ ea849177a, 0397cb717^, 9a6e94084): the ID register holds the whole ID, and the read-only LDR
      // is `cluster_id << 16 | 1 << logical_id` with LOGICAL_ID_MASK 0xF, CLUSTER_ID_MASK 0xFFFF0.
      this.page.id = apicId >>> 0;
      this.page.ldr = ((((apicId & 0xffff0) >>> 4) << 16) | (1 << (apicId & 0xf))) >>> 0;
    } else {
      this.page.id = (apicId << 24) >>> 0;
      this.page.ldr = initialAddr('xapic', id, apicId).ldr;
    }
    this.vapicId = apicId;
    this.archId = apicId;
  }
}

export class Acrn {
  readonly vcpus: AcrnVcpu[] = [];
  /**
   * Every vLAPIC is in x2APIC mode (is_x2apic_enabled; the guest set IA32_APIC_BASE bits 11:10 at
   * boot, and switch_apicv_mode_x2apic set "virtualize x2APIC mode" and the x2APIC MSR bitmap). The
   * 2018 trees offer no x2APIC (supportsVariant refuses them).
   */
  readonly x2apic: boolean;
  vioapic!: Vioapic;
  /** Diagnostics: scratch addressing state of bare metal (vlapic.ts note_routing). */
  readonly archAddrs: ApicAddr[] = [];
  /** Diagnostics, scratch: the vCPUs the device message vlapic_receive_dest just routed reaches and bare metal's does not. */
  deviceWrongMask = 0;
  constructor(readonly machine: MachineConfig, readonly code: AcrnCode, readonly sink: ObsSink) {
    this.x2apic = machine.apic === 'x2apic';
    for (let i = 0; i < machine.vcpus; i++) {
      this.vcpus.push(new AcrnVcpu(i, machine.apicIds?.[i] ?? i, this.x2apic));
      this.archAddrs.push({ id: i, ldr: 0, flat: true });
    }
  }
}
