// KVM APICv backend (seed 001): the hardware pieces (posted-interrupt processing,
// virtual-interrupt delivery, EOI/TPR virtualization), the minimal traces of both races,
// the VT-d variant and the nested case step by step on the buggy and fixed variants, then
// end to end through the engine and the corpus reproducers.
import { describe, expect, it } from 'vitest';
import { vsAdd, vsFromList, vsHas, vsList } from '../../src/apic/vecset.js';
import { Recorder, makeKvm } from './kvm-recorder.js';
import { kvm } from '../../src/backends/kvm/index.js';
import { PiDesc, pi_test_and_set_on, pi_test_and_set_pir } from '../../src/backends/kvm/pi_desc.js';
import {
  VApic, eoi_virtualization, evaluate_pending_virtual_interrupts, posted_interrupt_processing,
  self_ipi_virtualization, tpr_virtualization, virtual_interrupt_delivery, vmentry_vid,
} from '../../src/backends/kvm/vapic.js';
import { findBackend } from '../../src/backends/registry.js';
import { runScenario } from '../../src/engine/run.js';
import { generateAndRun } from '../../src/gen/generator.js';
import { classify } from '../../src/fuzz/classify.js';
import { readScenarioFile } from '../../src/store/files.js';
import { Kvm } from '../../src/backends/kvm/state.js';
import { CODE } from '../../src/backends/kvm/variants.js';
import { KvmIoapic } from '../../src/backends/kvm/ioapic.js';
import { EBUSY, vmx_check_nested_events } from '../../src/backends/kvm/nested.js';
import type { Event, MachineConfig, Scenario } from '../../src/scenario/types.js';

const V = 0x50;
const W = 0x60;

const M2: MachineConfig = { vcpus: 2, apic: 'x2apic', ioapic: [] };
const M2N: MachineConfig = { ...M2, nested: { exitOnIntr: true } };
/** L1 also gives L2 posted interrupts (vmcs12 process-posted-interrupts). */
const M2NP: MachineConfig = { ...M2, nested: { exitOnIntr: true, postedIntr: true } };

function make(variant: string, machine: MachineConfig = M2) {
  const { b, r, run } = makeKvm(variant, machine);
  const steps = (n: number, cpu = 0) => { for (let s = 0; s < n; s++) run({ k: 'enter_step', cpu }); };
  const extra = (cpu = 0) => b.snapshot(cpu).extra ?? '';
  return { b, r, run, steps, extra };
}

// ---------------------------------------------------------------------------------------

describe('posted-interrupt descriptor', () => {
  it('test-and-set helpers report the old bit', () => {
    const pi = new PiDesc();
    expect(pi_test_and_set_pir(V, pi)).toBe(false);
    expect(pi_test_and_set_pir(V, pi)).toBe(true);
    expect(pi_test_and_set_on(pi)).toBe(false);
    expect(pi_test_and_set_on(pi)).toBe(true);
    expect(pi.sn).toBe(false);
  });
});

describe('virtual-interrupt hardware (SDM 29.1-29.2, 29.6)', () => {
  it('posted-interrupt processing: ON cleared, PIR moved into VIRR, RVI = max(RVI, PIR), evaluation', () => {
    const va = new VApic();
    const pi = new PiDesc();
    va.rvi = 0x41;
    vsAdd(va.virr, 0x41);
    vsAdd(pi.pir, 0x38);
    vsAdd(pi.pir, 0x72);
    pi.on = true;
    posted_interrupt_processing(va, pi);
    expect(pi.on).toBe(false);
    expect(vsList(pi.pir)).toEqual([]);
    expect(vsList(va.virr)).toEqual([0x38, 0x41, 0x72]);
    expect(va.rvi).toBe(0x72);
    expect(va.recognized).toBe(true);
  });

  it('posted-interrupt processing keeps a higher RVI and does not recognize below VPPR', () => {
    const va = new VApic();
    const pi = new PiDesc();
    va.rvi = 0x91;
    va.vppr = 0x90;
    vsAdd(pi.pir, 0x45);
    pi.on = true;
    posted_interrupt_processing(va, pi);
    expect(va.rvi).toBe(0x91);
    expect(va.recognized).toBe(false); // class 9 is not above VPPR class 9
  });

  it('delivery: VISR/SVI set, VPPR raised, VIRR cleared, RVI = next highest, recognition stops', () => {
    const va = new VApic();
    va.virr.set(vsFromList([0x31, 0x62]));
    va.rvi = 0x62;
    vmentry_vid(va);
    expect(va.recognized).toBe(true);
    expect(virtual_interrupt_delivery(va)).toBe(0x62);
    expect(vsHas(va.visr, 0x62)).toBe(true);
    expect(va.svi).toBe(0x62);
    expect(va.vppr).toBe(0x60);
    expect(vsList(va.virr)).toEqual([0x31]);
    expect(va.rvi).toBe(0x31);
    expect(va.recognized).toBe(false);
  });

  it('EOI virtualization: evaluates without an EOI-exit bit, exits (trap-like) with one', () => {
    const va = new VApic();
    va.virr.set(vsFromList([0x31, 0x62]));
    va.rvi = 0x62;
    vmentry_vid(va);
    virtual_interrupt_delivery(va);
    expect(va.rvi).toBe(0x31);
    expect(eoi_virtualization(va)).toBe(-1);
    expect(va.svi).toBe(0);
    expect(va.vppr).toBe(0);
    expect(va.recognized).toBe(true); // 0x31 now beats VPPR
    // A level vector (EOI-exit bitmap) exits with its vector instead of evaluating.
    const lv = new VApic();
    lv.rvi = 0xa1;
    vsAdd(lv.virr, 0xa1);
    vsAdd(lv.eoiExit, 0xa1);
    vmentry_vid(lv);
    virtual_interrupt_delivery(lv);
    lv.recognized = false;
    expect(eoi_virtualization(lv)).toBe(0xa1);
    expect(lv.recognized).toBe(false);
    expect(vsHas(lv.visr, 0xa1)).toBe(false);
  });

  it('TPR virtualization re-evaluates; an interrupt window blocks recognition', () => {
    const va = new VApic();
    va.rvi = 0x55;
    vsAdd(va.virr, 0x55);
    tpr_virtualization(va, 0x50);
    expect(va.vppr).toBe(0x50);
    expect(va.recognized).toBe(false);
    tpr_virtualization(va, 0x40);
    expect(va.recognized).toBe(true);
    va.irqWindowExiting = true;
    evaluate_pending_virtual_interrupts(va);
    expect(va.recognized).toBe(false);
  });

  it('self-IPI virtualization sets VIRR and raises RVI', () => {
    const va = new VApic();
    self_ipi_virtualization(va, 0x44);
    expect(vsList(va.virr)).toEqual([0x44]);
    expect(va.rvi).toBe(0x44);
    expect(va.recognized).toBe(true);
  });
});

describe('guest-visible mechanism', () => {
  it('a posted IPI to a running vCPU: notification pending until pirq, then posted-interrupt processing delivers it', () => {
    const { b, r, run } = make('v4.11');
    run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    expect(r.of('vmexit', 1).map((e) => e.a)).toEqual(['wrmsr']);
    expect(b.where(0)).toBe('guest');
    expect(b.physPending(0)).toBe(true);
    expect(r.deliveries(0)).toEqual([]);
    run({ k: 'pirq', cpu: 0 });
    expect(r.of('vmexit', 0)).toEqual([]);
    expect(r.deliveries(0)).toEqual([V]);
    expect(b.snapshot(0).isr[V >>> 5]! & (1 << (V & 31))).not.toBe(0);
  });

  it('an ICR write exits in x2APIC; an xAPIC self-IPI is virtualized without an exit', () => {
    const x2 = make('v4.11');
    x2.run({ k: 'ipi', cpu: 0, vector: V, shorthand: 'self' });
    expect(x2.r.of('vmexit', 0).map((e) => e.a)).toEqual(['wrmsr']);
    expect(x2.r.deliveries(0)).toEqual([]);
    x2.run({ k: 'enter', cpu: 0 });
    expect(x2.r.deliveries(0)).toEqual([V]);
    const xa = make('v4.11', { ...M2, apic: 'xapic' });
    xa.run({ k: 'ipi', cpu: 0, vector: V, shorthand: 'self' });
    expect(xa.r.of('vmexit', 0)).toEqual([]);
    expect(xa.r.deliveries(0)).toEqual([V]);
  });

  it('EOI of a level-triggered IOAPIC vector takes an EOI-induced exit and re-delivers an asserted line', () => {
    const m: MachineConfig = { vcpus: 1, apic: 'x2apic', ioapic: [{ pin: 3, vector: 0x71, dest: 0, trigger: 'level', masked: false }] };
    const { b, r, run } = make('v4.11', m);
    run({ k: 'ioapic', pin: 3, op: 'assert' });
    run({ k: 'pirq', cpu: 0 });
    expect(r.deliveries(0)).toEqual([0x71]);
    const m1 = r.mark();
    run({ k: 'eoi', cpu: 0 });
    expect(r.since(m1, 'vmexit', 0).map((e) => e.a)).toEqual(['eoi-induced']);
    expect(b.where(0)).toBe('hv');
    run({ k: 'iret', cpu: 0 }); // not executed: the vCPU is in the hypervisor
    run({ k: 'enter', cpu: 0 });
    run({ k: 'iret', cpu: 0 });
    expect(r.deliveries(0)).toEqual([0x71, 0x71]);
    // An edge vector's EOI is virtualized without an exit.
    const e = make('v4.11', { ...m, ioapic: [{ pin: 3, vector: 0x71, dest: 0, trigger: 'edge', masked: false }] });
    e.run({ k: 'ioapic', pin: 3, op: 'pulse' });
    e.run({ k: 'pirq', cpu: 0 });
    e.run({ k: 'eoi', cpu: 0 });
    expect(e.r.of('vmexit')).toEqual([]);
  });

  it('TPR above a posted vector holds it in VIRR until TPR drops', () => {
    const { r, run } = make('v4.11');
    run({ k: 'tpr', cpu: 0, value: 0x60, via: 'cr8' });
    run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    run({ k: 'pirq', cpu: 0 });
    expect(r.deliveries(0)).toEqual([]);
    run({ k: 'read', cpu: 0, reg: 'irr' });
    expect(r.of('read', 0).at(-1)!.b).toEqual([V]);
    run({ k: 'tpr', cpu: 0, value: 0, via: 'cr8' });
    expect(r.deliveries(0)).toEqual([V]);
  });

  it('HLT blocks; a CPU-posted interrupt wakes it through kvm_vcpu_kick', () => {
    const { b, r, run } = make('v4.11');
    run({ k: 'hlt', cpu: 0 });
    expect(r.of('vmexit', 0).map((e) => e.a)).toEqual(['hlt']);
    run({ k: 'enter', cpu: 0 });
    expect(b.where(0)).toBe('blocked');
    run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    expect(b.physPending(0)).toBe(false); // OUTSIDE_GUEST_MODE: no notification, a wake-up
    run({ k: 'enter', cpu: 0 });
    expect(b.where(0)).toBe('guest');
    expect(r.deliveries(0)).toEqual([V]);
  });

  it('HLT with VT-d posting: NV switches to the wakeup vector, whose handler kicks the vCPU (bf9f6ac8d749)', () => {
    const { b, r, run, extra } = make('v4.11-vtd');
    run({ k: 'hlt', cpu: 0 });
    run({ k: 'enter', cpu: 0 });
    expect(b.where(0)).toBe('blocked');
    run({ k: 'msi', dest: 0, vector: V });
    expect(b.physPending(0)).toBe(true);
    run({ k: 'enter', cpu: 0 }); // not woken yet: nothing happens
    expect(b.where(0)).toBe('blocked');
    run({ k: 'pirq', cpu: 0 });
    expect(r.of('step', 0).map((e) => e.a)).toContain('wakeup_handler');
    run({ k: 'enter', cpu: 0 });
    expect(b.where(0)).toBe('guest');
    expect(r.deliveries(0)).toEqual([V]);
    expect(extra(0)).toContain('on=0');
  });
});

// ---------------------------------------------------------------------------------------
// The minimal traces (hv-kvm-acrn.md A.5 (c)), step by step.

/** vCPU0 leaves the guest on a timer tick and runs `n` steps of its entry path. */
function toWindow(t: ReturnType<typeof make>, n: number): void {
  t.run({ k: 'exit', cpu: 0, reason: 'timer' });
  expect(t.b.where(0)).toBe('hv');
  t.steps(n);
  expect(t.b.where(0)).toBe('hv');
}

describe('race 1: notification between the mode store and local_irq_disable', () => {
  it('6of6-unordered: the IPI is swallowed in root, the guest runs with ON=1, later vectors stall', () => {
    const t = make('6of6-unordered');
    toWindow(t, 5); // kvm_vcpu_running, requests, sync_pir_to_irr, KVM_REQ_EVENT block, mode = IN_GUEST_MODE
    expect(t.extra()).toContain('local_irq_disable mode=IN_GUEST_MODE irqs=on');
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    expect(t.b.physPending(0)).toBe(true); // the sender saw IN_GUEST_MODE
    t.run({ k: 'pirq', cpu: 0 });
    expect(t.r.of('step', 0).map((e) => e.a)).toContain('smp_kvm_posted_intr_ipi');
    expect(t.b.physPending(0)).toBe(false);
    t.run({ k: 'enter', cpu: 0 });
    expect(t.b.where(0)).toBe('guest');
    expect(t.r.deliveries(0)).toEqual([]);
    expect(t.extra()).toContain('pir={0x50} on=1');
    expect(t.b.whereStuck!(0, V)).toBe('pir-on-swallowed-in-guest-mode');
    // ON stays set: the next posting returns early, no notification, no kick.
    t.run({ k: 'enter', cpu: 1 });
    t.run({ k: 'ipi', cpu: 1, vector: W, dest: 0 });
    expect(t.b.physPending(0)).toBe(false);
    t.run({ k: 'step', cpu: 0 });
    expect(t.r.deliveries(0)).toEqual([]);
    expect(t.b.whereStuck!(0, W)).toBe('pir-on-swallowed-in-guest-mode');
    // Only an unrelated exit (and the sync before the next entry) brings them in.
    t.run({ k: 'exit', cpu: 0, reason: 'timer' });
    t.run({ k: 'enter', cpu: 0 });
    expect(t.r.deliveries(0)).toEqual([W]);
  });

  it('v4.10: the sender\'s KVM_REQ_EVENT cancels the entry; the next pass syncs PIR', () => {
    const t = make('v4.10');
    toWindow(t, 5);
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    t.run({ k: 'pirq', cpu: 0 });
    t.run({ k: 'enter', cpu: 0 });
    expect(t.r.of('step', 0).map((e) => e.a)).toContain('vcpu_enter_guest:cancel_injection');
    expect(t.r.deliveries(0)).toEqual([V]);
  });

  it('v4.11: IRQs are already off at the mode store, so the IPI waits and becomes posted-interrupt processing', () => {
    const t = make('v4.11');
    toWindow(t, 5); // ..., local_irq_disable, mode = IN_GUEST_MODE
    expect(t.extra()).toContain('sync_pir_to_irr mode=IN_GUEST_MODE irqs=off');
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    t.run({ k: 'pirq', cpu: 0 });
    expect(t.b.physPending(0)).toBe(true); // host IRQs off: still pending
    t.run({ k: 'enter', cpu: 0 });
    expect(t.r.deliveries(0)).toEqual([V]); // sync_pir_to_irr after the mode store saw ON
    t.run({ k: 'pirq', cpu: 0 }); // the late notification finds an empty PIR
    expect(t.r.deliveries(0)).toEqual([V]);
    expect(t.r.of('vmexit', 0).map((e) => e.a)).toEqual(['extint']);
  });
});

describe('race 2: posting between the RVI refresh and the mode store', () => {
  it('6of6-unordered: the sender sees OUTSIDE_GUEST_MODE, the kick does nothing, entry with ON=1', () => {
    const t = make('6of6-unordered');
    toWindow(t, 4); // ..., sync_pir_to_irr, KVM_REQ_EVENT block
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    expect(t.b.physPending(0)).toBe(false);
    t.run({ k: 'enter', cpu: 0 });
    expect(t.b.where(0)).toBe('guest');
    expect(t.r.deliveries(0)).toEqual([]);
    expect(t.b.whereStuck!(0, V)).toBe('pir-on-kick-noop');
  });

  it('v4.11: sync_pir_to_irr after the mode store sees ON (Dekker pairing with pi_test_and_set_on)', () => {
    const t = make('v4.11');
    toWindow(t, 3); // kvm_vcpu_running, requests, KVM_REQ_EVENT block
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    expect(t.b.physPending(0)).toBe(false);
    t.run({ k: 'enter', cpu: 0 });
    expect(t.r.deliveries(0)).toEqual([V]);
  });

  it('v4.10: KVM_REQ_EVENT covers a posting after the KVM_REQ_EVENT check ...', () => {
    const t = make('v4.10');
    toWindow(t, 4);
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    t.run({ k: 'enter', cpu: 0 });
    expect(t.r.deliveries(0)).toEqual([V]);
  });

  it('... but not one between the RVI refresh and the KVM_REQ_EVENT check, which consumes the request', () => {
    const t = make('v4.10');
    toWindow(t, 3); // kvm_vcpu_running, requests, hwapic_irr_update(kvm_lapic_find_highest_irr)
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    expect(t.extra()).toContain('req=1');
    t.run({ k: 'enter', cpu: 0 });
    expect(t.b.where(0)).toBe('guest');
    expect(t.r.deliveries(0)).toEqual([]);
    expect(t.b.whereStuck!(0, V)).toBe('pir-on-kick-noop');
  });
});

describe('VT-d posting (device MSIs, no KVM_REQ_EVENT)', () => {
  it('v4.10-vtd race 1: the IOMMU notification is swallowed, a later MSI is not notified at all', () => {
    const t = make('v4.10-vtd');
    toWindow(t, 5);
    t.run({ k: 'msi', dest: 0, vector: V });
    expect(t.b.physPending(0)).toBe(true);
    expect(t.extra()).toContain('req=0');
    t.run({ k: 'pirq', cpu: 0 });
    t.run({ k: 'enter', cpu: 0 });
    expect(t.r.deliveries(0)).toEqual([]);
    expect(t.b.whereStuck!(0, V)).toBe('pir-on-swallowed-in-guest-mode');
    t.run({ k: 'msi', dest: 0, vector: W });
    expect(t.b.physPending(0)).toBe(false);
    expect(t.r.deliveries(0)).toEqual([]);
  });

  it('v4.10-vtd race 2: notified while OUTSIDE_GUEST_MODE, swallowed, entry with ON=1', () => {
    const t = make('v4.10-vtd');
    toWindow(t, 4);
    t.run({ k: 'msi', dest: 0, vector: V });
    t.run({ k: 'pirq', cpu: 0 });
    t.run({ k: 'enter', cpu: 0 });
    expect(t.r.deliveries(0)).toEqual([]);
    expect(t.b.whereStuck!(0, V)).toBe('pir-on-swallowed-outside-guest-mode');
  });

  it('v4.10 without VT-d: the same MSI goes through kvm_set_msi and its KVM_REQ_EVENT', () => {
    const t = make('v4.10');
    toWindow(t, 5);
    t.run({ k: 'msi', dest: 0, vector: V });
    t.run({ k: 'pirq', cpu: 0 });
    t.run({ k: 'enter', cpu: 0 });
    expect(t.r.deliveries(0)).toEqual([V]);
  });

  it('v4.11-vtd: both windows are closed for IOMMU postings too', () => {
    for (const n of [3, 4, 5]) {
      const t = make('v4.11-vtd');
      toWindow(t, n);
      t.run({ k: 'msi', dest: 0, vector: V });
      t.run({ k: 'pirq', cpu: 0 });
      t.run({ k: 'enter', cpu: 0 });
      t.run({ k: 'pirq', cpu: 0 });
      expect(t.r.deliveries(0)).toEqual([V]);
    }
  });
});

describe('nested: a posted L1 interrupt just before local_irq_disable while L2 runs', () => {
  /** L1 runs L2; one L0-handled exit clears nested_run_pending's KVM_REQ_EVENT; another stops at check_nested_events. */
  function inL2AfterNestedCheck(variant: string) {
    const t = make(variant, M2N);
    t.run({ k: 'vmentry', cpu: 0 });
    expect(t.b.inL2(0)).toBe(true);
    t.run({ k: 'enter', cpu: 0 });
    t.run({ k: 'exit', cpu: 0, reason: 'timer' });
    t.run({ k: 'enter', cpu: 0 });
    t.run({ k: 'exit', cpu: 0, reason: 'timer' });
    t.steps(1); // kvm_vcpu_running → vmx_check_nested_events: nothing pending
    expect(t.r.of('step', 0).map((e) => e.a)).toContain('vmx_check_nested_events');
    return t;
  }

  it('v4.11: sync_pir_to_irr puts it in L1\'s IRR, nothing requests an exit, L2 is resumed', () => {
    const t = inL2AfterNestedCheck('v4.11');
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    t.run({ k: 'enter', cpu: 0 });
    expect(t.b.where(0)).toBe('guest');
    expect(t.b.inL2(0)).toBe(true);
    expect(t.r.of('l1Exit', 0)).toEqual([]);
    expect(vsList(t.b.snapshot(0).irr)).toEqual([V]);
    expect(t.b.whereStuck!(0, V)).toBe('l2-resumed-after-pir-sync');
    // L2 keeps running; only an unrelated L2 exit lets check_nested_events see it.
    t.run({ k: 'l2', cpu: 0, op: 'step' });
    expect(t.r.of('l1Exit', 0)).toEqual([]);
    t.run({ k: 'exit', cpu: 0, reason: 'timer' });
    t.run({ k: 'enter', cpu: 0 });
    expect(t.r.of('l1Exit', 0).map((e) => [e.a, e.b])).toEqual([['extint', false]]);
    expect(t.r.deliveries(0)).toEqual([V]);
  });

  it('v4.16 (f27a85c4988d): the newly posted highest vector forces EXITING_GUEST_MODE and the exit to L1', () => {
    const t = inL2AfterNestedCheck('v4.16');
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    t.run({ k: 'enter', cpu: 0 });
    const names = t.r.of('step', 0).map((e) => e.a);
    expect(names).toContain('vcpu_enter_guest:cancel_injection');
    expect(t.r.of('l1Exit', 0).map((e) => [e.a, e.b])).toEqual([['extint', false]]);
    expect(t.b.inL2(0)).toBe(false);
    expect(t.r.deliveries(0)).toEqual([V]);
  });

  it('Radim\'s first remark with L1 owning an assigned device (no posted interrupts for L2): the IOMMU notification is swallowed', () => {
    for (const [variant, stuck] of [['v4.11-vtd', true], ['v4.16-vtd', false]] as const) {
      const t = inL2AfterNestedCheck(variant);
      t.run({ k: 'msi', dest: 0, vector: V });
      t.run({ k: 'pirq', cpu: 0 }); // root, IRQs on: the host handler does nothing
      t.run({ k: 'enter', cpu: 0 });
      expect(t.b.inL2(0)).toBe(stuck);
      expect(t.r.deliveries(0)).toEqual(stuck ? [] : [V]);
    }
  });

  it('a notification that arrives while L2 runs is an external-interrupt exit to L0, then an exit to L1', () => {
    const t = make('v4.11', M2N);
    t.run({ k: 'vmentry', cpu: 0, inject: 0x30 });
    t.run({ k: 'enter', cpu: 0 });
    expect(t.r.of('l2Deliver', 0).map((e) => e.a)).toEqual([0x30]);
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    t.run({ k: 'pirq', cpu: 0 });
    expect(t.r.of('vmexit', 0).map((e) => e.a)).toEqual(['vmresume', 'extint']);
    t.run({ k: 'enter', cpu: 0 });
    expect(t.r.of('l1Exit', 0).map((e) => e.a)).toEqual(['extint']);
    expect(t.r.deliveries(0)).toEqual([V]);
  });
});

describe('nested posted interrupts: vmcs02\'s notification vector (seed 001, second remark)', () => {
  /** vCPU0's L1 runs L2; vCPU1's L1 posts V to vCPU0, whose notification arrives while L2 runs. */
  function notifiedInL2(variant: string, machine: MachineConfig) {
    const t = make(variant, machine);
    t.run({ k: 'vmentry', cpu: 0 });
    t.run({ k: 'enter', cpu: 0 });
    expect(t.b.where(0)).toBe('guest');
    expect(t.b.inL2(0)).toBe(true);
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    expect(t.b.physPending(0)).toBe(true);
    t.run({ k: 'pirq', cpu: 0 });
    return t;
  }

  it('v4.10/v4.11: vmcs02 uses POSTED_INTR_VECTOR, so L1\'s notification is L2\'s posted-interrupt processing: no exit, ON stays set', () => {
    for (const variant of ['v4.10', 'v4.11', 'v4.11-vtd', '6of6-unordered']) {
      const t = notifiedInL2(variant, M2NP);
      expect(t.r.of('step', 0).map((e) => e.a)).toContain('posted-interrupt processing (vmcs02)');
      expect(t.r.of('vmexit', 0).map((e) => e.a)).toEqual(['vmresume']);
      expect(t.b.inL2(0)).toBe(true);
      expect(t.b.physPending(0)).toBe(false);
      expect(t.extra(0)).toMatch(/pir=\{0x50\} on=1/);
      expect(t.b.whereStuck!(0, V)).toBe('pir-on-consumed-by-l2-posted-intr');
    }
  });

  it('v4.11: a later posting to L1 finds ON set and sends nothing; v4.10 kicks when ON was already set', () => {
    for (const [variant, rescued] of [['v4.11', false], ['v4.10', true]] as const) {
      const t = notifiedInL2(variant, M2NP);
      t.run({ k: 'enter', cpu: 1 });
      t.run({ k: 'ipi', cpu: 1, vector: W, dest: 0 });
      expect(t.b.physPending(0)).toBe(rescued);
      t.run({ k: 'pirq', cpu: 0 });
      expect(t.b.inL2(0)).toBe(true);
      expect(t.r.of('vmexit', 0).length).toBe(rescued ? 2 : 1);
    }
  });

  it('v4.16 and v6.12: vmcs02 uses POSTED_INTR_NESTED_VECTOR; L1\'s notification is an exit, then an exit to L1', () => {
    for (const variant of ['v4.16', 'v4.16-vtd', 'v6.12', 'v6.12-vtd']) {
      const t = notifiedInL2(variant, M2NP);
      expect(t.r.of('vmexit', 0).map((e) => e.a)).toEqual(['vmresume', 'extint']);
      t.run({ k: 'enter', cpu: 0 });
      expect(t.r.of('l1Exit', 0).map((e) => e.a)).toEqual(['extint']);
      expect(t.r.deliveries(0)).toEqual([V]);
    }
  });

  it('without posted interrupts for L2 every variant exits on the notification (vmcs02 does not process it)', () => {
    for (const variant of ['v4.10', 'v4.11', 'v4.16', 'v6.12']) {
      const t = notifiedInL2(variant, M2N);
      expect(t.r.of('vmexit', 0).map((e) => e.a)).toEqual(['vmresume', 'extint']);
    }
  });

  it('the corpus reproducer diverges on v4.10/v4.11 only, on the consumed notification', () => {
    const s = readScenarioFile('corpus/kvm/kvm-nested-pi-shared-vector.json');
    for (const info of kvm.variants) {
      const shared = CODE[info.name]!.nestedPiVector === 'shared';
      const got = runScenario(s, kvm, info.name).primary?.signature ?? 'clean';
      expect(`${info.name} ${got}`).toBe(`${info.name} ${shared ? `kvm/${info.name}:stuck:pir-on-consumed-by-l2-posted-intr` : 'clean'}`);
    }
  });
});

describe('vmx_check_nested_events while L2\'s event is re-injected', () => {
  function state(variant: string) {
    const k = new Kvm(M2N, CODE[variant]!, new Recorder(), new KvmIoapic([]));
    const t = k.vcpus[0]!;
    t.nested.guestMode = true;
    t.interruptPending = 0x30; // arch.interrupt: L2's faulted delivery, to re-inject
    t.interruptForL2 = true;
    return { k, t };
  }

  it('v4.10 refuses the NMI exit ("nested_run_pending || interrupt.pending") but not the interrupt exit', () => {
    const a = state('v4.10');
    a.t.nmiPending = 1;
    expect(vmx_check_nested_events(a.k, a.t, false)).toBe(EBUSY);
    expect(a.t.nested.guestMode).toBe(true);
    expect(a.t.nested.nmiBehindReinjection).toBe(true);
    const b = state('v4.10');
    b.t.pi.on = true;
    vsAdd(b.t.pi.pir, V);
    expect(vmx_check_nested_events(b.k, b.t, false)).toBe(0);
    expect(b.t.nested.guestMode).toBe(false);
  });

  it('v4.11 and later (acc9ab601327) refuse every nested exit while an event needs re-injection', () => {
    for (const variant of ['v4.11', 'v4.16', 'v6.12']) {
      const a = state(variant);
      a.t.pi.on = true;
      vsAdd(a.t.pi.pir, V);
      expect(vmx_check_nested_events(a.k, a.t, false)).toBe(EBUSY);
      expect(a.t.nested.guestMode).toBe(true);
      expect(vsHas(a.t.nested.behindReinjection, V)).toBe(true);
    }
  });

  it('re-injection cases are labelled as such, not as the entry race or the nested entry', () => {
    const s = readScenarioFile('corpus/kvm/kvm-nested-reinjection-l1-pending.json');
    for (const variant of ['v4.10', 'v4.11', 'v4.16']) {
      expect(runScenario(s, kvm, variant).primary?.signature).toBe(`kvm/${variant}:stuck:l2-resumed-after-reinjection`);
    }
  });
});

describe('kvm/v6.12: the later fixes v4.16 lacks', () => {
  const sig = (f: string, v: string) => runScenario(readScenarioFile(`corpus/kvm/${f}.json`), kvm, v).primary?.signature ?? 'clean';

  it('vcpu_scan_ioapic\'s sync makes KVM_REQ_EVENT, consumed by the same pass (v4.16: exit request missed)', () => {
    expect(sig('kvm-v416-scan-ioapic-nested', 'v4.16')).toBe('kvm/v4.16:stuck:l2-resumed-exit-request-missed');
    expect(sig('kvm-v416-scan-ioapic-nested', 'v6.12')).toBe('clean');
  });

  it('nested events before re-injection, -EBUSY → immediate exit (v4.16: L1 waits behind the re-injection)', () => {
    expect(sig('kvm-nested-reinjection-l1-pending', 'v6.12')).toBe('clean');
    for (const [variant, exits] of [['v6.12', ['extint']], ['v4.16', []]] as const) {
      const t = make(variant, M2N);
      t.run({ k: 'fault', cpu: 0 });
      t.run({ k: 'vmentry', cpu: 0, inject: 0x21 });
      t.run({ k: 'ipi', cpu: 1, vector: 0x20, shorthand: 'others' });
      // The injection into L2 faults into L0 (IDT-vectoring information), 0x20 is pending for L1.
      t.run({ k: 'enter', cpu: 0 });
      // Both re-inject 0x21 into L2; only v6.12 then leaves L2 for L1's 0x20 on its own.
      expect(t.r.of('l2Deliver', 0).map((e) => e.a)).toEqual([0x21]);
      expect(t.r.of('l1Exit', 0).map((e) => e.a)).toEqual(exits);
    }
  });

  it('an L1 event pending at nested entry is evaluated (v4.16: L2 resumed with it pending)', () => {
    expect(sig('kvm-nested-entry-l1-pending', 'v4.16')).toBe('kvm/v4.16:stuck:l1-pending-at-nested-entry');
    expect(sig('kvm-nested-entry-l1-pending', 'v6.12')).toBe('clean');
    // nested_vmx_enter_non_root_mode: RVI above VPPR in vmcs01 → KVM_REQ_EVENT.
    const t = make('v6.12', M2N);
    t.run({ k: 'cli', cpu: 0 });
    t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    t.run({ k: 'pirq', cpu: 0 });
    expect(vsList(t.b.snapshot(0).irr)).toEqual([V]);
    t.run({ k: 'vmentry', cpu: 0 });
    expect(t.extra(0)).toMatch(/req=1 /);
    const u = make('v4.16', M2N);
    u.run({ k: 'cli', cpu: 0 });
    u.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
    u.run({ k: 'pirq', cpu: 0 });
    u.run({ k: 'vmentry', cpu: 0 });
    expect(u.extra(0)).toMatch(/req=0 /);
  });
});

// ---------------------------------------------------------------------------------------

describe('redirection-entry writes and the EOI-exit bitmap (issue 8; 4cf4df7ab4d1)', () => {
  // Pin 0: level 0x30, first to vCPU0; L1 on vCPU1 has launched L2 when vCPU0 points the pin at vCPU1.
  const X = 0x30;
  const MIO: MachineConfig = { ...M2N, ioapic: [{ pin: 0, vector: X, dest: 0, trigger: 'level', masked: false }] };
  const toL1AndEoi = (t: ReturnType<typeof make>) => {
    t.run({ k: 'vmentry', cpu: 1 });
    t.run({ k: 'ioapic_write', cpu: 0, pin: 0, vector: X, dest: 1, trigger: 'level', masked: false });
    t.run({ k: 'enter', cpu: 1 });
    t.run({ k: 'exit', cpu: 1, reason: 'cpuid' });
    t.run({ k: 'enter', cpu: 1 });
    t.run({ k: 'ioapic', pin: 0, op: 'assert' });
    t.run({ k: 'pirq', cpu: 1 });
    expect(t.r.deliveries(1)).toEqual([X]);
    const m = t.r.mark();
    t.run({ k: 'eoi', cpu: 1 });
    return m;
  };

  it('the writer exits (EPT misconfig) and every vCPU gets KVM_REQ_SCAN_IOAPIC (v4.x); a read returns redirtbl[].bits', () => {
    const t = make('v4.16', MIO);
    t.run({ k: 'ioapic_write', cpu: 0, pin: 0, vector: X, dest: 1, trigger: 'level', masked: true });
    expect(t.r.of('vmexit', 0).map((e) => e.a)).toEqual(['ept-misconfig']);
    expect(t.extra(0)).toMatch(/req=4 /);
    // vCPU1 runs its guest: the request comes with an IPI (CALL_FUNCTION_VECTOR) in flight.
    expect(t.extra(1)).toMatch(/req=4 phys=2 /);
    t.run({ k: 'enter', cpu: 0 });
    // Each read is an MMIO exit too: the vCPU re-enters before the next one.
    for (const ev of [{ reg: 'redir-lo', pin: 0 }, { reg: 'redir-hi', pin: 0 }, { reg: 'version' }] as const) {
      t.run({ k: 'ioapic_read', cpu: 0, ...ev });
      t.run({ k: 'enter', cpu: 0 });
    }
    expect(t.r.of('read', 0).map((e) => [e.a, e.b])).toEqual([['redir-lo', X | 1 << 15 | 1 << 16], ['redir-hi', 1 << 24], ['ioapic-version', 0x170011]]);
  });

  it('v6.12 asks only the vCPUs the entry\'s new and old destination address (kvm_make_scan_ioapic_request_mask)', () => {
    const t = make('v6.12', { ...MIO, vcpus: 3 });
    t.run({ k: 'ioapic_write', cpu: 2, pin: 0, vector: X, dest: 1, trigger: 'level', masked: false });
    expect([0, 1, 2].map((c) => /req=4 /.test(t.extra(c)))).toEqual([true, true, false]);
  });

  it('v4.16: the scan handled in guest mode loads vmcs02; L1\'s EOI of 0x30 is not trapped and the line is never re-sent', () => {
    const t = make('v4.16', MIO);
    const m = toL1AndEoi(t);
    const steps = t.r.of('step', 1).map((e) => e.a);
    expect(steps).toContain('vcpu_scan_ioapic');
    expect(steps).toContain('vmx_load_eoi_exitmap(vmcs02)');
    expect(steps).not.toContain('vmx_load_eoi_exitmap(vmcs01)');
    // No EOI-induced exit: kvm_ioapic_update_eoi never runs, Remote IRR stays set.
    expect(t.r.since(m, 'vmexit', 1)).toEqual([]);
    expect(t.b.whereStuck!(1, X)).toBe('eoi-exitmap-loaded-into-vmcs02');
    t.run({ k: 'ioapic_read', cpu: 1, reg: 'redir-lo', pin: 0 });
    expect(t.r.of('read', 1).map((e) => e.b)).toEqual([X | 1 << 14 | 1 << 15]);
    expect(t.r.deliveries(1)).toEqual([X]);
  });

  it('v6.12: load_eoi_exitmap_pending, KVM_REQ_LOAD_EOI_EXITMAP at the nested exit; the EOI exits and the line is re-sent', () => {
    const t = make('v6.12', MIO);
    const m = toL1AndEoi(t);
    const steps = t.r.of('step', 1).map((e) => e.a);
    expect(steps.indexOf('load_eoi_exitmap_pending')).toBeGreaterThan(steps.indexOf('vcpu_scan_ioapic'));
    expect(steps.indexOf('vmx_load_eoi_exitmap(vmcs01)')).toBeGreaterThan(steps.indexOf('nested_vmx_vmexit'));
    expect(steps).not.toContain('vmx_load_eoi_exitmap(vmcs02)');
    expect(t.r.since(m, 'vmexit', 1).map((e) => e.a)).toEqual(['eoi-induced']);
    // kvm_ioapic_update_eoi re-sends the asserted line; the handler takes it after its IRET.
    t.run({ k: 'enter', cpu: 1 });
    t.run({ k: 'iret', cpu: 1 });
    expect(t.r.deliveries(1)).toEqual([X, X]);
  });

  it('the corpus reproducer diverges on every variant before the fix and is clean on v6.12', () => {
    const s = readScenarioFile('corpus/kvm/kvm-eoi-exitmap-loaded-into-vmcs02.json');
    for (const v of ['v4.10', 'v4.10-vtd', '6of6-unordered', 'v4.11', 'v4.11-vtd', 'v4.16', 'v4.16-vtd']) {
      expect(runScenario(s, kvm, v).primary?.signature).toBe(`kvm/${v}:stuck:eoi-exitmap-loaded-into-vmcs02`);
    }
    for (const v of ['v6.12', 'v6.12-vtd']) expect(runScenario(s, kvm, v).primary).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------

describe('end to end (engine, oracle, drain)', () => {
  const race = (n: number, ev: Event, pirq: boolean, machine: MachineConfig = M2): Scenario => ({
    irqdiff: 1, machine,
    events: [{ k: 'exit', cpu: 0, reason: 'timer' }, ...Array.from({ length: n }, () => ({ k: 'enter_step', cpu: 0 }) as Event), ev,
      ...(pirq ? [{ k: 'pirq', cpu: 0 } as Event] : []), { k: 'enter', cpu: 0 }],
  });
  const ipi: Event = { k: 'ipi', cpu: 1, vector: V, dest: 0 };
  const msi: Event = { k: 'msi', dest: 0, vector: V };
  const sig = (s: Scenario, v: string) => runScenario(s, kvm, v).primary?.signature ?? 'clean';

  it('race 1 and race 2 land in different buckets', () => {
    expect(sig(race(5, ipi, true), '6of6-unordered')).toBe('kvm/6of6-unordered:stuck:pir-on-swallowed-in-guest-mode');
    expect(sig(race(4, ipi, false), '6of6-unordered')).toBe('kvm/6of6-unordered:stuck:pir-on-kick-noop');
    expect(sig(race(5, msi, true), 'v4.10-vtd')).toBe('kvm/v4.10-vtd:stuck:pir-on-swallowed-in-guest-mode');
    expect(sig(race(4, msi, true), 'v4.10-vtd')).toBe('kvm/v4.10-vtd:stuck:pir-on-swallowed-outside-guest-mode');
  });

  it('one root cause, whatever source carried the vector', () => {
    // The same race with an IPI and with an MSI is one bucket; the source is a symptom.
    const a = runScenario(race(4, ipi, false), kvm, '6of6-unordered').primary!;
    const b = runScenario(race(4, { k: 'msi', dest: 0, vector: V }, false), kvm, '6of6-unordered').primary!;
    expect(b.signature).toBe(a.signature);
    expect(a.symptoms[0]).toMatch(/^late:ipi/);
    expect(b.symptoms[0]).toMatch(/^late:msi/);
  });

  it('the fixed orders are clean at every interleaving point of the entry path', () => {
    for (const v of ['v4.11', 'v4.11-vtd', 'v4.16', 'v4.16-vtd', 'v6.12', 'v6.12-vtd']) {
      for (let n = 0; n <= 7; n++) {
        for (const ev of [ipi, msi]) {
          expect(`${v} ${n} ${ev.k} pirq`).toBe(`${v} ${n} ${ev.k} pirq` + (sig(race(n, ev, true), v) === 'clean' ? '' : ' !'));
          expect(`${v} ${n} ${ev.k}`).toBe(`${v} ${n} ${ev.k}` + (sig(race(n, ev, false), v) === 'clean' ? '' : ' !'));
        }
      }
    }
  });

  it('every expected bug of every variant is matched by a corpus reproducer', () => {
    const files = ['race1', 'race2', 'v410-window', 'vtd-race1', 'vtd-race2', 'nested', 'nested-vtd']
      .map((f) => readScenarioFile(`corpus/kvm/kvm-apicv-${f}.json`))
      .concat(['nested-pi-shared-vector', 'nested-pi-shared-vector-vtd', 'eoi-exitmap-loaded-into-vmcs02'].map((f) => readScenarioFile(`corpus/kvm/kvm-${f}.json`)));
    for (const info of kvm.variants) {
      for (const bug of info.expectedBugs) {
        const found = files.some((s) => runScenario(s, kvm, info.name).divergences.some((d) => d.cause === bug.cause));
        expect(`${info.name} ${bug.cause}`).toBe(`${info.name} ${bug.cause}` + (found ? '' : ' (not reproduced)'));
      }
    }
  });

  it('is registered and refuses machines it does not model', () => {
    expect(findBackend('kvm')).toBe(kvm);
    expect(kvm.supports({ ...M2, nested: { exitOnIntr: false } })).not.toBeNull();
    expect(kvm.supports({ ...M2, hyperv: { apicAssist: true } })).not.toBeNull();
    expect(kvm.supports(M2N)).toBeNull();
    expect(() => kvm.create('v4.15', M2, new Recorder())).toThrow(/unknown variant/);
  });

  it('is deterministic and does not touch shared state between instances', () => {
    const s = race(5, ipi, true);
    const a = runScenario(s, kvm, '6of6-unordered');
    const b = runScenario(s, kvm, '6of6-unordered');
    expect(b.divergences.map((d) => d.signature)).toEqual(a.divergences.map((d) => d.signature));
    expect(b.eventsRun).toBe(a.eventsRun);
  });
});

describe('generated interleavings', () => {
  // Every root cause on a generated scenario is the variant's subject (expectedBugs) or a
  // declared real deviation (knownDeviations): consequences ride with their cause, so there
  // is nothing else to allow.
  const SEEDS = 3000;
  for (const info of kvm.variants) {
    it(`${info.name}: nothing unexplained over ${SEEDS} seeds`, () => {
      const unexplained: string[] = [];
      let expectedHits = 0;
      for (let i = 0; i < SEEDS; i++) {
        const r = generateAndRun(`kvm-${i}`, kvm, info.name).result;
        for (const d of r.divergences) {
          const c = classify([kvm], d.signature);
          if (c === 'expected') expectedHits++;
          else if (c !== 'known') unexplained.push(`kvm-${i}: ${d.signature}`);
        }
      }
      expect(unexplained).toEqual([]);
      // The nested race needs a posting in a two-step window after an L0-handled L2 exit
      // (about 1 seed in 4000): the corpus reproducers cover it; the L1 races show up here.
      // Nested posted interrupts need a nested.postedIntr machine, which the generator does not draw.
      // The EOI-exit bitmap loaded into vmcs02 needs a redirection write that reaches a vCPU in L2, then
      // a level message and L1's EOI after the nested exit: corpus/kvm/kvm-eoi-exitmap-loaded-into-vmcs02.json.
      const l1Races = info.expectedBugs.some((e) => e.cause !== 'stuck:l2-resumed-after-pir-sync' && e.cause !== 'stuck:pir-on-consumed-by-l2-posted-intr'
        && e.cause !== 'stuck:eoi-exitmap-loaded-into-vmcs02');
      if (l1Races) expect(expectedHits).toBeGreaterThan(0);
      if (info.status === 'clean') expect(expectedHits).toBe(0);
    });
  }
});
