// The exit handlers that take part in interrupt delivery (hypervisor/arch/x86/guest/vmexit.c,
// vlapic.c, dm/io_req.c): HLT, port I/O to the Service VM's device model, PAUSE, the APIC
// register accesses that trap (ICR, EOI and reads in basic mode, the ESR write), the
// EOI-induced exit, TPR below threshold. The ICR write's handler (vlapic_write_icrlo →
// vlapic_set_intr → vlapic_accept_intr per target) runs in steps, because other pCPUs interleave
// with it: signal_event and accept_intr are two steps, in each tree's order (#8507).
import { Pc, REQ_EVENT, Wait } from './consts.js';
import { signal_event, wait_event } from './event.js';
import { make_reschedule_request, vcpu_make_request } from './schedule.js';
import { APIC_SVR_ENABLE, type Acrn, type AcrnVcpu } from './state.js';
import { vcpu_inject_nmi } from './virq.js';
import {
  APIC_ESR_RECEIVE_ILLEGAL_VECTOR, APIC_ESR_SEND_ILLEGAL_VECTOR, accept_intr, ipi_accept_why, note_routing, vlapic_calc_dest,
  vlapic_calc_dest_noshort, vlapic_has_pending_intr, vlapic_set_error,
} from './vlapic.js';

// ---------------------------------------------------------------------------------------
// vlapic_write_icrlo in steps

const OP_ACCEPT = 0;
const OP_SIGNAL = 1;
const OP_NMI = 2;

function encode(kind: number, target: number, vector: number, last: boolean): number {
  return kind | (target << 4) | (vector << 8) | (last ? 1 << 16 : 0);
}

/**
 * Diagnostics: the vCPUs bare metal's illegal-vector IPI could reach (each would latch Receive
 * Illegal Vector) get no message at all. By shorthand; a destination field marks every vCPU
 * (only a vCPU bare metal addressed can show RIV missing).
 */
function noteIllegalIpiNotSent(acrn: Acrn, sender: AcrnVcpu, ev: { shorthand?: 'none' | 'self' | 'all' | 'others' }): void {
  const sh = ev.shorthand ?? 'none';
  for (const t of acrn.vcpus) {
    if (sh === 'self' ? t !== sender : sh === 'others' ? t === sender : false) continue;
    t.rivWhy = 'illegal-vector-ipi-not-sent';
  }
}

/**
 * vlapic_write_icrlo: a FIXED IPI with vector < 16 sets SEND_ILLEGAL in the sender's ESR and
 * goes nowhere; an NMI with the self or all-including-self shorthand is ignored ("Invalid ICR
 * value"). Otherwise each destination vCPU, in ascending order, gets vlapic_set_intr (FIXED)
 * or vcpu_inject_nmi (NMI), queued as steps of the sender's exit handler.
 */
export function vlapic_write_icrlo(
  acrn: Acrn, sender: AcrnVcpu, index: number,
  ev: { vector: number; nmi?: boolean; shorthand?: 'none' | 'self' | 'all' | 'others'; logical?: boolean; dest?: number; lowest?: boolean },
  handler = 'vlapic_write_icrlo',
): void {
  acrn.sink.step(sender.id, handler);
  const nmi = ev.nmi ?? false;
  const sh = ev.shorthand ?? 'none';
  if (!nmi && ev.vector < 16) {
    vlapic_set_error(sender, APIC_ESR_SEND_ILLEGAL_VECTOR);
    noteIllegalIpiNotSent(acrn, sender, ev);
    acrn.sink.executed(index);
    return;
  }
  if (nmi && (sh === 'self' || sh === 'all')) { acrn.sink.executed(index); return; }
  const m = acrn.machine;
  // xAPIC: `dest = icr_high >> APIC_ID_SHIFT; is_broadcast = (dest == 0xffU)`; x2APIC (the ICR
  // written as one 64-bit MSR, vlapic_write stores `icr_hi = data >> 32`): `dest = icr_high;
  // is_broadcast = (dest == 0xffffffffU)` [vlapic_icrlo_write_handler @ ea849177a, 0397cb717^;
  // vlapic_write_icrlo @ 9a6e94084]. lowprio false.
  const dest = acrn.x2apic ? (ev.dest ?? 0) >>> 0 : (ev.dest ?? 0) & 0xff;
  const logical = ev.logical ?? false;
  const mask = vlapic_calc_dest(acrn, sender.id, sh, dest === (acrn.x2apic ? 0xffffffff : 0xff), dest, !logical, false);
  if (ev.lowest && !nmi) {
    // The per-target loop knows FIXED, NMI, INIT, STARTUP and SMI: a lowest-priority IPI ends in
    // `pr_err("Unhandled icrlo write with mode %u\n", mode)` for every target — nothing is sent
    // (vlapic.c vlapic_write_icrlo @ 7f2b9a1c7, ea849177a, 0397cb717^, 9a6e94084).
    note_routing(acrn, 0, sender.id, sh, logical, dest, ev.vector, false, true, 'lowest-priority-ipi-unhandled');
    acrn.sink.step(sender.id, 'vlapic_write_icrlo: Unhandled icrlo write with mode 0x100');
    acrn.sink.executed(index);
    return;
  }
  sender.icrMask = mask; sender.icrShorthand = sh; sender.icrLogical = logical; sender.icrDest = dest; sender.icrVector = nmi ? 2 : ev.vector;
  const signal = acrn.code.signal;
  for (let i = 0; i < m.vcpus; i++) {
    if ((mask & (1 << i)) === 0) continue;
    const target = acrn.vcpus[i]!;
    target.swInflight++;
    if (nmi) {
      sender.ops.push(encode(OP_NMI, i, 2, true));
    } else if (signal === 'none') {
      sender.ops.push(encode(OP_ACCEPT, i, ev.vector, true));
    } else if (signal === 'before') {
      sender.ops.push(encode(OP_SIGNAL, i, ev.vector, false), encode(OP_ACCEPT, i, ev.vector, true));
    } else {
      sender.ops.push(encode(OP_ACCEPT, i, ev.vector, false), encode(OP_SIGNAL, i, ev.vector, true));
    }
  }
  if (sender.ops.length > 0 && nmi) {
    // An NMI IPI is reported at the ICR write: its targets' requests are still in flight
    // (swInflight), and NMIs do not collapse into a vector held apart.
    sender.pc = Pc.Handler;
    icr_executed(acrn, sender, index);
  } else if (sender.ops.length > 0) {
    sender.pc = Pc.Handler;
    // The ICR write takes effect for the guest when its first message reaches a target's
    // vLAPIC: the first step of that message, where vlapic_accept_intr tests the target's SVR
    // (the accept, or the signal_event of the trees that signal first) or the NMI request. The
    // message stays in flight for the reference (swInflight) until its last step. Reported no
    // earlier, so that the reference never holds a message that no target could have seen yet;
    // no later, so that an SVR write after that test finds the message already on the bus.
    sender.icrIndex = index;
  } else {
    icr_executed(acrn, sender, index);
  }
}

/**
 * The ICR write is reported (its messages are on the bus for the reference). Diagnostics: its
 * routing is compared with bare metal's here, where the reference decodes the destination —
 * no ID/LDR/DFR write comes between vlapic_calc_dest and this point (icr_flush).
 */
export function icr_executed(acrn: Acrn, sender: AcrnVcpu, index: number): void {
  sender.icrIndex = -1;
  sender.icrWrongMask = note_routing(acrn, sender.icrMask, sender.id, sender.icrShorthand, sender.icrLogical, sender.icrDest, sender.icrVector, false);
  acrn.sink.executed(index);
}

/**
 * An ICR write whose handler already ran vlapic_calc_dest (its targets are decided) but whose
 * first message has not reached a vLAPIC yet is on the bus from here on: reported before an
 * ID/LDR/DFR write changes what a destination matches, with the mask it was routed with.
 */
export function icr_flush(acrn: Acrn): void {
  for (const s of acrn.vcpus) if (s.icrIndex >= 0) icr_executed(acrn, s, s.icrIndex);
}

/** One step of the sender's exit handler. */
export function run_handler_op(acrn: Acrn, sender: AcrnVcpu): void {
  const op = sender.ops.shift();
  if (op === undefined) { sender.pc = Pc.LoopTop; return; }
  let kind = op & 0xf;
  const target = acrn.vcpus[(op >>> 4) & 0xf]!;
  const vector = (op >>> 8) & 0xff;
  let last = (op & (1 << 16)) !== 0;
  // The first step of a message (its only one without signal_event; an NMI request).
  const first = kind === OP_NMI || !last || acrn.code.signal === 'none';
  if (kind !== OP_NMI && first && (target.page.svr & APIC_SVR_ENABLE) === 0) {
    // vlapic_accept_intr (vlapic_set_intr_ready in 2018) tests the target's SVR first: "vlapic
    // is software disabled, ignoring interrupt" — no accept, no request, no signal. The signal
    // and the accept of one message sit behind that one test (a later SVR write does not stop
    // the second step of a message that passed it), so its other step goes too.
    acrn.sink.step(sender.id, `vlapic_accept_intr(vcpu${target.id}, ${vector}): software disabled`);
    if (!last) { sender.ops.shift(); last = true; }
    kind = OP_ACCEPT;
  } else switch (kind) {
    case OP_SIGNAL:
      acrn.sink.step(sender.id, `signal_event(vcpu${target.id})`);
      if (acrn.code.signal === 'before') target.earlySignal++;
      if (target.pc === Pc.Blocked && target.evIntr.waiting) target.wokeEarly = acrn.code.signal === 'before';
      signal_event(target, target.evIntr, sender.id);
      break;
    case OP_ACCEPT:
      acrn.sink.step(sender.id, `accept_intr(vcpu${target.id}, ${vector})`);
      if (acrn.code.signal === 'before' && target.earlySignal > 0) target.earlySignal--;
      // Diagnostics: an IPI bare metal's decoding of the ICR does not send here (tmrExtraWhy).
      target.acceptWhy = ipi_accept_why(acrn, sender, target);
      accept_intr(acrn, target, vector, false, sender.id);
      target.acceptWhy = '';
      break;
    case OP_NMI:
      acrn.sink.step(sender.id, `vcpu_inject_nmi(vcpu${target.id})`);
      vcpu_inject_nmi(acrn, target, sender.id);
      break;
  }
  if (last) target.swInflight--;
  if (first && sender.icrIndex >= 0) icr_executed(acrn, sender, sender.icrIndex);
  if (sender.ops.length === 0) sender.pc = Pc.LoopTop;
}

/**
 * vlapic_receive_intr (vlapic_deliver_intr in 2018), from the vIOAPIC and vlapic_inject_msi
 * (vlapic_intr_msi in 2018): fixed or lowest-priority delivery, the legacy 8-bit destination
 * ("We don't provide any virtual interrupt redirection hardware"), `is_broadcast` false (2018:
 * vlapic_calcdest tests 0xff itself); each target whose vlapic is enabled gets vlapic_set_intr.
 */
export function vlapic_receive_intr(acrn: Acrn, level: boolean, dest: number, phys: boolean, lowprio: boolean, vector: number, from = -1, report = true): void {
  vlapic_receive_targets(acrn, vlapic_receive_dest(acrn, dest, phys, lowprio, vector, report, !level), level, vector, from);
}

/**
 * vlapic_receive_intr's vlapic_calc_dest_noshort (`lowprio = (delmode ==
 * IOAPIC_RTE_DELMODE_LOPRI) || rh`); a lowest-priority choice is reported (ObsSink.arbitrated) unless `report` is
 * false: a vIOAPIC message bare metal does not send, whose choice the reference would take for its next message's.
 */
export function vlapic_receive_dest(acrn: Acrn, dest: number, phys: boolean, lowprio: boolean, vector: number, report = true, edge = false): number {
  const dmask = vlapic_calc_dest_noshort(acrn, false, dest, phys, lowprio);
  if (lowprio && dmask !== 0) {
    const choice = dmask & -dmask;
    if (report) acrn.sink.arbitrated?.(31 - Math.clz32(choice));
    // 2018: vlapic_calcdest returns every vCPU for 0xFF before it looks at lowprio — one
    // message per vCPU where bare metal arbitrates one; the reference follows the first.
    if (dmask !== choice) {
      for (const t of acrn.vcpus) if (dmask & ~choice & (1 << t.id)) t.wrongTarget[vector & 0xff] = 'lowest-priority-dest-ff-broadcast';
    }
    acrn.deviceWrongMask = (dmask & ~choice) | note_routing(acrn, choice, -1, 'none', !phys, dest, vector, true, true, '', edge);
    return dmask;
  }
  acrn.deviceWrongMask = note_routing(acrn, dmask, -1, 'none', !phys, dest, vector, true, lowprio, '', edge);
  return dmask;
}

/** vlapic_receive_intr's loop: vlapic_set_intr on each target (the enabled test is in vlapic_set_intr_device). */
export function vlapic_receive_targets(acrn: Acrn, dmask: number, level: boolean, vector: number, from = -1): void {
  const wrong = acrn.deviceWrongMask;
  acrn.deviceWrongMask = 0;
  for (const t of acrn.vcpus) {
    if ((dmask & (1 << t.id)) === 0) continue;
    // Diagnostics: a target bare metal's addressing does not reach accepts a message bare metal does not send it (tmrExtraWhy).
    t.acceptWhy = wrong & (1 << t.id) ? t.wrongTarget[vector & 0xff]! : '';
    vlapic_set_intr_device(acrn, t, vector, level, from);
    t.acceptWhy = '';
  }
}

/**
 * vlapic_set_intr from device context (vIOAPIC, MSI): one atomic step on another pCPU, or on
 * pCPU `from` when a vCPU's exit handler runs it (a redirection-entry write).
 * Vectors below 16 set RECEIVE_ILLEGAL in the target's ESR (2019+; the 2018 vlapic_set_intr
 * returns -EINVAL first).
 */
export function vlapic_set_intr_device(acrn: Acrn, t: AcrnVcpu, vector: number, level: boolean, from = -1): void {
  // vlapic_receive_intr (vlapic_deliver_intr in 2018): "only make request when vlapic enabled"
  // — a software-disabled target is skipped before vlapic_set_intr, so not even its ESR is touched.
  if ((t.page.svr & APIC_SVR_ENABLE) === 0) {
    acrn.sink.step(t.id, 'vlapic_receive_intr: vlapic disabled');
    if (vector < 16 && acrn.code.tree !== '2018') t.rivSkippedPending = true;
    // 2018: vlapic_set_intr's "vector < 16U: return -EINVAL" comes before anything looks at the vLAPIC.
    else if (vector < 16) t.rivWhy = 'device-illegal-vector-dropped';
    return;
  }
  acrn.sink.step(t.id, 'vlapic_set_intr');
  if (vector < 16) {
    if (acrn.code.tree !== '2018') vlapic_set_error(t, APIC_ESR_RECEIVE_ILLEGAL_VECTOR);
    else t.rivWhy = 'device-illegal-vector-dropped'; // diagnostics: -EINVAL before the error is set
    return;
  }
  if (acrn.code.signal === 'before') signal_event(t, t.evIntr, from);
  accept_intr(acrn, t, vector, level, from);
  if (acrn.code.signal === 'after') signal_event(t, t.evIntr, from);
}

// ---------------------------------------------------------------------------------------
// HLT

/**
 * hlt_vmexit_handler (4303ccb1a): sleep in wait_event(VCPU_EVENT_VIRTUAL_INTERRUPT) unless a
 * request is pending or the vIRR holds anything. RIP is not retained: the guest resumes after
 * its HLT at the next entry.
 */
export function hlt_vmexit_handler(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'hlt_vmexit_handler');
  t.hltExit = true;
  t.wokeEarly = false;
  t.passBeforeRequest = false;
  if (t.pendingReq === 0 && !vlapic_has_pending_intr(t)) {
    if (wait_event(t, t.evIntr, Wait.VirtualInterrupt)) {
      acrn.sink.step(t.id, 'wait_event: sleep');
      // Diagnostics (#8507): a sender has signalled and not yet made its request.
      t.sleptEarly = t.earlySignal > 0;
      t.hltWhy = 'woken';
      return;
    }
    // The event was signalled after the last reset_event; by a sender that had not made its
    // request yet when the signal order is 'before'.
    if (t.earlySignal > 0) t.wokeEarly = true;
    t.hltWhy = 'hlt-not-blocked-event-already-signalled';
    return;
  }
  t.hltWhy = t.pendingReq !== 0 ? 'hlt-not-blocked-request-pending' : 'hlt-not-blocked-virr-pending';
}

// ---------------------------------------------------------------------------------------
// Port I/O to the Service VM's device model

/**
 * pio_instr_vmexit_handler → acrn_insert_request: the request goes to the device model; the vCPU
 * waits for its completion, which arrives with `pirq` (the device model runs on another pCPU).
 *   'loop' (2018): acrn_insert_request_wait pauses the vCPU (off the runqueue, NEED_RESCHEDULE)
 *                  and returns; the vcpu_thread loop schedules it out after its requests.
 *   'handler' (2019): pause_vcpu, then schedule() inside acrn_insert_request.
 *   'wait-event' (2020+): wait_event(VCPU_EVENT_IOREQ).
 */
export function io_request(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'acrn_insert_request');
  t.dmPending = true;
  switch (acrn.code.io) {
    case 'loop':
      t.paused = true;
      t.needResched = true;
      return;
    case 'handler':
      t.paused = true;
      t.pc = Pc.Blocked;
      t.wait = Wait.Paused;
      return;
    case 'wait-event':
      t.evIoreq.set = false;
      wait_event(t, t.evIoreq, Wait.Ioreq);
      return;
  }
}

/** The device model completes the request: hcall_notify_ioreq_finish (resume_vcpu, or signal_event(IOREQ)). */
export function dm_complete(acrn: Acrn, t: AcrnVcpu): void {
  t.dmPending = false;
  acrn.sink.step(t.id, 'hcall_notify_ioreq_finish');
  if (acrn.code.io === 'wait-event') {
    signal_event(t, t.evIoreq, -1);
    return;
  }
  // resume_vcpu: back on the runqueue and make_reschedule_request from the device model's pCPU.
  t.paused = false;
  if (t.pc === Pc.Blocked && t.wait === Wait.Paused) t.pc = Pc.Runnable;
  make_reschedule_request(t, -1);
}

/** pause_vmexit_handler (PAUSE-loop exiting, 2020+): yield_current → make_reschedule_request on itself. */
export function pause_vmexit_handler(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'pause_vmexit_handler');
  make_reschedule_request(t, t.id);
}

/** tpr_below_threshold_vmexit_handler: EVENT, retain RIP (the write has completed: trap-like). */
export function tpr_below_threshold_vmexit_handler(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'tpr_below_threshold_vmexit_handler');
  vcpu_make_request(acrn, t, REQ_EVENT, t.id);
}
