// The guided engine's feedback and its determinism: guide features (per-vCPU transitions,
// counted per run) are listed once per run with the event that first reached them; a corpus
// grown from them is the same for the same seed.
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { Coverage, Guide, RunTracker } from '../../src/coverage/coverage.js';
import { Session } from '../../src/engine/session.js';
import { guardTargets, runJob, type JobHandle } from '../../src/fuzz/job.js';
import { resolveTargets } from '../../src/fuzz/targets.js';
import { generateAndRun } from '../../src/gen/generator.js';
import type { Scenario } from '../../src/scenario/types.js';

const kvm = BACKENDS.find((x) => x.name === 'kvm')!;

function track(s: Scenario, cov: Coverage, guide: Guide): RunTracker {
  const { targets, steps } = guardTargets([{ backend: kvm, variant: 'v4.10' }]);
  steps.route('kvm/v4.10', cov);
  const session = new Session(targets[0]!.backend, 'v4.10', s.machine);
  const t = new RunTracker(cov, session.instance, guide, session.oracle.ref);
  t.begin();
  s.events.forEach((e, i) => { session.apply(e, i); t.after(e); });
  session.finish();
  return t;
}

describe('guided feedback', () => {
  it('lists each guide feature once per run, with the event that first hit it; a repeat brings nothing new', () => {
    const { scenario } = generateAndRun('guide:3', kvm, 'v4.10');
    const guide = new Guide();
    const t = track(scenario, new Coverage(), guide);
    expect(t.feats.length).toBeGreaterThan(0);
    expect(new Set(t.feats).size).toBe(t.feats.length);
    expect(t.newFeats).toBe(t.feats.length);
    for (const at of t.featAt) expect(at).toBeLessThan(scenario.events.length);
    expect([...t.featAt].sort((a, b) => a - b)).toEqual(t.featAt);
    t.commit();
    expect(guide.covered.length).toBe(t.feats.length);
    const again = track(scenario, new Coverage(), guide);
    expect(again.newFeats).toBe(0);
    expect(again.feats).toEqual(t.feats);
  });

  it('grows the same corpus and finds the same causes for the same seed (deterministic)', () => {
    const run = () => {
      const { targets, steps } = guardTargets(resolveTargets(BACKENDS, ['kvm/v4.10', 'xen/first']));
      let h: JobHandle | undefined;
      const stats = runJob(targets, { seed: 'gd', job: 0, startIter: 0, deadline: Infinity, endIter: 400, maxEvents: 40, known: new Set(), engine: 'guided', onCandidate: () => {} },
        () => {}, (_s, handle) => { h = handle; }, () => 0, steps);
      return { corpus: JSON.stringify(h!.corpus()), hits: JSON.stringify(stats.hits), mutants: stats.mutants };
    };
    const a = run();
    expect(a.mutants).toBeGreaterThan(100);
    expect(run()).toEqual(a);
  });
});
