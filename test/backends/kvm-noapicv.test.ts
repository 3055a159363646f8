// KVM v6.12 without APICv (kvm_intel.enable_apicv=0): the software LAPIC injection path (src/backends/kvm/inject.ts).
// Each test drives the real mechanism step by step and, where the same scenario runs on the APICv variant, shows
// that the two differ where the code differs (posting vs the software IRR; VID at the guest boundary vs the
// acknowledgement at injection time).
import { describe, expect, it } from 'vitest';
import type { BackendInstance } from '../../src/backends/api.js';
import { kvm } from '../../src/backends/kvm/index.js';
import { runScenario } from '../../src/engine/run.js';
import { readScenarioFile } from '../../src/store/files.js';
import { vsList } from '../../src/apic/vecset.js';
import { makeKvm } from './kvm-recorder.js';
import type { Event, MachineConfig, Scenario } from '../../src/scenario/types.js';

const NOAPICV = 'v6.12-noapicv';
const M2: MachineConfig = { vcpus: 2, apic: 'x2apic', ioapic: [] };
const V = 0x40;

const make = (variant: string, machine: MachineConfig = M2) => makeKvm(variant, machine);

const sigs = (s: Scenario, v: string) => runScenario(s, kvm, v).divergences.map((d) => d.signature);
const irr = (b: BackendInstance, cpu: number) => vsList(b.snapshot(cpu).irr);
const isr = (b: BackendInstance, cpu: number) => vsList(b.snapshot(cpu).isr);
const ipi = (from: number, to: number, vector = V): Event => ({ k: 'ipi', cpu: from, vector, dest: to });

describe('delivery: vmx_deliver_interrupt without APICv', () => {
  it('__apic_accept_irq sets the software IRR, makes KVM_REQ_EVENT and kicks; the kick is an external-interrupt exit and the entry injects', () => {
    const { b, r, run } = make(NOAPICV);
    run(ipi(1, 0));
    // kvm_lapic_set_irr at once, in the sender's context; vCPU0 still runs guest code with the reschedule IPI in flight.
    expect(irr(b, 0)).toEqual([V]);
    expect(b.where(0)).toBe('guest');
    expect(b.physPending(0)).toBe(true);
    expect(r.deliveries(0)).toEqual([]);
    run({ k: 'pirq', cpu: 0 });
    expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['extint']);
    run({ k: 'enter', cpu: 0 });
    expect(r.steps(0)).toContain('vmx_inject_irq');
    expect(r.deliveries(0)).toEqual([V]);
    // The APICv variant posts the same IPI: PIR and a notification, VIRR untouched until posted-interrupt processing.
    const apicv = make('v6.12');
    apicv.run(ipi(1, 0));
    expect(irr(apicv.b, 0)).toEqual([]);
    expect(apicv.b.snapshot(0).extra).toContain('pir={0x40} on=1');
  });

  it('a vCPU blocked in HLT is woken by kvm_vcpu_kick and the interrupt injected at the entry', () => {
    const { b, r, run } = make(NOAPICV);
    run({ k: 'hlt', cpu: 0 });
    run({ k: 'enter', cpu: 0 });
    expect(b.where(0)).toBe('blocked');
    run(ipi(1, 0));
    run({ k: 'enter', cpu: 0 });
    expect(r.deliveries(0)).toEqual([V]);
    expect(b.where(0)).toBe('guest');
    expect(sigs({ irqdiff: 1, machine: M2, events: [{ k: 'hlt', cpu: 0 }, { k: 'enter', cpu: 0 }, ipi(1, 0), { k: 'enter', cpu: 0 }, { k: 'step', cpu: 0 }] }, NOAPICV)).toEqual([]);
  });
});

describe('kvm_check_and_inject_events: the interrupt part', () => {
  it('with IF = 0 the pending interrupt opens an interrupt window; the window exit after STI injects it (SDM 26.7.5)', () => {
    const events: Event[] = [
      { k: 'cli', cpu: 0 }, ipi(1, 0), { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 },
      { k: 'step', cpu: 0 }, { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'enter', cpu: 0 }, { k: 'step', cpu: 0 },
    ];
    const { b, r, run } = make(NOAPICV);
    for (const e of events.slice(0, 4)) run(e);
    // interrupt_allowed is 0 (IF = 0): no injection, enable_irq_window; the vector waits in IRR.
    expect(r.deliveries(0)).toEqual([]);
    expect(b.whereStuck?.(0, V)).toBe('irr-behind-irq-window');
    run(events[4]!);
    run(events[5]!); // STI: its shadow still blocks the window
    expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['extint']);
    run(events[6]!); // the instruction after STI ends the shadow: interrupt-window exit
    expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['extint', 'irq-window']);
    run(events[7]!);
    expect(r.deliveries(0)).toEqual([V]);
    expect(sigs({ irqdiff: 1, machine: M2, events }, NOAPICV)).toEqual([]);
  });

  it('the interrupt is acknowledged at injection: IRR→ISR and PPR before the guest runs (kvm_get_apic_interrupt)', () => {
    const { b, r, run } = make(NOAPICV);
    run({ k: 'exit', cpu: 0, reason: 'cpuid' });
    run(ipi(1, 0));
    // kvm_vcpu_running, requests, then the KVM_REQ_EVENT block.
    for (let i = 0; i < 3; i++) run({ k: 'enter_step', cpu: 0 });
    expect(b.where(0)).toBe('hv');
    expect(r.deliveries(0)).toEqual([V]);
    expect(irr(b, 0)).toEqual([]);
    expect(isr(b, 0)).toEqual([V]);
    expect(b.snapshot(0).ppr).toBe(V & 0xf0);
    // VM_ENTRY_INTR_INFO: the handler is entered at the VM entry, not before.
    expect(b.guest(0).IF).toBe(true);
    run({ k: 'enter', cpu: 0 });
    expect(b.guest(0).IF).toBe(false);
    expect(r.deliveries(0)).toEqual([V]);
    // With APICv the same KVM_REQ_EVENT block acknowledges nothing: VID takes it at the guest boundary.
    const apicv = make('v6.12');
    apicv.run({ k: 'exit', cpu: 0, reason: 'cpuid' });
    apicv.run(ipi(1, 0));
    for (let i = 0; i < 3; i++) apicv.run({ k: 'enter_step', cpu: 0 });
    expect(apicv.r.deliveries(0)).toEqual([]);
    expect(isr(apicv.b, 0)).toEqual([]);
  });

  it('an injection cancelled at the exit-request check is re-injected from arch.interrupt, not acknowledged twice', () => {
    const events: Event[] = [
      { k: 'exit', cpu: 0, reason: 'cpuid' }, ipi(1, 0),
      { k: 'enter_step', cpu: 0 }, { k: 'enter_step', cpu: 0 }, { k: 'enter_step', cpu: 0 },
      { k: 'enter', cpu: 1 }, ipi(1, 0, 0x30), // KVM_REQ_EVENT after the block: kvm_vcpu_exit_request cancels the entry
      { k: 'enter', cpu: 0 }, { k: 'step', cpu: 0 },
    ];
    const { b, r, run } = make(NOAPICV);
    for (const e of events) run(e);
    expect(r.steps(0)).toContain('vcpu_enter_guest:cancel_injection');
    expect(r.deliveries(0)).toEqual([V]);
    expect(isr(b, 0)).toEqual([V]);
    expect(irr(b, 0)).toEqual([0x30]);
    expect(sigs({ irqdiff: 1, machine: M2, events }, NOAPICV)).toEqual([]);
  });

  it('a delivery that faults is re-injected from the IDT-vectoring information without a second acknowledgement', () => {
    const events: Event[] = [{ k: 'fault', cpu: 0 }, ipi(1, 0), { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 }, { k: 'step', cpu: 0 }];
    const { b, r, run } = make(NOAPICV);
    for (const e of events.slice(0, 4)) run(e);
    // The EPT violation during delivery exits with the event in the IDT-vectoring information
    // (__vmx_complete_interrupts → kvm_queue_interrupt, KVM_REQ_EVENT); the next pass re-injects it (can_inject is
    // false, nothing new is acknowledged) and the handler is entered then.
    expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['extint', 'ept']);
    expect(r.steps(0).filter((n) => n === 'vmx_inject_irq')).toHaveLength(1);
    expect(b.guest(0).IF).toBe(false);
    expect(r.deliveries(0)).toEqual([V]);
    expect(sigs({ irqdiff: 1, machine: M2, events }, NOAPICV)).toEqual([]);
  });
});

describe('TPR: the TPR shadow and TPR_THRESHOLD (update_cr8_intercept)', () => {
  it('a TPR raised above the pending vector keeps it pending with the threshold armed; lowering TPR below it exits and injects', () => {
    const events: Event[] = [
      { k: 'tpr', cpu: 0, value: 0x50, via: 'mmio' }, ipi(1, 0), { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 },
      { k: 'tpr', cpu: 0, value: 0x48, via: 'mmio' }, { k: 'tpr', cpu: 0, value: 0x30, via: 'mmio' }, { k: 'enter', cpu: 0 }, { k: 'step', cpu: 0 },
    ];
    const { b, r, run } = make(NOAPICV);
    run(events[0]!);
    expect(r.of('vmexit', 0)).toEqual([]); // TPR virtualization: no exit
    for (const e of events.slice(1, 4)) run(e);
    expect(r.deliveries(0)).toEqual([]);
    expect(b.where(0)).toBe('guest');
    expect(r.steps(0)).toContain('update_cr8_intercept');
    expect(b.whereStuck?.(0, V)).toBe('irr-behind-tpr-threshold');
    run(events[4]!); // 0x48: VTPR[7:4] = 4, not below the threshold 4
    expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['extint']);
    run(events[5]!); // 0x30: below it, a trap-like TPR-below-threshold exit
    expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['extint', 'tpr-below-threshold']);
    expect(r.steps(0)).toContain('handle_tpr_below_threshold');
    run(events[6]!);
    expect(r.deliveries(0)).toEqual([V]);
    expect(sigs({ irqdiff: 1, machine: M2, events }, NOAPICV)).toEqual([]);
  });
});

describe('EOI and register reads exit', () => {
  it('an EOI is a WRMSR exit into apic_set_eoi; a level vector in TMR reaches the vIOAPIC, which sends the asserted line again', () => {
    const machine: MachineConfig = { vcpus: 1, apic: 'x2apic', ioapic: [{ pin: 3, vector: 0x60, dest: 0, trigger: 'level', masked: false }] };
    const events: Event[] = [
      { k: 'ioapic', pin: 3, op: 'assert' }, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 }, { k: 'eoi', cpu: 0 },
      { k: 'enter', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'enter', cpu: 0 }, { k: 'step', cpu: 0 },
    ];
    const { b, r, run } = make(NOAPICV, machine);
    for (const e of events.slice(0, 3)) run(e);
    expect(r.deliveries(0)).toEqual([0x60]);
    run(events[3]!);
    // The pin's message kicked vCPU0 (extint); the EOI is an intercepted WRMSR.
    expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['extint', 'wrmsr']);
    expect(r.steps(0)).toContain('apic_set_eoi');
    expect(isr(b, 0)).toEqual([]);
    // kvm_ioapic_update_eoi cleared Remote IRR and re-serviced the still-high line: the vector is pending again.
    expect(irr(b, 0)).toEqual([0x60]);
    expect(sigs({ irqdiff: 1, machine, events }, NOAPICV)).toEqual([]);
  });

  it('IRR and PPR reads exit (no APIC-register virtualization); the TPR read is served from the TPR shadow', () => {
    const { r, run } = make(NOAPICV);
    run({ k: 'read', cpu: 0, reg: 'tpr' });
    expect(r.of('vmexit', 0)).toEqual([]);
    run({ k: 'read', cpu: 0, reg: 'ppr' });
    expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['rdmsr']);
  });

  it('a self-IPI (x2APIC SELF_IPI MSR) is an intercepted WRMSR into kvm_apic_send_ipi, not self-IPI virtualization', () => {
    const { b, r, run } = make(NOAPICV);
    run({ k: 'cli', cpu: 0 });
    run({ k: 'self_ipi', cpu: 0, vector: V });
    expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['wrmsr']);
    expect(irr(b, 0)).toEqual([V]);
  });
});

describe('the APIC timer without APICv', () => {
  it('a TSC deadline already past when written takes the pending path (apic_timer_expired: "!from_timer_fn && apic->apicv_active")', () => {
    const { r, run } = make(NOAPICV, { vcpus: 1, apic: 'x2apic', ioapic: [] });
    run({ k: 'lvt_timer', cpu: 0, vector: 0xd0, mode: 'tsc-deadline', masked: false });
    run({ k: 'enter', cpu: 0 });
    run({ k: 'time', cpu: 0, advance: 50 });
    r.clear();
    run({ k: 'tsc_deadline', cpu: 0, deadline: 5 });
    expect(r.steps(0)).not.toContain('kvm_apic_local_deliver(APIC_LVTT)');
    run({ k: 'enter', cpu: 0 });
    expect(r.steps(0)).toContain('kvm_inject_apic_timer_irqs');
    expect(r.deliveries(0)).toEqual([0xd0]);
  });
});

describe('documented deviations of the software path (corpus reproducers)', () => {
  const cases: [string, string][] = [
    ['kvm-noapicv-nmi-queued-behind-irq-injection', 'stuck:nmi-queued-behind-irq-injection'],
    ['kvm-noapicv-timer-pending-behind-irq-injection', 'stuck:timer-pending-behind-irq-injection'],
    ['kvm-noapicv-timer-expiry-delivered-twice', 'duplicate:timer-pending-behind-irq-injection'],
    ['kvm-noapicv-tpr-threshold-not-armed-while-sw-disabled', 'stuck:tpr-threshold-not-armed-while-sw-disabled'],
    ['kvm-noapicv-hlt-resumed-tpr-threshold-not-armed', 'core:tpr-threshold-not-armed-while-sw-disabled'],
  ];
  for (const [file, cause] of cases) {
    it(`${file}: ${cause} on v6.12-noapicv, clean with APICv`, () => {
      const s = readScenarioFile(`corpus/kvm/${file}.json`);
      expect(runScenario(s, kvm, NOAPICV).primary?.signature).toBe(`kvm/${NOAPICV}:${cause}`);
      expect(runScenario(s, kvm, 'v6.12').primary).toBeUndefined();
    });
  }
});
