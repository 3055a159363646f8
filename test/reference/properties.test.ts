// Invariants of the reference, checked with fast-check over random event sequences driven
// by a greedy bare-metal core (it always takes what the reference says is deliverable).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prioClass, vsEmpty, vsHighest } from '../../src/apic/vecset.js';
import { Reference } from '../../src/reference/lapic.js';
import type { Event } from '../../src/scenario/types.js';

const cpu = fc.integer({ min: 0, max: 1 });
const vector = fc.constantFrom(0x21, 0x2f, 0x33, 0x41, 0x52, 0x5f, 0xe1);
const ev: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ k: fc.constant('ipi' as const), cpu, vector, dest: cpu }),
  fc.record({ k: fc.constant('msi' as const), dest: cpu, vector }),
  fc.record({ k: fc.constantFrom('eoi' as const, 'iret' as const, 'sti' as const, 'cli' as const, 'step' as const), cpu }),
  fc.record({ k: fc.constant('tpr' as const), cpu, value: fc.constantFrom(0, 0x20, 0x35, 0x50, 0xf0), via: fc.constant('mmio' as const) }),
);

/** Take everything deliverable (what a bare-metal core does at each boundary); count takes. */
function settle(r: Reference, taken: Map<number, number>): void {
  for (let c = 0; c < r.cpus.length; c++) {
    for (;;) {
      const a = r.cpus[c]!;
      if (!a.guest.interruptible()) break;
      const v = a.deliverable();
      if (v < 0) break;
      expect(r.deliver(c, v, false)).toBeNull(); // deliverable() and deliver() agree
      taken.set(v, (taken.get(v) ?? 0) + 1);
    }
  }
}

describe('reference invariants', () => {
  it('PPR class is at least the TPR class and the highest in-service class', () => {
    fc.assert(fc.property(fc.array(ev, { maxLength: 80 }), (events) => {
      const r = new Reference({ vcpus: 2, apic: 'x2apic', ioapic: [] });
      const taken = new Map<number, number>();
      for (const e of events) {
        r.apply(e);
        settle(r, taken);
        for (const a of r.cpus) {
          const isrv = vsHighest(a.isr);
          expect(prioClass(a.ppr())).toBe(Math.max(prioClass(a.tpr), isrv < 0 ? 0 : prioClass(isrv)));
        }
      }
    }), { numRuns: 2000 });
  });

  it('no vector is taken more often than it was sent, and an idle core drains everything it was sent', () => {
    fc.assert(fc.property(fc.array(ev, { maxLength: 80 }), (events) => {
      const r = new Reference({ vcpus: 2, apic: 'x2apic', ioapic: [] });
      const taken = new Map<number, number>();
      const sent = new Map<number, number>();
      for (const e of events) {
        if (e.k === 'ipi' || e.k === 'msi') sent.set(e.vector, (sent.get(e.vector) ?? 0) + 1);
        r.apply(e);
        settle(r, taken);
      }
      for (const [v, n] of taken) expect(n).toBeLessThanOrEqual(sent.get(v) ?? 0);
      // Canonical idle: EOI and IRET everything, TPR 0, STI.
      for (let c = 0; c < 2; c++) {
        const idle: Event[] = [];
        for (let i = 0; i < 40; i++) idle.push({ k: 'eoi', cpu: c }, { k: 'iret', cpu: c });
        idle.push({ k: 'tpr', cpu: c, value: 0, via: 'mmio' }, { k: 'sti', cpu: c }, { k: 'step', cpu: c });
        for (const e of idle) { r.apply(e); settle(r, taken); }
      }
      for (let i = 0; i < 40; i++) for (let c = 0; c < 2; c++) { r.apply({ k: 'eoi', cpu: c }); r.apply({ k: 'iret', cpu: c }); settle(r, taken); }
      for (const a of r.cpus) expect(vsEmpty(a.irr)).toBe(true);
    }), { numRuns: 2000 });
  });
});
