// The Xen code versions this backend models. Each field selects one real code shape, read
// in xen-project/xen at the cited commit; a variant differs from another only where the
// source differs. The vlapic / SVM / vIOAPIC paths every variant shares are the same code
// in all four trees (svm/intr.c, svm/svm.c, hvm/irq.c, hvm/vioapic.c, hvm_hlt).

export type XenVariant = 'first' | 'pre-fix' | 'rework' | '4.22';

export interface XenCode {
  /**
   * The APIC-assist state machine (viridian.c, later viridian/synic.c, and its callers in
   * vlapic.c):
   *  - 'latch-2016' (10a674b4): a latched vector, -1 when none; initialize_apic_assist
   *    resets it; vlapic_has_pending_irq aborts only when ISR priority >= IRR priority;
   *    vlapic_ack_pending_irq starts an assist unless the lowest ISR vector is below;
   *  - 'latch-2017' (78c5f59e + 4361e80d, as in 48a933ee): a latched vector, 0 when none,
   *    not reset by the MSR write; abort whenever anything is in service; start only
   *    with ISR empty; a completed assist only clears the ISR bit;
   *  - 'pending' (66bf4ef0, today's synic.c): a boolean; a missed EOI is a full
   *    vlapic_EOI_set, a normal EOI clears the bit.
   */
  assist: 'latch-2016' | 'latch-2017' | 'pending';
  /** vlapic_set_irq clears TMR on edge acceptance (12a50030, 2018-03-15); before, EOI cleared it. */
  tmrClearedOnEdge: boolean;
  /** ESR writes publish the errors latched since the last write (b28b590d, 2024-11-28). */
  esrLatched: boolean;
  /**
   * set_x2apic_id derives the x2APIC LDR from the APIC ID (vcpu_id * 2) as the SDM does
   * (90309854fd, 2023-11-29); before, from vcpu_id while the ID was already vcpu_id * 2.
   */
  x2apicLdrFromId: boolean;
  /**
   * vmsi_deliver and vioapic_deliver (dest_Fixed) skip a vlapic that is not vlapic_enabled()
   * (f1d7aac1e3, 2022-12-02); before, a software-disabled vlapic took the vector into IRR
   * (IPIs always checked, in vlapic_accept_irq).
   */
  fixedIrqChecksEnabled: boolean;
  /**
   * vlapic_reg_write(APIC_LVTT) and APIC_TMICT:
   *  - 'lvtt-2016' (10a674b4): any change of the LVTT timer mode (one-shot ↔ periodic too)
   *    destroy_periodic_time()s the timer and zeroes TMICT; an LVTT write that keeps the mode
   *    leaves the periodic_time (and a tick it suspended while masked) alone; TMICT writes
   *    create_periodic_time directly;
   *  - 'update-timer' (e4e1896b2c, d8ce0309c1, f343f66759, 2017-08-25, in 48a933ee and later):
   *    every LVTT/TMICT write goes through vlapic_update_timer, which re-creates the timer from
   *    the count left (one-shot ↔ periodic keeps it running) or destroys it.
   */
  lvtt: 'lvtt-2016' | 'update-timer';
}

export const CODE: Record<XenVariant, XenCode> = {
  first: { assist: 'latch-2016', tmrClearedOnEdge: false, esrLatched: false, x2apicLdrFromId: false, fixedIrqChecksEnabled: false, lvtt: 'lvtt-2016' },
  'pre-fix': { assist: 'latch-2017', tmrClearedOnEdge: false, esrLatched: false, x2apicLdrFromId: false, fixedIrqChecksEnabled: false, lvtt: 'update-timer' },
  rework: { assist: 'pending', tmrClearedOnEdge: false, esrLatched: false, x2apicLdrFromId: false, fixedIrqChecksEnabled: false, lvtt: 'update-timer' },
  '4.22': { assist: 'pending', tmrClearedOnEdge: true, esrLatched: true, x2apicLdrFromId: true, fixedIrqChecksEnabled: true, lvtt: 'update-timer' },
};

export function isXenVariant(v: string): v is XenVariant {
  return v === 'first' || v === 'pre-fix' || v === 'rework' || v === '4.22';
}
