// The vlapic's timer registers (xen/arch/x86/hvm/vlapic.c): vlapic_reg_write(APIC_LVTT /
// APIC_TMICT), vlapic_update_timer (e4e1896b2c, d8ce0309c1, f343f66759, 2017-08-25), the
// 2016 LVTT/TMICT cases before it (10a674b4), vlapic_tdt_msr_set (the same in every tree),
// vlapic_get_tmcct and the TMCCT case of vlapic_read_aligned. Divide-by-1 throughout (TDCR
// writes are not in the scenario language), so a count is a number of ticks.
import type { TimerMode } from '../../scenario/types.js';
import type { XenVm } from './domain.js';
import {
  APIC_LVT_MASKED, APIC_TIMER_MODE_MASK, APIC_TIMER_MODE_ONESHOT, APIC_TIMER_MODE_PERIODIC, APIC_TIMER_MODE_TSC_DEADLINE, type VlapicRegs,
} from './state.js';
import { createPeriodicTime, destroyPeriodicTime, hostNow, ptResume } from './vpt.js';

/** vlapic_lvt_mask[0]: vector, delivery status, mask and the timer mode bits. */
const LVTT_MASK = 0xff | 0x1000 | APIC_LVT_MASKED | APIC_TIMER_MODE_MASK;

export function lvttValue(vector: number, masked: boolean, mode: TimerMode): number {
  const m = mode === 'periodic' ? APIC_TIMER_MODE_PERIODIC : mode === 'tsc-deadline' ? APIC_TIMER_MODE_TSC_DEADLINE : APIC_TIMER_MODE_ONESHOT;
  return ((vector & 0xff) | (masked ? APIC_LVT_MASKED : 0) | m) >>> 0;
}

const oneshot = (lvtt: number): boolean => (lvtt & APIC_TIMER_MODE_MASK) === APIC_TIMER_MODE_ONESHOT;
const periodic = (lvtt: number): boolean => (lvtt & APIC_TIMER_MODE_MASK) === APIC_TIMER_MODE_PERIODIC;
const tdt = (lvtt: number): boolean => (lvtt & APIC_TIMER_MODE_MASK) === APIC_TIMER_MODE_TSC_DEADLINE;

/**
 * vlapic_get_tmcct: ticks since timer_last_update, modulo TMICT in periodic mode, subtracted
 * from TMICT (0 once it has passed). "If timer_last_update is 0, then TMCCT should return 0 as
 * well" (vlapic_update_timer's trees; 10a674b4 tests TMICT only). vlapic_read_aligned returns 0
 * outside one-shot and periodic mode.
 */
export function vlapicGetTmcct(vm: XenVm, cpu: number): number {
  const v = vm.vcpu[cpu]!;
  const vl = v.vlapic;
  if (!oneshot(vl.lvtt) && !periodic(vl.lvtt)) return 0;
  let passed = hostNow(v) - vl.timerLastUpdate;
  if (vl.tmict !== 0 && (vm.code.lvtt === 'lvtt-2016' || vl.timerLastUpdate !== 0)) {
    if (periodic(vl.lvtt)) passed %= vl.tmict;
    if (passed < vl.tmict) return vl.tmict - passed;
  }
  return 0;
}

/**
 * vlapic_update_timer(vlapic, lvtt, tmict_updated, old_divisor): the next expiry from the count
 * left (the *current* LVTT decides whether the time passed wraps), then create_periodic_time with
 * that delta (periodic: the TMICT period too, and vlapic_pt_cb), or destroy_periodic_time and
 * timer_last_update = 0.
 */
function vlapicUpdateTimer(vm: XenVm, cpu: number, lvtt: number, tmictUpdated: boolean): void {
  const v = vm.vcpu[cpu]!;
  const vl = v.vlapic;
  const isPeriodic = periodic(lvtt), isOneshot = oneshot(lvtt);
  const period = vl.tmict;
  let delta = 0;
  if (tmictUpdated) delta = period;
  else if (period !== 0 && vl.timerLastUpdate !== 0) {
    let passed = hostNow(v) - vl.timerLastUpdate;
    if (periodic(vl.lvtt)) passed %= period;
    if (passed < period) delta = period - passed;
  }
  if (delta !== 0 && (isOneshot || isPeriodic)) {
    createPeriodicTime(vm, cpu, delta, isPeriodic ? period : 0, v.pt.irq, isPeriodic ? 'vlapic_pt_cb' : null);
    vl.timerLastUpdate = v.pt.lastPltGtime;
    if (!tmictUpdated) vl.timerLastUpdate -= period - delta;
  } else {
    vm.sink.step(cpu, 'destroy_periodic_time');
    destroyPeriodicTime(vm, cpu);
    vl.timerLastUpdate = 0;
  }
}

/** vlapic_reg_write(APIC_LVTT), then the LVT common tail (masked while software-disabled, pt_may_unmask_irq). */
export function vlapicLvttWrite(vm: XenVm, cpu: number, val: number): void {
  const v = vm.vcpu[cpu]!;
  const vl = v.vlapic;
  if (vm.code.lvtt === 'lvtt-2016') {
    if ((vl.lvtt & APIC_TIMER_MODE_MASK) !== (val & APIC_TIMER_MODE_MASK)) {
      // Diagnostics: a count still running is stopped (bare metal keeps it between one-shot and periodic).
      if (!tdt(vl.lvtt) && !tdt(val) && vlapicGetTmcct(vm, cpu) !== 0) v.timerWhy = 'timer-stopped-by-lvtt-mode-change';
      vm.sink.step(cpu, 'destroy_periodic_time');
      destroyPeriodicTime(vm, cpu);
      vl.tmict = 0;
      vl.tdtMsr = 0;
    }
    // Diagnostics: a tick already posted to IRR under the old vector (issued, not yet injected) stays counted, and
    // pt_update_irq posts it again under the new one.
    if (v.pt.onList && v.pt.pendingIntrNr > 0 && v.pt.irqIssued && v.pt.irq !== (val & 0xff)) v.tickRepostedVector = val & 0xff;
    // Diagnostics: a tick owed after an injection (no_delay_for_missed_ticks: pt_intr_post left pending_intr_nr above 0,
    // nothing posted yet) is raised by pt_update_irq under the new vector, one bare metal's IRR collapsed under the old one.
    if (v.pt.onList && v.pt.pendingIntrNr > 0 && !v.pt.irqIssued && v.missedTickOwed === v.pt.irq && v.pt.irq !== (val & 0xff)) v.missedTickOwed = val & 0xff;
    v.pt.irq = val & 0xff;
  } else {
    if (tdt(vl.lvtt) !== tdt(val)) {
      vl.tmict = 0;
      vl.tdtMsr = 0;
    }
    v.pt.irq = val & 0xff;
    // Diagnostics: in TSC-deadline mode TMICT is 0, so vlapic_update_timer destroys an armed deadline
    // on any LVTT write (a new vector, a mask change); bare metal disarms only on a mode change.
    const deadlineArmed = tdt(vl.lvtt) && tdt(val) && v.pt.onList && v.pt.pendingIntrNr === 0 && v.pt.timerExpires >= 0;
    vlapicUpdateTimer(vm, cpu, val, false);
    if (deadlineArmed) v.timerWhy = 'tsc-deadline-disarmed-by-lvtt-write';
  }
  if (!vl.enabled) val |= APIC_LVT_MASKED;
  vl.lvtt = (val & LVTT_MASK) >>> 0;
  if ((val & APIC_LVT_MASKED) === 0) ptResume(vm, cpu);
}

/** vlapic_reg_write(APIC_TMICT): ignored outside one-shot and periodic mode. */
export function vlapicTmictWrite(vm: XenVm, cpu: number, val: number): void {
  const v = vm.vcpu[cpu]!;
  const vl = v.vlapic;
  if (!oneshot(vl.lvtt) && !periodic(vl.lvtt)) return;
  vl.tmict = val >>> 0;
  if (vm.code.lvtt === 'update-timer') {
    vlapicUpdateTimer(vm, cpu, vl.lvtt, true);
    return;
  }
  // 10a674b4: TMICT 0 stops the timer; otherwise a new periodic_time of TMICT ticks.
  if (val === 0) {
    vm.sink.step(cpu, 'destroy_periodic_time');
    destroyPeriodicTime(vm, cpu);
    return;
  }
  const p = periodic(vl.lvtt);
  createPeriodicTime(vm, cpu, vl.tmict, p ? vl.tmict : 0, v.pt.irq, p ? 'vlapic_pt_cb' : null);
  vl.timerLastUpdate = v.pt.lastPltGtime;
}

/**
 * vlapic_tdt_msr_set (hvm_msr_write_intercept, MSR_IA32_TSC_DEADLINE): ignored outside
 * TSC-deadline mode; a deadline after the guest TSC arms a one-shot timer for the difference; one
 * at or before it fires at once (create_periodic_time with delta 0); 0 stops the timer.
 */
export function vlapicTdtMsrSet(vm: XenVm, cpu: number, value: number): void {
  const v = vm.vcpu[cpu]!;
  const vl = v.vlapic;
  if (!tdt(vl.lvtt)) return;
  const guestTsc = v.now;
  if (value > guestTsc) {
    vl.tdtMsr = value;
    createPeriodicTime(vm, cpu, value - guestTsc, 0, v.pt.irq, 'vlapic_tdt_pt_cb');
    vl.timerLastUpdate = v.pt.lastPltGtime;
    return;
  }
  vl.tdtMsr = 0;
  if (value > 0) {
    createPeriodicTime(vm, cpu, 0, 0, v.pt.irq, 'vlapic_tdt_pt_cb');
    vl.timerLastUpdate = v.pt.lastPltGtime;
  } else {
    vm.sink.step(cpu, 'destroy_periodic_time');
    destroyPeriodicTime(vm, cpu);
  }
}

/** vlapic_reg_write(APIC_SPIV) on the LVTs: a software disable masks them all; an enable calls pt_may_unmask_irq. */
export function vlapicSpivTimer(vm: XenVm, cpu: number, vl: VlapicRegs): void {
  if (!vl.enabled) vl.lvtt = (vl.lvtt | APIC_LVT_MASKED) >>> 0;
  else ptResume(vm, cpu);
}
