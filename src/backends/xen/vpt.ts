// Xen's virtual platform timer machinery (xen/arch/x86/hvm/vpt.c) for the one periodic_time the
// model has per vCPU, the vlapic's (PTSRC_lapic), and the host timer that drives it (common/timer.c:
// a struct timer on v->processor, run from TIMER_SOFTIRQ). For PTSRC_lapic the four trees
// modelled run the same steps; they differ in locking only (pt_vcpu_lock / the pt_migrate rwlock of
// 8e76aef728 and 1f3d87c751, pt_irq_fired split out by 5a065e5bfc), which a vCPU pinned to its pCPU
// never exercises. Read at 10a674b4, 48a933ee, 66bf4ef0 and RELEASE-4.22.0 (d45d5687).
//
//   create_periodic_time → set_timer(scheduled) … host timer interrupt → TIMER_SOFTIRQ →
//   pt_timer_fn (pending_intr_nr++, vcpu_kick; no re-arm) … svm_intr_assist → pt_update_irq
//   (vlapic_set_irq, or suspend while the LVT is masked) … svm_inject_extint → pt_intr_post →
//   pt_irq_fired (one-shot: off the list; periodic, no_delay_for_missed_ticks: one tick owed less,
//   and only when none is left the missed ticks are counted in and, if still none, set_timer) → callback.
//
// The timer mode is libxl's default, HVMPTM_no_delay_for_missed_ticks (1), in every tree: missed
// ticks are counted into pending_intr_nr and injected one by one (pt_process_missed_ticks:
// `pending_intr_nr += missed_ticks` unless no_missed_ticks_pending; pt_intr_post / pt_irq_fired:
// the `else` branch, `--pending_intr_nr`), and guest time is never frozen (pt_freeze_time and
// pt_thaw_time act for delay_for_missed_ticks only). vpt.c @ 10a674b4, 48a933ee, 66bf4ef0 and
// d45d5687 (RELEASE-4.22.0); the 4.22 tree moved the body of pt_intr_post into pt_irq_fired, unchanged.
//
// Time: one clock unit of the scenario is one APIC timer tick with divide-by-1 (the guest wrote
// TDCR = 0xB at boot, as kvm-unit-tests does), i.e. APIC_BUS_CYCLE_NS = 10 ns in every tree. The
// model counts in ticks. NOW() and guest time (hvm_get_guest_time) are TIME_ORIGIN + the vCPU's
// clock (*choice*: the scenario starts 0.1 s after the domain was built, stime offsets 0; the
// per-call +1 ns of hvm_get_guest_time_fixed is below a tick and not modelled); the guest TSC is
// the clock itself (the scenario's deadlines are in clock units, TSC rate = timer rate).
import { vsAdd } from '../../apic/vecset.js';
import { vcpuKick, type XenVm } from './domain.js';
import { APIC_LVT_MASKED, Phase, type XenVcpu } from './state.js';
import { vmexitBegin, vmexitEnd } from './svm.js';
import { vlapicSetIrq } from './vlapic.js';

/** Host/guest time of clock 0, in ticks (0.1 s: a multiple of the 0.1 ms minimum period). */
export const TIME_ORIGIN = 10_000_000;
/** create_periodic_time: "Periodic timer must be at least 0.1ms" — 100000 ns = 10000 ticks of 10 ns. */
export const MIN_PERIOD = 10_000;

/**
 * The domain's HVM_PARAM_TIMER_MODE and HVM_PARAM_VPT_ALIGN as libxl sets them for every HVM guest
 * (libxl__domain_build_info_setdefault: timer_mode = LIBXL_TIMER_MODE_NO_DELAY_FOR_MISSED_TICKS,
 * vpt_align = true; tools/libxl/libxl_create.c at 10a674b4, 48a933ee, 66bf4ef0,
 * tools/libs/light/libxl_create.c at RELEASE-4.22.0; libxl_dom.c / libxl_x86.c timer_mode() hands
 * it to HVM_PARAM_TIMER_MODE unchanged; libxl_types.idl: "Consistent with the values defined for
 * HVM_PARAM_TIMER_MODE", so HVMPTM_no_delay_for_missed_ticks = 1, public/hvm/params.h). params.h:
 * "missed interrupts are delivered, but guest time always tracks wallclock": ticks missed while
 * the vCPU was descheduled (or while a tick waited in IRR) are each injected, where bare metal's
 * IRR collapses expiries not yet taken into one. The hypervisor's own default (0,
 * delay_for_missed_ticks) also freezes guest time (pt_freeze_time); modes 2 and 3 collapse the
 * missed ticks ("'collapse' all missed ticks"). No toolstack default selects them: not modelled.
 */
export const TIMER_MODE = 'no_delay_for_missed_ticks';
/** The mechanism tag of a tick pt_intr_post left owed and pt_update_irq raised again (mode 1's one-by-one delivery). */
export const MISSED_TICKS_ONE_BY_ONE = 'missed-ticks-delivered-one-by-one';
/** The mechanism tag of owed ticks (and the expiries uncounted meanwhile) that create/destroy_periodic_time discarded. */
export const OWED_TICKS_DROPPED = 'owed-ticks-dropped-by-timer-reprogram';

/** NOW() / hvm_get_guest_time(v) in ticks. */
export function hostNow(v: XenVcpu): number {
  return TIME_ORIGIN + v.now;
}

/** align_timer (common/timer.c): the first multiple of `period` at or after `firsttick`. */
export function alignTimer(firsttick: number, period: number): number {
  return firsttick + (period - 1) - ((firsttick - 1) % period);
}

/** pt_irq_masked for PTSRC_lapic: !vlapic_enabled(vlapic) || LVTT masked. */
function ptIrqMasked(v: XenVcpu): boolean {
  return !v.vlapic.enabled || (v.vlapic.lvtt & APIC_LVT_MASKED) !== 0;
}

/**
 * set_timer(&pt->timer, expires) on v->processor. An expiry already passed raises the timer
 * interrupt at once (the timer subsystem reprograms the pCPU's deadline into the past).
 */
export function setTimer(vm: XenVm, cpu: number, expires: number): void {
  const v = vm.vcpu[cpu]!;
  v.pt.timerExpires = expires;
  if (expires <= hostNow(v)) hostTimerInterrupt(vm, cpu);
}

/**
 * The pCPU's timer interrupt (timer_interrupt → raise TIMER_SOFTIRQ), met wherever the vCPU's
 * pCPU is: in the guest it is #VMEXIT(INTR) (the INTR intercept); in Xen with GIF = 1 it is taken
 * and the softirq waits for the CLGI check of svm_asm_do_resume; between CLGI and VMRUN (GIF = 0)
 * it is held and taken right after VMRUN; an idle pCPU (the vCPU blocked, down, or woken and not
 * yet scheduled) runs the softirq at once.
 */
export function hostTimerInterrupt(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  if (v.timerSoftirq || v.hostTimerHeld) return;
  switch (v.phase) {
    case Phase.Guest:
      vmexitBegin(vm, cpu, 'intr');
      vm.sink.step(cpu, 'timer_interrupt');
      v.timerSoftirq = true;
      vmexitEnd(vm, cpu);
      return;
    case Phase.Hv: case Phase.Assisted:
      vm.sink.step(cpu, 'timer_interrupt');
      v.timerSoftirq = true;
      return;
    case Phase.Clgi:
      v.hostTimerHeld = true;
      return;
    case Phase.Runnable: case Phase.Blocked: case Phase.Down:
      vm.sink.step(cpu, 'timer_interrupt');
      timerSoftirqAction(vm, cpu);
      return;
    case Phase.Dead:
      return;
  }
}

/** TIMER_SOFTIRQ (timer_softirq_action): run the vCPU's timer if its expiry has passed. */
export function timerSoftirqAction(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  v.timerSoftirq = false;
  const pt = v.pt;
  if (pt.timerExpires < 0 || pt.timerExpires > hostNow(v)) return;
  pt.timerExpires = -1;
  ptTimerFn(vm, cpu);
}

/** Scenario `time`: the vCPU's (and its pCPU's) clock advances; a passed expiry interrupts the pCPU. */
export function timeAdvance(vm: XenVm, cpu: number, advance: number): void {
  const v = vm.vcpu[cpu]!;
  v.now += advance;
  const fires = v.pt.timerExpires >= 0 && v.pt.timerExpires <= hostNow(v);
  // Diagnostics: bare metal's timer raised its vector here; did Xen's make a tick?
  if (v.archTimer.expire(v.now) > 0 && !v.archTimer.masked && !fires) {
    v.archOwed[v.archTimer.vector] = v.timerWhy;
    // The timer is not armed because ticks are owed (pt_intr_post re-arms only when none is): Xen keeps this expiry
    // only as a count pt_process_missed_ticks makes later.
    if (v.pt.onList && !v.pt.oneShot && v.pt.pendingIntrNr > 0 && v.pt.timerExpires < 0) v.archExpiredWhileOwed = v.archTimer.vector;
  }
  if (fires) hostTimerInterrupt(vm, cpu);
}

/**
 * pt_timer_fn: one more pending tick, `scheduled` moves a period on, and vcpu_kick — from the
 * vCPU's own pCPU in softirq context, so it only unblocks (no VCPU_KICK_SOFTIRQ: v == current
 * and !in_irq(), or v is not running). The timer is not re-armed here: pt_irq_fired does that
 * once the tick is injected.
 */
export function ptTimerFn(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  const pt = v.pt;
  vm.sink.step(cpu, 'pt_timer_fn');
  // Diagnostics: the aligned train ticks between bare metal's expiries; after an instance bare metal's last expiry
  // collapsed into, this tick is one bare metal has not made yet.
  const at = pt.scheduled - TIME_ORIGIN, arch = v.archTimer;
  if (v.timerWhy === 'periodic-timer-first-tick-aligned' && arch.mode === 'periodic' && arch.vector === pt.irq
    && arch.initial === pt.period && arch.expiry >= 0 && (arch.expiry - at) % arch.initial !== 0) vsAdd(v.offPhaseTicks, pt.irq);
  pt.pendingIntrNr++;
  pt.scheduled += pt.period;
  pt.doNotFreeze = false;
  const blocked = v.phase === Phase.Blocked;
  vcpuKick(vm, cpu, cpu);
  if (blocked && v.phase === Phase.Runnable) v.ptWoke = true;
}

/**
 * pt_update_irq, at the top of svm_intr_assist: a pending tick of a timer on the list whose LVT
 * is masked (or the vlapic disabled) suspends the timer (list_del; the tick stays counted);
 * otherwise irq_issued and vlapic_set_irq(vlapic, pt->irq, 0).
 */
export function ptUpdateIrq(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  const pt = v.pt;
  if (!pt.onList || pt.pendingIntrNr === 0) return;
  if (ptIrqMasked(v)) {
    vm.sink.step(cpu, 'pt_update_irq: suspend timer emulation');
    pt.onList = false;
    return;
  }
  vm.sink.step(cpu, 'pt_update_irq');
  // Diagnostics: the tick pt_resume put back is posted now (a resume that finds the LVT still masked posts nothing).
  if (v.maskedTickQueued) { v.maskedTickResumed = pt.irq; v.maskedTickQueued = false; }
  pt.irqIssued = true;
  vlapicSetIrq(vm, cpu, pt.irq, false, cpu);
}

/**
 * pt_process_missed_ticks: once the next expiry (scheduled) is strictly before NOW(), it and every
 * later one up to NOW() — (NOW() - scheduled) / period + 1 — are expiries pt_timer_fn did not
 * count (the timer was not armed: stopped by pt_save_timer, or waiting for pt_irq_fired's
 * set_timer); they are added to pending_intr_nr (`else pt->pending_intr_nr += missed_ticks`: mode 1
 * is not no_missed_ticks_pending, so do_not_freeze is left alone) and scheduled moves past them.
 */
function ptProcessMissedTicks(v: XenVcpu): void {
  const pt = v.pt;
  if (pt.oneShot) return;
  let missed = hostNow(v) - pt.scheduled;
  if (missed <= 0) return;
  missed = Math.floor(missed / pt.period) + 1;
  pt.pendingIntrNr += missed;
  pt.scheduled += missed * pt.period;
}

/**
 * pt_intr_post after svm_inject_extint(vector): if it is the timer's issued tick (is_pt_irq),
 * pt_irq_fired — one-shot: off the list, nothing pending; periodic (no_delay_for_missed_ticks, the
 * `else` branch): last_plt_gtime += period and one tick owed less; when none is left,
 * pt_process_missed_ticks counts the ticks missed since, and only if there are none set_timer
 * re-arms — otherwise the timer stays unarmed and the next svm_intr_assist's pt_update_irq raises
 * the next owed tick. Then the callback: vlapic_pt_cb (periodic) or vlapic_tdt_pt_cb sets
 * timer_last_update to now, the latter also clears hw.tdt_msr.
 */
export function ptIntrPost(vm: XenVm, cpu: number, vector: number): void {
  const v = vm.vcpu[cpu]!;
  const pt = v.pt;
  if (!pt.onList || pt.pendingIntrNr === 0 || !pt.irqIssued || vector !== pt.irq) return;
  vm.sink.step(cpu, 'pt_intr_post');
  pt.irqIssued = false;
  const now = hostNow(v);
  if (pt.oneShot) {
    pt.onList = false;
    pt.pendingIntrNr = 0;
    v.tickOwedNext = false;
  } else {
    if (v.tickOwedNext) v.injectsSinceOwedTick = 0; // diagnostics: this tick is one a previous injection left owed
    pt.lastPltGtime += pt.period;
    if (--pt.pendingIntrNr === 0) {
      ptProcessMissedTicks(v);
      if (pt.pendingIntrNr === 0) {
        // Diagnostics: the next tick is due now; bare metal's expiry at this instant may have collapsed
        // into the instance just injected (it was still pending then), Xen's comes as a second one.
        if (pt.scheduled <= now) v.tickDueAtInjection = pt.irq;
        setTimer(vm, cpu, pt.scheduled);
      }
    }
    // Diagnostics: a tick is still owed after this injection; pt_update_irq raises it at the next entry, one
    // interrupt per expiry, where bare metal's expiries that found the vector pending collapsed into it.
    if (pt.pendingIntrNr > 0) v.missedTickOwed = pt.irq;
    v.tickOwedNext = pt.pendingIntrNr > 0;
  }
  if (pt.cb === 'vlapic_pt_cb') {
    // Diagnostics: TMCCT now counts from the injection, not from the expiry bare metal reloads at.
    if (now !== v.vlapic.timerLastUpdate + v.vlapic.tmict) v.tmcctRebased = true;
    v.vlapic.timerLastUpdate = now;
  } else if (pt.cb === 'vlapic_tdt_pt_cb') {
    v.vlapic.timerLastUpdate = now;
    v.vlapic.tdtMsr = 0;
  }
}

/**
 * create_periodic_time(v, pt, delta, period, irq, cb): destroy the old one, clamp a period below
 * 0.1 ms, scheduled = NOW() + delta — for a periodic timer aligned up to a multiple of the period
 * (HVM_PARAM_VPT_ALIGN; without it a LAPIC timer's first tick would be delta >> 1 later) — and
 * set_timer.
 */
export function createPeriodicTime(vm: XenVm, cpu: number, delta: number, period: number, irq: number, cb: 'vlapic_pt_cb' | 'vlapic_tdt_pt_cb' | null): void {
  const v = vm.vcpu[cpu]!;
  const pt = v.pt;
  noteOwedTicksDropped(v);
  destroyPeriodicTime(vm, cpu);
  vm.sink.step(cpu, 'create_periodic_time');
  pt.pendingIntrNr = 0;
  pt.doNotFreeze = false;
  pt.irqIssued = false;
  v.maskedTickQueued = false;
  v.tickOwedNext = false;
  const clamped = period !== 0 && period < MIN_PERIOD;
  if (clamped) period = MIN_PERIOD;
  pt.period = period;
  pt.created = true;
  pt.lastPltGtime = hostNow(v);
  pt.irq = irq;
  pt.oneShot = period === 0;
  pt.scheduled = hostNow(v) + delta;
  v.timerWhy = '';
  if (!pt.oneShot) {
    const aligned = alignTimer(pt.scheduled, pt.period);
    if (clamped) v.timerWhy = 'periodic-timer-period-clamped-to-100us';
    else if (aligned !== pt.scheduled) v.timerWhy = 'periodic-timer-first-tick-aligned';
    pt.scheduled = aligned;
  }
  pt.cb = cb;
  pt.onList = true;
  setTimer(vm, cpu, pt.scheduled);
}

/**
 * Diagnostics, before create_periodic_time / destroy_periodic_time reset pending_intr_nr: owed ticks of a periodic timer
 * are dropped, and with them the expiries bare metal made while they were owed (the timer was not armed, so nothing
 * counted them yet): bare metal's collapsed instance has no Xen tick any more.
 */
function noteOwedTicksDropped(v: XenVcpu): void {
  const pt = v.pt;
  if (!pt.onList || pt.oneShot || pt.pendingIntrNr === 0 || v.archExpiredWhileOwed !== pt.irq) return;
  v.archOwed[pt.irq] = OWED_TICKS_DROPPED;
  v.archExpiredWhileOwed = -1;
}

/** destroy_periodic_time: off the list, nothing pending, kill_timer. */
export function destroyPeriodicTime(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!, pt = v.pt;
  if (!pt.created) return;
  noteOwedTicksDropped(v);
  pt.onList = false;
  pt.pendingIntrNr = 0;
  pt.timerExpires = -1;
  v.tickOwedNext = false;
}

/**
 * pt_may_unmask_irq(…, &vlapic->pt) → pt_resume: a timer pt_update_irq suspended with a tick
 * pending goes back on the list and the vCPU is kicked (its own context: nothing to raise).
 */
export function ptResume(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  const pt = v.pt;
  if (!pt.created || pt.pendingIntrNr === 0 || pt.onList) return;
  vm.sink.step(cpu, 'pt_resume');
  pt.onList = true;
  v.maskedTickQueued = true; // diagnostics: the tick was counted while the LVT was masked
  vcpuKick(vm, cpu, cpu);
}

/**
 * pt_save_timer, when the vCPU is switched out other than blocked (hvm_vcpu_down: _VPF_down is
 * not _VPF_blocked): stop the timer unless do_not_freeze (only no_missed_ticks_pending's
 * pt_process_missed_ticks sets it, so in mode 1 the timer is always stopped); pt_freeze_time does
 * nothing outside delay_for_missed_ticks.
 */
export function ptSaveTimer(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  if (v.phase === Phase.Blocked) return;
  if (v.pt.onList && !v.pt.doNotFreeze) v.pt.timerExpires = -1;
}

/**
 * pt_restore_timer (hvm_do_resume, at every switch in): nothing pending → the ticks missed while
 * the timer was stopped are counted (pt_process_missed_ticks) and set_timer re-arms for the next
 * one; pt_thaw_time does nothing outside delay_for_missed_ticks.
 */
export function ptRestoreTimer(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  const pt = v.pt;
  if (!pt.onList || pt.pendingIntrNr !== 0) return;
  ptProcessMissedTicks(v);
  setTimer(vm, cpu, pt.scheduled);
}
