// REF-NST-1..3: what L1 observes of its L2, judged by the oracle.
import { describe, expect, it } from 'vitest';
import { Oracle } from '../../src/oracle/oracle.js';
import type { Event, MachineConfig } from '../../src/scenario/types.js';

const m: MachineConfig = { vcpus: 1, apic: 'x2apic', ioapic: [], nested: { exitOnIntr: true } };
function oracle(): Oracle { return new Oracle(m, 'test', 'v'); }
function exec(o: Oracle, e: Event) { o.begin(e, 0); o.executed(0); }

describe('nested guarantees', () => {
  it('REF-NST-1: an external-interrupt exit with valid IDT-vectoring info is flagged', () => {
    const o = oracle();
    exec(o, { k: 'vmentry', cpu: 0, inject: 0x31 });
    o.l1Exit(0, 'extint', true, 0x31);
    expect(o.divergences.map((d) => d.cause)).toEqual(['l1-invariant:extint-with-idt-vectoring']);
  });

  it('REF-NST-1: an EPT-violation exit reporting the injected event is fine', () => {
    const o = oracle();
    exec(o, { k: 'vmentry', cpu: 0, inject: 0x31 });
    o.l1Exit(0, 'ept', true, 0x31);
    expect(o.divergences).toEqual([]);
  });

  it('REF-NST-2: an injected event neither delivered nor reported back is flagged; exactly-once delivery is fine', () => {
    const o = oracle();
    exec(o, { k: 'vmentry', cpu: 0, inject: 0x31 });
    o.l1Exit(0, 'vmcall', false, 0);
    expect(o.divergences.map((d) => d.cause)).toEqual(['l1-invariant:injected-event-lost']);
    const o2 = oracle();
    exec(o2, { k: 'vmentry', cpu: 0, inject: 0x31 });
    o2.l2Deliver(0, 0x31);
    o2.l1Exit(0, 'extint', false, 0);
    expect(o2.divergences).toEqual([]);
    o2.l2Deliver(0, 0x31);
    expect(o2.divergences.map((d) => d.cause)).toEqual(['l1-invariant:l2-spurious']);
  });

  it('REF-NST-3: L1 cannot take an interrupt while L2 runs', () => {
    const o = oracle();
    exec(o, { k: 'vmentry', cpu: 0 });
    exec(o, { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' });
    o.deliver(0, 0x41, false);
    expect(o.divergences.map((d) => d.cause)).toEqual(['l1-invariant:l1-deliver-while-l2']);
  });
});

describe('L1 re-injection', () => {
  it('REF-NST-2: an event reported back in IDT-vectoring info is expected again after L1 re-enters L2', () => {
    const o = oracle();
    exec(o, { k: 'vmentry', cpu: 0, inject: 0x31 });
    o.l1Exit(0, 'ept', true, 0x31);
    exec(o, { k: 'vmentry', cpu: 0 });
    o.l2Deliver(0, 0x31);
    o.l1Exit(0, 'vmcall', false, 0);
    expect(o.divergences).toEqual([]);
  });
});
