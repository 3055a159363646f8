// ACRN's software vLAPIC (hypervisor/arch/x86/guest/vlapic.c): the accept paths of both APICv
// modes (apicv_basic_accept_intr / apicv_advanced_accept_intr, and the 2018
// vlapic_set_intr_ready), the basic-mode injection (vlapic_find_deliverable_intr →
// VM-entry interruption information → vlapic_get_deliverable_intr), PPR (from isrv, or from the
// 2018 isrvec_stk), the TPR threshold, EOI processing, the TMR with its EOI-exit bitmap, the
// software PIR sync of 2018/2019 (vlapic_apicv_inject_pir) and the 2020 self-IPI
// (apicv_advanced_inject_intr).
import { matchDest } from '../../apic/dest.js';
import { vsAdd, vsDel, vsEmpty, vsHas, vsHighest, vsTestAndAdd } from '../../apic/vecset.js';
import type { Shorthand } from '../../scenario/types.js';
import { Inj, PHYS_NV, REQ_EOI_EXIT_BITMAP_UPDATE, REQ_EVENT } from './consts.js';
import { ISRVEC_STK_SIZE, type Acrn, type AcrnVcpu } from './state.js';
import { vcpu_make_request } from './schedule.js';

export const APIC_ESR_SEND_ILLEGAL_VECTOR = 0x20;
export const APIC_ESR_RECEIVE_ILLEGAL_VECTOR = 0x40;

export function prio(v: number): number {
  return (v >>> 4) & 0xf;
}

/** vlapic_find_highest_irr: 0 when IRR is empty. */
export function vlapic_find_highest_irr(t: AcrnVcpu): number {
  const v = vsHighest(t.page.irr);
  return v < 0 ? 0 : v;
}

/** vlapic_set_error: latched in esr_pending until the guest writes ESR. */
export function vlapic_set_error(t: AcrnVcpu, mask: number): void {
  t.esrPending |= mask;
}

/** vlapic_write_esr. */
export function vlapic_write_esr(t: AcrnVcpu): void {
  t.page.esr = t.esrPending;
  t.esrPending = 0;
  t.rivSkippedShown = t.rivSkippedPending;
  t.rivSkippedPending = false;
}

/** vlapic_update_ppr, from isrv (2019+) or from the top of isrvec_stk with its 2018 consistency checks. */
export function vlapic_update_ppr(acrn: Acrn, t: AcrnVcpu): void {
  let isrv: number;
  if (acrn.code.isr === 'isrvec-stk') {
    isrv = t.isrvecStk[t.isrvecStkTop]!;
    if (t.isrvecStkTop === 0 && isrv !== 0) {
      panic(acrn, t, 'vlapic_update_ppr:isrvec_stk-corrupted', `isrvec_stk is corrupted: ${isrv}`);
      return;
    }
    for (let i = 2; i <= t.isrvecStkTop; i++) {
      if (prio(t.isrvecStk[i]!) <= prio(t.isrvecStk[i - 1]!)) {
        panic(acrn, t, 'vlapic_update_ppr:isrvec_stk-invariant', 'isrvec_stk does not satisfy invariant');
        return;
      }
    }
    // Each ISR bit, in ascending order, must be the next entry of the stack.
    let i = 1;
    for (let v = 0; v < 256; v++) {
      if (!vsHas(t.page.isr, v)) continue;
      if (i > t.isrvecStkTop || (i < ISRVEC_STK_SIZE && t.isrvecStk[i] !== v)) {
        panic(acrn, t, 'vlapic_update_ppr:isr-and-isrvec_stk-out-of-sync', 'ISR and isrvec_stk out of sync');
        return;
      }
      i++;
    }
  } else {
    isrv = t.isrv;
  }
  const tpr = t.page.tpr;
  t.page.ppr = prio(tpr) >= prio(isrv) ? tpr : isrv & 0xf0;
  t.pprStaleByTpr = false;
}

/** vlapic_find_deliverable_intr (vlapic_pending_intr in 2018): the highest IRR vector if it beats PPR, else -1. */
export function vlapic_find_deliverable_intr(t: AcrnVcpu): number {
  const v = vlapic_find_highest_irr(t);
  return prio(v) > prio(t.page.ppr) ? v : -1;
}

/** vlapic_get_deliverable_intr (vlapic_intr_accepted in 2018): IRR → ISR, isrv (or the stack), PPR. */
export function vlapic_get_deliverable_intr(acrn: Acrn, t: AcrnVcpu, v: number): void {
  vsDel(t.page.irr, v);
  vsAdd(t.page.isr, v);
  if (acrn.code.isr === 'isrvec-stk') {
    t.isrvecStkTop++;
    if (t.isrvecStkTop >= ISRVEC_STK_SIZE) {
      panic(acrn, t, 'vlapic_intr_accepted:isrvec_stk-overflow', `isrvec_stk_top overflow ${t.isrvecStkTop}`);
      t.isrvecStkTop = ISRVEC_STK_SIZE - 1;
      return;
    }
    t.isrvecStk[t.isrvecStkTop] = v;
  } else {
    t.isrv = v;
  }
  vlapic_update_ppr(acrn, t);
}

/**
 * vlapic_process_eoi. Returns the vector when its TMR bit is set (the caller broadcasts the
 * EOI to the vIOAPIC after the request), else -1.
 */
export function vlapic_process_eoi(acrn: Acrn, t: AcrnVcpu): number {
  if (acrn.code.isr === 'isrvec-stk') {
    const v = vsHighest(t.page.isr);
    if (v < 0) return -1; // "Gratuitous EOI"
    if (t.isrvecStkTop === 0) {
      panic(acrn, t, 'vlapic_process_eoi:isrvec_stk_top', `invalid vlapic isrvec_stk_top ${t.isrvecStkTop}`);
      return -1;
    }
    vsDel(t.page.isr, v);
    t.isrvecStkTop--;
    vlapic_update_ppr(acrn, t);
    return vsHas(t.page.tmr, v) ? v : -1;
  }
  if (t.isrv === 0) return -1;
  const v = t.isrv;
  vsDel(t.page.isr, v);
  const h = vsHighest(t.page.isr);
  t.isrv = h < 0 ? 0 : h;
  vlapic_update_ppr(acrn, t);
  const level = vsHas(t.page.tmr, v) ? v : -1;
  if (acrn.code.eoiEvent) vcpu_make_request(acrn, t, REQ_EVENT, t.id);
  return level;
}

/** vlapic_update_tpr_threshold (basic mode, 2019+). */
export function vlapic_update_tpr_threshold(t: AcrnVcpu): void {
  const irr = vlapic_find_highest_irr(t) >>> 4;
  const tpr = (t.page.tpr & 0xf0) >>> 4;
  const threshold = irr > tpr ? 0 : irr;
  t.tprThresholdWritten = threshold;
  t.tprThreshold = threshold; // exec_vmwrite32(VMX_TPR_THRESHOLD, threshold)
}

/** vcpu_set_eoi_exit_bitmap / vcpu_clear_eoi_exit_bitmap: a change makes EOI_EXIT_BITMAP_UPDATE. */
function set_eoi_exit(acrn: Acrn, t: AcrnVcpu, v: number, on: boolean, from: number): void {
  const was = vsHas(t.eoiExit, v);
  if (was === on) return;
  if (on) vsAdd(t.eoiExit, v); else vsDel(t.eoiExit, v);
  vcpu_make_request(acrn, t, REQ_EOI_EXIT_BITMAP_UPDATE, from);
}

/** vlapic_set_tmr (2019+): level sets TMR and the EOI-exit bit, edge clears both. */
export function vlapic_set_tmr(acrn: Acrn, t: AcrnVcpu, v: number, level: boolean, from: number): void {
  if (level) {
    if (!vsTestAndAdd(t.page.tmr, v)) set_eoi_exit(acrn, t, v, true, from);
  } else if (vsHas(t.page.tmr, v)) {
    vsDel(t.page.tmr, v);
    set_eoi_exit(acrn, t, v, false, from);
  }
}

/** Diagnostics (2019+): vlapic_set_tmr is about to write TMR for this message; one bare metal does not accept here is noted (tmrExtraWhy). */
function note_tmr_write(t: AcrnVcpu, v: number, extra: string): void {
  t.tmrExtraWhy[v] = extra;
}

/**
 * ops->accept_intr for a vector >= 16, run by the sender on pCPU `from` (-1: device context).
 * Basic: IRR test-and-set; only a new bit updates TMR and makes EVENT (with the kick).
 * Advanced: TMR, PIR test-and-set, ON test-and-set; a 0 → 1 ON sets EVENT (no kick) and sends
 * the notification vector to a remote pCPU. 2018 (VID without posted interrupts): a software
 * PIR and 'pending' flag, and vlapic_set_intr makes EVENT with the kick.
 */
export function accept_intr(acrn: Acrn, t: AcrnVcpu, v: number, level: boolean, from: number): void {
  const code = acrn.code;
  // Diagnostics: why bare metal does not accept this message here ('' when it does): a vIOAPIC message it never sends,
  // a device message its addressing sends elsewhere. Bare metal's TMR follows only the messages it accepts here (a
  // redirection write's re-send collapsing into the level message of its vector leaves edgeAccepted as it was).
  const extra = acrn.vioapic.extraSendWhy || t.acceptWhy;
  if (!extra) { if (level) vsDel(t.edgeAccepted, v); else vsAdd(t.edgeAccepted, v); }
  // Diagnostics: TMR follows this message on both sides from here (2019+: vlapic_set_tmr below; 2018: bare metal's
  // acceptance, while ACRN's TMR is the table's and edgeAccepted names that).
  vsDel(t.tmrKeptBySelfIpi, v);
  t.edgeLostWhy[v] = '';
  if (code.mode === 'basic') {
    if (vsTestAndAdd(t.page.irr, v)) {
      // Diagnostics: TMR is set only on 0 → 1; the pending instance bare metal never had leaves this level message's TMR clear.
      // The instance is a vIOAPIC edge message bare metal never sent, and its acceptance cleared TMR (tmrExtraWhy).
      if (level && code.tree !== '2018' && !vsHas(t.page.tmr, v) && (t.wrongTarget[v] || t.tmrExtraWhy[v])) {
        t.levelCollapsedWhy[v] = t.wrongTarget[v] || t.tmrExtraWhy[v]!;
      }
      // No TMR write: a message bare metal accepts here sets bare metal's bit to its trigger mode, so the bits agree
      // again when ACRN's already is that.
      if (!extra && vsHas(t.page.tmr, v) === level) t.tmrExtraWhy[v] = '';
      return;
    }
    t.levelCollapsedWhy[v] = '';
    if (code.tree !== '2018') note_tmr_write(t, v, extra);
    if (code.tree !== '2018') vlapic_set_tmr(acrn, t, v, level, from);
    vcpu_make_request(acrn, t, REQ_EVENT, from);
    return;
  }
  if (code.apicv === 'vid') {
    // apicv_set_intr_ready (2018): atomic_set64 on the PIR word, cmpxchg(pending, 0, 1).
    vsAdd(t.pir, v);
    const notify = !t.on;
    t.on = true;
    if (notify) {
      t.onFate = 'event-requested';
      vcpu_make_request(acrn, t, REQ_EVENT, from);
    }
    return;
  }
  // 2019 sets PIR before TMR, 2020+ TMR before PIR; the sender's step is atomic here.
  note_tmr_write(t, v, extra);
  vlapic_set_tmr(acrn, t, v, level, from);
  if (vsTestAndAdd(t.pir, v)) return;
  if (t.on) return;
  t.on = true;
  t.pendingReq |= REQ_EVENT;
  if (from !== t.id) {
    // apicv_post_intr (2019) / apicv_trigger_pi_anv (2020+).
    t.inflight |= PHYS_NV;
    t.nvSelf = false;
    t.onFate = 'notification-in-flight';
  } else {
    t.onFate = 'event-requested';
  }
}

/**
 * vlapic_apicv_inject_pir (2018, 2019): if ON (the software 'pending' flag in 2018) was set,
 * move PIR into the vIRR and raise RVI.
 */
export function vlapic_apicv_inject_pir(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'vlapic_apicv_inject_pir');
  if (!t.on) return;
  t.on = false;
  t.onFate = '';
  note_held_apart(t, t.syncSkipWhy ? `pir-sync-skipped-by-${t.syncSkipWhy}` : '');
  t.syncSkipWhy = '';
  const hi = vsHighest(t.pir);
  for (let w = 0; w < 8; w++) {
    t.page.irr[w]! |= t.pir[w]!;
    t.pir[w] = 0;
  }
  if (hi > t.rvi) t.rvi = hi;
}

/**
 * ops->inject_intr. Basic: with IF = 1 and nothing injected yet this pass, the highest
 * deliverable IRR vector goes into VM-entry interruption information and moves IRR → ISR; then
 * the TPR threshold. Advanced: the PIR sync of the tree. Returns whether an event is injected.
 */
export function vlapic_inject_intr(acrn: Acrn, t: AcrnVcpu, guestIrqEnabled: boolean, injected: boolean): boolean {
  const code = acrn.code;
  if (code.mode === 'basic') {
    acrn.sink.step(t.id, 'apicv_basic_inject_intr');
    let ret = injected;
    if (guestIrqEnabled && !injected) {
      vlapic_update_ppr(acrn, t);
      const v = vlapic_find_deliverable_intr(t);
      if (v >= 0) {
        prepare_injection(t, Inj.Ext, v, false);
        vlapic_get_deliverable_intr(acrn, t, v);
        deliver_committed(acrn, t, v);
        ret = true;
      }
    }
    if (code.tprThreshold) vlapic_update_tpr_threshold(t);
    return ret;
  }
  if (code.apicv === 'pi-self-ipi') {
    acrn.sink.step(t.id, 'apicv_advanced_inject_intr');
    if (t.on) {
      // apicv_trigger_pi_anv to its own pCPU with host IRQs off: the ICR write reaches this
      // pCPU's IRR some time later (0397cb717 measured up to ~1900 cycles).
      t.inflight |= PHYS_NV;
      t.nvSelf = true;
      t.onFate = 'self-notification-in-flight';
    }
    return injected;
  }
  vlapic_apicv_inject_pir(acrn, t);
  return injected;
}

/**
 * The basic-mode IRR → ISR move is the committed delivery (api.ts): the guest enters the
 * handler when the VM entry delivers the prepared event.
 */
export function deliver_committed(acrn: Acrn, t: AcrnVcpu, v: number): void {
  t.misrouted[v] = ''; // diagnostics: bare metal's instance is taken with this one
  acrn.sink.deliver(t.id, v, false, 'vmentry-inject');
  t.timerHeldWhy[v] = '';
  vsDel(t.timerOwed, v); // bare metal's instance is taken with this one
  vsDel(t.timerExtra, v);
}

/** exec_vmwrite32(VMX_ENTRY_INT_INFO_FIELD, ...). `replay`: a re-injection whose delivery was already reported. */
export function prepare_injection(t: AcrnVcpu, type: Inj, v: number, replay: boolean): void {
  if (t.injType !== Inj.None && t.passes > 1) {
    // A second acrn_handle_pending_request pass overwrites what the first prepared (#3374).
    // An NMI written over an NMI loses nothing: both requests were pending before either was delivered, and bare
    // metal latches one NMI for them too (SDM 6.7.1). Noting it would name a later, unrelated loss.
    if (t.injType === Inj.Ext) vsAdd(t.overwritten, t.injVector);
    else if (type !== Inj.Nmi) t.overwrittenNmi = true;
  }
  t.injType = type;
  t.injVector = v;
  t.injReplay = replay;
}

/**
 * Diagnostics before a PIR → vIRR move: the instances that do not merge into a pending vIRR
 * bit are second instances if bare metal merged them; remember why they were held apart.
 */
export function note_held_apart(t: AcrnVcpu, why: string): void {
  if (!why) return;
  for (let w = 0; w < 8; w++) {
    let fresh = t.pir[w]! & ~t.page.irr[w]!;
    while (fresh !== 0) {
      const low = fresh & -fresh;
      fresh ^= low;
      t.heldWhy[(w << 5) + 31 - Math.clz32(low)] = why;
    }
  }
}

/** vlapic_has_pending_intr (the HLT check): any vIRR bit; PIR is not looked at. */
export function vlapic_has_pending_intr(t: AcrnVcpu): boolean {
  return !vsEmpty(t.page.irr);
}

/** A hypervisor panic / ASSERT: the model stops this vCPU (the oracle stops judging). */
export function panic(acrn: Acrn, t: AcrnVcpu, where: string, message: string): void {
  if (t.dead) return;
  t.dead = true;
  acrn.sink.crash(t.id, where, message);
}

// ---------------------------------------------------------------------------------------
// Destinations: vlapic_calc_dest and what it matches (the ID, LDR and DFR the guest programmes)

/**
 * vm_apicid2vcpu_id: the first vCPU, in vcpu_id order, whose APIC ID is `lapicid`; -1 if none
 * ("bad lapicid"). 2018 and 2019 compare vlapic_get_apicid, the ID in the page (`apic_page.id.v
 * >> APIC_ID_SHIFT`; vlapic.c @ 7f2b9a1c7, ea849177a); 0397cb717^ .. v3.3 compare
 * vlapic->vapic_id, fixed by vlapic_init (vlapic.c @ 9a6e94084).
 */
export function vm_apicid2vcpu_id(acrn: Acrn, lapicid: number): number {
  const byPage = acrn.code.tree === '2018' || acrn.code.tree === '2019';
  // vlapic_get_apicid: `apic_page.id.v` whole in x2APIC mode, `>> APIC_ID_SHIFT` in xAPIC mode.
  const shift = acrn.x2apic ? 0 : 24;
  for (const t of acrn.vcpus) if ((byPage ? t.page.id >>> shift : t.vapicId) === lapicid) return t.id;
  return -1;
}

/**
 * is_dest_field_matched, xAPIC part (inline in the 2018 vlapic_calcdest): each vlapic matches
 * with its own DFR model — flat: LDR[31:24] & MDA; cluster: LDR[31:28] is the MDA's cluster and
 * LDR[27:24] & MDA[3:0]; any other model matches nothing ("bad logical model").
 */
export function is_dest_field_matched(t: AcrnVcpu, dest: number, x2apic: boolean): boolean {
  const ldr = t.page.ldr;
  // x2APIC (ea849177a .. v3.3): `cluster_id == dest_cluster_id && (logical_id & dest_logical_id) != 0`,
  // LDR and MDA split into [31:16] and [15:0]; the DFR is not looked at.
  if (x2apic) return ldr >>> 16 === dest >>> 16 && (ldr & dest & 0xffff) !== 0;
  switch (t.page.dfr >>> 28) {
    case 0xf: return ((ldr >>> 24) & dest & 0xff) !== 0;
    case 0x0: return ldr >>> 28 === ((dest >>> 4) & 0xf) && ((ldr >>> 24) & dest & 0xf) !== 0;
    default: return false;
  }
}

/**
 * vlapic_calc_dest_noshort (v3.3; vlapic_calc_dest in 2019/2020, vlapic_calcdest in 2018): the
 * mask of vCPUs a destination addresses. `isBroadcast` is the caller's: vlapic_write_icrlo
 * passes `dest == 0xff`, vlapic_receive_intr (MSI, vIOAPIC) passes false — the 2018
 * vlapic_calcdest tests `dest == 0xffU` itself, for every caller. Physical: vm_apicid2vcpu_id.
 * Logical: is_dest_field_matched per vCPU; with `lowprio` only the first matching vCPU with the
 * lowest `apic_page.ppr` (strictly lower replaces: ties keep the lower vcpu_id).
 */
export function vlapic_calc_dest_noshort(acrn: Acrn, isBroadcast: boolean, dest: number, phys: boolean, lowprio: boolean): number {
  if (acrn.code.tree === '2018') isBroadcast = dest === 0xff;
  if (isBroadcast) return (1 << acrn.vcpus.length) - 1; // vm_active_cpus
  if (phys) {
    const i = vm_apicid2vcpu_id(acrn, dest);
    return i < 0 ? 0 : 1 << i;
  }
  let mask = 0;
  let lowest: AcrnVcpu | undefined;
  for (const t of acrn.vcpus) {
    if (!is_dest_field_matched(t, dest, acrn.x2apic)) continue;
    if (!lowprio) mask |= 1 << t.id;
    else if (lowest === undefined || lowest.page.ppr > t.page.ppr) lowest = t;
  }
  if (lowest !== undefined) mask |= 1 << lowest.id;
  return mask;
}

/** vlapic_calc_dest: the shorthands, else vlapic_calc_dest_noshort. */
export function vlapic_calc_dest(acrn: Acrn, self: number, shorthand: Shorthand, isBroadcast: boolean, dest: number, phys: boolean, lowprio: boolean): number {
  const all = (1 << acrn.vcpus.length) - 1;
  switch (shorthand) {
    case 'self': return 1 << self;
    case 'all': return all;
    case 'others': return all & ~(1 << self);
    default: return vlapic_calc_dest_noshort(acrn, isBroadcast, dest, phys, lowprio);
  }
}

/**
 * Diagnostics (never consulted by the mechanism): compare ACRN's destination mask with the one
 * bare metal decodes from the addressing the guest programmed (the IDs it wrote, the LDR/DFR),
 * and remember per vCPU and vector why a message went elsewhere. `device`: vlapic_receive_intr; `edge`: the message
 * is edge (an IPI or an MSI; a vIOAPIC message as its entry says). Returns the vCPUs ACRN sends it to and bare
 * metal does not (with a known why).
 */
export function note_routing(
  acrn: Acrn, dmask: number, self: number, shorthand: Shorthand, logical: boolean, dest: number, vector: number, device: boolean,
  lowest = false, tag = '', edge = !device,
): number {
  let arch = arch_dest(acrn, self, shorthand, logical, dest);
  // Lowest priority: bare metal sends to one addressed vCPU; the reference takes ACRN's choice
  // when it is addressed, the lowest-numbered addressed vCPU when ACRN made none.
  if (lowest) {
    if (dmask !== 0 && (arch & dmask) !== 0) return 0;
    if (dmask !== 0) arch = 0; // outside the addressed set: only the choice is noted (REF-LP-1 flags it)
    else arch &= -arch;
  }
  if (arch === dmask) return 0;
  const why = tag || routing_why(acrn, logical, dest, device);
  for (const t of acrn.vcpus) {
    const bit = 1 << t.id;
    if (arch & ~dmask & bit) {
      t.misrouted[vector & 0xff] = why;
      // An IPI (REF-IPI-2) or an MSI is edge: bare metal's acceptance here clears TMR, which ACRN's vLAPIC keeps. A
      // vIOAPIC message may be level: then bare metal's TMR is set, and nothing is noted.
      t.edgeLostWhy[vector & 0xff] = edge ? why : '';
    }
    if (dmask & ~arch & bit) t.wrongTarget[vector & 0xff] = why;
    // An illegal vector shows as Receive Illegal Vector in the wrong ESR.
    if (vector < 16 && (arch ^ dmask) & bit) t.rivWhy = why;
  }
  return why ? dmask & ~arch : 0;
}

/** Diagnostics: the vCPUs bare metal's local APICs accept this addressing in, as the guest programmed them now. */
function arch_dest(acrn: Acrn, self: number, shorthand: Shorthand, logical: boolean, dest: number): number {
  const addrs = acrn.archAddrs;
  for (const t of acrn.vcpus) {
    const a = addrs[t.id]!;
    a.id = t.archId; a.ldr = t.page.ldr; a.flat = t.page.dfr >>> 28 === 0xf;
  }
  return matchDest(acrn.machine.apic, addrs, self, shorthand, logical, dest);
}

/**
 * Diagnostics: why the IPI `sender`'s handler now accepts on `target` is one bare metal does not send there ('' when it
 * does). Bare metal decodes the ICR where note_routing compares it (icr_executed, the message's first step): before
 * that, from the addressing as it is now (nothing can change it within the step); after, as then noted (icrWrongMask).
 */
export function ipi_accept_why(acrn: Acrn, sender: AcrnVcpu, target: AcrnVcpu): string {
  const wrong = sender.icrIndex >= 0
    ? sender.icrMask & ~arch_dest(acrn, sender.id, sender.icrShorthand, sender.icrLogical, sender.icrDest)
    : sender.icrWrongMask;
  return wrong & (1 << target.id) ? routing_why(acrn, sender.icrLogical, sender.icrDest, false) : '';
}

function routing_why(acrn: Acrn, logical: boolean, dest: number, device: boolean): string {
  if (dest === 0xff && device) return 'device-dest-ff-not-broadcast';
  if (logical) return '';
  if (acrn.code.mode === 'basic') return 'apic-id-write-ignored';
  return acrn.code.tree === '2018' || acrn.code.tree === '2019' ? 'apic-id-shared-first-vcpu-only' : 'apic-id-routed-by-vapic-id';
}
