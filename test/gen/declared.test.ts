// The generator draws only what the target backend declares and accepts: a drawn event a backend
// does not declare makes the scenario "unsupported" (never run), and a machine it refuses is
// never run at all — either way the budget is spent on nothing.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/api.js';
import { BACKENDS } from '../../src/backends/registry.js';
import { generateAndRun } from '../../src/gen/generator.js';
import { FEATURES, scenarioFeatures } from '../../src/scenario/features.js';

const baremetal = BACKENDS.find((b) => b.name === 'baremetal')!;

function like(b: Backend, over: Partial<Backend>): Backend {
  return { ...b, ...over };
}

describe('generator draws only declared features', () => {
  it('no TMCCT read for a backend that declares the other local APIC reads but not lapic_read.tmcct', () => {
    const b = like(baremetal, { name: 'no-tmcct', features: FEATURES.filter((f) => f !== 'lapic_read.tmcct') });
    let reads = 0;
    for (let i = 0; i < 400; i++) {
      const { scenario } = generateAndRun(`decl:${i}`, b, 'sdm');
      for (const e of scenario.events) {
        if (e.k !== 'lapic_read') continue;
        reads++;
        expect(e.reg).not.toBe('tmcct');
      }
    }
    expect(reads).toBeGreaterThan(50);
  });

  it('no APIC ID layout a backend refuses, though it declares machine.apicIds', () => {
    // Refuses IDs that are not 2 x vCPU index, as a backend with fixed IDs would.
    const b = like(baremetal, {
      name: 'fixed-ids',
      supports: (m) => (m.nested ? 'no nesting' : m.apicIds && m.apicIds.some((id, i) => id !== 2 * i) ? 'IDs are 2 x vcpu' : null),
    });
    for (let i = 0; i < 400; i++) {
      const { scenario } = generateAndRun(`decl:${i}`, b, 'sdm');
      expect(b.supports(scenario.machine), `seed decl:${i}`).toBeNull();
    }
  });

  it('every real backend is generated only what it declares, on every variant', () => {
    for (const b of BACKENDS) {
      const v = b.variants[0]!.name;
      for (let i = 0; i < 150; i++) {
        const { scenario } = generateAndRun(`decl:${i}`, b, v);
        expect(b.supports(scenario.machine), `${b.name} decl:${i}`).toBeNull();
        for (const f of scenarioFeatures(scenario.machine, scenario.events)) expect(b.features, `${b.name} decl:${i}`).toContain(f);
      }
    }
  });
});
