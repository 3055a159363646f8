// The vLAPIC timer (guest/vlapic.c: vlapic_write_lvt / vlapic_update_lvtt, vlapic_write_icrtmr /
// set_expiration, vlapic_set_tsc_deadline_msr, vlapic_get_ccr, vlapic_timer_expired, the SVR
// paths) on the pCPU's hypervisor timer list (arch/x86/timer.c ≤ 2020, common/timer.c since:
// add_timer, del_timer, timer_softirq, update_physical_timer). One vCPU per pCPU: vCPU i's timer is
// the only timer modelled on pCPU i's list, and the list is modelled pointer by pointer (head and
// node, next and prev) because vlapic_write_svr can add the node twice (add_timer below).
//
// The expiry path: the pCPU's own LAPIC timer, programmed in TSC-deadline mode with the list
// head's timeout, raises TIMER_VECTOR when the clock passes it; its handler only
// fire_softirq(SOFTIRQ_TIMER); do_softirq → timer_softirq runs the expired timers —
// vlapic_timer_expired → vlapic_set_intr, then the periodic re-arm. Where do_softirq runs is
// AcrnCode.softirq. The interrupt meets the vCPU thread wherever it is (vmx.ts raise_local): an
// external-interrupt exit in non-root, taken at once in root with IRQs on (exit handlers, the idle
// thread), held in the IRR from CPU_IRQ_DISABLE to the VM entry, which then exits at once.
//
// Clock: t.now is the pCPU's TSC (cpu_ticks / rdtsc); VMX_TSC_OFFSET is 0, so a guest deadline is
// a host one. The guest's DCR is divide-by-1 (the boot convention), divisor_shift 0: one TMICT
// count is one TSC tick (set_expiration: delta = tmicr << divisor_shift).
import { vsAdd, vsDel, vsHas } from '../../apic/vecset.js';
import { PHYS_TIMER } from './consts.js';
import { signal_event } from './event.js';
import {
  APIC_LVT_M, APIC_LVTT_TM, APIC_LVTT_TM_ONE_SHOT, APIC_LVTT_TM_PERIODIC, APIC_LVTT_TM_TSCDLT, APIC_SVR_ENABLE,
  type Acrn, type AcrnVcpu,
} from './state.js';
import { APIC_ESR_RECEIVE_ILLEGAL_VECTOR, accept_intr, vlapic_set_error } from './vlapic.js';
import { raise_local } from './vmx.js';

/**
 * add_timer: "limit minimal periodic timer cycle period", period_in_cycle = max(period,
 * us_to_ticks(MIN_TIMER_PERIOD_US = 500)) (arch/x86/timer.c @ 7f2b9a1c7, ea849177a, 0397cb717^;
 * common/timer.c @ 9a6e94084). In TSC ticks at a 2 GHz TSC (tsc_khz 2,000,000: us_to_ticks(500) =
 * 1,000,000); any TSC above 32 kHz gives more than the 2^4 ticks of a generated count.
 */
export const MIN_TIMER_PERIOD_TICKS = 1_000_000;
/** MAX_TIMER_ACTIONS: timer_softirq handles at most 31 expired timers per call. */
const MAX_TIMER_ACTIONS = 32;
/** APIC_LVT_DS | APIC_LVT_VECTOR. */
const APIC_LVT_DS = 0x1000;
const APIC_LVT_VECTOR = 0xff;

// The per-pCPU timer_list: element 0 is the list head, element 1 the vLAPIC timer's node.
const HEAD = 0;
const NODE = 1;

function list_empty(t: AcrnVcpu, e: number): boolean {
  return t.timerList.next[e] === e;
}

/** list_add_node(new, prev, next) of include/lib/list.h. */
function list_add_node(t: AcrnVcpu, n: number, prev: number, next: number): void {
  const l = t.timerList;
  l.prev[next] = n;
  l.next[n] = next;
  l.prev[n] = prev;
  l.next[prev] = n;
}

/** list_del_init: unlink (list_del_node(prev, next)) and INIT_LIST_HEAD. */
function list_del_init(t: AcrnVcpu, e: number): void {
  const l = t.timerList;
  const prev = l.prev[e]!, next = l.next[e]!;
  l.prev[next] = prev;
  l.next[prev] = next;
  l.next[e] = e;
  l.prev[e] = e;
}

/** timer_is_started: the node is linked. */
export function timer_is_started(t: AcrnVcpu): boolean {
  return !list_empty(t, NODE);
}

/** update_timer: timeout and, with a period, TICK_MODE_PERIODIC. */
function update_timer(t: AcrnVcpu, timeout: number, period: number): void {
  t.vtimer.timeout = timeout;
  t.vtimer.periodic = period > 0;
  t.vtimer.period = period;
}

/** del_timer: unlinked if linked ("!list_empty(&timer->node)"). The pCPU's deadline is left as it is. */
function del_timer(t: AcrnVcpu): void {
  if (!list_empty(t, NODE)) list_del_init(t, NODE);
}

/**
 * local_add_timer: list_add after the last timer due earlier. This node is the only timer the
 * list can hold here, and `tmp->timeout < tsc` is false for itself: it goes in at the head.
 */
function local_add_timer(t: AcrnVcpu): boolean {
  list_add_node(t, NODE, HEAD, t.timerList.next[HEAD]!);
  return true;
}

/**
 * add_timer (release build: the v3.3 `ASSERT(list_empty(&timer->node), "add timer again!")` is
 * compiled out without HV_DEBUG; the older trees have no check). Adding a node that is already
 * linked — vlapic_write_svr's restart after a TMICT write while disabled — links it to itself
 * (list_add(node, head) with head->next == node): from then on list_empty(node) is true, del_timer
 * cannot unlink it and the list head keeps pointing at it.
 */
function add_timer(acrn: Acrn, t: AcrnVcpu): void {
  const tm = t.vtimer;
  if (tm.timeout === 0) return; // -EINVAL
  if (!list_empty(t, NODE) || (t.timerList.next[HEAD] === NODE && list_empty(t, NODE))) {
    acrn.sink.step(t.id, 'add_timer: add timer again');
    set_why(t, 'timer-node-added-twice');
  }
  if (tm.periodic && tm.period < MIN_TIMER_PERIOD_TICKS) {
    tm.period = MIN_TIMER_PERIOD_TICKS;
    // Diagnostics: the reloads after the first expiry fall MIN_TIMER_PERIOD_US apart.
    if (t.timerWhy !== 'timer-node-added-twice') set_why(t, 'timer-period-raised-to-minimum');
  }
  if (local_add_timer(t)) update_physical_timer(acrn, t); // on the list head
}

/** update_physical_timer: the pCPU's IA32_TSC_DEADLINE gets the head's timeout ("it is okay to program a expired time"). */
function update_physical_timer(acrn: Acrn, t: AcrnVcpu): void {
  if (list_empty(t, HEAD)) return;
  t.tscDeadline = t.vtimer.timeout;
  phys_timer_check(acrn, t);
}

/** The pCPU's LAPIC timer in TSC-deadline mode: at the deadline it raises TIMER_VECTOR and disarms (SDM 10.5.4.1). */
export function phys_timer_check(acrn: Acrn, t: AcrnVcpu): void {
  if (t.dead || t.tscDeadline === 0 || t.tscDeadline > t.now) return;
  t.tscDeadline = 0;
  raise_local(acrn, t, PHYS_TIMER);
}

/** Scenario `time`: the pCPU's TSC advances. */
export function time_advance(acrn: Acrn, t: AcrnVcpu, advance: number): void {
  t.now += advance;
  arch_fire(t);
  phys_timer_check(acrn, t);
}

/** Diagnostics: bare metal's timer expiries up to now (REF-TMR-2); an unmasked one is owed until the vLAPIC timer fires it. */
function arch_fire(t: AcrnVcpu): void {
  const a = t.archTimer;
  if (a.expire(t.now) === 0 || a.masked || a.vector < 16) return;
  if (vsHas(t.timerExtra, a.vector)) vsDel(t.timerExtra, a.vector);
  else vsAdd(t.timerOwed, a.vector);
}

/** The TIMER_VECTOR handler (timer_expired_handler / tsc_deadline_handler): fire_softirq(SOFTIRQ_TIMER), then do_softirq in the 'irq' trees. */
export function timer_irq(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'fire_softirq(SOFTIRQ_TIMER)');
  t.softirqTimer = true;
  if (acrn.code.softirq === 'irq') do_softirq(acrn, t);
}

/**
 * do_softirq: runs the pending softirqs until none is left (a timer interrupt taken meanwhile —
 * IRQs are on inside — only marks SOFTIRQ_TIMER again: softirq_servicing, or the 2018 loop).
 */
export function do_softirq(acrn: Acrn, t: AcrnVcpu): void {
  if (t.softirqServicing) return;
  t.softirqServicing = true;
  while (t.softirqTimer && !t.dead) {
    t.softirqTimer = false;
    timer_softirq(acrn, t);
  }
  t.softirqServicing = false;
  t.timerLatchedDiag = false;
}

/**
 * timer_softirq: list_for_each_safe over the timer list, at most MAX_TIMER_ACTIONS - 1 expired
 * timers: del_timer, run_timer (the callback unless timeout is 0), a periodic timer re-added at
 * timeout + period_in_cycle (not rebased), a one-shot one left with timeout 0 (v3.3; the older
 * vlapic_timer_expired zeroes fire_tsc for a non-periodic LVT). Then update_physical_timer.
 */
function timer_softirq(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'timer_softirq');
  const l = t.timerList;
  const tm = t.vtimer;
  let tries = MAX_TIMER_ACTIONS;
  for (let pos = l.next[HEAD]!, n = l.next[pos]!; pos !== HEAD; pos = n, n = l.next[pos]!) {
    tries--;
    if (tm.timeout <= t.now && tries !== 0) {
      del_timer(t);
      if (tm.timeout !== 0) vlapic_timer_expired(acrn, t);
      if (t.dead) return;
      if (tm.periodic) {
        tm.timeout += tm.period;
        local_add_timer(t);
      } else {
        tm.timeout = 0;
      }
    } else {
      break;
    }
  }
  update_physical_timer(acrn, t);
}

/** vlapic_timer_expired: "inject vcpu timer interrupt if not masked" — vlapic_set_intr(vector, edge). */
function vlapic_timer_expired(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'vlapic_timer_expired');
  const lvt = t.page.lvtTimer;
  if (lvt & APIC_LVT_M) return;
  vlapic_set_intr_local(acrn, t, lvt & APIC_LVT_VECTOR);
}

/**
 * vlapic_set_intr on the vCPU's own pCPU (a local source): a vector below 16 sets RECEIVE_ILLEGAL
 * (2019+; the 2018 vlapic_set_intr returns -EINVAL before), else vlapic_accept_intr — whose SVR
 * test cannot fail here: a software-disabled vLAPIC keeps its LVTs masked (vlapic_mask_lvts,
 * vlapic_write_lvt) — with signal_event in each tree's order.
 */
function vlapic_set_intr_local(acrn: Acrn, t: AcrnVcpu, vector: number): void {
  acrn.sink.step(t.id, 'vlapic_set_intr');
  if (vector < 16) {
    if (acrn.code.tree !== '2018') vlapic_set_error(t, APIC_ESR_RECEIVE_ILLEGAL_VECTOR);
    else t.rivWhy = 'timer-illegal-vector-dropped';
    return;
  }
  if ((t.page.svr & APIC_SVR_ENABLE) === 0) return;
  if (t.timerLatchedDiag) t.timerHeldWhy[vector] = 'timer-expiry-held-irqs-off-at-entry';
  // Diagnostics: an expiry bare metal also had pays its debt; a new instance it did not have is extra.
  if (vsHas(t.timerOwed, vector)) vsDel(t.timerOwed, vector);
  else if (!vsHas(t.page.irr, vector) && !vsHas(t.pir, vector)) vsAdd(t.timerExtra, vector);
  if (acrn.code.signal === 'before') signal_event(t, t.evIntr, t.id);
  accept_intr(acrn, t, vector, false, t.id);
  if (acrn.code.signal === 'after') signal_event(t, t.evIntr, t.id);
}

/** Diagnostics: note why the timer parts from bare metal's ('' when a write puts it back in step). */
function set_why(t: AcrnVcpu, why: string): void {
  t.timerWhy = why;
  if (why) t.timerMissedWhy[t.page.lvtTimer & APIC_LVT_VECTOR] = why;
}

function lvtt_mode(t: AcrnVcpu): number {
  return t.page.lvtTimer & APIC_LVTT_TM;
}

/**
 * set_expiration: nothing for TMICT 0; else timeout = now + tmicr, periodic (period tmicr) when the
 * LVT says so (2018-2020: fire_tsc and period_in_cycle, the tick mode from vlapic_update_lvtt).
 */
function set_expiration(t: AcrnVcpu): boolean {
  if (t.tmicr === 0) return false;
  update_timer(t, t.now + t.tmicr, lvtt_mode(t) === APIC_LVTT_TM_PERIODIC ? t.tmicr : 0);
  return true;
}

/**
 * vlapic_write_lvt(APIC_OFFSET_TIMER_LVT) (vlapic_lvt_write_handler ≤ 2019): APIC_LVT_M forced
 * while software-disabled, the value masked to M | DS | vector | TM, vlapic_update_lvtt: any
 * change of the timer mode — one-shot ↔ periodic too — del_timer and update_timer(0, 0) ("A write
 * to the LVT Timer Register that changes the timer mode disarms the local APIC timer").
 */
export function vlapic_write_lvt_timer(acrn: Acrn, t: AcrnVcpu, value: number): void {
  let val = value >>> 0;
  if ((t.page.svr & APIC_SVR_ENABLE) === 0) val |= APIC_LVT_M;
  val &= APIC_LVT_M | APIC_LVT_DS | APIC_LVT_VECTOR | APIC_LVTT_TM;
  const mode = val & APIC_LVTT_TM;
  t.archTimer.writeLvt(val & APIC_LVT_VECTOR, (val & APIC_LVT_M) !== 0,
    mode === APIC_LVTT_TM_PERIODIC ? 'periodic' : mode === APIC_LVTT_TM_TSCDLT ? 'tsc-deadline' : 'oneshot');
  if (t.vtimerMode !== mode) {
    // Diagnostics: bare metal keeps a running count across one-shot ↔ periodic (SDM 10.5.4).
    const counting = (m: number) => m === APIC_LVTT_TM_ONE_SHOT || m === APIC_LVTT_TM_PERIODIC;
    if (counting(t.vtimerMode) && counting(mode) && t.vtimer.timeout > t.now && t.tmicr !== 0) set_why(t, 'timer-disarmed-by-mode-change');
    acrn.sink.step(t.id, 'vlapic_update_lvtt: del_timer');
    del_timer(t);
    update_timer(t, 0, 0);
    t.vtimerMode = mode;
  }
  t.page.lvtTimer = val;
  if (t.timerWhy) t.timerMissedWhy[val & APIC_LVT_VECTOR] = t.timerWhy;
}

/** vlapic_write_icrtmr (vlapic_icrtmr_write_handler ≤ 2019): ignored in TSC-deadline mode; else del_timer, set_expiration, add_timer. */
export function vlapic_write_icrtmr(acrn: Acrn, t: AcrnVcpu, count: number): void {
  t.archTimer.writeInitial(count >>> 0, t.now);
  arch_fire(t);
  t.page.icrTimer = count >>> 0;
  if (lvtt_mode(t) === APIC_LVTT_TM_TSCDLT) return;
  t.tmicr = count >>> 0;
  if (t.timerWhy !== 'timer-node-added-twice') set_why(t, ''); // the count restarts with bare metal's
  del_timer(t);
  if (set_expiration(t)) add_timer(acrn, t);
}

/**
 * vlapic_set_tsc_deadline_msr (the WRMSR exit of an intercepted IA32_TSC_DEADLINE; only LAPIC
 * pass-through VMs write the physical MSR): in TSC-deadline mode del_timer, then a non-zero value
 * (less VMX_TSC_OFFSET, 0 here) is the timeout of a one-shot add_timer — one already passed is
 * programmed as it is and fires at once — and 0 leaves it stopped; ignored in the count modes.
 */
export function vlapic_set_tsc_deadline_msr(acrn: Acrn, t: AcrnVcpu, value: number): void {
  t.archTimer.writeDeadline(value, t.now);
  arch_fire(t);
  if (lvtt_mode(t) !== APIC_LVTT_TM_TSCDLT) return;
  if (t.timerWhy !== 'timer-node-added-twice') set_why(t, '');
  del_timer(t);
  if (value !== 0) {
    update_timer(t, value, 0);
    add_timer(acrn, t);
  } else {
    update_timer(t, 0, 0);
  }
}

/** vlapic_get_ccr: in a count mode with TMICT set, the ticks to timeout while not expired (timer_expired), else 0 — linked or not. */
export function vlapic_get_ccr(t: AcrnVcpu): number {
  if (t.tmicr === 0 || lvtt_mode(t) === APIC_LVTT_TM_TSCDLT) return 0;
  const tm = t.vtimer;
  return tm.timeout !== 0 && t.now < tm.timeout ? (tm.timeout - t.now) >>> 0 : 0;
}

/**
 * The timer side of vlapic_write_svr (vlapic_svr_write_handler ≤ 2019), on a change of
 * APIC_SVR_ENABLE (against vlapic->svr_last): disable — del_timer ("stop the apic timer") and
 * vlapic_mask_lvts (the timer LVT rewritten with APIC_LVT_M: same mode, nothing more); enable — "restart
 * the apic timer if it is configured in periodic mode": set_expiration and add_timer, with no
 * del_timer before it.
 */
export function vlapic_write_svr_timer(acrn: Acrn, t: AcrnVcpu): void {
  const nw = t.page.svr;
  const old = t.svrLast;
  t.svrLast = nw;
  if (((old ^ nw) & APIC_SVR_ENABLE) === 0) return;
  if ((nw & APIC_SVR_ENABLE) === 0) {
    if (timer_is_started(t) && t.tmicr !== 0 && lvtt_mode(t) !== APIC_LVTT_TM_TSCDLT && t.timerWhy === '') set_why(t, 'timer-stopped-by-sw-disable');
    acrn.sink.step(t.id, 'del_timer; vlapic_mask_lvts');
    del_timer(t);
    vlapic_write_lvt_timer(acrn, t, t.page.lvtTimer | APIC_LVT_M);
  } else if (lvtt_mode(t) === APIC_LVTT_TM_PERIODIC) {
    if (set_expiration(t)) {
      if (t.timerWhy === '') set_why(t, 'timer-restarted-by-sw-enable');
      acrn.sink.step(t.id, 'vlapic_write_svr: restart the periodic timer');
      add_timer(acrn, t);
    }
  }
}
