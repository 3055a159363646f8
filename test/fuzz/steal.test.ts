// Work stealing (random engine, iteration budget): a worker whose share is done runs the back
// half of a slower worker's range. Iteration i of job j keeps its seed "<seed>:<j>:<i>"
// whichever thread runs it, so the campaign must write exactly what the static split gives:
// per cause the reproducer of the serial rule (occurrences in (iteration, job) order, the
// first three tried in turn), the same counts, and per job the first two iterations that hit
// each cause. Worker 0 is made slow (a model that spins in job 0's thread), so worker 1
// certainly steals from it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/api.js';
import type * as CampaignModule from '../../src/fuzz/campaign.js';
import { isolate, ISOLATE_TRIES, type Candidate } from '../../src/fuzz/isolate.js';
import { guardTargets, runJob } from '../../src/fuzz/job.js';
import { share } from '../../src/fuzz/state.js';
import { resolveTargets } from '../../src/fuzz/targets.js';
import { DEFAULT_GEN } from '../../src/gen/generator.js';
import { crashPath, scenarioText } from '../../src/store/files.js';

const { runCampaign } = await import(resolve('dist/fuzz/campaign.js')) as typeof CampaignModule;

describe('work stealing', () => {
  it('writes what the static split writes: reproducers, counts, seeds and resume point', async () => {
    const d = mkdtempSync(join(tmpdir(), 'irqdiff-steal-'));
    const mod = join(d, 'slow.mjs');
    // Job 0's thread spins 1 ms per instance: its share takes seconds, job 1's a fraction.
    writeFileSync(mod, `import { workerData } from 'node:worker_threads';
import { kvm } from ${JSON.stringify(resolve('dist/backends/kvm/index.js'))};
const slow = workerData?.params?.job === 0;
export default { ...kvm, name: 'slowkvm', create(variant, machine, sink) {
  if (slow) { const t = Date.now() + 1; while (Date.now() < t); }
  return kvm.create(variant, machine, sink);
} };
`);
    const backend = (await import(mod) as { default: Backend }).default;
    const filters = ['slowkvm/v4.10', 'slowkvm/6of6-unordered', 'slowkvm/v4.11', 'slowkvm/v4.16', 'slowkvm/v6.12'];
    const seed = 's', workers = 2, iterations = 4000, maxEvents = DEFAULT_GEN.maxEvents;

    // The static split, serially in this thread.
    const { targets } = guardTargets(resolveTargets([backend], filters), false);
    const byKey = new Map(targets.map((t) => [`${t.backend.name}/${t.variant}`, t]));
    const candidates: Candidate[] = [];
    const counts: Record<string, number> = {};
    const seeds: Record<string, string[]> = {};
    for (let job = 0; job < workers; job++) {
      const st = runJob(targets, {
        seed, job, startIter: 0, endIter: share(iterations, workers, job), deadline: Infinity, maxEvents, known: new Set(), engine: 'random',
        onCandidate: (c) => candidates.push(c),
      }, () => {}, () => {}, () => 0);
      for (const [sig, h] of Object.entries(st.hits)) { counts[sig] = (counts[sig] ?? 0) + h.count; (seeds[sig] ??= []).push(...h.seeds.slice(0, 2)); }
    }
    candidates.sort((a, b) => a.iter - b.iter || a.job - b.job);
    const expected = new Map<string, string>();
    for (const sig of new Set(candidates.map((c) => c.signature))) {
      for (const c of candidates.filter((x) => x.signature === sig).slice(0, ISOLATE_TRIES)) {
        const s = isolate(c, byKey.get(c.target)!, true);
        if (s) { expected.set(sig, scenarioText(s)); break; }
      }
    }
    expect(expected.size).toBeGreaterThan(3);

    const out = join(d, 'out');
    const summary = await runCampaign({
      filters, modules: [mod], seed, seconds: Infinity, jobs: workers, out, maxEvents, reportEveryMs: 1e9, iterations, engine: 'random', targetKeys: filters,
    }, () => {});
    expect(summary.steals).toBeGreaterThan(0);
    expect(summary.newFindings.map((f) => f.signature).sort()).toEqual([...expected.keys()].sort());
    for (const [sig, text] of expected) {
      const [target, cause] = sig.split(':', 2) as [string, string];
      const [b, variant] = target.split('/') as [string, string];
      expect(readFileSync(crashPath(out, b, variant, cause, sig), 'utf8'), sig).toBe(text);
    }
    const state = JSON.parse(readFileSync(join(out, 'campaign.json'), 'utf8')) as { iters: number[]; execs: number; buckets: Record<string, { count: number; seeds: string[] }> };
    expect(state.iters).toEqual([share(iterations, workers, 0), share(iterations, workers, 1)]);
    expect(state.execs).toBe(iterations);
    expect(Object.keys(state.buckets).sort()).toEqual(Object.keys(counts).sort());
    for (const [sig, b] of Object.entries(state.buckets)) {
      expect(b.count, sig).toBe(counts[sig]);
      expect(b.seeds, sig).toEqual(seeds[sig]);
    }
  }, 240_000);
});
