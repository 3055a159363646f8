// Soundness: on a machine without a hypervisor, whose IPIs and MSIs travel with arbitrary
// latency, the oracle must never flag anything — for any interleaving (fast-check) and for
// the fuzzer's own interleavings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { baremetal } from '../../src/backends/baremetal/index.js';
import { runScenario } from '../../src/engine/session.js';
import { generateAndRun } from '../../src/gen/generator.js';
import { validateScenario } from '../../src/scenario/schema.js';
import type { Event, Scenario } from '../../src/scenario/types.js';

const VCPUS = 3;
const cpu = fc.integer({ min: 0, max: VCPUS - 1 });
const vector = fc.constantFrom(0x31, 0x3a, 0x41, 0x52, 0x52, 0x6f, 0x0e);
const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ k: fc.constant('ipi' as const), cpu, vector, dest: cpu }),
  fc.record({ k: fc.constant('ipi' as const), cpu, vector, shorthand: fc.constantFrom('self' as const, 'all' as const, 'others' as const) }),
  fc.record({ k: fc.constant('ipi' as const), cpu, vector: fc.constant(0), dest: cpu, nmi: fc.constant(true) }),
  fc.record({ k: fc.constant('msi' as const), dest: cpu, vector }),
  fc.record({ k: fc.constant('ioapic' as const), pin: fc.constantFrom(0, 1), op: fc.constantFrom('assert' as const, 'deassert' as const, 'pulse' as const, 'mask' as const, 'unmask' as const) }),
  fc.record({ k: fc.constantFrom('eoi' as const, 'iret' as const, 'sti' as const, 'cli' as const, 'step' as const, 'hlt' as const, 'pirq' as const, 'enter' as const), cpu }),
  fc.record({ k: fc.constant('tpr' as const), cpu, value: fc.constantFrom(0, 0x30, 0x40, 0x50), via: fc.constantFrom('cr8' as const, 'mmio' as const) }),
  fc.record({ k: fc.constant('read' as const), cpu, reg: fc.constantFrom('irr' as const, 'isr' as const, 'tmr' as const, 'ppr' as const, 'tpr' as const, 'esr' as const) }),
);

function scenario(events: Event[]): Scenario {
  return {
    irqdiff: 1,
    machine: { vcpus: VCPUS, apic: 'x2apic', ioapic: [
      { pin: 0, vector: 0x7f, dest: 1, trigger: 'level', masked: false },
      { pin: 1, vector: 0x41, dest: 2, trigger: 'edge', masked: false },
    ] },
    events,
  };
}

describe('oracle soundness on bare metal', () => {
  it('never flags an interleaving of a machine without a hypervisor', () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 60 }), (events) => {
      const s = validateScenario(scenario(events));
      const r = runScenario(s, baremetal, 'sdm');
      expect(r.divergences).toEqual([]);
    }), { numRuns: 3000 });
  });

  it('never flags the fuzzer\'s own interleavings, which all validate', () => {
    for (let i = 0; i < 3000; i++) {
      const { scenario: s, result } = generateAndRun(`soundness:${i}`, baremetal, 'sdm');
      expect(() => validateScenario(JSON.parse(JSON.stringify(s)))).not.toThrow();
      expect(result.divergences).toEqual([]);
    }
  });

  // Issue 8 (REF-IOA-4, REF-ACC-4, REF-EOI-4): level pin 0's vector 0x7f shared with IPIs,
  // MSIs, SELF_IPIs and pin 1's edge entry, and pin 0 rewritten between level and edge, with
  // TMR and Remote IRR read at any time. Every acceptance order baremetal shows (level messages
  // at once, edge ones at the target's pirq) must be one the oracle accepts.
  it('never flags a vector shared between edge sources and a level pin', () => {
    const v = fc.constantFrom(0x7f, 0x7f, 0x7f, 0x41, 0x52);
    const shared: fc.Arbitrary<Event> = fc.oneof(
      { weight: 3, arbitrary: event },
      fc.record({ k: fc.constant('ipi' as const), cpu, vector: v, dest: cpu }),
      fc.record({ k: fc.constant('msi' as const), dest: cpu, vector: v }),
      fc.record({ k: fc.constant('self_ipi' as const), cpu, vector: v }),
      fc.record({ k: fc.constant('ioapic_write' as const), cpu, pin: fc.constant(0), vector: fc.constant(0x7f), dest: cpu, trigger: fc.constantFrom('edge' as const, 'level' as const), masked: fc.boolean() }),
      fc.record({ k: fc.constant('ioapic_write' as const), cpu, pin: fc.constant(1), vector: fc.constantFrom(0x7f, 0x41), dest: cpu, trigger: fc.constant('edge' as const), masked: fc.boolean() }),
      fc.record({ k: fc.constant('ioapic' as const), pin: fc.constant(0), op: fc.constantFrom('assert' as const, 'deassert' as const, 'pulse' as const) }),
      fc.record({ k: fc.constant('read' as const), cpu, reg: fc.constantFrom('tmr' as const, 'irr' as const) }),
      fc.record({ k: fc.constant('ioapic_read' as const), cpu, reg: fc.constant('redir-lo' as const), pin: fc.constantFrom(0, 1) }),
    );
    fc.assert(fc.property(fc.array(shared, { minLength: 10, maxLength: 60, size: 'max' }), (events) => {
      const s = validateScenario(scenario(events));
      const r = runScenario(s, baremetal, 'sdm');
      expect(r.divergences).toEqual([]);
    }), { numRuns: 3000 });
  });

  it('does flag a machine that loses an interrupt (the oracle is not vacuous)', () => {
    const lossy = {
      ...baremetal,
      create: (v: string, m: Scenario['machine'], sink: Parameters<typeof baremetal.create>[2]) => {
        const inner = baremetal.create(v, m, sink);
        // Drops every second MSI on the floor, as a broken interrupt remapper would.
        let n = 0;
        return { ...inner, apply: (e: Event, i: number) => { if (e.k === 'msi' && n++ % 2 === 1) { sink.executed(i); return; } inner.apply(e, i); },
          where: inner.where.bind(inner), inL2: inner.inL2.bind(inner), physPending: inner.physPending.bind(inner), guest: inner.guest.bind(inner), snapshot: inner.snapshot.bind(inner) };
      },
    };
    const s = scenario([{ k: 'msi', dest: 0, vector: 0x41 }, { k: 'pirq', cpu: 0 }, { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'msi', dest: 0, vector: 0x41 }]);
    const r = runScenario(s, lossy, 'sdm');
    // Without whereStuck tags every held interrupt of a backend is one bucket; the symptom
    // says what the guest saw.
    expect(r.primary?.signature).toBe('baremetal/sdm:stuck:untagged');
    expect(r.primary?.symptoms).toContain('lost:msi');
  });
});
