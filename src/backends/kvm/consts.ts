// Constants shared by the KVM model's modules (no imports, so any module may use them).

/** vcpu->mode (include/linux/kvm_host.h). */
export const enum Mode { OUTSIDE = 0, IN = 1, EXITING = 2 }
export const MODE_NAMES = ['OUTSIDE_GUEST_MODE', 'IN_GUEST_MODE', 'EXITING_GUEST_MODE'] as const;

/** vcpu->requests bits that take part in interrupt delivery. */
export const REQ_EVENT = 1;
export const REQ_NMI = 2;
export const REQ_SCAN_IOAPIC = 4;
/** Made by nested_vmx_vmexit; kvm_vcpu_reload_apic_access_page has no interrupt effect. */
export const REQ_APIC_PAGE_RELOAD = 8;
/** KVM_REQ_LOAD_EOI_EXITMAP (4cf4df7ab4d1): vcpu_load_eoi_exitmap in the next requests phase. */
export const REQ_LOAD_EOI_EXITMAP = 16;
/**
 * The request apic_timer_expired makes: KVM_REQ_PENDING_TIMER in v4.x (kvm_set_pending_timer), KVM_REQ_UNBLOCK in
 * v6.12. Either is only a reason to leave vcpu_enter_guest (the exit-request check sees it) and is cleared by the
 * vcpu_run loop tail; v6.12's kvm_vcpu_check_block also consumes KVM_REQ_UNBLOCK.
 */
export const REQ_PENDING_TIMER = 32;
/**
 * KVM_REQ_APICV_UPDATE (KVM_REQUEST_WAIT | KVM_REQUEST_NO_WAKEUP), made for every vCPU by
 * __kvm_set_or_clear_apicv_inhibit when the VM's inhibit reasons go from none to some or back;
 * handled in the requests phase of vcpu_enter_guest after KVM_REQ_SCAN_IOAPIC (apicv.ts).
 */
export const REQ_APICV_UPDATE = 64;

/**
 * Host vectors in flight to a pCPU, one bit each (a second IPI of the same vector collapses
 * in the physical IRR). Values from arch/x86/include/asm/irq_vectors.h (v4.11); the pCPU
 * takes them highest vector first.
 */
export const PHYS_RESCHEDULE = 1;     // RESCHEDULE_VECTOR 0xfd (smp_send_reschedule: kicks)
export const PHYS_CALL_FUNCTION = 2;  // CALL_FUNCTION_VECTOR 0xfc (kvm_make_all_cpus_request)
export const PHYS_POSTED_INTR = 4;    // POSTED_INTR_VECTOR 0xf2 (PINV while the vCPU runs)
export const PHYS_POSTED_WAKEUP = 8;  // POSTED_INTR_WAKEUP_VECTOR 0xf1 (PINV while blocked, VT-d)
/** POSTED_INTR_NESTED_VECTOR 0xf0: vmcs02's PINV where it is separate (in v4.13, absent in v4.11). */
export const PHYS_POSTED_NESTED = 16;
/**
 * LOCAL_TIMER_VECTOR 0xec: the host's own APIC timer interrupt on this pCPU, at the expiry of the guest timer's
 * hrtimer (hrtimer_interrupt → apic_timer_fn). On the vCPU's pCPU: HRTIMER_MODE_ABS_PINNED in v4.x; v6.12 arms it
 * with HRTIMER_MODE_ABS_HARD from the vCPU thread (a busy CPU keeps its timers) and __kvm_migrate_apic_timer moves it
 * along at vcpu_load; vCPU i is pinned on pCPU i here.
 */
export const PHYS_LOCAL_TIMER = 32;

/**
 * Entry-path position. 0 is the top of the vcpu_run loop (kvm_vcpu_running); the others
 * index the version's vcpu_enter_guest step order (vcpu_enter_guest.ts).
 */
export const PC_LOOP = 0;

/** What the last notification for the current ON=1 episode became (trace only, whereStuck). */
export const enum OnFate {
  None = 0,
  /** Notification IPI in flight to the pCPU. */
  IpiPending = 1,
  /** kvm_vcpu_trigger_posted_interrupt found OUTSIDE_GUEST_MODE and the kick did nothing. */
  KickNoop = 2,
  /** The notification reached the pCPU in root with IRQs on while mode == IN_GUEST_MODE. */
  SwallowedInGuestMode = 3,
  /** The notification reached the pCPU in root with IRQs on while mode != IN_GUEST_MODE. */
  SwallowedOutside = 4,
  /**
   * The notification reached the pCPU while L2 ran with vmcs02's PINV = POSTED_INTR_VECTOR
   * (L1 gives L2 posted interrupts, v4.10/v4.11): the CPU processed L2's descriptor instead.
   */
  ConsumedByL2 = 5,
}

