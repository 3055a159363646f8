// struct sched_event (hypervisor/common/event.c, 1f23fe3fd): exclusive waiting.
// signal_event sets `set` and wakes the waiting thread; wait_event returns at once when `set` is
// already true (consuming it), otherwise sleeps until signalled; reset_event clears both.
import type { Wait } from './consts.js';
import { sleep_thread, wake_thread } from './schedule.js';
import type { AcrnVcpu, SchedEvent } from './state.js';

export function signal_event(t: AcrnVcpu, ev: SchedEvent, from: number): void {
  ev.set = true;
  if (ev.waiting) wake_thread(t, from);
}

export function reset_event(ev: SchedEvent): void {
  ev.set = false;
  ev.waiting = false;
}

/** wait_event: returns true when the thread went to sleep. */
export function wait_event(t: AcrnVcpu, ev: SchedEvent, wait: Wait): boolean {
  if (ev.set) {
    ev.set = false;
    ev.waiting = false;
    return false;
  }
  ev.waiting = true;
  sleep_thread(t, wait);
  return true;
}

/** The woken thread comes back from schedule() inside wait_event: `set` ends the loop. */
export function wait_event_done(ev: SchedEvent): boolean {
  if (!ev.set) return false;
  ev.set = false;
  ev.waiting = false;
  return true;
}
