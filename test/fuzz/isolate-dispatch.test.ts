// The campaign hands each new root cause's minimization to a worker instead of running it on
// the parent thread. What it writes must not depend on who minimized or when: every reproducer
// equals the one the serial rule gives — the cause's occurrences in (iteration, worker) order,
// the first three tried one after the other, the first that isolates kept — computed here in
// one thread from the same jobs.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import type * as CampaignModule from '../../src/fuzz/campaign.js';
import { guardTargets } from '../../src/fuzz/job.js';
import { resolveTargets } from '../../src/fuzz/targets.js';
import { DEFAULT_GEN } from '../../src/gen/generator.js';
import { runScenario } from '../../src/engine/session.js';
import { parseScenario } from '../../src/scenario/schema.js';
import { expectReproducers, serialRule } from './serial-rule.js';

// The campaign's workers run the compiled engine (dist/fuzz/worker.js).
const { runCampaign } = await import(resolve('dist/fuzz/campaign.js')) as typeof CampaignModule;

describe('isolation on the workers', () => {
  it('writes, for every new cause, the reproducer the serial rule gives, and the parent runs no minimization', async () => {
    const filters = ['kvm/v4.10', 'xen/first', 'acrn/pre-4937-adv'];
    const seed = '7', workers = 2, iterations = 600, maxEvents = DEFAULT_GEN.maxEvents;

    // The serial rule, in this thread: every job's candidates, then per cause the first
    // ISOLATE_TRIES occurrences in (iteration, worker) order, tried in turn.
    const { expected } = serialRule(BACKENDS, filters, seed, workers, iterations, maxEvents);
    expect(expected.size).toBeGreaterThan(5);

    const out = mkdtempSync(join(tmpdir(), 'irqdiff-iso-'));
    const summary = await runCampaign({
      filters, modules: [], seed, seconds: Infinity, jobs: workers, out, maxEvents, reportEveryMs: 1e9, iterations, engine: 'random',
      targetKeys: filters,
    }, () => {});
    expect(summary.newFindings.map((f) => f.signature).sort()).toEqual([...expected.keys()].sort());
    expectReproducers(out, expected);
    // Every try ran on a worker (each reported the CPU its tries took).
    expect(summary.isolations).toBeGreaterThanOrEqual(expected.size);
    expect(summary.isolationCpuMs.some((x) => x !== undefined)).toBe(true);
    expect(summary.workerTailMs.every((x) => x !== undefined)).toBe(true);
  }, 240_000);

  it('loses no cause when the worker dies while minimizing it: the parent takes the try over', async () => {
    // A model that throws on the third HLT (a crash finding), in a module that ends its worker
    // thread the first time a minimization runs it there.
    const d = mkdtempSync(join(tmpdir(), 'irqdiff-iso-'));
    const mod = join(d, 'dies.mjs');
    writeFileSync(mod, `import { isMainThread } from 'node:worker_threads';
import { baremetal } from ${JSON.stringify(resolve('dist/backends/baremetal/index.js'))};
function explode_on_third_hlt(state) { if (++state.hlts === 3) throw new TypeError('model bug'); }
export default { ...baremetal, name: 'thrower', create(variant, machine, sink) {
  if (!isMainThread && (new Error().stack ?? '').includes(' at isolate (')) process.exit(3);
  const inner = baremetal.create(variant, machine, sink);
  const state = { hlts: 0 };
  return Object.assign(Object.create(inner), { apply(ev, i) { if (ev.k === 'hlt') explode_on_third_hlt(state); inner.apply(ev, i); } });
} };
`);
    const warnings: string[] = [];
    const summary = await runCampaign({
      filters: ['thrower'], modules: [mod], seed: '1', seconds: Infinity, jobs: 1, out: join(d, 'out'), maxEvents: DEFAULT_GEN.maxEvents,
      reportEveryMs: 1e9, iterations: 150, engine: 'random',
    }, (e) => { if (e.kind === 'warning') warnings.push(e.text); });
    expect(summary.newFindings.length).toBeGreaterThan(0);
    for (const f of summary.newFindings) {
      const s = parseScenario(readFileSync(f.path, 'utf8'), f.path);
      const t = resolveTargets([(await import(mod) as { default: (typeof BACKENDS)[number] }).default], ['thrower'])[0]!;
      const { targets: [g] } = guardTargets([t], false);
      expect(runScenario(s, g!.backend, g!.variant).primary?.signature).toBe(f.signature);
    }
    expect(summary.isolationCpuMs[0]).toBeUndefined(); // the worker never answered
    expect(warnings.join('\n')).toMatch(/worker 0 ended \(exit code 3\)/);
    expect(summary.isolations).toBeGreaterThan(0);
  }, 240_000);
});
