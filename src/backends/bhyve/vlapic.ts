// bhyve's software local APIC (sys/amd64/vmm/io/vlapic.c) as SVM uses it: the vlapic_ops
// hooks are all NULL on AMD, so the generic IRR/ISR/TMR code runs and the only IRR→ISR
// move is vlapic_intr_accepted. PPR follows the isrvec_stk top, not an ISR scan.
// Two placements of vlapic_update_ppr are modelled: the 2018 code recomputes PPR at the end of
// vlapic_intr_accepted; today's main (freebsd-src@0162500b7d2d) no longer does, and
// vlapic_pending_intr recomputes it first instead, so the stored PPR (what a guest read
// returns) is stale from an acceptance until the next vlapic_pending_intr, EOI or TPR change.
import { prioClass, vecSet, vsAdd, vsDel, vsHas, vsHighest, vsTestAndAdd } from '../../apic/vecset.js';
import type { ApicMode, Shorthand } from '../../scenario/types.js';

export const APIC_ESR_SEND_ILLEGAL_VECTOR = 0x20;
export const APIC_ESR_RECEIVE_ILLEGAL_VECTOR = 0x40;
/** apicreg.h APIC_SVR_ENABLE. */
export const APIC_SVR_ENABLE = 0x100;
/**
 * lapic->version as vlapic_reset sets it: VLAPIC_VERSION | VLAPIC_MAXLVT_INDEX << MAXLVTSHIFT, with
 * VLAPIC_MAXLVT_INDEX = APIC_LVT_CMCI = 6 and MAXLVTSHIFT = 16. VLAPIC_VERSION is 16 in the 2015-2018
 * vlapic.c (coder03/freebsd10.4@3d3f8b1, freebsd-src@1f08342a1ca0) and 0x14 in today's
 * (freebsd-src@0162500b7d2d).
 */
export const VLAPIC_VERSION_2018 = 0x00060010;
export const VLAPIC_VERSION_MAIN = 0x00060014;

/** ISRVEC_STK_SIZE in vlapic_priv.h: 16 nesting levels plus the placeholder at index 0. */
const ISRVEC_STK_SIZE = 16 + 1;
/** VM_MAXCPU in the modelled tree (vm_apicid2vcpuid maps APIC ID = vcpuid). */
const VM_MAXCPU = 16;

/** LVT indices (vlapic_priv.h APIC_LVT_*) of the entries modelled. */
export const APIC_LVT_LINT0 = 3;
export const APIC_LVT_LINT1 = 4;

/**
 * One LVT entry as vlapic_lvt_write_handler stores it in lvt_last[]: mask, delivery mode (fixed or
 * NMI; ExtINT is not in the scenario language) and the vector. The LINT entries keep their trigger
 * mode bit (APIC_LVT_TM is in the handler's mask) but vlapic_fire_lvt never looks at it.
 */
export class Lvt {
  vector = 0;
  /** vlapic_reset → vlapic_mask_lvts: every entry starts masked. */
  masked = true;
  nmi = false;
  level = false;
  /** Timer only: APIC_LVTT_TM_PERIODIC (TSC-deadline mode is stored, never acted on). */
  periodic = false;
}

/** Where a vlapic invariant panics; the owner turns it into sink.crash(). */
export type Panic = (where: string, message: string) => void;

export class Vlapic {
  readonly irr = vecSet();
  readonly isr = vecSet();
  readonly tmr = vecSet();
  tpr = 0;
  ppr = 0;
  /** The ESR register as the guest reads it, and the errors latched since the last ESR write. */
  esr = 0;
  esrPending = 0;
  /**
   * lapic->svr: vlapic_reset leaves APIC_SVR_VECTOR (0xFF, disabled); the guest's boot code wrote
   * 0x1FF (the scenario's initial state). svrLast is vlapic->svr_last, what the handler compares.
   */
  svr = 0x1ff;
  private svrLast = 0x1ff;
  /**
   * lapic->ldr / lapic->dfr after vlapic_set_x2apic_state and the guest's boot-time writes: the
   * xAPIC flat model with LDR bit 24 + vcpuid (vlapic_ldr_write_handler keeps bits 31:24), or
   * x2apic_ldr() and DFR 0 in x2APIC mode (read-only there).
   */
  ldr: number;
  dfr: number;
  /** lapic->id: vlapic_get_id (vlapic_id_write_handler puts it back on any write). */
  id: number;
  /** Diagnostics: the xAPIC ID the guest last wrote (bare metal's ID; bhyve keeps vcpuid). */
  archId: number;
  /** Diagnostics: LDR or DFR changed since vioapic_update_tmr last ran on this vCPU. */
  tmrStale = false;
  /** Diagnostics: an illegal vector addressed to this vCPU was dropped before it (no RECEIVE_ILLEGAL_VECTOR). */
  rivDropped = false;
  /** Diagnostics: vlapic_fire_lvt met an illegal vector and set SEND_ILLEGAL_VECTOR (the SDM's is RECEIVE). */
  lvtIllegalAsSend = false;
  readonly isrvecStk = new Uint8Array(ISRVEC_STK_SIZE);
  isrvecStkTop = 0;
  /** Diagnostics: an acceptance pushed isrvec_stk and PPR has not been recomputed since (main only). */
  pprStale = false;
  /**
   * Diagnostics: TMR bits a vioapic_update_tmr rendezvous cleared (vlapic_reset_tmr) and did
   * not set again — a vector sent or accepted as level loses its level status here.
   */
  readonly tmrReset = vecSet();
  /**
   * Diagnostics: vectors whose last accepted message was edge (vlapic_set_intr_ready's `level` is only
   * traced): bare metal's TMR bit is clear, whatever the table set here.
   */
  readonly edgeAccepted = vecSet();
  /**
   * Diagnostics: vectors last accepted as level while TMR was stale (tmrStale) and their bit clear: bare metal set
   * it. Kept per vector because the next rendezvous ends tmrStale without setting the bit when the table no longer
   * sends the vector here; cleared by the vector's next acceptance or a rendezvous that sets it.
   */
  readonly tmrStaleAccepted = vecSet();
  /** Diagnostics: the vector the last vlapic_process_eoi cleared (-1: none). */
  lastEoi = -1;

  // --- the APIC timer (vlapic_icrtmr_write_handler, vlapic_callout_handler, vlapic_get_ccr) ---
  readonly lvtTimer = new Lvt();
  readonly lvtLint: [Lvt, Lvt] = [new Lvt(), new Lvt()];
  /** lapic->icr_timer (TMICT). */
  icrTimer = 0;
  /**
   * binuptime() on this vCPU's logical clock (one unit = one tick at divide-by-1: timer_freq_bt is
   * one unit, so timer_period_bt = icr_timer units; the DCR is not in the scenario language).
   */
  now = 0;
  /** callout_active(&vlapic->callout): set by callout_reset, cleared by callout_deactivate/stop. */
  calloutActive = false;
  /** callout_pending: armed in the callout wheel and not yet expired. */
  calloutPending = false;
  /** vlapic->timer_fire_bt. */
  timerFireBt = 0;
  /** vlapic->timer_period_bt. */
  timerPeriodBt = 0;
  /**
   * Diagnostics: why this timer's expiries no longer fall where bare metal's do ('' if they
   * still do): the count stopped by a software disable, restarted by the enable, or re-based by a
   * callout that ran a whole period late.
   */
  timerPhase = '';
  /**
   * The timerPhase a TMICT write cleared: an expiry bare metal took on the old phase before the restart (and still
   * holds in IRR) is owed by that cause until bhyve's callout fires again.
   */
  timerPhaseOwed = '';

  /**
   * `lazyPpr`: main's vlapic.c, where vlapic_intr_accepted leaves PPR alone and
   * vlapic_pending_intr calls vlapic_update_ppr before it compares.
   */
  constructor(
    readonly vcpuid: number, private readonly panic: Panic, readonly lazyPpr: boolean,
    readonly mode: ApicMode, readonly version: number,
  ) {
    this.archId = vcpuid;
    if (mode === 'x2apic') {
      this.id = vcpuid;
      this.ldr = (1 << (vcpuid & 0xf) | (vcpuid & 0xffff0) << 12) >>> 0; // x2apic_ldr
      this.dfr = 0;
    } else {
      this.id = (vcpuid << 24) >>> 0;
      this.ldr = vcpuid < 8 ? ((1 << vcpuid) << 24) >>> 0 : 0;
      this.dfr = 0xffffffff;
    }
  }

  /**
   * vlapic_write(APIC_OFFSET_ID) → vlapic_id_write_handler: "We don't allow the ID register to be
   * modified so reset it back to its default value" (vcpuid << 24). Only the diagnostics keep the
   * written ID.
   */
  idWrite(value: number): void {
    this.archId = value >>> 24;
    this.id = this.mode === 'x2apic' ? this.vcpuid : (this.vcpuid << 24) >>> 0;
  }

  /**
   * vlapic_write(APIC_OFFSET_LDR) → vlapic_ldr_write_handler: xAPIC keeps bits 31:24. Nothing runs
   * vioapic_update_tmr again: TMR keeps what the last redirection-table write computed.
   */
  ldrWrite(value: number): void {
    const ldr = (value & ~0x00ffffff) >>> 0; // APIC_LDR_RESERVED
    if (ldr !== this.ldr) this.tmrStale = true;
    this.ldr = ldr;
  }

  /** vlapic_write(APIC_OFFSET_DFR) → vlapic_dfr_write_handler: the model nibble, reserved bits set. */
  dfrWrite(value: number): void {
    const dfr = ((value & 0xf0000000) | 0x0fffffff) >>> 0; // APIC_DFR_MODEL_MASK, APIC_DFR_RESERVED
    if (dfr !== this.dfr) this.tmrStale = true;
    this.dfr = dfr;
  }

  /** Software-enabled (SVR bit 8): vlapic_set_intr_ready's test. */
  enabled(): boolean {
    return (this.svr & APIC_SVR_ENABLE) !== 0;
  }

  /**
   * vlapic_set_intr_ready. Returns 1 when the caller must notify the vCPU (even on a collapse).
   * `archSent` (diagnostics): bare metal sends this message too; one it would not send (a vIOAPIC
   * re-send) leaves edgeAccepted, bare metal's TMR, as it was.
   */
  setIntrReady(vector: number, level: boolean, archSent = true): number {
    // Software-disabled: dropped before the illegal-vector check and with no notification.
    if (!this.enabled()) return 0;
    if (vector < 16) {
      this.setError(APIC_ESR_RECEIVE_ILLEGAL_VECTOR);
      return 1;
    }
    // Idempotent: a vector already pending collapses with no trace. TMR is only compared
    // with the trigger mode (a KTR trace on mismatch); it is programmed from the IOAPIC.
    vsTestAndAdd(this.irr, vector);
    // Diagnostics: the trigger mode bare metal's TMR now follows (SDM 10.8.4).
    if (archSent) {
      if (level) vsDel(this.edgeAccepted, vector); else vsAdd(this.edgeAccepted, vector);
      if (level && this.tmrStale && !vsHas(this.tmr, vector)) vsAdd(this.tmrStaleAccepted, vector); else vsDel(this.tmrStaleAccepted, vector);
    }
    return 1;
  }

  /** vlapic_update_ppr, with the always-compiled isrvec_stk consistency check. */
  updatePpr(): void {
    const isrvec = this.isrvecStk[this.isrvecStkTop]!;
    if (this.isrvecStkTop === 0 && isrvec !== 0) this.panic('vlapic_update_ppr', `isrvec_stk is corrupted: ${isrvec}`);
    for (let i = 2; i <= this.isrvecStkTop; i++) {
      if (prioClass(this.isrvecStk[i]!) <= prioClass(this.isrvecStk[i - 1]!)) {
        this.panic('vlapic_update_ppr', 'isrvec_stk does not satisfy invariant');
        break;
      }
    }
    this.ppr = prioClass(this.tpr) >= prioClass(isrvec) ? this.tpr : isrvec & 0xf0;
    this.pprStale = false;
  }

  /** What vlapic_update_ppr would store now (diagnostics: never changes state). */
  currentPpr(): number {
    const isrvec = this.isrvecStk[this.isrvecStkTop]!;
    return prioClass(this.tpr) >= prioClass(isrvec) ? this.tpr : isrvec & 0xf0;
  }

  /** vlapic_pending_intr: the highest IRR vector if its class is above PPR; no lower search. */
  pendingIntr(): number {
    // main: "vlapic_update_ppr(vlapic);" is the first statement.
    if (this.lazyPpr) this.updatePpr();
    const v = vsHighest(this.irr);
    if (v < 0) return -1;
    return prioClass(v) > prioClass(this.ppr) ? v : -1;
  }

  /** vlapic_intr_accepted: IRR → ISR, push on isrvec_stk, recompute PPR (2018 code only). */
  intrAccepted(vector: number): void {
    vsDel(this.irr, vector);
    vsAdd(this.isr, vector);
    this.isrvecStkTop++;
    if (this.isrvecStkTop >= ISRVEC_STK_SIZE) {
      this.panic('vlapic_intr_accepted', `isrvec_stk_top overflow ${this.isrvecStkTop}`);
      this.isrvecStkTop = ISRVEC_STK_SIZE - 1;
    }
    this.isrvecStk[this.isrvecStkTop] = vector;
    if (this.lazyPpr) this.pprStale = true; // main: the stack is pushed, lapic->ppr is not touched
    else this.updatePpr();
  }

  /**
   * vlapic_process_eoi: clear the highest ISR bit and pop the stack. Returns the vector
   * when its TMR bit is set (the caller forwards the EOI to the vIOAPIC), else -1.
   */
  processEoi(): number {
    const v = vsHighest(this.isr);
    this.lastEoi = v;
    if (v < 0) return -1; // "Gratuitous EOI": counted, nothing else
    if (this.isrvecStkTop <= 0) {
      this.panic('vlapic_process_eoi', `invalid vlapic isrvec_stk_top ${this.isrvecStkTop}`);
      vsDel(this.isr, v);
      return -1;
    }
    vsDel(this.isr, v);
    this.isrvecStkTop--;
    this.updatePpr();
    return vsHas(this.tmr, v) ? v : -1;
  }

  /** vlapic_set_tpr: PPR is recomputed only when the value changes. */
  setTpr(val: number): void {
    if (this.tpr !== val) {
      this.tpr = val & 0xff;
      this.updatePpr();
    }
  }

  /** vlapic_set_cr8: TPR = CR8 << 4, i.e. TPR[3:0] is cleared. */
  setCr8(val: number): void {
    this.setTpr((val & 0xf) << 4);
  }

  /** vlapic_get_cr8. */
  getCr8(): number {
    return this.tpr >>> 4;
  }

  /** vlapic_set_error: latched in esr_pending; the error LVT stays masked in this model. */
  setError(mask: number): void {
    this.esrPending |= mask;
  }

  /** vlapic_esr_write_handler: an ESR write publishes the latched errors. */
  esrWrite(): void {
    this.esr = this.esrPending;
    this.esrPending = 0;
  }

  /**
   * vlapic_write(APIC_OFFSET_SVR): lapic->svr = data, then vlapic_svr_write_handler. On a change of
   * APIC_SVR_ENABLE it stops the timer callout and masks every LVT (disable) or restarts a periodic
   * timer (enable); neither the timer nor the LVTs are modelled, so nothing else changes: IRR, ISR,
   * TMR and isrvec_stk are left as they are, and vlapic_pending_intr does not look at SVR.
   * Returns true when the enable bit changed.
   */
  svrWrite(value: number): boolean {
    this.svr = value >>> 0;
    const changed = (this.svrLast ^ this.svr) & APIC_SVR_ENABLE;
    this.svrLast = this.svr;
    if (changed === 0) return false;
    if (!this.enabled()) {
      // "The apic is now disabled so stop the apic timer and mask all the LVT entries."
      if (this.calloutActive && this.icrTimer !== 0 && this.timerFireBt > this.now) this.timerPhase = 'timer-stopped-by-sw-disable';
      this.calloutStop();
      this.lvtTimer.masked = true; // vlapic_mask_lvts
      this.lvtLint[0].masked = true;
      this.lvtLint[1].masked = true;
    } else if (this.lvtTimer.periodic) {
      // "The apic is now enabled so restart the apic timer if it is configured in periodic mode."
      if (this.icrTimer !== 0) this.timerPhase = 'timer-restarted-by-sw-enable';
      this.icrtmrWriteHandler();
    }
    return true;
  }

  /**
   * vlapic_write(APIC_OFFSET_TIMER_LVT / LINT0 / LINT1) → vlapic_lvt_write_handler: stored with
   * APIC_LVT_M forced while software-disabled. Nothing touches the callout: a mode change keeps
   * the count running (and a TSC-deadline mode is stored but never acted on: x86_emulate_cpuid
   * hides CPUID2_TSCDLT, "No TSC deadline support in the APIC yet").
   */
  lvtWrite(lvt: Lvt, vector: number, masked: boolean, nmi: boolean, level: boolean, periodic: boolean): void {
    lvt.vector = vector & 0xff;
    lvt.masked = masked || !this.enabled();
    lvt.nmi = nmi;
    lvt.level = level;
    lvt.periodic = periodic;
  }

  /** vlapic_write(APIC_OFFSET_TIMER_ICR): lapic->icr_timer = data, vlapic_icrtmr_write_handler. */
  icrtmrWrite(count: number): void {
    this.icrTimer = count >>> 0;
    if (this.timerPhase) this.timerPhaseOwed = this.timerPhase;
    this.timerPhase = '';
    this.icrtmrWriteHandler();
  }

  /** vlapic_icrtmr_write_handler: the count starts now (callout_reset), or stops (0). */
  icrtmrWriteHandler(): void {
    this.timerPeriodBt = this.icrTimer; // timer_freq_bt (one unit) * icr_timer
    if (this.icrTimer !== 0) {
      this.timerFireBt = this.now + this.timerPeriodBt;
      this.calloutActive = true;
      this.calloutPending = true;
    } else {
      this.calloutStop();
    }
  }

  /** callout_stop. */
  calloutStop(): void {
    this.calloutActive = false;
    this.calloutPending = false;
  }

  /** The callout wheel reached timer_fire_bt: the callout is dequeued (no longer pending) to run. */
  calloutExpired(): boolean {
    if (!this.calloutPending || this.timerFireBt > this.now) return false;
    this.calloutPending = false;
    return true;
  }

  /**
   * vlapic_callout_handler up to vlapic_fire_timer: returns false when the callout was reset or
   * stopped since it expired ("goto done"), else deactivates it (the caller fires the LVT).
   */
  calloutHandlerBegin(): boolean {
    if (this.calloutPending) return false; // "callout was reset"
    if (!this.calloutActive) return false; // "callout was stopped"
    this.calloutActive = false; // callout_deactivate
    return true;
  }

  /**
   * The rest of vlapic_callout_handler: a periodic timer is re-armed from timer_fire_bt, less the
   * time the callout ran late, unless it ran a whole period late: then "just reset our time base
   * instead of trying to catch up" (the next expiry is a period from now, not on the old phase).
   */
  calloutHandlerRearm(): void {
    this.timerPhaseOwed = ''; // the callout fired: bhyve's own expiry is in IRR now
    if (!this.lvtTimer.periodic) return;
    const late = this.now - this.timerFireBt;
    if (late >= this.timerPeriodBt) {
      this.timerFireBt = this.now;
      this.timerPhase = 'timer-rebased-after-lag';
    }
    this.timerFireBt += this.timerPeriodBt;
    this.calloutActive = true; // callout_reset
    this.calloutPending = true;
  }

  /** vlapic_get_ccr: the time left to timer_fire_bt while the callout is active, else 0. */
  getCcr(): number {
    if (!this.calloutActive || this.timerFireBt <= this.now) return 0;
    return this.timerFireBt - this.now;
  }

  /** vlapic_set_tmr. */
  setTmr(vector: number, level: boolean): void {
    if (level) vsAdd(this.tmr, vector); else vsDel(this.tmr, vector);
    vsDel(this.tmrReset, vector);
    if (level) vsDel(this.tmrStaleAccepted, vector);
  }

  /** vlapic_reset_tmr: every vector edge-triggered (the caller then sets the level pins' bits). */
  resetTmr(): void {
    this.tmrStale = false;
    for (let w = 0; w < 8; w++) this.tmrReset[w] = (this.tmrReset[w]! | this.tmr[w]!) >>> 0;
    this.tmr.fill(0);
  }
}

/**
 * vlapic_calcdest: the destination set (bit i = vCPU i). With `lowprio` a logical destination stops at
 * its first match; a broadcast still returns every active vCPU and a physical one its one vCPU. Physical: APIC ID =
 * vcpuid (vm_apicid2vcpuid). Logical: each vlapic matched with its own DFR model and LDR — flat
 * (LDR[31:24] against the 8-bit MDA), or cluster (xAPIC: LDR[31:28] cluster, [27:24] members;
 * x2APIC: LDR[31:16] / [15:0]); any other DFR model is skipped. `x2apicDest` selects how the MDA is
 * read: 32-bit for an x2APIC ICR, legacy 8-bit for IOAPIC and MSI messages.
 */
export function vlapicCalcdest(vlapics: readonly Vlapic[], dest: number, phys: boolean, x2apicDest: boolean, lowprio = false): number {
  const vcpus = vlapics.length;
  const active = (1 << vcpus) - 1;
  if ((x2apicDest && dest === 0xffffffff) || (!x2apicDest && dest === 0xff)) return active;
  if (phys) {
    return dest < VM_MAXCPU && dest < vcpus ? 1 << dest : 0;
  }
  let mask = 0;
  const mdaFlat = dest & 0xff;
  const mdaClusterId = x2apicDest ? dest >>> 16 : (dest >>> 4) & 0xf;
  const mdaClusterLdest = x2apicDest ? dest & 0xffff : dest & 0xf;
  for (let i = 0; i < vcpus; i++) {
    const vl = vlapics[i]!;
    const model = vl.dfr >>> 28;
    let ldest: number, mda: number;
    if (model === 0xf) {
      ldest = vl.ldr >>> 24;
      mda = mdaFlat;
    } else if (model === 0) {
      const cluster = vl.mode === 'x2apic' ? vl.ldr >>> 16 : vl.ldr >>> 28;
      ldest = vl.mode === 'x2apic' ? vl.ldr & 0xffff : (vl.ldr >>> 24) & 0xf;
      if (cluster !== mdaClusterId) continue;
      mda = mdaClusterLdest;
    } else {
      continue; // "vlapic has bad logical model"
    }
    if ((mda & ldest) !== 0) {
      mask |= 1 << i;
      if (lowprio) break; // lowest priority: the first match in vcpuid order (CPU_FOREACH_ISSET)
    }
  }
  return mask;
}

/** What vlapic_icrlo_write_handler needs from the VM. */
export interface IcrTarget {
  readonly vcpus: number;
  readonly mode: ApicMode;
  readonly vlapic: readonly Vlapic[];
  /** lapic_intr_edge(vm, i, vec). */
  lapicIntrEdge(target: number, vector: number, sender: number): void;
  /** vm_inject_nmi(vm, i). */
  vmInjectNmi(target: number, sender: number): void;
}

/**
 * vlapic_icrlo_write_handler for FIXED and NMI IPIs. A FIXED IPI with vector < 16 sets
 * SEND_ILLEGAL_VECTOR in the sender's ESR and is dropped: no receiver sees it.
 */
export function vlapicIcrloWriteHandler(
  vm: IcrTarget, sender: Vlapic, vector: number, nmi: boolean,
  shorthand: Shorthand, logical: boolean, dest: number,
): void {
  const active = (1 << vm.vcpus) - 1;
  let dmask: number;
  switch (shorthand) {
    case 'self': dmask = 1 << sender.vcpuid; break;
    case 'all': dmask = active; break;
    case 'others': dmask = active & ~(1 << sender.vcpuid); break;
    default: dmask = vlapicCalcdest(vm.vlapic, dest, !logical, vm.mode === 'x2apic'); break;
  }
  if (!nmi && vector < 16) {
    sender.setError(APIC_ESR_SEND_ILLEGAL_VECTOR);
    // Diagnostics: bare metal's receivers would latch RECEIVE_ILLEGAL_VECTOR; none is reached here.
    for (let i = 0; i < vm.vcpus; i++) if ((dmask & (1 << i)) !== 0) vm.vlapic[i]!.rivDropped = true;
    return;
  }
  // Targets in ascending order (CPU_FFS).
  for (let i = 0; i < vm.vcpus; i++) {
    if ((dmask & (1 << i)) === 0) continue;
    if (nmi) vm.vmInjectNmi(i, sender.vcpuid);
    else vm.lapicIntrEdge(i, vector, sender.vcpuid);
  }
}

export function isrvecStkString(v: Vlapic): string {
  let s = '';
  for (let i = 1; i <= v.isrvecStkTop; i++) s += (i > 1 ? ',' : '') + '0x' + v.isrvecStk[i]!.toString(16);
  return `[${s}]`;
}

