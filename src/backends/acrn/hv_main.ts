// vcpu_thread (hypervisor/common/hv_main.c) one interleavable step at a time, the VM-exit path
// that precedes every exit handler, and the return of a woken thread. The loop of each tree:
//   2018 (7f2b9a1c7):  do_softirq; CPU_IRQ_DISABLE; do_softirq; acrn_handle_pending_request;
//                      if (need_reschedule) { schedule(); run_vcpu_pre_work; continue; } run_vcpu
//   2019 (ea849177a):  CPU_IRQ_DISABLE; if (need_reschedule) schedule(); acrn_handle_pending_request; run_vcpu
//   2020+ (4303ccb1a): ... acrn_handle_pending_request; reset_event(VIRTUAL_INTERRUPT); run_vcpu
// and after every exit: CPU_IRQ_ENABLE, then vmexit_handler (IDT-vectoring information first).
// Host IRQs stay off from the loop top to the VM entry, so interrupts reaching the pCPU then
// wait in its IRR (vmx.ts take_latched).
import { Inj, Pc, REQ_NMI, Wait } from './consts.js';
import { reset_event, wait_event_done } from './event.js';
import { vcpu_make_request } from './schedule.js';
import type { Acrn, AcrnVcpu } from './state.js';
import { do_softirq } from './timer.js';
import { acrn_handle_pending_request } from './virq.js';
import { run_handler_op } from './vmexit.js';
import { take_latched, vm_entry } from './vmx.js';

/**
 * The processor leaves VMX non-root (host IRQs off), then the thread enables IRQs and runs
 * vmexit_handler's prologue: a faulting NMI delivery becomes an NMI request again, a faulting
 * external interrupt is kept in arch->idt_vectoring_info for re-injection. The caller runs
 * the reason's handler next.
 */
export function vm_exit(acrn: Acrn, t: AcrnVcpu, reason: string, idtVector: number, idtNmi: boolean): void {
  t.pc = Pc.LoopTop;
  t.passes = 0;
  t.irqsOn = false;
  acrn.sink.vmexit(t.id, reason);
  acrn.sink.step(t.id, 'CPU_IRQ_ENABLE');
  t.irqsOn = true;
  take_latched(acrn, t);
  t.idtVector = -1;
  if (idtVector >= 0) {
    if (idtNmi) {
      // Diagnostics: a new NMI's request made since the pass that injected this one (vcpu_inject_nmi from
      // another pCPU while the entry ran) already holds the bit the re-raise sets: one NMI for two.
      if ((t.pendingReq & REQ_NMI) !== 0) t.nmiMergedReplay = true;
      vcpu_make_request(acrn, t, REQ_NMI, t.id);
      t.nmiReplay = true;
    } else {
      t.idtVector = idtVector;
    }
  }
}

/** The idle thread's schedule() switches back to the woken vCPU thread, which returns from where it slept. */
function resume(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'schedule (idle → vcpu thread)');
  t.needResched = false;
  t.irqsOn = true;
  const wait = t.wait;
  t.wait = Wait.None;
  t.pc = Pc.LoopTop;
  switch (wait) {
    case Wait.VirtualInterrupt:
      // wait_event's loop sees `set` and returns; hlt_vmexit_handler returns.
      if (!wait_event_done(t.evIntr)) { t.pc = Pc.Blocked; t.wait = wait; return; }
      return;
    case Wait.Ioreq:
      if (!wait_event_done(t.evIoreq)) { t.pc = Pc.Blocked; t.wait = wait; return; }
      acrn.sink.step(t.id, 'dm_emulate_io_complete');
      return;
    case Wait.Paused:
      // 2019: schedule() returns inside acrn_insert_request; 2018: switch_to restarts vcpu_thread.
      return;
    default:
      return;
  }
}

/** One step of the vCPU thread. Returns false when it did not move (in the guest, blocked, dead). */
export function thread_step(acrn: Acrn, t: AcrnVcpu): boolean {
  if (t.dead) { t.pc = Pc.Dead; return false; }
  const code = acrn.code;
  switch (t.pc) {
    case Pc.Guest: case Pc.Blocked: case Pc.Dead:
      return false;
    case Pc.Runnable:
      resume(acrn, t);
      return true;
    case Pc.Handler:
      run_handler_op(acrn, t);
      return true;
    case Pc.LoopTop:
      // 2018/2019: "do_softirq(); CPU_IRQ_DISABLE(); do_softirq();" — the timer softirq runs here.
      if (code.softirq === 'loop-top') do_softirq(acrn, t);
      if (t.dead) { t.pc = Pc.Dead; return false; }
      acrn.sink.step(t.id, code.loop === 'handle-first' ? 'do_softirq; CPU_IRQ_DISABLE' : 'CPU_IRQ_DISABLE');
      t.irqsOn = false;
      t.pc = code.loop === 'schedule-first' ? Pc.Schedule : Pc.Requests;
      return true;
    case Pc.Schedule:
      if (t.needResched) {
        // One vCPU per pCPU: schedule() picks this same thread (prev == next) and clears the flag.
        acrn.sink.step(t.id, 'schedule');
        t.needResched = false;
      }
      t.pc = Pc.Requests;
      return true;
    case Pc.Requests:
      acrn_handle_pending_request(acrn, t);
      if (t.dead) { t.pc = Pc.Dead; return false; }
      t.pc = code.loop === 'handle-first' ? Pc.ReschedCheck : code.resetEvent ? Pc.ResetEvent : Pc.Entry;
      return true;
    case Pc.ReschedCheck:
      if (!t.needResched) { t.pc = Pc.Entry; return true; }
      // need_reschedule: test-and-clear (2018); schedule() clears it (2019).
      t.needResched = false;
      acrn.sink.step(t.id, 'schedule');
      if (t.paused) {
        // The runqueue is empty: switch to the idle thread; context_switch_out cancels the
        // prepared injection (cancel_event_injection) for re-injection after the resume.
        if (t.injType !== Inj.None) {
          acrn.sink.step(t.id, 'cancel_event_injection');
          t.cancelledType = t.injType;
          t.cancelledVector = t.injVector;
          t.cancelledReplay = t.injReplay;
          t.injType = Inj.None;
        }
        t.pc = Pc.Blocked;
        t.wait = Wait.Paused;
        return true;
      }
      // prev == next: no context switch, `continue` — acrn_handle_pending_request runs again (#3374).
      acrn.sink.step(t.id, 'continue');
      t.pc = Pc.LoopTop;
      return true;
    case Pc.ResetEvent:
      acrn.sink.step(t.id, 'reset_event');
      reset_event(t.evIntr);
      t.pc = Pc.Entry;
      return true;
    case Pc.Entry:
      vm_entry(acrn, t);
      return true;
    default:
      return false;
  }
}

/** Scenario `enter`: the thread runs until the guest runs or it blocks (bounded: a loop that never enters is a livelock for the drain to see). */
export function enter(acrn: Acrn, t: AcrnVcpu): void {
  for (let i = 0; i < 64; i++) {
    if (!thread_step(acrn, t)) return;
    if (t.pc === Pc.Guest || t.pc === Pc.Blocked) return;
  }
}
