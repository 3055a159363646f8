// Requests and the scheduler's notification paths: vcpu_make_request (arch/x86/guest/virq.c)
// with the kick of each tree — the 2018/2019 VECTOR_NOTIFY_VCPU to any other pCPU,
// kick_thread (common/schedule.c, 5f8e7a6cb), kick_vcpu (guest/vcpu.c, 53d4a7169) — and
// make_reschedule_request / wake_thread / sleep_thread (common/schedule.c). One vCPU per pCPU:
// the vCPU thread and the idle thread are the only threads of pCPU i.
import { PHYS_NOTIFY, Pc, Wait } from './consts.js';
import type { Acrn, AcrnVcpu } from './state.js';

/** make_reschedule_request(pcpu, DEL_MODE_IPI) from pCPU `from` (-1: a device or another VM's CPU). */
export function make_reschedule_request(t: AcrnVcpu, from: number): void {
  t.needResched = true;
  if (from !== t.id) t.inflight |= PHYS_NOTIFY;
}

function isBlocked(t: AcrnVcpu): boolean {
  return t.pc === Pc.Blocked;
}

function isRunnable(t: AcrnVcpu): boolean {
  return t.pc === Pc.Runnable;
}

/** The kick after a request bit is set. */
export function kick(acrn: Acrn, t: AcrnVcpu, from: number): void {
  switch (acrn.code.kick) {
    case 'ipi':
      // "if current hostcpu is not the target vcpu's hostcpu, we need to invoke IPI".
      if (from !== t.id) t.inflight |= PHYS_NOTIFY;
      return;
    case 'kick-thread':
      if (isBlocked(t)) return; // a sleeping vCPU is not woken by a kick
      if (isRunnable(t)) { make_reschedule_request(t, from); return; }
      if (from !== t.id) t.inflight |= PHYS_NOTIFY;
      return;
    case 'kick-vcpu':
      // per_cpu(vmcs_run, pcpu) is the vCPU's VMCS while it owns the pCPU, asleep or not.
      if (from !== t.id) t.inflight |= PHYS_NOTIFY;
      return;
  }
}

/** vcpu_make_request: set the request bit, then kick. */
export function vcpu_make_request(acrn: Acrn, t: AcrnVcpu, req: number, from: number): void {
  t.pendingReq |= req;
  kick(acrn, t, from);
}

/** wake_thread: a BLOCKED thread becomes RUNNABLE and its pCPU is asked to reschedule. */
export function wake_thread(t: AcrnVcpu, from: number): void {
  if (!isBlocked(t)) return;
  t.pc = Pc.Runnable;
  make_reschedule_request(t, from);
}

/** sleep_thread + schedule(): the vCPU thread blocks and the idle thread runs the pCPU (host IRQs on). */
export function sleep_thread(t: AcrnVcpu, wait: Wait): void {
  t.pc = Pc.Blocked;
  t.wait = wait;
  t.needResched = false; // schedule() consumed the request sleep_thread made
}
