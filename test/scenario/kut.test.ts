// kvm-unit-tests delivery tests as scenarios (test/fixtures/kut-scenarios.ts → corpus/kut/):
// each corpus file is exactly the fixture, validates, runs clean on baremetal/sdm, and makes
// the deliveries its KUT assertions require (and, where the test asserts where an interrupt is
// taken, after which instruction). On every hypervisor variant that runs it, a file is either
// clean with those same deliveries (the KUT test would pass there) or shows the divergence the
// fixture names for that variant, a cause the variant documents. KUT_WRITE=1 rewrites the
// corpus files.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Backend, ObsSink } from '../../src/backends/api.js';
import { baremetal } from '../../src/backends/baremetal/index.js';
import { supportsScenario } from '../../src/backends/features.js';
import { BACKENDS } from '../../src/backends/registry.js';
import { Session } from '../../src/engine/session.js';
import { parseScenario } from '../../src/scenario/schema.js';
import type { Expectation, MachineConfig, Scenario } from '../../src/scenario/types.js';
import { scenarioText } from '../../src/store/files.js';
import { KUT_CASES } from '../fixtures/kut-scenarios.js';

function scenarioOf(c: typeof KUT_CASES[number]): Scenario {
  const expect: Record<string, Expectation> = { 'baremetal/sdm': 'clean' };
  for (const [v, cause] of Object.entries(c.diverges ?? {})) expect[v] = { signature: `${v}:${cause}` };
  return {
    irqdiff: 1, name: c.file.replace(/\.json$/, ''), description: c.description,
    source: `kvm-unit-tests 1da1819e49fc ${c.kut}`, machine: c.machine, events: c.events, expect,
  };
}

/** Events that are not guest instructions: they move no vCPU's instruction pointer. */
const NOT_INSTRUCTIONS = new Set(['msi', 'ioapic', 'lint', 'time', 'pirq', 'exit', 'enter', 'enter_step', 'fault', 'vmentry', 'l2']);

interface Run { seen: number[][]; after: string[][]; sig: string | undefined }

/**
 * Run on a backend variant and record each vCPU's deliveries (scenario and drain), and for each
 * the last guest instruction that vCPU executed before it (KUT's regs->rip: where the interrupt
 * was taken), or 'drain'.
 */
function deliveries(backend: Backend, variant: string, s: Scenario): Run {
  const seen: number[][] = Array.from({ length: s.machine.vcpus }, () => []);
  const after: string[][] = Array.from({ length: s.machine.vcpus }, () => []);
  const last: string[] = Array.from({ length: s.machine.vcpus }, () => '-');
  let draining = false;
  const recording: Backend = {
    ...backend,
    create(v: string, machine: MachineConfig, sink: ObsSink) {
      const wrapped = new Proxy(sink, {
        get(target, key, receiver) {
          if (key === 'executed') {
            return (i: number) => {
              const e = i >= 0 ? s.events[i] : undefined;
              if (e && 'cpu' in e && !NOT_INSTRUCTIONS.has(e.k)) last[e.cpu] = e.k;
              target.executed(i);
            };
          }
          if (key === 'deliver') {
            return (cpu: number, vector: number, nmi: boolean, via?: string) => {
              seen[cpu]!.push(nmi ? 2 : vector);
              after[cpu]!.push(draining ? 'drain' : last[cpu]!);
              target.deliver(cpu, vector, nmi, via);
            };
          }
          const f: unknown = Reflect.get(target, key, receiver);
          return typeof f === 'function' ? f.bind(target) : f;
        },
      });
      return backend.create(v, machine, wrapped);
    },
  };
  const session = new Session(recording, variant, s.machine);
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
      const r = deliveries(baremetal, 'sdm', s);
      expect(r.sig).toBeUndefined();
      expect(r.seen).toEqual(c.deliveries);
      if (c.after) expect(r.after).toEqual(c.after);
    });
  }
});

describe('kvm-unit-tests delivery tests on the hypervisor backends', () => {
  for (const c of KUT_CASES) {
    it(`${c.kut}: clean with the deliveries the test requires, or the documented divergence named`, () => {
      const s = scenarioOf(c);
      const outcomes: string[] = [];
      const expected: string[] = [];
      for (const b of BACKENDS) {
        if (b.name === 'baremetal' || b.supports(c.machine) !== null || supportsScenario(b, s) !== null) continue;
        for (const v of b.variants) {
          // A variant may refuse a machine its backend supports (ACRN's 2018 trees offer no x2APIC).
          if (supportsScenario(b, s, v.name) !== null) continue;
          const name = `${b.name}/${v.name}`;
          const r = deliveries(b, v.name, s);
          const cause = c.diverges?.[name];
          if (cause) {
            const documented = [...v.expectedBugs, ...(v.knownDeviations ?? [])].map((d) => d.cause);
            expect(documented, `${name} documents ${cause}`).toContain(cause);
          }
          // A clean run must make the KUT test pass: the same deliveries as bare metal, at the same places.
          const ok = JSON.stringify(r.seen) === JSON.stringify(c.deliveries) && (!c.after || JSON.stringify(r.after) === JSON.stringify(c.after));
          outcomes.push(`${name} ${r.sig ?? (ok ? 'clean' : `clean but deliveries ${JSON.stringify(r.seen)} after ${JSON.stringify(r.after)}`)}`);
          expected.push(`${name} ${cause ? `${name}:${cause}` : 'clean'}`);
        }
      }
      expect(outcomes).toEqual(expected);
    });
  }
});
