// Executions and time to first detection of every documented bug, per engine, from
// scratch, N seeds each, one process (same machine, one core): irqdiff guided (the
// campaign's default engine: coverage-fed corpus + structure-aware mutations) and irqdiff
// random (the generator alone, as before). Each search is capped; a miss counts as the cap
// (so medians are lower bounds when a search misses). Prints a table with medians and the
// ratio of each engine's median executions to guided's; fastcheck: fc.commands model-based property (fastcheck.ts).
//   node dist/bench/find.js [--seeds 10] [--cap 20000] [--backend NAME/VARIANT]... [--engines guided,random,fastcheck,jsfuzz] [--jsfuzz-seconds 60] [--fc-size max]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { BACKENDS } from '../backends/registry.js';
import { guardTargets, runJob, type Engine } from '../fuzz/job.js';
import { resolveTargets, type Target } from '../fuzz/targets.js';
import { fastcheckSearch } from './fastcheck.js';
import { benchArgs } from './args.js';

const { values } = benchArgs('node dist/bench/find.js [--seeds 10] [--cap 20000] [--backend NAME/VARIANT]... [--engines guided,random,fastcheck,jsfuzz] [--jsfuzz-seconds 60] [--fc-size max]', { 'jsfuzz-seconds': { type: 'string' }, seeds: { type: 'string' }, cap: { type: 'string' }, backend: { type: 'string', multiple: true }, engines: { type: 'string' }, 'fc-size': { type: 'string' } });
const fcSize = ((values['fc-size'] as string | undefined) ?? 'max') as 'xsmall' | 'small' | 'medium' | 'large' | 'xlarge' | 'max';
if (!['xsmall', 'small', 'medium', 'large', 'xlarge', 'max'].includes(fcSize)) { console.error(`--fc-size: expected xsmall, small, medium, large, xlarge or max, got ${JSON.stringify(values['fc-size'])}`); process.exit(2); }
const seeds = Number(values.seeds ?? 10);
const cap = Number(values.cap ?? 20_000);
const engines = ((values.engines as string | undefined) ?? 'guided,random,fastcheck').split(',') as (Engine | 'fastcheck' | 'jsfuzz')[];
const jsfuzzSeconds = Number(values['jsfuzz-seconds'] ?? 60);
const targets = resolveTargets(BACKENDS, (values.backend as string[] | undefined) ?? [])
  .filter((t) => t.backend.variants.find((v) => v.name === t.variant)!.expectedBugs.length > 0);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2; };

interface Search { execs: number; ms: number; found: boolean }

/** One search: the campaign's own job loop on one target, stopped at the first run showing `cause`. */
/**
 * jsfuzz (harness/jsfuzz, built by `npm run jsfuzz:build`) in its own process with a fresh
 * corpus; it has no seed and no run budget, so each "seed" is an independent run under a wall
 * limit (--jsfuzz-seconds), and a miss counts as the cap.
 */
function jsfuzz(t: Target, cause: string): Search {
  const dir = mkdtempSync(join(tmpdir(), 'irqdiff-jsfuzz-'));
  const target = relative(dir, resolve('harness/jsfuzz/target.cjs'));
  const t0 = performance.now();
  const r = spawnSync(resolve('node_modules/.bin/jsfuzz'), [target, join(dir, 'corpus')], {
    cwd: dir, encoding: 'utf8', timeout: jsfuzzSeconds * 1000, killSignal: 'SIGKILL',
    env: { ...process.env, IRQDIFF_TARGET: `${t.backend.name}/${t.variant}`, IRQDIFF_CAUSE: cause },
  });
  const ms = performance.now() - t0;
  rmSync(dir, { recursive: true, force: true });
  const m = /after (\d+) runs/.exec(`${r.stdout}${r.stderr}`);
  return m ? { execs: Number(m[1]), ms, found: true } : { execs: cap, ms, found: false };
}

function search(t: Target, engine: Engine | 'fastcheck' | 'jsfuzz', seed: number, cause: string): Search {
  if (engine === 'jsfuzz') return jsfuzz(t, cause);
  if (engine === 'fastcheck') {
    const t0 = performance.now();
    const n = fastcheckSearch(t.backend, t.variant, seed, cause, cap, fcSize);
    return { execs: n, ms: performance.now() - t0, found: n < cap };
  }
  const { targets, steps } = guardTargets([t]);
  const stop = new Int32Array(1);
  let at = -1;
  const t0 = performance.now();
  // Every signature counts as known: a benchmark measures detection, not minimization.
  const known = new Set<string>();
  for (const v of t.backend.variants) for (const b of [...v.expectedBugs, ...(v.knownDeviations ?? [])]) known.add(`${t.backend.name}/${v.name}:${b.cause}`);
  runJob(targets, {
    seed: `find:${seed}`, job: 0, startIter: 0, deadline: Infinity, endIter: cap, maxEvents: 40, known, engine, stop,
    onHit: (sig, iter) => { if (at < 0 && sig.endsWith(`:${cause}`)) { at = iter; stop[0] = 1; } },
  }, () => {}, () => {}, () => 0, steps);
  // Unknown causes found meanwhile are minimized (known only covers declared ones); that time counts.
  return { execs: at < 0 ? cap : at + 1, ms: performance.now() - t0, found: at >= 0 };
}

const rows: string[] = [];
const header = `${'bug'.padEnd(62)} ${engines.map((e) => `${e}: execs (ms) found`.padEnd(34)).join(' ')} ratio`;
console.log(`# time to first detection, ${seeds} seeds, cap ${cap} executions per search; medians`);
console.log(header);
for (const t of targets) {
  const info = t.backend.variants.find((v) => v.name === t.variant)!;
  for (const bug of info.expectedBugs) {
    const per: { execs: number; ms: number; found: number }[] = [];
    for (const e of engines) {
      const rs: Search[] = [];
      for (let s = 1; s <= seeds; s++) rs.push(search(t, e, s, bug.cause));
      per.push({ execs: median(rs.map((r) => r.execs)), ms: median(rs.map((r) => r.ms)), found: rs.filter((r) => r.found).length });
    }
    const g = per[0]!.execs;
    const cells = per.map((p) => `${String(p.execs).padStart(7)} (${p.ms.toFixed(0).padStart(6)} ms) ${String(p.found).padStart(2)}/${seeds}`.padEnd(34));
    const ratio = per.slice(1).map((p) => (p.execs / g).toFixed(2)).join(' ');
    const line = `${`${t.backend.name}/${t.variant} ${bug.cause}`.slice(0, 62).padEnd(62)} ${cells.join(' ')} ${ratio}`;
    rows.push(line);
    console.log(line);
  }
}
