// Campaign throughput: events/s on one core for the whole campaign loop (generation or
// mutation + model + oracle + coverage + bookkeeping, minimization of causes the variant does
// not declare included) versus replaying the same number of pre-generated interleavings; and
// the speedup of a campaign from 1 to 2 workers (same iteration budget, wall time).
//   node dist/bench/campaign-throughput.js [--iterations 3000] [--backend NAME/VARIANT]...
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKENDS } from '../backends/registry.js';
import { runScenario } from '../engine/session.js';
import { runCampaign } from '../fuzz/campaign.js';
import { guardTargets, runJob, type Engine } from '../fuzz/job.js';
import { resolveTargets } from '../fuzz/targets.js';
import { generateAndRun } from '../gen/generator.js';

const { values } = parseArgs({ options: { iterations: { type: 'string' }, backend: { type: 'string', multiple: true } } });
const iterations = Number(values.iterations ?? 3000);
const filters = (values.backend as string[] | undefined) ?? ['kvm/v4.16', 'bhyve/fixed', 'xen/4.22', 'acrn/v3.3-adv'];
const targets = resolveTargets(BACKENDS, filters);
const keys = targets.map((t) => `${t.backend.name}/${t.variant}`);

function declared(): Set<string> {
  const s = new Set<string>();
  for (const t of targets) for (const v of t.backend.variants) for (const b of [...v.expectedBugs, ...(v.knownDeviations ?? [])]) s.add(`${t.backend.name}/${v.name}:${b.cause}`);
  return s;
}

// Replay: pre-generated interleavings, timed replay only.
const scenarios = [];
for (let i = 0; i < iterations; i++) { const t = targets[i % targets.length]!; scenarios.push({ t, s: generateAndRun(`tp:${i}`, t.backend, t.variant).scenario }); }
for (const { t, s } of scenarios.slice(0, 300)) runScenario(s, t.backend, t.variant);
let ev = 0;
let t0 = performance.now();
for (const { t, s } of scenarios) ev += runScenario(s, t.backend, t.variant).eventsRun;
const replay = ev / ((performance.now() - t0) / 1000);
console.log(`targets ${keys.join(' ')}; ${iterations} interleavings`);
console.log(`replay of pre-generated interleavings: ${Math.round(replay)} events/s`);

for (const engine of ['random', 'guided'] as Engine[]) {
  const { targets: g, steps } = guardTargets(targets);
  runJob(g, { seed: 'warm', job: 0, startIter: 0, deadline: Infinity, endIter: 300, maxEvents: 40, known: declared(), engine }, () => {}, () => {}, () => 0, steps);
  t0 = performance.now();
  const st = runJob(g, { seed: 'tp', job: 0, startIter: 0, deadline: Infinity, endIter: iterations, maxEvents: 40, known: declared(), engine }, () => {}, () => {}, () => Date.now(), steps);
  const rate = st.events / ((performance.now() - t0) / 1000);
  console.log(`campaign loop, ${engine}: ${Math.round(rate)} events/s (engine cost ${(replay / rate).toFixed(2)}x replay)`);
}

// Workers: the same total budget on 1 then 2 workers (includes thread start-up).
const wall: number[] = [];
for (const jobs of [1, 2]) {
  const out = mkdtempSync(join(tmpdir(), 'irqdiff-tp-'));
  t0 = performance.now();
  const s = await runCampaign({ filters, modules: [], seed: 'tp', seconds: Infinity, jobs, out, maxEvents: 40, reportEveryMs: 1e9, iterations: iterations * 2, engine: 'guided', targetKeys: keys }, () => {});
  const secs = (performance.now() - t0) / 1000;
  wall.push(secs);
  console.log(`campaign, ${jobs} worker(s), ${iterations * 2} iterations: ${secs.toFixed(1)}s wall, ${Math.round(s.events / secs)} events/s`);
}
console.log(`speedup 1 → 2 workers: ${(wall[0]! / wall[1]!).toFixed(2)}x`);
