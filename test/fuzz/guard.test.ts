// The campaign runs every backend behind guardBackend (exceptions become crash findings). The
// wrapper must keep what the generator asks of a backend: a backend's declared features decide
// which programmable-APIC events it draws, so a wrapper that dropped them would silently turn
// every campaign, soak and distributed unit into a run without ioapic_write & co.
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { guardBackend } from '../../src/fuzz/guard.js';
import { generateAndRun } from '../../src/gen/generator.js';

describe('guardBackend', () => {
  it('keeps the declared features, so a guarded backend gets the same scenarios as the bare one', () => {
    for (const b of BACKENDS) {
      const g = guardBackend(b);
      expect(g.features).toEqual(b.features);
      const v = b.variants[0]!.name;
      for (let i = 0; i < 40; i++) {
        expect(JSON.stringify(generateAndRun(`guard:${i}`, g, v).scenario.events)).toBe(JSON.stringify(generateAndRun(`guard:${i}`, b, v).scenario.events));
      }
    }
  });

  it('a guarded bare metal and kvm draw their declared programming events', () => {
    const kinds = (name: string) => {
      const b = guardBackend(BACKENDS.find((x) => x.name === name)!);
      const seen = new Set<string>();
      for (let i = 0; i < 400; i++) for (const e of generateAndRun(`guard-kinds:${i}`, b, b.variants[0]!.name).scenario.events) seen.add(e.k);
      return seen;
    };
    expect(kinds('baremetal')).toContain('lapic_write');
    expect(kinds('kvm')).toContain('ioapic_write');
  });

  it('the step tap (guided engine, --coverage) forwards every sink call: bare metal stays silent behind it', () => {
    // Bare metal with every programmable feature (lowest-priority arbitration reports through
    // ObsSink.arbitrated): the tap once dropped that call, and the oracle then saw deliveries to
    // vCPUs it had not been told were chosen.
    const bm = BACKENDS.find((x) => x.name === 'baremetal')!;
    const tapped = guardBackend(bm, () => () => {});
    const bad: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const { result } = generateAndRun(`guard-tap:${i}`, tapped, 'sdm');
      for (const d of result.divergences) bad.push(`${i}:${d.cause}`);
    }
    expect(bad).toEqual([]);
  });
});
