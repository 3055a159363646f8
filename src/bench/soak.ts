// Soak: run the variants documented as clean (or the named ones) for a time budget on all
// cores and count divergences, separating documented known deviations from unexpected ones.
//   node dist/bench/soak.js [--time 10m] [--jobs N] [--seed S] [--engine random|guided] [--backend NAME[/VARIANT]]...
// The engine defaults to guided, runCampaign's default that the soaks recorded in docs/ ran, the stronger search for
// proving a variant clean; `--engine random` soaks what `irqdiff fuzz` runs by default. Either way it is printed.
// SIGINT/SIGTERM stop it early with the tallies of what ran (runCampaign's handleSignals).
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS } from '../backends/registry.js';
import { classify } from '../fuzz/classify.js';
import { parseDuration, runCampaign } from '../fuzz/campaign.js';
import type { Engine } from '../fuzz/job.js';
import { resolveTargets } from '../fuzz/targets.js';
import { benchArgs } from './args.js';

const usage = 'node dist/bench/soak.js [--time 10m] [--jobs N] [--seed S] [--engine random|guided] [--backend NAME[/VARIANT]]...';
const { values } = benchArgs(usage, { time: { type: 'string' }, jobs: { type: 'string' }, seed: { type: 'string' }, engine: { type: 'string' }, backend: { type: 'string', multiple: true } });
const engineArg = (values.engine as string | undefined) ?? 'guided';
if (engineArg !== 'random' && engineArg !== 'guided') {
  console.error(`soak: --engine must be random or guided, not ${JSON.stringify(engineArg.slice(0, 40))}`);
  process.exit(2);
}
const engine: Engine = engineArg;
const filters = (values.backend as string[] | undefined) ?? resolveTargets(BACKENDS, [])
  .filter((t) => t.backend.variants.find((v) => v.name === t.variant)!.status === 'clean')
  .map((t) => `${t.backend.name}/${t.variant}`);
const out = mkdtempSync(join(tmpdir(), 'irqdiff-soak-'));
const seconds = parseDuration((values.time as string | undefined) ?? '60s');
const jobs = Number(values.jobs ?? cpus().length);
const seed = (values.seed as string | undefined) ?? 'soak';
console.log(`soak: ${filters.join(', ')} for ${seconds}s on ${jobs} jobs, seed ${seed}, ${engine} engine; reproducers in ${out}`);
const s = await runCampaign({ filters, modules: [], seed, seconds, jobs, out, engine, maxEvents: 40, reportEveryMs: 30000, handleSignals: true }, (e) => { if (e.kind === 'progress') console.log(e.text); });
let unexpected = 0;
let known = 0;
for (const [sig, n] of Object.entries(s.bySignature)) {
  const isKnown = classify(BACKENDS, sig) !== 'unexpected';
  if (isKnown) known += n; else unexpected += n;
  console.log(`  ${isKnown ? 'known     ' : 'UNEXPECTED'} ${String(n).padStart(8)}  ${sig}`);
}
for (const [k, [sc, ev, dv]] of Object.entries(s.perTarget)) console.log(`  ${k.padEnd(28)} ${sc} interleavings, ${ev} events, ${dv} divergent`);
if (s.stopped) console.log(`stopped by ${s.stopped}`);
console.log(`soak total: ${s.scenarios} interleavings, ${s.events} events in ${(s.elapsedMs / 1000).toFixed(0)}s; divergences: ${unexpected} unexpected, ${known} known deviations (${engine} engine)`);
process.exitCode = unexpected > 0 ? 1 : 0;
