// Mutants are valid scenarios for their machine (the loader accepts them, so a campaign can
// write and replay them), the parent is never modified, and the guided job's coverage grows
// and feeds its corpus.
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { Coverage, RunTracker } from '../../src/coverage/coverage.js';
import { guardTargets, runJob, CORPUS_MAX } from '../../src/fuzz/job.js';
import { resolveTargets } from '../../src/fuzz/targets.js';
import { generateAndRun, makeRng } from '../../src/gen/generator.js';
import { mutate } from '../../src/gen/mutate.js';
import { parseScenario } from '../../src/scenario/schema.js';
import { Session } from '../../src/engine/session.js';

describe('structure-aware mutation', () => {
  it('keeps every mutant loadable on its machine and never touches the parent', () => {
    const kvm = BACKENDS.find((b) => b.name === 'kvm')!;
    const xen = BACKENDS.find((b) => b.name === 'xen')!;
    for (let i = 0; i < 200; i++) {
      const b = i % 2 ? kvm : xen;
      const { scenario } = generateAndRun(`m:${i}`, b, b.variants[0]!.name);
      const before = JSON.stringify(scenario);
      const child = mutate(makeRng(`r:${i}`), scenario, { maxEvents: 80, other: { ...scenario, events: scenario.events.slice().reverse() } });
      expect(JSON.stringify(scenario)).toBe(before);
      expect(child.events.length).toBeGreaterThan(0);
      expect(child.events.length).toBeLessThanOrEqual(80);
      expect(() => parseScenario(JSON.stringify(child)), JSON.stringify(child)).not.toThrow();
    }
  });

  it('records state transitions per event, and a repeated run adds nothing new', () => {
    const b = BACKENDS.find((x) => x.name === 'kvm')!;
    const { scenario } = generateAndRun('cov:1', b, 'v4.16');
    const cov = new Coverage();
    const run = () => {
      const s = new Session(b, 'v4.16', scenario.machine);
      const t = new RunTracker(cov, s.instance);
      t.begin();
      scenario.events.forEach((e, i) => { s.apply(e, i); t.after(e); });
      return t.gained;
    };
    expect(run()).toBeGreaterThan(0);
    expect(run()).toBe(0);
    expect(cov.edgeCount).toBeGreaterThan(0);
  });

  it('guided jobs grow a bounded corpus from new coverage and report steps per variant', () => {
    const { targets, steps } = guardTargets(resolveTargets(BACKENDS, ['kvm/v4.16']));
    let corpusSize = 0;
    const stats = runJob(targets, { seed: 'g', job: 0, startIter: 0, deadline: Infinity, endIter: 600, maxEvents: 40, known: new Set(), engine: 'guided' },
      () => {}, (_s, h) => { corpusSize = h.corpus()['kvm/v4.16']!.length; }, () => 0, steps);
    const c = stats.coverage['kvm/v4.16']!;
    expect(stats.mutants).toBeGreaterThan(200);
    expect(corpusSize).toBeGreaterThan(5);
    expect(corpusSize).toBeLessThanOrEqual(CORPUS_MAX);
    expect(c.edges).toBeGreaterThan(20);
    expect(Object.keys(c.steps)).toContain('kvm_vcpu_running');
    expect(Object.keys(c.steps).length).toBeGreaterThan(10);
  });
});

describe('bytes → scenario (jsfuzz baseline)', () => {
  it('decodes any byte string to a loadable scenario on every backend', async () => {
    const { scenarioFromBytes } = await import('../../src/gen/bytes.js');
    const rng = makeRng('bytes');
    for (const b of BACKENDS) {
      for (let i = 0; i < 50; i++) {
        const buf = Uint8Array.from({ length: Math.floor(rng() * 90) }, () => Math.floor(rng() * 256));
        const s = scenarioFromBytes(b, buf);
        if (buf.length < 3) { expect(s).toBeUndefined(); continue; }
        expect(() => parseScenario(JSON.stringify(s)), b.name).not.toThrow();
        expect(b.supports(s!.machine)).toBeNull();
      }
    }
  });
});
