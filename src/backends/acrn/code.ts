// The ACRN code shapes this backend models. Each field selects one real shape of the code,
// read in projectacrn/acrn-hypervisor at the cited commit; a variant differs from another
// only where the trees differ. Trees (oldest first) and the fixes between them:
//   2018   7f2b9a1c7^ / 7f2b9a1c7 (#1443)   hypervisor/arch/x86/virq.c, guest/vlapic.c, common/hv_main.c
//   2019   ea849177a (#3374, master twin of 76e39b162)
//   2020   0397cb717^ (= bf1ff8c98 "offload" + 00ad3863a "vcpu_handle_pi_notification")
//   2023   9a6e94084^ (0397cb717 #4937 fixed, kick_vcpu of 53d4a7169)
//   v3.3   9a6e94084 (#8507) = v3.3 (8cb6fa683) = master d61d98cf8 for every file read here
export type Mode = 'basic' | 'advanced';

export interface AcrnCode {
  /** Short tree name for traces. */
  tree: '2018' | '2019' | '2020' | '2023' | 'v3.3';
  /** APICv mode: basic (TPR shadow, no virtual-interrupt delivery) or advanced (VID + posted interrupts; VID only in 2018). */
  mode: Mode;
  /**
   * vcpu_thread (common/hv_main.c): 'handle-first' — acrn_handle_pending_request, then
   * `if (need_reschedule) { schedule(); continue; }` (≤ ea849177a^); 'schedule-first' —
   * schedule() before the single acrn_handle_pending_request of the pass (ea849177a).
   */
  loop: 'handle-first' | 'schedule-first';
  /** reset_event(VCPU_EVENT_VIRTUAL_INTERRUPT) before run_vcpu (4303ccb1a, 2020-01). */
  resetEvent: boolean;
  /** HLT: 'native' — not intercepted, the guest halts in VMX non-root (≤ 2019); 'wait-event' — hlt_vmexit_handler (4303ccb1a). */
  hlt: 'native' | 'wait-event';
  /**
   * The kick of vcpu_make_request: 'ipi' — VECTOR_NOTIFY_VCPU whenever the caller is on another
   * pCPU (2018, 2019); 'kick-thread' — only a RUNNING thread gets the IPI, a RUNNABLE one a
   * reschedule request, a BLOCKED one nothing (5f8e7a6cb .. 53d4a7169^); 'kick-vcpu' — the IPI
   * when the target pCPU's loaded VMCS is the vCPU's (53d4a7169, 2020-07: always, one vCPU per pCPU).
   */
  kick: 'ipi' | 'kick-thread' | 'kick-vcpu';
  /**
   * signal_event(VCPU_EVENT_VIRTUAL_INTERRUPT) in vlapic_accept_intr and vcpu_handle_pi_notification:
   * 'none' (no events before 4303ccb1a), 'before' the request bit (4303ccb1a .. 9a6e94084^),
   * 'after' it (9a6e94084).
   */
  signal: 'none' | 'before' | 'after';
  /**
   * Advanced mode: 'vid' — virtual-interrupt delivery without posted interrupts, a software PIR
   * synced by vlapic_apicv_inject_pir (2018); 'pi-sync' — posted interrupts, PIR synced in software
   * by vlapic_apicv_inject_pir at the EVENT request (2019); 'pi-self-ipi' — apicv_advanced_inject_intr
   * sends the notification vector to its own pCPU and the CPU syncs PIR (bf1ff8c98, 2020-05).
   */
  apicv: 'vid' | 'pi-sync' | 'pi-self-ipi';
  /**
   * 2018 acrn_handle_pending_request: where the VID sync sits. 'after-injection' (7f2b9a1c7^):
   * behind the NMI / exception / IDT-vectoring branches that `goto INTR_WIN`;
   * 'before-injection' (7f2b9a1c7): right after the cancelled-injection branch. Unused after 2018.
   */
  sync1443: 'after-injection' | 'before-injection';
  /**
   * The notification vector taken in root mode: 'none' (no posted interrupts, 2018), 'dummy'
   * (posted_intr_notification does nothing, 2019), 'pi-capable' (vcpu_handle_pi_notification
   * returns unless is_pi_capable(vm) — false on EHL, whose VT-d has no posted interrupts,
   * 00ad3863a .. 0397cb717^), 'on' (EVENT + signal when ON is set, 0397cb717).
   */
  piRoot: 'none' | 'dummy' | 'pi-capable' | 'on';
  /** NMI injection checks STI/MOV-SS/NMI blocking (is_nmi_injectable, 84ad34089, 2020-04). */
  nmiCheck: boolean;
  /** The interrupt window is also opened for a pending NMI request (2020+). */
  nmiWindow: boolean;
  /** In-service tracking of the software vLAPIC: 'isrvec-stk' (2018) or 'isrv' (2019+). */
  isr: 'isrvec-stk' | 'isrv';
  /** vlapic_process_eoi makes ACRN_REQUEST_EVENT (2020+; not in 2018, 2019). */
  eoiEvent: boolean;
  /** Basic mode: vlapic_update_tpr_threshold after injection (2019+); 2018 leaves TPR_THRESHOLD at 0. */
  tprThreshold: boolean;
  /**
   * Port I/O to the device model: 'loop' — acrn_insert_request_wait pauses the vCPU and the
   * loop schedules it out after acrn_handle_pending_request (2018); 'handler' — acrn_insert_request
   * pauses and calls schedule() itself (2019); 'wait-event' — wait_event(VCPU_EVENT_IOREQ) (2020+).
   */
  io: 'loop' | 'handler' | 'wait-event';
  /** PAUSE-loop exiting with pause_vmexit_handler → yield_current (2020+); none before. */
  pauseExit: boolean;
  /**
   * Where do_softirq (and so timer_softirq, which runs the vLAPIC timers) is called. 'loop-top':
   * only at the top of vcpu_thread ("do_softirq(); CPU_IRQ_DISABLE(); do_softirq();"), the timer
   * interrupt's handler just fire_softirq(SOFTIRQ_TIMER), and default_idle never runs softirqs
   * (common/hv_main.c, schedule.c @ 7f2b9a1c7, ea849177a); 'irq': at the end of every interrupt,
   * dispatch_interrupt / do_irq → do_softirq, whatever the pCPU runs, and no longer in vcpu_thread
   * (arch/x86/irq.c @ 0397cb717^, common/irq.c @ 9a6e94084).
   */
  softirq: 'loop-top' | 'irq';
  /**
   * vlapic_find_highest_irr-based HLT check (`pending_req == 0 && !vlapic_has_pending_intr`)
   * is part of hlt 'wait-event'; nothing else to select.
   */
}

const BASE_2018: AcrnCode = {
  tree: '2018', mode: 'basic', loop: 'handle-first', resetEvent: false, hlt: 'native', kick: 'ipi', signal: 'none',
  apicv: 'vid', sync1443: 'after-injection', piRoot: 'none', nmiCheck: false, nmiWindow: false, isr: 'isrvec-stk',
  eoiEvent: false, tprThreshold: false, io: 'loop', pauseExit: false, softirq: 'loop-top',
};
const BASE_2019: AcrnCode = {
  ...BASE_2018, tree: '2019', loop: 'schedule-first', apicv: 'pi-sync', piRoot: 'dummy', isr: 'isrv', tprThreshold: true, io: 'handler',
};
const BASE_2020: AcrnCode = {
  ...BASE_2019, tree: '2020', resetEvent: true, hlt: 'wait-event', kick: 'kick-thread', signal: 'before', apicv: 'pi-self-ipi',
  piRoot: 'pi-capable', nmiCheck: true, nmiWindow: true, eoiEvent: true, io: 'wait-event', pauseExit: true, softirq: 'irq',
};
const BASE_2023: AcrnCode = { ...BASE_2020, tree: '2023', kick: 'kick-vcpu', piRoot: 'on' };
const BASE_V33: AcrnCode = { ...BASE_2023, tree: 'v3.3', signal: 'after' };

export const CODE: Record<string, AcrnCode> = {
  '2018-basic': BASE_2018,
  'pre-1443-vid': { ...BASE_2018, mode: 'advanced' },
  '1443-vid': { ...BASE_2018, mode: 'advanced', sync1443: 'before-injection' },
  '3374-basic': BASE_2019,
  '3374-adv': { ...BASE_2019, mode: 'advanced' },
  'pre-4937-basic': BASE_2020,
  'pre-4937-adv': { ...BASE_2020, mode: 'advanced' },
  'pre-8507-basic': BASE_2023,
  'pre-8507-adv': { ...BASE_2023, mode: 'advanced' },
  'v3.3-basic': BASE_V33,
  'v3.3-adv': { ...BASE_V33, mode: 'advanced' },
};
