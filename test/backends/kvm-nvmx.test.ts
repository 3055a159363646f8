// KVM nested VMX backend: L0 injecting an L1 interrupt while L1's injection into L2 is
// half-delivered (seed 003), step by step on both variants, then end to end.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BackendInstance, ObsSink } from '../../src/backends/api.js';
import { kvmNvmx } from '../../src/backends/kvm-nvmx/index.js';
import { findBackend } from '../../src/backends/registry.js';
import { runScenario } from '../../src/engine/run.js';
import { parseScenario } from '../../src/scenario/schema.js';
import type { Event, MachineConfig, Reg, Scenario } from '../../src/scenario/types.js';

const X = 0x30; // L1 → L2 injection
const Y = 0x50; // interrupt for L1
const Z = 0x40; // an unrelated later interrupt for L1

interface Rec { k: string; cpu?: number; a?: unknown; b?: unknown; c?: unknown }

class Recorder implements ObsSink {
  readonly log: Rec[] = [];
  executed(index: number): void { this.log.push({ k: 'executed', a: index }); }
  deliver(cpu: number, vector: number, nmi: boolean): void { this.log.push({ k: 'deliver', cpu, a: vector, b: nmi }); }
  readValue(cpu: number, reg: Reg, value: unknown): void { this.log.push({ k: 'read', cpu, a: reg, b: value }); }
  evaluate(cpu: number): void { this.log.push({ k: 'evaluate', cpu }); }
  vmexit(cpu: number, reason: string): void { this.log.push({ k: 'vmexit', cpu, a: reason }); }
  step(_cpu: number, _name: string): void { /* trace only */ }
  crash(cpu: number, where: string, message: string): void { this.log.push({ k: 'crash', cpu, a: where, b: message }); }
  l1Exit(cpu: number, reason: string, idtValid: boolean, idtVector: number): void { this.log.push({ k: 'l1Exit', cpu, a: reason, b: idtValid, c: idtVector }); }
  l2Deliver(cpu: number, vector: number): void { this.log.push({ k: 'l2Deliver', cpu, a: vector }); }
  of(k: string): Rec[] { return this.log.filter((r) => r.k === k); }
  mark(): number { return this.log.length; }
  since(m: number, k: string): Rec[] { return this.log.slice(m).filter((r) => r.k === k); }
}

const machine: MachineConfig = { vcpus: 1, apic: 'x2apic', ioapic: [], nested: { exitOnIntr: true } };

function make(variant: string): { b: BackendInstance; r: Recorder; run: (ev: Event) => void } {
  const r = new Recorder();
  const b = kvmNvmx.create(variant, machine, r);
  let i = 0;
  return { b, r, run: (ev) => b.apply(ev, i++) };
}

/** Common prefix: L1 injects X into L2; the delivery faults into L0 (EPT violation); Y arrives. */
function prefix(variant: string) {
  const t = make(variant);
  const { b, r, run } = t;
  run({ k: 'vmentry', cpu: 0, inject: X });
  expect(b.where(0)).toBe('hv');
  expect(b.inL2(0)).toBe(true);
  run({ k: 'fault', cpu: 0 });
  // vcpu_enter_guest, one interleaving point at a time: requests, KVM_REQ_EVENT block,
  // mode store, local_irq_disable, bail-out check, vmx_vcpu_run (the entry faults).
  for (let s = 0; s < 5; s++) {
    run({ k: 'enter_step', cpu: 0 });
    expect(b.where(0)).toBe('hv');
  }
  run({ k: 'enter_step', cpu: 0 });
  expect(r.of('vmexit').map((e) => e.a)).toEqual(['vmresume', 'ept']);
  expect(r.of('l2Deliver')).toEqual([]);
  expect(r.of('l1Exit')).toEqual([]);
  expect(b.where(0)).toBe('hv');
  expect(b.inL2(0)).toBe(true);
  expect(b.snapshot(0).extra).toContain(`vmcs12.idt=0x800000${X.toString(16)}`);
  run({ k: 'msi', dest: 0, vector: Y });
  expect(b.physPending(0)).toBe(false); // the vCPU is in L0: no kick IPI
  return t;
}

describe('kvm-nvmx: L1 interrupt while L1\'s injection into L2 is half-delivered', () => {
  it('pre-fix: exits to L1 with EXTERNAL_INTERRUPT and valid IDT-vectoring info, then injects Y into L1', () => {
    const { b, r, run } = prefix('pre-fix');
    const m = r.mark();
    run({ k: 'enter', cpu: 0 });
    expect(r.since(m, 'l1Exit')).toEqual([{ k: 'l1Exit', cpu: 0, a: 'extint', b: true, c: X }]);
    expect(r.since(m, 'deliver')).toEqual([{ k: 'deliver', cpu: 0, a: Y, b: false }]);
    // The exit to L1 is committed before L1 takes Y (the oracle relies on the order).
    const kinds = r.log.slice(m).map((e) => e.k).filter((k) => k === 'l1Exit' || k === 'deliver');
    expect(kinds).toEqual(['l1Exit', 'deliver']);
    expect(r.of('l2Deliver')).toEqual([]);
    expect(b.where(0)).toBe('guest');
    expect(b.inL2(0)).toBe(false);
    expect(b.guest(0).top()?.vector).toBe(Y);
  });

  it('pre-fix: L1 re-injects the event reported back at its next VMRESUME', () => {
    const { b, r, run } = prefix('pre-fix');
    run({ k: 'enter', cpu: 0 });
    run({ k: 'eoi', cpu: 0 });
    run({ k: 'enter', cpu: 0 });
    run({ k: 'iret', cpu: 0 });
    run({ k: 'vmentry', cpu: 0 });
    run({ k: 'enter', cpu: 0 });
    expect(r.of('l2Deliver')).toEqual([{ k: 'l2Deliver', cpu: 0, a: X }]);
    expect(b.inL2(0)).toBe(true);
  });

  it('fixed: stays in L2, re-injects X behind an immediate exit, then exits to L1 without vectoring info', () => {
    const { b, r, run } = prefix('fixed');
    let m = r.mark();
    run({ k: 'enter', cpu: 0 });
    // vmx_interrupt_allowed refused (valid vmcs12 IDT-vectoring info): no exit to L1; the
    // bail-out on KVM_REQ_IMMEDIATE_EXIT, then vmx_vcpu_run re-injects X with a self-IPI
    // pending in this CPU's own APIC: the EXTERNAL_INTERRUPT exit follows the entry at once,
    // before any L2 instruction, and L0 handles it.
    expect(r.since(m, 'l1Exit')).toEqual([]);
    expect(r.since(m, 'deliver')).toEqual([]);
    expect(r.since(m, 'l2Deliver')).toEqual([{ k: 'l2Deliver', cpu: 0, a: X }]);
    const exits = r.since(m, 'vmexit').map((e) => e.a);
    expect(exits[exits.length - 1]).toBe('extint');

    // Open point, resolved from the source: nothing made KVM_REQ_EVENT again (vmx_handle_exit
    // only does when nested_run_pending was set), so the entry path went back into L2 and Y
    // waits in L1's emulated IRR.
    expect(b.where(0)).toBe('guest');
    expect(b.inL2(0)).toBe(true);
    expect(b.physPending(0)).toBe(false);
    expect(b.whereStuck!(0, Y)).toBe('in-l2-after-idt-reinjection');

    // An unrelated source of KVM_REQ_EVENT (a new interrupt Z for L1) re-evaluates: now the exit
    // to L1 carries no vectoring info, and L1 takes Y first.
    m = r.mark();
    run({ k: 'msi', dest: 0, vector: Z });
    expect(b.physPending(0)).toBe(true); // the kick IPI to a vCPU in guest mode
    run({ k: 'pirq', cpu: 0 });
    run({ k: 'enter', cpu: 0 });
    expect(r.since(m, 'l1Exit')).toEqual([{ k: 'l1Exit', cpu: 0, a: 'extint', b: false, c: -1 }]);
    expect(r.since(m, 'deliver')).toEqual([{ k: 'deliver', cpu: 0, a: Y, b: false }]);
    expect(b.where(0)).toBe('guest');
    expect(b.inL2(0)).toBe(false);
    // X reached L2 exactly once.
    expect(r.of('l2Deliver')).toEqual([{ k: 'l2Deliver', cpu: 0, a: X }]);
    for (const e of r.of('l1Exit')) expect(e.a === 'extint' && e.b === true).toBe(false);
  });

  for (const variant of ['pre-fix', 'fixed']) {
    it(`${variant}: nested_run_pending path (d6185f20a0ef): L2 runs first, then the pending L1 interrupt exits to L1`, () => {
      const { b, r, run } = make(variant);
      run({ k: 'vmentry', cpu: 0, inject: X });
      run({ k: 'msi', dest: 0, vector: Y });
      // One entry: L2 takes X, KVM_REQ_IMMEDIATE_EXIT's self-IPI exits at once, nested_run_pending
      // makes KVM_REQ_EVENT, and the next pass exits to L1, which takes Y.
      run({ k: 'enter', cpu: 0 });
      expect(r.of('l2Deliver')).toEqual([{ k: 'l2Deliver', cpu: 0, a: X }]);
      const kinds = r.log.map((e) => e.k).filter((k) => k === 'l2Deliver' || k === 'l1Exit');
      expect(kinds).toEqual(['l2Deliver', 'l1Exit']);
      expect(r.of('l1Exit')).toEqual([{ k: 'l1Exit', cpu: 0, a: 'extint', b: false, c: -1 }]);
      expect(r.of('deliver')).toEqual([{ k: 'deliver', cpu: 0, a: Y, b: false }]);
      expect(b.inL2(0)).toBe(false);
    });
  }

  it('a kick reaches a vCPU running L2 and exits to L1 (both variants agree without vectoring info)', () => {
    for (const variant of ['pre-fix', 'fixed']) {
      const { b, r, run } = make(variant);
      run({ k: 'vmentry', cpu: 0 });
      run({ k: 'enter', cpu: 0 });
      expect(b.inL2(0)).toBe(true);
      expect(b.where(0)).toBe('guest');
      run({ k: 'l2', cpu: 0, op: 'step' });
      run({ k: 'msi', dest: 0, vector: Y });
      expect(b.physPending(0)).toBe(true);
      run({ k: 'pirq', cpu: 0 });
      run({ k: 'enter', cpu: 0 });
      expect(r.of('l1Exit')).toEqual([{ k: 'l1Exit', cpu: 0, a: 'extint', b: false, c: -1 }]);
      expect(r.of('deliver')).toEqual([{ k: 'deliver', cpu: 0, a: Y, b: false }]);
    }
  });

  it('L1 with IF=0: the interrupt waits for vmcs01 interrupt-window exiting after STI', () => {
    const { b, r, run } = make('fixed');
    run({ k: 'cli', cpu: 0 });
    run({ k: 'msi', dest: 0, vector: Y });
    run({ k: 'exit', cpu: 0, reason: 'timer' });
    run({ k: 'enter', cpu: 0 });
    expect(r.of('deliver')).toEqual([]);
    run({ k: 'sti', cpu: 0 });
    expect(b.where(0)).toBe('guest'); // STI shadow: no window yet
    run({ k: 'step', cpu: 0 });
    expect(r.of('vmexit').map((e) => e.a)).toContain('irq-window');
    run({ k: 'enter', cpu: 0 });
    expect(r.of('deliver')).toEqual([{ k: 'deliver', cpu: 0, a: Y, b: false }]);
  });

  it('both variants: L1 VMRESUMEs with a masked interrupt pending; L2 runs without an exit (no KVM_REQ_EVENT)', () => {
    for (const variant of ['pre-fix', 'fixed']) {
      const { b, r, run } = make(variant);
      run({ k: 'cli', cpu: 0 });
      run({ k: 'msi', dest: 0, vector: Y });
      run({ k: 'pirq', cpu: 0 }); // the kick: EXTERNAL_INTERRUPT exit from L1
      run({ k: 'enter', cpu: 0 }); // KVM_REQ_EVENT consumed: IF = 0, vmcs01 interrupt window armed
      expect(r.of('deliver')).toEqual([]);
      run({ k: 'vmentry', cpu: 0 });
      run({ k: 'enter', cpu: 0 });
      expect(b.inL2(0)).toBe(true);
      expect(b.physPending(0)).toBe(false);
      expect(r.of('l1Exit')).toEqual([]);
      expect(b.whereStuck!(0, Y)).toBe('pending-at-vmresume');
      // The first L2 exit after VMRESUME sees nested_run_pending and makes KVM_REQ_EVENT.
      run({ k: 'exit', cpu: 0, reason: 'timer' });
      run({ k: 'enter', cpu: 0 });
      expect(r.of('l1Exit')).toEqual([{ k: 'l1Exit', cpu: 0, a: 'extint', b: false, c: -1 }]);
    }
  });

  it('apic_set_eoi of the era clears the TMR bit of a level vector (documented deviation)', () => {
    const m: MachineConfig = { ...machine, ioapic: [{ pin: 0, vector: 0x61, dest: 0, trigger: 'level', masked: false }] };
    const r = new Recorder();
    const b = kvmNvmx.create('fixed', m, r);
    let i = 0;
    const run = (ev: Event) => b.apply(ev, i++);
    run({ k: 'ioapic', pin: 0, op: 'pulse' });
    run({ k: 'exit', cpu: 0, reason: 'timer' });
    run({ k: 'enter', cpu: 0 });
    expect(r.of('deliver')).toEqual([{ k: 'deliver', cpu: 0, a: 0x61, b: false }]);
    run({ k: 'eoi', cpu: 0 });
    run({ k: 'enter', cpu: 0 });
    run({ k: 'read', cpu: 0, reg: 'tmr' });
    const read = r.of('read')[0]!;
    expect(Array.from(read.b as Uint32Array).every((w) => w === 0)).toBe(true);
  });

  it('registers in the backend registry and declares its variants', () => {
    expect(findBackend('kvm-nvmx')).toBe(kvmNvmx);
    expect(kvmNvmx.variants.map((v) => v.name)).toEqual(['pre-fix', 'fixed']);
    expect(kvmNvmx.variants[0]!.source).toContain('d6185f20a0efbf175e12831d0de330e4f21725aa');
    expect(kvmNvmx.variants[1]!.source).toContain('51cfe38ea50aa631f58ed8c340ed6f0143c325a8');
    expect(kvmNvmx.supports({ vcpus: 1, apic: 'x2apic', ioapic: [] })).not.toBeNull();
    expect(kvmNvmx.supports(machine)).toBeNull();
  });
});

describe('kvm-nvmx end to end (engine + oracle)', () => {
  const corpus = parseScenario(readFileSync(new URL('../../corpus/kvm-nvmx/kvm-nvmx-idt-vectoring.json', import.meta.url), 'utf8'), 'corpus/kvm-nvmx/kvm-nvmx-idt-vectoring.json');

  it('the corpus reproducer gives the expected outcome on each variant', () => {
    for (const v of kvmNvmx.variants) {
      const exp = corpus.expect?.[`kvm-nvmx/${v.name}`];
      expect(exp).toBeDefined();
      const res = runScenario(corpus, kvmNvmx, v.name);
      if (exp === 'clean') expect(res.primary).toBeUndefined();
      else expect(res.primary?.signature).toBe(exp!.signature);
    }
  });

  it('pre-fix shows its expected bug; fixed shows only a documented deviation', () => {
    const pre = runScenario(corpus, kvmNvmx, 'pre-fix');
    expect(pre.primary?.signature).toBe('kvm-nvmx/pre-fix:l1-invariant:extint-with-idt-vectoring');
    const preInfo = kvmNvmx.variants.find((v) => v.name === 'pre-fix')!;
    expect(preInfo.expectedBugs.some((e) => e.cause === pre.primary!.cause)).toBe(true);

    const fixed = runScenario(corpus, kvmNvmx, 'fixed');
    const info = kvmNvmx.variants.find((v) => v.name === 'fixed')!;
    expect(fixed.divergences.length).toBeGreaterThan(0);
    for (const d of fixed.divergences) {
      expect(d.kind).not.toBe('l1-invariant');
      expect(info.knownDeviations!.some((k) => k.cause === d.cause)).toBe(true);
    }
  });

  it('fixed is clean once an unrelated interrupt re-raises KVM_REQ_EVENT', () => {
    const s: Scenario = { ...corpus, events: [...corpus.events, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 }, { k: 'msi', dest: 0, vector: Z }] };
    expect(runScenario(s, kvmNvmx, 'fixed').divergences).toEqual([]);
    expect(runScenario(s, kvmNvmx, 'pre-fix').primary?.signature).toBe('kvm-nvmx/pre-fix:l1-invariant:extint-with-idt-vectoring');
  });
});
