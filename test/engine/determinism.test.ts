// Reproducibility: the same seed gives the same interleaving and the same verdict, and a
// minimized reproducer written to disk replays to the signature it was found with.
import { describe, expect, it } from 'vitest';
import type { Backend, BackendInstance, ObsSink } from '../../src/backends/api.js';
import { baremetal } from '../../src/backends/baremetal/index.js';
import { runScenario } from '../../src/engine/session.js';
import { generateAndRun } from '../../src/gen/generator.js';
import { minimize } from '../../src/minimizer/minimize.js';
import { parseScenario } from '../../src/scenario/schema.js';
import type { Event, MachineConfig } from '../../src/scenario/types.js';
import { scenarioText } from '../../src/store/files.js';

/**
 * A toy interrupt controller that forgets an MSI arriving while any vector is in service
 * (the kind of bug a broken interrupt remapper has): a known-divergent backend for
 * exercising the fuzz → minimize → replay loop independently of the hypervisor models.
 */
const forgetful: Backend = {
  ...baremetal,
  name: 'forgetful',
  variants: [{ name: 'v1', source: 'test fixture', status: 'buggy', summary: 'drops an MSI while ISR is non-empty', expectedBugs: [{ signature: 'lost:msi', why: 'by construction' }] }],
  create(variant: string, m: MachineConfig, sink: ObsSink): BackendInstance {
    const inner = baremetal.create('sdm', m, sink);
    return {
      machine: m,
      apply(e: Event, i: number) {
        if (e.k === 'msi' && inner.snapshot(e.dest % m.vcpus).isr.some((w) => w !== 0)) { sink.executed(i); return; }
        inner.apply(e, i);
      },
      where: (c) => inner.where(c), inL2: (c) => inner.inL2(c), physPending: (c) => inner.physPending(c),
      guest: (c) => inner.guest(c), snapshot: (c) => inner.snapshot(c),
    };
  },
};

describe('reproducibility', () => {
  it('the same seed gives the same scenario and the same result', () => {
    for (let i = 0; i < 200; i++) {
      const a = generateAndRun(`det:${i}`, forgetful, 'v1');
      const b = generateAndRun(`det:${i}`, forgetful, 'v1');
      expect(JSON.stringify(b.scenario)).toBe(JSON.stringify(a.scenario));
      expect(b.result.divergences).toEqual(a.result.divergences);
      // Replaying the recorded events gives the verdict the generator saw.
      expect(runScenario(a.scenario, forgetful, 'v1').primary?.signature).toBe(a.result.primary?.signature);
    }
  });

  it('finds, minimizes and replays a divergence to the same signature through a file', () => {
    let found = 0;
    for (let i = 0; i < 400 && found < 5; i++) {
      const { scenario, result } = generateAndRun(`loop:${i}`, forgetful, 'v1');
      const d = result.primary;
      if (!d) continue;
      found++;
      const m = minimize(scenario, forgetful, 'v1', d.signature);
      expect(m.after).toBeLessThanOrEqual(m.before);
      const text = scenarioText({ ...m.scenario, expect: { 'forgetful/v1': { signature: d.signature } } });
      const back = parseScenario(text, 'roundtrip.json');
      expect(runScenario(back, forgetful, 'v1').primary?.signature).toBe(d.signature);
      if (d.kind === 'lost') expect(m.after).toBeLessThanOrEqual(5);
    }
    expect(found).toBe(5);
  });
});
