// L0's emulated local APIC for L1 (Linux arch/x86/kvm/lapic.c + irq.c of the v3.x era, no
// APICv, no TPR shadow): IRR/ISR/TMR/TPR/PPR in software, every guest access traps.
// What matters for the nested bug is how it signals L0's run loop: a newly set IRR bit, a
// PPR decrease, an EOI all make KVM_REQ_EVENT; an accept that collapses into an IRR bit
// already set makes nothing (no request, no kick).
import { computePpr, prioClass, vecSet, vsAdd, vsDel, vsHas, vsHighest, type VecSet } from '../../apic/vecset.js';

/** The vCPU side of kvm_make_request(KVM_REQ_EVENT, apic->vcpu). */
export interface ApicOwner {
  makeRequestEvent(): void;
}

export class KvmLapic {
  readonly irr: VecSet = vecSet();
  readonly isr: VecSet = vecSet();
  readonly tmr: VecSet = vecSet();
  /** Diagnostics: TMR bits apic_set_eoi cleared and no level acceptance has set again. */
  readonly tmrClearedByEoi: VecSet = vecSet();
  tpr = 0;
  /** APIC_PROCPRI as stored; every path that changes TPR or ISR calls apic_update_ppr. */
  ppr = 0;
  esr = 0;
  /** Set by apic_set_eoi: the EOI'd vector was level-triggered (TMR bit was set). */
  eoiLevel = false;

  constructor(private readonly owner: ApicOwner) {}

  /** apic_update_ppr: a PPR decrease may unmask a pending vector, so it makes KVM_REQ_EVENT. */
  updatePpr(): void {
    const old = this.ppr;
    const ppr = computePpr(this.tpr, vsHighest(this.isr));
    if (ppr !== old) {
      this.ppr = ppr;
      if (ppr < old) this.owner.makeRequestEvent();
    }
  }

  /** apic_set_tpr (reached through the CR8-load or APIC-access exit). */
  setTpr(tpr: number): void {
    this.tpr = tpr & 0xff;
    this.updatePpr();
  }

  /**
   * __apic_accept_irq, APIC_DM_FIXED: TMR follows the trigger mode, then test-and-set IRR.
   * Returns true when the IRR bit was newly set; only then does the caller make
   * KVM_REQ_EVENT and kick (a collapsed accept does neither).
   */
  acceptFixed(vector: number, level: boolean): boolean {
    if (level) vsAdd(this.tmr, vector);
    else vsDel(this.tmr, vector);
    vsDel(this.tmrClearedByEoi, vector);
    if (vsHas(this.irr, vector)) return false;
    vsAdd(this.irr, vector);
    return true;
  }

  /** kvm_apic_has_interrupt: the highest IRR vector whose class is above PPR, or -1. */
  hasInterrupt(): number {
    this.updatePpr();
    const v = vsHighest(this.irr);
    if (v < 0 || prioClass(v) <= prioClass(this.ppr)) return -1;
    return v;
  }

  /** kvm_get_apic_interrupt: the INTA (IRR → ISR, PPR update). */
  getInterrupt(): number {
    const v = this.hasInterrupt();
    if (v < 0) return -1;
    vsAdd(this.isr, v);
    this.updatePpr();
    vsDel(this.irr, v);
    return v;
  }

  /**
   * apic_set_eoi: clear the highest ISR bit, update PPR, and (this era) test-and-clear the
   * TMR bit to decide whether the I/O APIC gets a level EOI. Returns the vector or -1.
   */
  setEoi(): number {
    const v = vsHighest(this.isr);
    this.eoiLevel = false;
    if (v < 0) return -1;
    vsDel(this.isr, v);
    this.updatePpr();
    if (vsHas(this.tmr, v)) {
      vsDel(this.tmr, v);
      vsAdd(this.tmrClearedByEoi, v);
      this.eoiLevel = true;
    }
    return v;
  }
}
