// Constants of the ACRN model (no imports, so any module may use them).

/** vcpu->arch.pending_req bits (include/arch/x86/asm/guest/vcpu.h; ACRN_REQUEST_*). */
export const REQ_EXCP = 1 << 0;
export const REQ_EVENT = 1 << 1;
export const REQ_EXTINT = 1 << 2;
export const REQ_NMI = 1 << 3;
export const REQ_EOI_EXIT_BITMAP_UPDATE = 1 << 4;
/** ACRN_REQUEST_TMR_UPDATE (2018 only: vioapic_indirect_write → vioapic_update_tmr). */
export const REQ_TMR_UPDATE = 1 << 5;
export const REQ_NAMES: readonly string[] = ['EXCP', 'EVENT', 'EXTINT', 'NMI', 'EOI_EXIT_BITMAP_UPDATE', 'TMR_UPDATE'];

/**
 * Physical interrupts for a pCPU (vCPU i runs on pCPU i). The notification vector (per-VM
 * POSTED_INTR_VECTOR + vm_id, or VECTOR_POSTED_INTR 0xf2 in 2019) sits above the kick vector
 * (NOTIFY_VCPU_VECTOR 0xe1, or VECTOR_NOTIFY_VCPU 0xf0 in 2018/2019) in every tree, so a pCPU
 * with both pending takes the notification first.
 */
export const PHYS_NV = 1;
export const PHYS_NOTIFY = 2;
/**
 * The pCPU's own LAPIC timer (TSC-deadline mode, programmed by update_physical_timer): VECTOR_TIMER
 * 0xEF in 2018/2019, TIMER_VECTOR = VECTOR_FIXED_START (0xE0) since — below both others in every
 * tree (include/arch/x86/irq.h @ 7f2b9a1c7, ea849177a; asm/irq.h @ 9a6e94084). A local source: it is
 * raised in the pCPU's own local APIC, never in flight.
 */
export const PHYS_TIMER = 4;
export const PHYS_ORDER = [PHYS_NV, PHYS_NOTIFY, PHYS_TIMER] as const;

/** Where the vCPU thread is (its pc), in the order of vcpu_thread. */
export const enum Pc {
  /** Guest code in VMX non-root. */
  Guest = 0,
  /** Top of the loop after the exit handler: host IRQs on. */
  LoopTop = 1,
  /** CPU_IRQ_DISABLE done; 'schedule-first' trees run schedule() next. */
  Schedule = 2,
  /** acrn_handle_pending_request next. */
  Requests = 3,
  /** 'handle-first' trees: the need_reschedule() check after the requests. */
  ReschedCheck = 4,
  /** reset_event(VCPU_EVENT_VIRTUAL_INTERRUPT) next. */
  ResetEvent = 5,
  /** run_vcpu: the VM entry. */
  Entry = 6,
  /** In an exit handler that runs in steps (vlapic_write_icrlo's per-target work). */
  Handler = 7,
  /** The thread sleeps (wait_event, or paused for an I/O request); the idle thread runs the pCPU. */
  Blocked = 8,
  /** Woken (RUNNABLE); it runs when the idle thread schedules it. */
  Runnable = 9,
  /** The hypervisor crashed (panic): nothing runs. */
  Dead = 10,
}
export const PC_NAMES = [
  'guest', 'loop-top', 'schedule', 'acrn_handle_pending_request', 'need_reschedule', 'reset_event', 'run_vcpu',
  'exit-handler', 'blocked', 'runnable', 'dead',
] as const;

/** What a blocked thread waits for. */
export const enum Wait { None = 0, VirtualInterrupt = 1, Ioreq = 2, Paused = 3 }

/** VM-entry interruption-information type of the prepared injection. */
export const enum Inj { None = 0, Ext = 1, Nmi = 2 }
