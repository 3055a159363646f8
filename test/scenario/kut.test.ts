// kvm-unit-tests delivery tests as scenarios (test/fixtures/kut-scenarios.ts → corpus/kut/):
// each corpus file is exactly the fixture, validates, runs clean on baremetal/sdm, and makes
// the deliveries its KUT assertions require (and, where the test asserts where an interrupt is
// taken, after which instruction). KUT_WRITE=1 rewrites the corpus files.
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

/** Events that are not guest instructions: they move no vCPU's instruction pointer. */
const NOT_INSTRUCTIONS = new Set(['msi', 'ioapic', 'lint', 'time', 'pirq', 'exit', 'enter', 'enter_step', 'fault', 'vmentry', 'l2']);

/**
 * Run on baremetal and record each vCPU's deliveries (scenario and drain), and for each the last
 * guest instruction that vCPU executed before it (KUT's regs->rip: where the interrupt was taken),
 * or 'drain'.
 */
function deliveries(s: Scenario): { seen: number[][]; after: string[][]; sig: string | undefined } {
  const seen: number[][] = Array.from({ length: s.machine.vcpus }, () => []);
  const after: string[][] = Array.from({ length: s.machine.vcpus }, () => []);
  const last: string[] = Array.from({ length: s.machine.vcpus }, () => '-');
  let draining = false;
  const recording = {
    ...baremetal,
    create(variant: string, machine: MachineConfig, sink: ObsSink) {
      const wrapped: ObsSink = {
        executed: (i) => {
          const e = i >= 0 ? s.events[i] : undefined;
          if (e && 'cpu' in e && !NOT_INSTRUCTIONS.has(e.k)) last[e.cpu] = e.k;
          sink.executed(i);
        },
        readValue: (c, r, v) => sink.readValue(c, r, v), evaluate: (c) => sink.evaluate(c),
        vmexit: (c, r) => sink.vmexit(c, r), step: (c, n) => sink.step(c, n), crash: (c, w, m) => sink.crash(c, w, m),
        l1Exit: (c, r, v, x) => sink.l1Exit(c, r, v, x), l2Deliver: (c, v) => sink.l2Deliver(c, v), arbitrated: (c) => sink.arbitrated?.(c),
        deliver: (cpu, v, nmi, via) => { seen[cpu]!.push(nmi ? 2 : v); after[cpu]!.push(draining ? 'drain' : last[cpu]!); sink.deliver(cpu, v, nmi, via); },
      };
      return baremetal.create(variant, machine, wrapped);
    },
  };
  const session = new Session(recording, 'sdm', s.machine);
  s.events.forEach((e, i) => session.apply(e, i));
  draining = true;
  return { seen, after, sig: session.finish().primary?.signature };
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
      if (c.after) expect(r.after).toEqual(c.after);
    });
  }
});
