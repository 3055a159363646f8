// The local APIC timer of KVM's software LAPIC (arch/x86/kvm/lapic.c) on the scenario's logical clock: LVTT, TMICT
// and IA32_TSC_DEADLINE writes (kvm_lapic_reg_write, kvm_set_lapic_tscdeadline_msr), the hrtimer that emulates it
// (start_apic_timer → restart_apic_timer → start_sw_timer; apic_timer_fn at expiry) and the delivery of an expiry
// (apic_timer_expired → lapic_timer.pending → kvm_inject_apic_timer_irqs from the vcpu_run loop tail).
//
// Read at: torvalds/linux 000d75b0b186 (lapic.c: apic_update_lvtt, cancel_apic_timer, apic_timer_expired(apic,
// from_timer_fn), start_sw_tscdeadline, set_target_expiration, start_sw_period, __start_apic_timer,
// kvm_apic_inject_pending_timer_irqs, kvm_inject_apic_timer_irqs, apic_has_pending_timer, kvm_apic_local_deliver,
// apic_timer_fn, apic_get_tmcct; the v6.12 shape of everything modelled here, see below for what is newer), and a
// v4.17–v4.19-era lapic.c in the library (id 5381037: apic_timer_expired(apic) with kvm_set_pending_timer +
// swake_up, the same apic_update_lvtt, start_apic_timer, apic_get_tmcct), plus a v4.x x86.c (library id 200959:
// kvm_set_pending_timer only makes KVM_REQ_PENDING_TIMER, "only called from the physical CPU that is running vcpu").
//
// Left out, with why:
// - The VMX preemption timer (start_hv_timer, kvm_lapic_expired_hv_timer): used only when the host offers it
//   (kvm_intel.preemption_timer) and switched back to the hrtimer before blocking (kvm_lapic_switch_to_sw_timer in
//   vcpu_block / pre_block). The model's host runs the hrtimer (kvm_can_use_hv_timer false).
// - lapic_timer_advance_ns (the hrtimer armed early, then a busy wait in kvm_wait_lapic_expire before VM entry so that
//   the interrupt is not delivered before the deadline): a host-side latency tuning that moves the host's work earlier,
//   not the guest-visible expiry; on the logical clock it would change nothing the guest sees.
// - Posted timer interrupts (kvm_use_posted_timer_interrupt, pi_inject_timer): need HLT/MWAIT passed through to
//   the guest (kvm_can_post_timer_interrupt: kvm_hlt_in_guest || kvm_mwait_in_guest); this model's HLT exits.
// - The 2025 clamp of advance_periodic_target_expiration ("force the expiration to 'now' and don't try to play
//   catch-up", present in 000d75b0b186, posted as a patch series late in 2025): after v6.12, not modelled; v6.12
//   keeps the period grid like v4.x (target_expiration += period, the hrtimer runs the callback again while it is
//   still in the past, each one collapsing on lapic_timer.pending).
// - The divide configuration (TDCR): the scenario language has none (divide-by-1); one clock unit is one tick.
import type { TimerMode } from '../../apic/timer.js';
import { PHYS_LOCAL_TIMER, REQ_PENDING_TIMER } from './consts.js';
import { vmx_vm_exit } from './exits.js';
import { __apic_accept_irq } from './lapic.js';
import { kvm_vcpu_wake_up } from './sender.js';
import { apic_enabled, type Kvm, type KvmVcpu } from './state.js';

/**
 * min_timer_period_us (x86.c module parameter, default 200) in ns: limit_periodic_timer_frequency raises a periodic
 * timer's period to it ("Do not allow the guest to program periodic timers with small interval, since the hrtimers
 * are not throttled by the host scheduler"). With KVM's default APIC bus cycle of 1 ns (APIC_BUS_CYCLE_NS; v6.12
 * kvm->arch.apic_bus_cycle_ns defaults to it) and divide-by-1, one clock unit here is one ns, so every periodic count
 * below 200000 runs at a 200 µs period. One-shot and TSC-deadline timers are not limited.
 */
export const MIN_TIMER_PERIOD_NS = 200_000;

/** struct kvm_timer and the LVTT/TMICT registers of apic->regs, on the vCPU's logical clock. */
export class KvmTimer {
  /** The vCPU's clock (ktime_get() and the guest TSC: one unit each). */
  now = 0;
  /** APIC_LVTT: vector, mask (reset: masked), mode (lapic_timer.timer_mode). */
  vector = 0;
  masked = true;
  mode: TimerMode = 'oneshot';
  /** APIC_TMICT. */
  tmict = 0;
  /** lapic_timer.period (TMICT × bus cycle × divide: one unit per count here); 0 when stopped. */
  period = 0;
  /** lapic_timer.target_expiration (count modes); 0 after a one-shot expiry was injected. */
  target = 0;
  /** lapic_timer.tscdeadline (TSC-deadline mode: the MSR as written; cleared when the expiry is injected). */
  tscdeadline = 0;
  /** The hrtimer's expiry while it is queued (-1: not queued). */
  hrtimer = -1;
  /** atomic_t lapic_timer.pending (0 or 1: apic_timer_expired returns early while it is set). */
  pending = 0;
  /** Diagnostics: limit_periodic_timer_frequency raised the period since TMICT was last written. */
  limited = false;
  /** Diagnostics: the LVT vector when the period was last limited, until KVM injects an expiry of it (-1: none). */
  limitedVector = -1;
  /** Diagnostics (whereStuck/explain): the last expiry that set `pending` while the LVT was masked. */
  pendingWhileMasked = false;
  /** Diagnostics (explain): the vector of an expiry taken while the LVT was masked and injected at the unmask (-1: none). */
  maskedExpiryVector = -1;
}

/** apic_has_pending_timer: a pending expiry counts only while the APIC is enabled and the LVT unmasked. */
export function apic_has_pending_timer(t: KvmVcpu): boolean {
  return apic_enabled(t) && !t.timer.masked && t.timer.pending > 0;
}

/** limit_periodic_timer_frequency. */
function limit_periodic_timer_frequency(k: KvmTimer): void {
  if (k.mode === 'periodic' && k.period > 0 && k.period < MIN_TIMER_PERIOD_NS) {
    k.period = MIN_TIMER_PERIOD_NS;
    k.limited = true;
    k.limitedVector = k.vector;
  }
}

/**
 * Diagnostics: the running count's period (or the expiry it runs to) was raised by limit_periodic_timer_frequency
 * (vector < 0: for TMCCT), or `vector` is the LVT vector of a limited count whose expiry KVM has not delivered since
 * (bare metal's earlier expiry can outlive a TMICT rewrite).
 */
export function periodic_limited(t: KvmVcpu, vector: number): boolean {
  const k = t.timer;
  if (vector < 0) return k.limited;
  return (k.limited && vector === k.vector) || vector === k.limitedVector;
}

/** kvm_apic_local_deliver(apic, APIC_LVTT): nothing while masked, else a fixed edge message to this APIC. */
function kvm_apic_local_deliver_lvtt(kvm: Kvm, t: KvmVcpu): void {
  if (t.timer.masked) return;
  kvm.sink.step(t.id, 'kvm_apic_local_deliver(APIC_LVTT)');
  __apic_accept_irq(kvm, t, t.timer.vector, false, false, t.id);
}

/** kvm_apic_inject_pending_timer_irqs: deliver, then disarm a TSC deadline or a one-shot count. */
function kvm_apic_inject_pending_timer_irqs(kvm: Kvm, t: KvmVcpu): void {
  const k = t.timer;
  if (!k.masked) {
    if (k.pending > 0 && k.pendingWhileMasked) k.maskedExpiryVector = k.vector;
    else if (k.vector === k.maskedExpiryVector) k.maskedExpiryVector = -1;
    if (k.vector === k.limitedVector && !k.limited) k.limitedVector = -1;
  }
  kvm_apic_local_deliver_lvtt(kvm, t);
  if (k.mode === 'tsc-deadline') k.tscdeadline = 0;
  else if (k.mode === 'oneshot') { k.tscdeadline = 0; k.target = 0; }
}

/**
 * apic_timer_expired. v4.x: pending++, kvm_set_pending_timer (KVM_REQ_PENDING_TIMER) and swake_up of a vCPU
 * sleeping in kvm_vcpu_block. v6.12: called from the vCPU itself (!from_timer_fn: a deadline already past when it
 * is armed) with APICv active it injects at once; otherwise pending++, KVM_REQ_UNBLOCK and, from the hrtimer,
 * kvm_vcpu_kick — on the vCPU's own pCPU that is the wake-up of a blocked vCPU (the IN_GUEST_MODE → EXITING
 * branch for the running vCPU cannot be reached: the callback runs with host IRQs on, never between
 * local_irq_disable and the VM exit, and v6.12 stores IN_GUEST_MODE after local_irq_disable).
 */
function apic_timer_expired(kvm: Kvm, t: KvmVcpu, fromTimerFn: boolean): void {
  const k = t.timer;
  if (k.pending > 0) return;
  // "if (!from_timer_fn && apic->apicv_active)": without APICv the expiry takes the pending path as from the hrtimer.
  if (kvm.code.timer === 'v6.12' && !fromTimerFn && t.apicvActive) {
    kvm_apic_inject_pending_timer_irqs(kvm, t);
    return;
  }
  k.pending = 1;
  k.pendingWhileMasked = k.masked;
  t.requests |= REQ_PENDING_TIMER;
  kvm_vcpu_wake_up(t);
}

/** apic_timer_fn (the hrtimer callback, hardirq on the vCPU's pCPU), as hrtimer_interrupt runs it until the timer is in the future. */
function hrtimer_interrupt(kvm: Kvm, t: KvmVcpu): void {
  const k = t.timer;
  kvm.sink.step(t.id, 'apic_timer_fn');
  // Bounded: the hrtimer core runs an expired timer again at once after HRTIMER_RESTART.
  for (let i = 0; i < 1 << 20 && k.hrtimer >= 0 && k.hrtimer <= k.now; i++) {
    apic_timer_expired(kvm, t, true);
    if (k.mode === 'periodic' && k.period > 0) {
      // advance_periodic_target_expiration (v4.x to v6.12: no clamp to now), hrtimer_set_expires, HRTIMER_RESTART.
      k.target += k.period;
      k.hrtimer = k.target;
      if (k.hrtimer <= k.now) {
        // Each further callback of this interrupt finds pending set: the periods collapse into one.
        const skip = Math.floor((k.now - k.hrtimer) / k.period);
        k.target += skip * k.period;
        k.hrtimer = k.target;
      }
    } else k.hrtimer = -1;
  }
}

/**
 * The host's LOCAL_TIMER_VECTOR reaches the vCPU's pCPU at the hrtimer's expiry. In VMX non-root: an
 * external-interrupt VM exit, and handle_external_intr runs the handler after vcpu->mode = OUTSIDE_GUEST_MODE.
 * In root with host IRQs on (the vCPU thread in KVM, or asleep in kvm_vcpu_block): the handler runs at once.
 * With IRQs off (local_irq_disable .. VM entry) it stays pending in the physical APIC: `phys`.
 */
export function host_timer_interrupt(kvm: Kvm, t: KvmVcpu): void {
  if (t.nonRoot) {
    vmx_vm_exit(kvm, t, 'extint');
    hrtimer_interrupt(kvm, t);
    return;
  }
  if (!t.irqsOn) {
    t.phys |= PHYS_LOCAL_TIMER;
    return;
  }
  hrtimer_interrupt(kvm, t);
}

/** The handler of a LOCAL_TIMER_VECTOR that was held pending (pirq, or at VM entry). */
export function local_timer_handler(kvm: Kvm, t: KvmVcpu): void {
  hrtimer_interrupt(kvm, t);
}

/** Scenario `time`: the vCPU's clock advances; an expired hrtimer interrupts its pCPU. */
export function kvm_timer_advance(kvm: Kvm, t: KvmVcpu, advance: number): void {
  const k = t.timer;
  k.now += advance;
  if (k.hrtimer >= 0 && k.hrtimer <= k.now && (t.phys & PHYS_LOCAL_TIMER) === 0) host_timer_interrupt(kvm, t);
}

/** cancel_apic_timer (v6.12): hrtimer_cancel (a LOCAL_TIMER_VECTOR still pending for it finds nothing to run) and pending := 0. */
function cancel_apic_timer(t: KvmVcpu): void {
  t.timer.hrtimer = -1;
  t.phys &= ~PHYS_LOCAL_TIMER;
  t.timer.pending = 0;
}

/**
 * start_apic_timer → __start_apic_timer: pending := 0; a count mode sets period and target_expiration from TMICT
 * (set_target_expiration; nothing with TMICT 0); restart_apic_timer → start_sw_timer → start_sw_period (the target
 * is in the future: hrtimer_start) or start_sw_tscdeadline (a deadline not in the future: apic_timer_expired(apic,
 * false) at once; 0: nothing).
 */
function start_apic_timer(kvm: Kvm, t: KvmVcpu): void {
  const k = t.timer;
  k.pending = 0;
  k.limited = false;
  if (k.mode !== 'tsc-deadline') {
    // set_target_expiration: period from TMICT, limited for a periodic timer, the first expiry a period away.
    k.period = k.tmict;
    if (k.period === 0) { k.tscdeadline = 0; return; }
    limit_periodic_timer_frequency(k);
    k.target = k.now + k.period;
    k.hrtimer = k.target;
    return;
  }
  if (k.tscdeadline === 0) return;
  if (k.tscdeadline > k.now) { k.hrtimer = k.tscdeadline; return; }
  kvm.sink.step(t.id, 'start_sw_tscdeadline:expired');
  apic_timer_expired(kvm, t, false);
}

/**
 * kvm_lapic_reg_write(APIC_LVTT) after the write's exit: the mask is forced while the APIC is software-disabled;
 * apic_update_lvtt, on a change between TSC-deadline and a count mode, cancels the timer (cancel_apic_timer) and
 * clears TMICT, period and tscdeadline. One-shot ↔ periodic keeps the hrtimer running (SDM 10.5.4.1).
 */
export function kvm_lapic_write_lvtt(kvm: Kvm, t: KvmVcpu, vector: number, mode: TimerMode, masked: boolean): void {
  const k = t.timer;
  k.vector = vector;
  k.masked = masked || !apic_enabled(t);
  if (k.mode !== mode) {
    if ((k.mode === 'tsc-deadline') !== (mode === 'tsc-deadline')) {
      // v4.x: hrtimer_cancel only (an expiry pending behind a masked LVT survives the change); v6.12 cancel_apic_timer.
      if (kvm.code.timer === 'v6.12') cancel_apic_timer(t);
      else { k.hrtimer = -1; t.phys &= ~PHYS_LOCAL_TIMER; }
      k.tmict = 0;
      k.period = 0;
      k.tscdeadline = 0;
    }
    k.mode = mode;
    limit_periodic_timer_frequency(k);
  }
}

/** kvm_lapic_reg_write(APIC_TMICT): ignored in TSC-deadline mode; else cancel, store, start_apic_timer. */
export function kvm_lapic_write_tmict(kvm: Kvm, t: KvmVcpu, count: number): void {
  if (t.timer.mode === 'tsc-deadline') return;
  // v6.12 cancel_apic_timer; v4.x hrtimer_cancel (start_apic_timer zeroes pending in both).
  cancel_apic_timer(t);
  t.timer.tmict = count >>> 0;
  start_apic_timer(kvm, t);
}

/** kvm_set_lapic_tscdeadline_msr (WRMSR IA32_TSC_DEADLINE, intercepted): only in TSC-deadline mode. */
export function kvm_set_lapic_tscdeadline_msr(kvm: Kvm, t: KvmVcpu, data: number): void {
  if (t.timer.mode !== 'tsc-deadline') return;
  t.timer.hrtimer = -1;
  t.phys &= ~PHYS_LOCAL_TIMER;
  t.timer.tscdeadline = data;
  start_apic_timer(kvm, t);
}

/**
 * apic_get_tmcct (via __apic_read: 0 in TSC-deadline mode): 0 with TMICT or period 0, else the time left to
 * target_expiration (0 once past) modulo the period, in bus cycles. The modulo only matters when the time left is a
 * whole period or more: on ktime_get()'s clock some time always passes between arming (or re-arming) and the read,
 * while the logical clock can read at the arming instant itself, where a literal modulo would give 0 for a full
 * count. So it is applied to what exceeds a period (never reached here) and a zero-length interval reads the count.
 */
export function apic_get_tmcct(t: KvmVcpu): number {
  const k = t.timer;
  if (k.mode === 'tsc-deadline') return 0;
  if (k.tmict === 0 || k.period === 0) return 0;
  const remaining = Math.max(0, k.target - k.now);
  return remaining > k.period ? remaining % k.period : remaining;
}

/** The SVR disable of kvm_lapic_reg_write(APIC_SPIV): every LVT masked, apic_update_lvtt, pending := 0. */
export function kvm_timer_sw_disable(t: KvmVcpu): void {
  t.timer.masked = true;
  t.timer.pending = 0;
}

/**
 * kvm_vcpu_check_block, beyond kvm_arch_vcpu_runnable: kvm_cpu_has_pending_timer (apic_has_pending_timer) ends the
 * block, and in v6.12 so does a KVM_REQ_UNBLOCK, which it consumes. vcpu_block then returns 1 with the vCPU still
 * halted (v4.x: no KVM_REQ_UNHALT; v6.12: "if (!kvm_arch_vcpu_runnable(vcpu)) return 1"), and the loop tail injects.
 */
export function kvm_vcpu_check_block_timer(kvm: Kvm, t: KvmVcpu): boolean {
  if (apic_has_pending_timer(t)) return true;
  if (kvm.code.timer === 'v6.12' && (t.requests & REQ_PENDING_TIMER) !== 0) {
    t.requests &= ~REQ_PENDING_TIMER;
    return true;
  }
  return false;
}

/**
 * The vcpu_run loop tail after vcpu_enter_guest or vcpu_block returned 1: clear the timer request
 * (KVM_REQ_PENDING_TIMER in v4.x, KVM_REQ_UNBLOCK in v6.12), then, if kvm_cpu_has_pending_timer,
 * kvm_inject_pending_timer_irqs → kvm_inject_apic_timer_irqs.
 */
export function vcpu_run_loop_tail(kvm: Kvm, t: KvmVcpu): void {
  t.requests &= ~REQ_PENDING_TIMER;
  if (!apic_has_pending_timer(t)) return;
  kvm.sink.step(t.id, 'kvm_inject_apic_timer_irqs');
  kvm_apic_inject_pending_timer_irqs(kvm, t);
  t.timer.pending = 0;
  t.timerPendingAtNestedAck = -1;
}
