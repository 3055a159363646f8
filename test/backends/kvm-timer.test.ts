// kvm backend, issue 8: the local APIC timer as KVM emulates it (src/backends/kvm/timer.ts): the hrtimer on the
// vCPU's pCPU, apic_timer_fn → apic_timer_expired → lapic_timer.pending → the vcpu_run loop tail's
// kvm_inject_apic_timer_irqs, the host timer interrupt against each point of the entry path, HLT blocking
// (kvm_vcpu_check_block's kvm_cpu_has_pending_timer), TSC-deadline, TMCCT, and the two deviations.
import { describe, expect, it } from 'vitest';
import { kvm } from '../../src/backends/kvm/index.js';
import { CODE } from '../../src/backends/kvm/variants.js';
import { runScenario } from '../../src/engine/run.js';
import { readScenarioFile } from '../../src/store/files.js';
import { makeKvm } from './kvm-recorder.js';
import type { Event, MachineConfig, Scenario } from '../../src/scenario/types.js';

const V = 0xd0;


const M: MachineConfig = { vcpus: 1, apic: 'x2apic', ioapic: [] };
// The APICv variants: these tests assert the virtual-APIC mechanisms (VID, virtualized EOI/reads/self-IPI, trap-like
// APIC-write exits); v6.12-noapicv's software path has its own tests (kvm-noapicv.test.ts).
const VARIANTS = kvm.variants.map((v) => v.name).filter((n) => CODE[n]!.apicv);

const make = (variant: string, machine: MachineConfig = M) => makeKvm(variant, machine);

const sigs = (s: Scenario, v: string) => runScenario(s, kvm, v).divergences.map((d) => d.signature);
const scen = (events: Event[], machine: MachineConfig = M): Scenario => ({ irqdiff: 1, machine, events });

/** One-shot, unmasked, vector V, armed for `count` ticks; the vCPU back in the guest. */
function armOneShot(run: (ev: Event) => void, count: number): void {
  run({ k: 'lvt_timer', cpu: 0, vector: V, mode: 'oneshot', masked: false });
  run({ k: 'enter', cpu: 0 });
  run({ k: 'timer_initial', cpu: 0, count });
  run({ k: 'enter', cpu: 0 });
}

describe('LVTT / TMICT / IA32_TSC_DEADLINE writes exit and reach kvm_lapic_reg_write', () => {
  it('each write is a VM exit (APIC-write or WRMSR), no interrupt before the expiry', () => {
    for (const v of VARIANTS) {
      const { b, r, run } = make(v);
      run({ k: 'lvt_timer', cpu: 0, vector: V, mode: 'oneshot', masked: false });
      expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['wrmsr']);
      run({ k: 'enter', cpu: 0 });
      run({ k: 'timer_initial', cpu: 0, count: 10 });
      run({ k: 'enter', cpu: 0 });
      run({ k: 'time', cpu: 0, advance: 9 });
      expect(b.where(0)).toBe('guest');
      expect(r.deliveries(0)).toEqual([]);
    }
  });
});

describe('apic_timer_fn on the vCPU\'s pCPU, delivery from the vcpu_run loop tail', () => {
  it('expiry in guest mode: external-interrupt exit, apic_timer_fn, then kvm_inject_apic_timer_irqs before kvm_vcpu_running', () => {
    for (const v of VARIANTS) {
      const { b, r, run } = make(v);
      armOneShot(run, 10);
      r.clear();
      run({ k: 'time', cpu: 0, advance: 10 });
      expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['extint']);
      expect(r.steps(0)).toEqual(['apic_timer_fn']);
      expect(b.where(0)).toBe('hv');
      run({ k: 'enter', cpu: 0 });
      const s = r.steps(0);
      expect(s.indexOf('kvm_inject_apic_timer_irqs')).toBeLessThan(s.indexOf('kvm_vcpu_running'));
      expect(r.deliveries(0)).toEqual([V]);
      expect(sigs(scen([
        { k: 'lvt_timer', cpu: 0, vector: V, mode: 'oneshot', masked: false }, { k: 'enter', cpu: 0 },
        { k: 'timer_initial', cpu: 0, count: 10 }, { k: 'enter', cpu: 0 },
        { k: 'time', cpu: 0, advance: 10 }, { k: 'step', cpu: 0 }, { k: 'enter', cpu: 0 }, { k: 'step', cpu: 0 },
      ]), v)).toEqual([]);
    }
  });

  it('expiry between local_irq_disable and VM entry (v4.11 order): held in the pCPU, VM entry exits at once, the next pass delivers', () => {
    for (const v of VARIANTS.filter((n) => !n.startsWith('v4.10') && n !== '6of6-unordered')) {
      const { b, r, run } = make(v);
      armOneShot(run, 10);
      run({ k: 'exit', cpu: 0, reason: 'cpuid' });
      // kvm_vcpu_running, requests, KVM_REQ_EVENT block, local_irq_disable: IRQs now off.
      for (let i = 0; i < 4; i++) run({ k: 'enter_step', cpu: 0 });
      r.clear();
      run({ k: 'time', cpu: 0, advance: 10 });
      expect(r.steps(0)).toEqual([]);
      expect(b.physPending(0)).toBe(true);
      run({ k: 'enter', cpu: 0 });
      // VM entry, then the LOCAL_TIMER_VECTOR exit before any guest instruction, apic_timer_fn after it; the entry
      // path goes round again (the loop tail injects) and the second entry delivers.
      expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['extint']);
      const s = r.log.filter((e) => e.k !== 'evaluate').map((e) => (e.k === 'step' ? e.a : e.k));
      const run1 = s.indexOf('vmx_vcpu_run');
      expect(s.slice(run1, run1 + 4)).toEqual(['vmx_vcpu_run', 'vmexit', 'apic_timer_fn', 'kvm_inject_apic_timer_irqs']);
      expect(s.lastIndexOf('vmx_vcpu_run')).toBeGreaterThan(run1);
      expect(r.deliveries(0)).toEqual([V]);
      expect(b.where(0)).toBe('guest');
      expect(b.physPending(0)).toBe(false);
    }
  });

  it('v4.10: an expiry between vcpu->mode = IN_GUEST_MODE and local_irq_disable runs the callback; KVM_REQ_PENDING_TIMER cancels the entry', () => {
    for (const v of ['v4.10', 'v4.10-vtd']) {
      const { b, r, run } = make(v);
      armOneShot(run, 10);
      run({ k: 'exit', cpu: 0, reason: 'cpuid' });
      // kvm_vcpu_running, requests, hwapic_irr_update, KVM_REQ_EVENT block, mode = IN_GUEST_MODE (IRQs still on).
      for (let i = 0; i < 5; i++) run({ k: 'enter_step', cpu: 0 });
      expect(b.snapshot(0).extra).toContain('mode=IN_GUEST_MODE irqs=on');
      r.clear();
      run({ k: 'time', cpu: 0, advance: 10 });
      // Same pCPU: kvm_set_pending_timer only makes the request; no kick, no exit.
      expect(r.steps(0)).toEqual(['apic_timer_fn']);
      expect(b.physPending(0)).toBe(false);
      run({ k: 'enter', cpu: 0 });
      const s = r.steps(0);
      expect(s).toContain('vcpu_enter_guest:cancel_injection');
      expect(s.indexOf('vcpu_enter_guest:cancel_injection')).toBeLessThan(s.indexOf('kvm_inject_apic_timer_irqs'));
      expect(r.deliveries(0)).toEqual([V]);
      expect(b.where(0)).toBe('guest');
    }
  });

  it('a halted vCPU: apic_timer_expired wakes it, kvm_vcpu_check_block sees the pending timer, the tail injects, it unhalts', () => {
    for (const v of VARIANTS) {
      const { b, r, run } = make(v);
      armOneShot(run, 10);
      run({ k: 'hlt', cpu: 0 });
      run({ k: 'enter', cpu: 0 });
      expect(b.where(0)).toBe('blocked');
      run({ k: 'time', cpu: 0, advance: 10 });
      expect(b.where(0)).toBe('blocked');
      r.clear();
      run({ k: 'enter', cpu: 0 });
      const s = r.steps(0);
      expect(s[0]).toBe('kvm_vcpu_check_block');
      expect(s).toContain('kvm_inject_apic_timer_irqs');
      expect(r.deliveries(0)).toEqual([V]);
      expect(b.where(0)).toBe('guest');
      expect(b.guest(0).halted).toBe(false);
    }
  });

  it('a masked LVT: the halted vCPU is woken but kvm_cpu_has_pending_timer is 0, it sleeps again', () => {
    for (const v of VARIANTS) {
      const { b, r, run } = make(v);
      run({ k: 'lvt_timer', cpu: 0, vector: V, mode: 'oneshot', masked: true });
      run({ k: 'enter', cpu: 0 });
      run({ k: 'timer_initial', cpu: 0, count: 10 });
      run({ k: 'enter', cpu: 0 });
      run({ k: 'hlt', cpu: 0 });
      run({ k: 'enter', cpu: 0 });
      run({ k: 'time', cpu: 0, advance: 10 });
      run({ k: 'enter', cpu: 0 });
      expect(b.where(0)).toBe('blocked');
      expect(r.deliveries(0)).toEqual([]);
    }
  });
});

describe('periodic, TSC-deadline, TMCCT', () => {
  it('a periodic timer re-arms on its grid (advance_periodic_target_expiration); expiries in one advance collapse', () => {
    for (const v of VARIANTS) {
      const P = 300_000; // above min_timer_period_us: not limited
      const events: Event[] = [
        { k: 'lvt_timer', cpu: 0, vector: V, mode: 'periodic', masked: false }, { k: 'enter', cpu: 0 },
        { k: 'timer_initial', cpu: 0, count: P }, { k: 'enter', cpu: 0 },
        { k: 'time', cpu: 0, advance: 2 * P + 5 }, { k: 'enter', cpu: 0 }, { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 },
        { k: 'lapic_read', cpu: 0, reg: 'tmcct' }, { k: 'enter', cpu: 0 },
        { k: 'time', cpu: 0, advance: P - 6 }, { k: 'step', cpu: 0 },
        { k: 'time', cpu: 0, advance: 1 }, { k: 'enter', cpu: 0 }, { k: 'step', cpu: 0 },
      ];
      expect(sigs(scen(events), v)).toEqual([]);
      const { r, run } = make(v);
      for (const e of events) run(e);
      expect(r.deliveries(0)).toEqual([V, V]);
      expect(r.of('read', 0)).toEqual([{ k: 'read', cpu: 0, a: 'tmcct', b: P - 5 }]);
    }
  });

  it('TSC deadline: cleared when it fires (a rewrite re-arms); a past deadline is delivered without a clock advance', () => {
    for (const v of VARIANTS) {
      const events: Event[] = [
        { k: 'lvt_timer', cpu: 0, vector: V, mode: 'tsc-deadline', masked: false }, { k: 'enter', cpu: 0 },
        { k: 'tsc_deadline', cpu: 0, deadline: 20 }, { k: 'enter', cpu: 0 },
        { k: 'time', cpu: 0, advance: 25 }, { k: 'enter', cpu: 0 }, { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 },
        { k: 'time', cpu: 0, advance: 100 }, { k: 'step', cpu: 0 },
        { k: 'tsc_deadline', cpu: 0, deadline: 5 }, { k: 'enter', cpu: 0 }, { k: 'step', cpu: 0 },
      ];
      expect(sigs(scen(events), v)).toEqual([]);
      const { r, run } = make(v);
      for (const e of events.slice(0, 10)) run(e);
      r.clear();
      run(events[10]!);
      // v6.12: apic_timer_expired(apic, false) with APICv injects from the WRMSR handler itself;
      // v4.x: lapic_timer.pending, injected by the loop tail.
      const inHandler = r.steps(0).includes('kvm_apic_local_deliver(APIC_LVTT)');
      expect(inHandler).toBe(v.startsWith('v6.12'));
      run(events[11]!);
      expect(r.deliveries(0)).toEqual([V]);
    }
  });

  it('TMCCT is apic_get_tmcct (0 in TSC-deadline mode and after a one-shot expiry)', () => {
    for (const v of VARIANTS) {
      const { r, run } = make(v);
      armOneShot(run, 50);
      run({ k: 'time', cpu: 0, advance: 20 });
      run({ k: 'lapic_read', cpu: 0, reg: 'tmcct' });
      run({ k: 'enter', cpu: 0 });
      run({ k: 'time', cpu: 0, advance: 40 });
      run({ k: 'enter', cpu: 0 });
      run({ k: 'eoi', cpu: 0 });
      run({ k: 'lapic_read', cpu: 0, reg: 'tmcct' });
      expect(r.of('read', 0).map((e) => e.b)).toEqual([30, 0]);
    }
  });
});

describe('deviations of the real code', () => {
  it('limit_periodic_timer_frequency: a periodic count below 200000 ticks runs at 200 µs', () => {
    for (const v of VARIANTS) {
      const { r, run } = make(v);
      run({ k: 'lvt_timer', cpu: 0, vector: V, mode: 'periodic', masked: false });
      run({ k: 'enter', cpu: 0 });
      run({ k: 'timer_initial', cpu: 0, count: 16 });
      run({ k: 'enter', cpu: 0 });
      run({ k: 'time', cpu: 0, advance: 16 });
      expect(r.deliveries(0)).toEqual([]);
      run({ k: 'lapic_read', cpu: 0, reg: 'tmcct' });
      expect(r.of('read', 0).map((e) => e.b)).toEqual([200_000 - 16]);
      expect(sigs(scen([
        { k: 'lvt_timer', cpu: 0, vector: V, mode: 'periodic', masked: false }, { k: 'enter', cpu: 0 },
        { k: 'timer_initial', cpu: 0, count: 16 }, { k: 'enter', cpu: 0 },
        { k: 'time', cpu: 0, advance: 16 }, { k: 'step', cpu: 0 },
      ]), v)).toEqual([`kvm/${v}:stuck:periodic-timer-period-limited`]);
    }
  });

  it('an expiry while the LVT is masked stays in lapic_timer.pending and is delivered at the unmask (corpus reproducer)', () => {
    const s = readScenarioFile('corpus/kvm/kvm-timer-masked-expiry-delivered-on-unmask.json');
    for (const v of VARIANTS) {
      expect(sigs(s, v)).toEqual([`kvm/${v}:spurious:timer-expiry-while-masked-delivered-on-unmask`]);
    }
  });

  it('LINT stays refused: KVM has no guest-visible LINT line', () => {
    expect(kvm.features).not.toContain('lvt_lint');
    expect(kvm.features).toEqual(expect.arrayContaining(['lvt_timer', 'tsc_deadline', 'time', 'lapic_read.tmcct']));
  });
});
