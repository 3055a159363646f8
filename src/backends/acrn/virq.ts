// acrn_handle_pending_request (hypervisor/arch/x86/virq.c in 2018, guest/virq.c later) in its
// three shapes, with vcpu_inject_nmi and the interrupt-window exit handler.
//   2018 (7f2b9a1c7^ / 7f2b9a1c7): every injection branch `goto INTR_WIN`; the VID sync of the
//        EVENT request sits behind the NMI and IDT-vectoring branches (7f2b9a1c7^) or before
//        them (7f2b9a1c7, #1443); NMIs are injected without looking at blocking.
//   2019 (ea849177a): cancelled injection, hi exception, NMI or IDT-vectoring re-injection,
//        then acrn_inject_pending_intr (EVENT → vlapic_inject_intr) in every case.
//   2020+ (0397cb717^ .. v3.3): as 2019 without the cancelled injection, NMI only when
//        is_nmi_injectable, and the interrupt window also for a pending NMI.
import { Inj, REQ_EOI_EXIT_BITMAP_UPDATE, REQ_EVENT, REQ_EXTINT, REQ_NMI, REQ_TMR_UPDATE } from './consts.js';
import { signal_event } from './event.js';
import { vcpu_make_request } from './schedule.js';
import type { Acrn, AcrnVcpu } from './state.js';
import {
  deliver_committed, prepare_injection, vlapic_apicv_inject_pir, vlapic_find_deliverable_intr,
  vlapic_get_deliverable_intr, vlapic_inject_intr, vlapic_update_ppr,
} from './vlapic.js';

/** is_guest_irq_enabled: RFLAGS.IF and no blocking by STI (MOV SS is not in the scenario language). */
export function is_guest_irq_enabled(t: AcrnVcpu): boolean {
  return t.guest.IF && !t.guest.shadow;
}

/** is_nmi_injectable: no blocking by STI, MOV SS or NMI. */
export function is_nmi_injectable(t: AcrnVcpu): boolean {
  return !t.guest.shadow && !t.guest.nmiBlocked;
}

/** vcpu_inject_nmi (the NMI of an ICR write): the NMI request, then (2020+) the signal. */
export function vcpu_inject_nmi(acrn: Acrn, t: AcrnVcpu, from: number): void {
  // Diagnostics: the request bit already stands for the NMI whose delivery faulted.
  if (t.nmiReplay && (t.pendingReq & REQ_NMI) !== 0) t.nmiMergedReplay = true;
  vcpu_make_request(acrn, t, REQ_NMI, from);
  if (acrn.code.signal !== 'none') signal_event(t, t.evIntr, from);
}

function inject_nmi(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'inject NMI');
  // Diagnostics: the 2018/2019 code injects without a blocking check.
  t.nmiUnchecked = !is_nmi_injectable(t);
  if (t.nmiUnchecked) t.nmiNested = true;
  prepare_injection(t, Inj.Nmi, 2, t.nmiReplay);
  t.nmiReplay = false;
}

/** The re-injection of vcpu->arch.idt_vectoring_info (an external interrupt whose delivery faulted). */
function reinject_idt(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'reinject idt_vectoring_info');
  prepare_injection(t, Inj.Ext, t.idtVector, true);
}

/** apicv_basic_has_pending_delivery_intr / apicv_advanced_has_pending_delivery_intr. */
function vlapic_has_pending_delivery_intr(acrn: Acrn, t: AcrnVcpu): boolean {
  if (acrn.code.mode !== 'basic') return false;
  vlapic_update_ppr(acrn, t);
  if (vlapic_find_deliverable_intr(t) >= 0) vcpu_make_request(acrn, t, REQ_EVENT, t.id);
  return t.pendingReq !== 0;
}

function open_irq_window(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'enable interrupt-window exiting');
  t.irqWindow = true;
}

/** Diagnostics for #1443: the PIR the skipped sync left behind, and which branch skipped it. */
function note_sync_skipped(t: AcrnVcpu, why: string): void {
  if (!t.on || (t.pendingReq & REQ_EVENT) === 0 || t.syncSkipWhy) return;
  t.syncSkipWhy = why;
}

/**
 * vioapic_update_tmr (2018, dm/vioapic.c @ 7f2b9a1c7) for this vCPU: TMR from the redirection
 * table, then vlapic_apicv_batch_set_tmr → apicv_batch_set_tmr writes the TMR into the VMCS
 * EOI-exit bitmap (VID only: is_apicv_intr_delivery_supported).
 */
export function vioapic_update_tmr(acrn: Acrn, t: AcrnVcpu): void {
  acrn.vioapic.updateTmr(t.page.tmr);
  if (acrn.code.mode !== 'advanced') return;
  t.eoiExit.set(t.page.tmr);
  t.eoiExitVmcs.set(t.page.tmr);
}

/** The 2018 shape (7f2b9a1c7^ and 7f2b9a1c7). */
function handle_2018(acrn: Acrn, t: AcrnVcpu): void {
  const code = acrn.code;
  const vid = code.mode === 'advanced';
  let intrWin = false;
  // Before the cancelled-injection branch: "if (bitmap_test_and_clear_lock(ACRN_REQUEST_TMR_UPDATE, ...)) vioapic_update_tmr(vcpu)".
  if (t.pendingReq & REQ_TMR_UPDATE) {
    t.pendingReq &= ~REQ_TMR_UPDATE;
    acrn.sink.step(t.id, 'vioapic_update_tmr');
    vioapic_update_tmr(acrn, t);
  }
  t.nmiBehindCancelled = false;
  if (t.cancelledType !== Inj.None) {
    // "handling cancelled event injection when vcpu is switched out" → goto INTR_WIN.
    acrn.sink.step(t.id, 'reinject cancelled event');
    prepare_injection(t, t.cancelledType, t.cancelledVector, t.cancelledReplay);
    t.cancelledType = Inj.None;
    if (vid) note_sync_skipped(t, 'cancelled-injection');
    // Diagnostics: an NMI request waits behind it (with VID, INTR_WIN opens no window for it).
    t.nmiBehindCancelled = (t.pendingReq & REQ_NMI) !== 0;
    intrWin = true;
  }
  if (!intrWin && vid && code.sync1443 === 'before-injection' && (t.pendingReq & REQ_EVENT)) {
    t.pendingReq &= ~REQ_EVENT;
    vlapic_apicv_inject_pir(acrn, t);
  }
  // vcpu_inject_hi_exception: #MC/#BP/#DB only, never queued by the scenario's events.
  if (!intrWin && (t.pendingReq & REQ_NMI)) {
    t.pendingReq &= ~REQ_NMI;
    // The IDT-vectoring event is not re-injected in this branch; the next exit overwrites it.
    if (t.idtVector >= 0) t.idtDropped = t.idtVector;
    inject_nmi(acrn, t);
    if (vid && code.sync1443 === 'after-injection') note_sync_skipped(t, 'injection');
    intrWin = true;
  }
  if (!intrWin && t.idtVector >= 0) {
    reinject_idt(acrn, t); // not cleared: the next exit overwrites it
    if (vid && code.sync1443 === 'after-injection') note_sync_skipped(t, 'injection');
    intrWin = true;
  }
  if (!intrWin && vid && code.sync1443 === 'after-injection' && (t.pendingReq & REQ_EVENT)) {
    t.pendingReq &= ~REQ_EVENT;
    vlapic_apicv_inject_pir(acrn, t);
  }
  if (!intrWin && is_guest_irq_enabled(t) && !vid && (t.pendingReq & REQ_EVENT)) {
    t.pendingReq &= ~REQ_EVENT;
    // vcpu_inject_vlapic_int: vlapic_pending_intr, VM-entry interruption info, vlapic_intr_accepted.
    acrn.sink.step(t.id, 'vcpu_inject_vlapic_int');
    const v = vlapic_find_deliverable_intr(t);
    if (v >= 16) {
      prepare_injection(t, Inj.Ext, v, false);
      vlapic_get_deliverable_intr(acrn, t, v);
      if (!t.dead) deliver_committed(acrn, t, v);
    }
  }
  // INTR_WIN
  if (t.irqWindow) return;
  if ((t.pendingReq & REQ_EXTINT) === 0 && (vid || !vcpu_pending_request_2018(acrn, t))) return;
  open_irq_window(acrn, t);
}

/** vcpu_pending_request (2018): a deliverable IRR vector re-raises EVENT. */
function vcpu_pending_request_2018(acrn: Acrn, t: AcrnVcpu): boolean {
  if (vlapic_find_deliverable_intr(t) >= 0) vcpu_make_request(acrn, t, REQ_EVENT, t.id);
  return t.pendingReq !== 0;
}

/** acrn_inject_pending_intr: EVENT → ops->inject_intr. */
function acrn_inject_pending_intr(acrn: Acrn, t: AcrnVcpu, injected: boolean): boolean {
  const enabled = is_guest_irq_enabled(t);
  let ret = injected;
  // EXTINT (vPIC) is never requested by the scenario's events.
  if (t.pendingReq & REQ_EVENT) {
    t.pendingReq &= ~REQ_EVENT;
    ret = vlapic_inject_intr(acrn, t, enabled, ret);
  }
  return ret;
}

/** The 2019 shape (ea849177a) and the 2020+ shape. */
function handle_2019_plus(acrn: Acrn, t: AcrnVcpu): void {
  const code = acrn.code;
  if (t.pendingReq & REQ_EOI_EXIT_BITMAP_UPDATE) {
    t.pendingReq &= ~REQ_EOI_EXIT_BITMAP_UPDATE;
    // vcpu_set_vmcs_eoi_exit (advanced mode only writes the VMCS).
    if (code.mode === 'advanced') t.eoiExitVmcs.set(t.eoiExit);
  }
  let injected = false;
  if (code.tree === '2019' && t.cancelledType !== Inj.None) {
    acrn.sink.step(t.id, 'reinject cancelled event');
    prepare_injection(t, t.cancelledType, t.cancelledVector, t.cancelledReplay);
    t.cancelledType = Inj.None;
    injected = true;
  } else if (t.pendingReq & REQ_NMI) {
    t.pendingReq &= ~REQ_NMI;
    if (!code.nmiCheck || is_nmi_injectable(t)) {
      // The IDT-vectoring event is not re-injected in this branch; the next VM exit overwrites
      // vcpu->arch.idt_vectoring_info (diagnostics for explain()).
      if (t.idtVector >= 0) t.idtDropped = t.idtVector;
      inject_nmi(acrn, t);
      injected = true;
    } else {
      acrn.sink.step(t.id, 'keep the NMI request for next vmexit');
      if (t.idtVector >= 0) t.idtDropped = t.idtVector;
      t.pendingReq |= REQ_NMI;
    }
  } else if (t.idtVector >= 0) {
    reinject_idt(acrn, t);
    t.idtVector = -1;
    injected = true;
  }
  acrn_inject_pending_intr(acrn, t, injected);
  if (!t.irqWindow) {
    const nmi = code.nmiWindow && (t.pendingReq & REQ_NMI) !== 0;
    if ((t.pendingReq & REQ_EXTINT) !== 0 || nmi || vlapic_has_pending_delivery_intr(acrn, t)) open_irq_window(acrn, t);
  }
}

export function acrn_handle_pending_request(acrn: Acrn, t: AcrnVcpu): void {
  t.passes++;
  // Diagnostics (#8507): this pass runs while a sender has signalled but not yet made its request.
  if (t.earlySignal > 0) t.passBeforeRequest = true;
  acrn.sink.step(t.id, 'acrn_handle_pending_request');
  if (acrn.code.tree === '2018') handle_2018(acrn, t);
  else handle_2019_plus(acrn, t);
}

/** interrupt_window_vmexit_handler: disable interrupt-window exiting, retain RIP. */
export function interrupt_window_vmexit_handler(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'interrupt_window_vmexit_handler');
  t.irqWindow = false;
}
