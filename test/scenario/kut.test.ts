// kvm-unit-tests delivery tests as scenarios (test/fixtures/kut-scenarios.ts → corpus/kut/):
// each corpus file is exactly the fixture, validates, runs clean on baremetal/sdm, and makes
// the deliveries its KUT assertions require. KUT_WRITE=1 rewrites the corpus files.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ObsSink } from '../../src/backends/api.js';
import { baremetal } from '../../src/backends/baremetal/index.js';
import { Session } from '../../src/engine/session.js';
import { parseScenario } from '../../src/scenario/schema.js';
import type { MachineConfig, Scenario } from '../../src/scenario/types.js';
import { scenarioText } from '../../src/store/files.js';
import { KUT_CASES } from '../fixtures/kut-scenarios.js';

function scenarioOf(c: typeof KUT_CASES[number]): Scenario {
  return {
    irqdiff: 1, name: c.file.replace(/\.json$/, ''), description: c.description,
    source: `kvm-unit-tests 1da1819e49fc ${c.kut}`, machine: c.machine, events: c.events, expect: { 'baremetal/sdm': 'clean' },
  };
}

/** Run on baremetal and record each vCPU's deliveries (scenario and drain). */
function deliveries(s: Scenario): { seen: number[][]; sig: string | undefined } {
  const seen: number[][] = Array.from({ length: s.machine.vcpus }, () => []);
  const recording = {
    ...baremetal,
    create(variant: string, machine: MachineConfig, sink: ObsSink) {
      const wrapped: ObsSink = {
        executed: (i) => sink.executed(i), readValue: (c, r, v) => sink.readValue(c, r, v), evaluate: (c) => sink.evaluate(c),
        vmexit: (c, r) => sink.vmexit(c, r), step: (c, n) => sink.step(c, n), crash: (c, w, m) => sink.crash(c, w, m),
        l1Exit: (c, r, v, x) => sink.l1Exit(c, r, v, x), l2Deliver: (c, v) => sink.l2Deliver(c, v), arbitrated: (c) => sink.arbitrated?.(c),
        deliver: (cpu, v, nmi, via) => { seen[cpu]!.push(nmi ? 2 : v); sink.deliver(cpu, v, nmi, via); },
      };
      return baremetal.create(variant, machine, wrapped);
    },
  };
  const session = new Session(recording, 'sdm', s.machine);
  s.events.forEach((e, i) => session.apply(e, i));
  return { seen, sig: session.finish().primary?.signature };
}

describe('kvm-unit-tests delivery tests as scenarios', () => {
  for (const c of KUT_CASES) {
    it(`${c.kut} (corpus/kut/${c.file})`, () => {
      const s = scenarioOf(c);
      const text = scenarioText(s);
      const path = `corpus/kut/${c.file}`;
      if (process.env.KUT_WRITE === '1' || !existsSync(path)) writeFileSync(path, text);
      expect(readFileSync(path, 'utf8')).toBe(text);
      parseScenario(text, path);
      const r = deliveries(s);
      expect(r.sig).toBeUndefined();
      expect(r.seen).toEqual(c.deliveries);
    });
  }
});
