// Soak: run the variants documented as clean (or the named ones) for a time budget on all
// cores and count divergences, separating documented known deviations from unexpected ones.
//   node dist/bench/soak.js [--time 10m] [--jobs N] [--seed S] [--backend NAME[/VARIANT]]...
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS } from '../backends/registry.js';
import { classify } from '../fuzz/classify.js';
import { parseDuration, runCampaign } from '../fuzz/campaign.js';
import { resolveTargets } from '../fuzz/targets.js';
import { benchArgs } from './args.js';

const { values } = benchArgs('node dist/bench/soak.js [--time 10m] [--jobs N] [--seed S] [--backend NAME[/VARIANT]]...', { time: { type: 'string' }, jobs: { type: 'string' }, seed: { type: 'string' }, backend: { type: 'string', multiple: true } });
const filters = (values.backend as string[] | undefined) ?? resolveTargets(BACKENDS, [])
  .filter((t) => t.backend.variants.find((v) => v.name === t.variant)!.status === 'clean')
  .map((t) => `${t.backend.name}/${t.variant}`);
const out = mkdtempSync(join(tmpdir(), 'irqdiff-soak-'));
const seconds = parseDuration((values.time as string | undefined) ?? '60s');
const jobs = Number(values.jobs ?? cpus().length);
const seed = (values.seed as string | undefined) ?? 'soak';
console.log(`soak: ${filters.join(', ')} for ${seconds}s on ${jobs} jobs, seed ${seed}`);
const s = await runCampaign({ filters, modules: [], seed, seconds, jobs, out, maxEvents: 40, reportEveryMs: 30000 }, (e) => { if (e.kind === 'progress') console.log(e.text); });
let unexpected = 0;
let known = 0;
for (const [sig, n] of Object.entries(s.bySignature)) {
  const isKnown = classify(BACKENDS, sig) !== 'unexpected';
  if (isKnown) known += n; else unexpected += n;
  console.log(`  ${isKnown ? 'known     ' : 'UNEXPECTED'} ${String(n).padStart(8)}  ${sig}`);
}
for (const [k, [sc, ev, dv]] of Object.entries(s.perTarget)) console.log(`  ${k.padEnd(28)} ${sc} interleavings, ${ev} events, ${dv} divergent`);
console.log(`soak total: ${s.scenarios} interleavings, ${s.events} events in ${(s.elapsedMs / 1000).toFixed(0)}s; divergences: ${unexpected} unexpected, ${known} known deviations`);
process.exitCode = unexpected > 0 ? 1 : 0;
