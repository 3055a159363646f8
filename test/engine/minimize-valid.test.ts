// The minimizer's output is written as a reproducer and read back through the scenario loader:
// every candidate it keeps must be a valid scenario. A pin that only a redirection write names
// (no input event) once got dropped from the machine, leaving an unreadable crash file.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { runScenario } from '../../src/engine/session.js';
import { minimize } from '../../src/minimizer/minimize.js';
import { validateScenario } from '../../src/scenario/schema.js';
import type { Scenario } from '../../src/scenario/types.js';

describe('minimize keeps scenarios valid', () => {
  it('a pin named only by ioapic_write stays configured; the result replays to its signature', () => {
    const s: Scenario = {
      irqdiff: 1,
      machine: { vcpus: 2, apic: 'x2apic', ioapic: [{ pin: 0, vector: 0x20, dest: 1, trigger: 'level', masked: false }] },
      events: [
        { k: 'tpr', cpu: 1, value: 0x40, via: 'mmio' },
        { k: 'ipi', cpu: 0, vector: 0x30, dest: 1 },
        { k: 'enter', cpu: 1 },
        { k: 'tpr', cpu: 1, value: 0x20, via: 'cr8' },
        { k: 'ioapic_write', cpu: 1, pin: 0, vector: 0xbf, dest: 1, trigger: 'level', masked: false },
      ],
    };
    const b = BACKENDS.find((x) => x.name === 'bhyve')!;
    const sig = runScenario(s, b, 'fixed').primary?.signature;
    expect(sig).toBeDefined();
    const r = minimize(s, b, 'fixed', sig!);
    expect(() => validateScenario(JSON.parse(JSON.stringify(r.scenario)))).not.toThrow();
    expect(runScenario(r.scenario, b, 'fixed').primary?.signature).toBe(sig);
  });

  it('every corpus reproducer minimizes to a valid scenario with the same signature (sample)', () => {
    for (const dir of ['corpus/bhyve', 'corpus/kvm', 'corpus/acrn']) {
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).slice(0, 6)) {
        const s = validateScenario(JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')));
        const name = dir.split('/')[1]!;
        const b = BACKENDS.find((x) => x.name === name)!;
        const v = b.variants[b.variants.length - 1]!.name;
        const sig = runScenario(s, b, v).primary?.signature;
        if (!sig) continue;
        const r = minimize(s, b, v, sig, 1500);
        expect(() => validateScenario(JSON.parse(JSON.stringify(r.scenario))), `${dir}/${f}`).not.toThrow();
      }
    }
  });
});
