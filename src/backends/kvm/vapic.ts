// Virtual-interrupt delivery hardware (SDM 29.1-29.2, 29.6) on vmcs01: the virtual-APIC page
// (VIRR, VISR, VTPR, VPPR, TMR; KVM's apic->regs is this page, so lapic.c's IRR is VIRR), the
// guest-interrupt-status field (RVI, SVI), the EOI-exit bitmap and the window-exiting controls.
// These functions are what the processor does; KVM's software side is in lapic.ts and sync.ts.
import { computePpr, vecSet, vsAdd, vsDel, vsHas, vsHighest, vsOr, vsClear, type VecSet } from '../../apic/vecset.js';
import { pi_clear_on, type PiDesc } from './pi_desc.js';

export class VApic {
  readonly virr: VecSet = vecSet();
  readonly visr: VecSet = vecSet();
  readonly tmr: VecSet = vecSet();
  /** EOI_EXIT_BITMAP0..3 (loaded by vmx_load_eoi_exitmap). */
  readonly eoiExit: VecSet = vecSet();
  vtpr = 0;
  vppr = 0;
  /** GUEST_INTR_STATUS low byte. */
  rvi = 0;
  /** GUEST_INTR_STATUS high byte. */
  svi = 0;
  /** Result of the last evaluation of pending virtual interrupts (SDM 29.2.1). */
  recognized = false;
  /** CPU_BASED_VIRTUAL_INTR_PENDING (interrupt-window exiting). */
  irqWindowExiting = false;
  /** CPU_BASED_VIRTUAL_NMI_PENDING (NMI-window exiting). */
  nmiWindowExiting = false;
  /**
   * TPR_THRESHOLD (bits 3:0), written by vmx_update_cr8_intercept; only used without virtual-interrupt delivery
   * (SDM 29.1.2: a TPR write that leaves VTPR[7:4] below it is a trap-like TPR-below-threshold exit).
   */
  tprThreshold = 0;
}

/** PPR virtualization (SDM 29.1.3): from VTPR and SVI. */
export function ppr_virtualization(va: VApic): void {
  va.vppr = computePpr(va.vtpr, va.svi);
}

/** Evaluation of pending virtual interrupts (SDM 29.2.1). */
export function evaluate_pending_virtual_interrupts(va: VApic): void {
  va.recognized = !va.irqWindowExiting && (va.rvi >>> 4) > (va.vppr >>> 4);
}

/** VM entry with virtual-interrupt delivery (SDM 26.3.2.5): PPR virtualization, then evaluation. */
export function vmentry_vid(va: VApic): void {
  ppr_virtualization(va);
  evaluate_pending_virtual_interrupts(va);
}

/**
 * Virtual-interrupt delivery (SDM 29.2.2). The caller checked recognition and the guest's
 * interruptibility; returns the vector taken through the guest IDT.
 */
export function virtual_interrupt_delivery(va: VApic): number {
  const v = va.rvi;
  vsAdd(va.visr, v);
  va.svi = v;
  va.vppr = v & 0xf0;
  vsDel(va.virr, v);
  const next = vsHighest(va.virr);
  va.rvi = next < 0 ? 0 : next;
  va.recognized = false;
  return v;
}

/**
 * EOI virtualization (SDM 29.1.4). Returns the vector when the EOI-exit bitmap asks for an
 * EOI-induced VM exit (trap-like), else -1 after evaluating pending virtual interrupts.
 */
export function eoi_virtualization(va: VApic): number {
  const v = va.svi;
  vsDel(va.visr, v);
  const next = vsHighest(va.visr);
  va.svi = next < 0 ? 0 : next;
  ppr_virtualization(va);
  if (vsHas(va.eoiExit, v)) return v;
  evaluate_pending_virtual_interrupts(va);
  return -1;
}

/** TPR virtualization with VID (SDM 29.1.2): MOV to CR8, or a virtualized TPR write. */
export function tpr_virtualization(va: VApic, vtpr: number): void {
  va.vtpr = vtpr & 0xff;
  ppr_virtualization(va);
  evaluate_pending_virtual_interrupts(va);
}

/** Self-IPI virtualization (SDM 29.1.5). */
export function self_ipi_virtualization(va: VApic, v: number): void {
  vsAdd(va.virr, v);
  if (v > va.rvi) va.rvi = v;
  evaluate_pending_virtual_interrupts(va);
}

/**
 * Posted-interrupt processing (SDM 29.6) for a notification that arrives in non-root: clear
 * ON, move PIR into VIRR atomically, RVI := max(RVI, highest PIR), evaluate.
 */
export function posted_interrupt_processing(va: VApic, pi: PiDesc): void {
  pi_clear_on(pi);
  const hi = vsHighest(pi.pir);
  vsOr(va.virr, pi.pir);
  vsClear(pi.pir);
  if (hi > va.rvi) va.rvi = hi;
  evaluate_pending_virtual_interrupts(va);
}
