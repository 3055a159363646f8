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
import { share } from '../../src/fuzz/state.js';
import { DEFAULT_GEN } from '../../src/gen/generator.js';
import { expectReproducers, serialRule } from './serial-rule.js';

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
    const { expected, counts, seeds } = serialRule([backend], filters, seed, workers, iterations, maxEvents);
    expect(expected.size).toBeGreaterThan(3);

    const out = join(d, 'out');
    const summary = await runCampaign({
      filters, modules: [mod], seed, seconds: Infinity, jobs: workers, out, maxEvents, reportEveryMs: 1e9, iterations, engine: 'random', targetKeys: filters,
    }, () => {});
    expect(summary.steals).toBeGreaterThan(0);
    expect(summary.newFindings.map((f) => f.signature).sort()).toEqual([...expected.keys()].sort());
    expectReproducers(out, expected);
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
