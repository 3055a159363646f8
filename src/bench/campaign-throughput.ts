// Campaign throughput: events/s on one core for the whole campaign loop (generation or
// mutation + model + oracle + coverage + bookkeeping, minimization of causes the variant does
// not declare included) versus replaying the same number of pre-generated interleavings; and
// the scaling of a campaign from 1 to 2 workers (same iteration budget).
//   node dist/bench/campaign-throughput.js [--iterations 20000] [--runs 3] [--campaign-iterations N]
//        [--engine random|guided] [--backend NAME/VARIANT]... [--phases replay,random,guided,workers]
// (--phases may also name `generate`: generateAndRun alone, for the generator's own share.)
// Honest measurement: every phase runs in a fresh process (a process that ran replay with raw
// backends and then the loop with guarded ones makes V8's call sites megamorphic and charges
// that to the loop), after a warm-up of its own (JIT), `--runs` times; medians are printed, in
// wall time and in CPU time (the cores are shared: CPU time is the steadier figure). The
// worker part reports the campaign's wall time, the CPU time of every worker thread and the
// start-up (spawn → first iteration, and the JIT warm-up a fresh isolate pays).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKENDS } from '../backends/registry.js';
import { runScenario } from '../engine/session.js';
import { runCampaign } from '../fuzz/campaign.js';
import { guardTargets, runJob, type Engine } from '../fuzz/job.js';
import { resolveTargets } from '../fuzz/targets.js';
import { generateAndRun } from '../gen/generator.js';
import { benchArgs } from './args.js';

const { values } = benchArgs('node dist/bench/campaign-throughput.js [--iterations 20000] [--runs 3] [--campaign-iterations N] [--engine random|guided] [--backend NAME/VARIANT]... [--phases replay,random,guided,workers] [--phase P] [--workers N]', {
    iterations: { type: 'string' }, runs: { type: 'string' }, 'campaign-iterations': { type: 'string' }, engine: { type: 'string' },
    backend: { type: 'string', multiple: true }, phase: { type: 'string' }, workers: { type: 'string' }, phases: { type: 'string' },
});
const iterations = Number(values.iterations ?? 20000);
const runs = Number(values.runs ?? 3);
const campaignIterations = Number(values['campaign-iterations'] ?? iterations * 4);
const engine = (values.engine ?? 'random') as Engine;
const filters = (values.backend as string[] | undefined) ?? ['kvm/v4.16', 'bhyve/fixed', 'xen/4.22', 'acrn/v3.3-adv'];
const WARM = 10000;
// Which parts to run (default all): the loop-cost figures need only replay and random.
const phases = new Set((values.phases ?? 'replay,random,guided,workers').split(','));

const cpuSec = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; };

interface Measure { events: number; wall: number; cpu: number; warmCpu?: number; warmEvents?: number }

function declared(targets: ReturnType<typeof resolveTargets>): Set<string> {
  const s = new Set<string>();
  for (const t of targets) for (const v of t.backend.variants) for (const b of [...v.expectedBugs, ...(v.knownDeviations ?? [])]) s.add(`${t.backend.name}/${v.name}:${b.cause}`);
  return s;
}

/** One phase in this (fresh) process; prints one JSON line. */
async function phase(name: string): Promise<void> {
  const targets = resolveTargets(BACKENDS, filters);
  let m: Measure;
  if (name === 'replay') {
    const scenarios = [];
    for (let i = 0; i < iterations; i++) { const t = targets[i % targets.length]!; scenarios.push({ t, s: generateAndRun(`tp:0:${i}`, t.backend, t.variant).scenario }); }
    for (let i = 0; i < WARM; i++) { const { t, s } = scenarios[i % scenarios.length]!; runScenario(s, t.backend, t.variant); }
    let ev = 0;
    const c0 = cpuSec(), t0 = performance.now();
    for (const { t, s } of scenarios) ev += runScenario(s, t.backend, t.variant).eventsRun;
    m = { events: ev, wall: (performance.now() - t0) / 1000, cpu: cpuSec() - c0 };
  } else if (name === 'generate') {
    // generateAndRun alone on the raw backends, same seeds as the loop: the generator's own
    // cost over replay, without the job's guard and bookkeeping.
    for (let i = 0; i < WARM; i++) { const t = targets[i % targets.length]!; generateAndRun(`warm:0:${i}`, t.backend, t.variant); }
    let ev = 0;
    const c0 = cpuSec(), t0 = performance.now();
    for (let i = 0; i < iterations; i++) { const t = targets[i % targets.length]!; ev += generateAndRun(`tp:0:${i}`, t.backend, t.variant).result.eventsRun; }
    m = { events: ev, wall: (performance.now() - t0) / 1000, cpu: cpuSec() - c0 };
  } else if (name === 'workers') {
    const jobs = Number(values.workers);
    const out = mkdtempSync(join(tmpdir(), 'irqdiff-tp-'));
    const c0 = cpuSec(), t0 = performance.now();
    const s = await runCampaign({ filters, modules: [], seed: 'tp', seconds: Infinity, jobs, out, maxEvents: 40, reportEveryMs: 1e9, iterations: campaignIterations, engine, targetKeys: filters }, () => {});
    const wall = (performance.now() - t0) / 1000, cpu = cpuSec() - c0;
    rmSync(out, { recursive: true, force: true });
    const sec = (xs: (number | undefined)[]) => xs.map((x) => (x ?? NaN) / 1000);
    console.log(JSON.stringify({
      events: s.events, wall, cpu, workerCpu: sec(s.workerCpuMs), startupMs: s.workerStartupMs, isolations: s.isolations, mainCpu: (s.mainCpuMs ?? NaN) / 1000,
      causes: s.newFindings.length, steals: s.steals, isolationCpu: sec(s.isolationCpuMs), mainElu: s.mainElu ?? NaN, workerElu: s.workerElu.map((x) => x ?? NaN), tailMs: s.workerTailMs.map((x) => x ?? NaN),
    }));
    return;
  } else {
    const e = name as Engine;
    // Steps feed only guided search and --coverage: guard as a campaign worker does.
    const { targets: g, steps } = guardTargets(targets, e === 'guided');
    const job = (seed: string, n: number) => runJob(g, { seed, job: 0, startIter: 0, deadline: Infinity, endIter: n, maxEvents: 40, known: declared(targets), engine: e }, () => {}, () => {}, () => Date.now(), steps);
    const w0 = cpuSec();
    const warm = job('warm', WARM);
    const warmCpu = cpuSec() - w0;
    const c0 = cpuSec(), t0 = performance.now();
    const st = job('tp', iterations);
    m = { events: st.events, wall: (performance.now() - t0) / 1000, cpu: cpuSec() - c0, warmCpu, warmEvents: warm.events };
  }
  console.log(JSON.stringify(m));
}

function child<T>(args: string[]): T {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args, '--iterations', String(iterations), '--campaign-iterations', String(campaignIterations), '--engine', engine, ...filters.flatMap((f) => ['--backend', f])], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`phase ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2; };
const k = (x: number) => `${Math.round(x / 1000)}k`;

async function main(): Promise<void> {
  if (values.phase) { await phase(values.phase); return; }
  console.log(`targets ${filters.join(' ')}; ${iterations} interleavings per loop phase, median of ${runs} fresh processes`);
  const rate: Record<string, { wall: number; cpu: number }> = {};
  // Loop phases alternate run by run (replay, random, guided, replay, ...): the load on a shared
  // machine drifts, and each loop run is also compared with the replay run next to it.
  const loop = ['replay', 'generate', 'random', 'guided'].filter((p) => phases.has(p));
  const all: Record<string, Measure[]> = {};
  for (let r = 0; r < runs; r++) for (const p of loop) (all[p] ??= []).push(child<Measure>(['--phase', p]));
  for (const p of loop) {
    const ms = all[p]!;
    rate[p] = { wall: median(ms.map((m) => m.events / m.wall)), cpu: median(ms.map((m) => m.events / m.cpu)) };
    const label = p === 'replay' ? 'replay of pre-generated interleavings' : p === 'generate' ? 'generateAndRun alone (raw backends, no job)' : `campaign loop, ${p}`;
    const cost = p === 'replay' || !rate.replay ? '' : `  (engine cost ${(rate.replay!.wall / rate[p]!.wall).toFixed(2)}x replay wall, ${(rate.replay!.cpu / rate[p]!.cpu).toFixed(2)}x CPU)`;
    console.log(`${label}: ${k(rate[p]!.wall)} events/s wall, ${k(rate[p]!.cpu)} events/CPU-s${cost}`);
    if (p !== 'replay' && all.replay) {
      // Per run: this run's CPU per event over the replay run of the same round.
      const pair = ms.map((m, r) => (m.cpu / m.events) / (all.replay![r]!.cpu / all.replay![r]!.events));
      console.log(`  paired with the replay run of the same round: ${pair.map((x) => x.toFixed(2)).join(' ')}x CPU, median ${median(pair).toFixed(2)}x`);
    }
    if (p === 'random') {
      // JIT warm-up of a fresh isolate: the first WARM iterations cost this much more CPU than steady state.
      const extra = median(ms.map((m) => m.warmCpu! - m.warmEvents! / (m.events / m.cpu)));
      console.log(`  start-up: the first ${WARM} iterations of a fresh process cost ${extra.toFixed(2)} CPU-s more than in steady state (JIT warm-up)`);
    }
  }
  if (!phases.has('workers')) return;
  interface W {
    events: number; wall: number; cpu: number; mainCpu: number; workerCpu: number[]; startupMs: number[]; isolations: number; causes: number; steals: number;
    isolationCpu: number[]; mainElu: number; workerElu: number[]; tailMs: number[];
  }
  const res: Record<number, W[]> = {};
  for (let r = 0; r < runs; r++) for (const w of [1, 2]) (res[w] ??= []).push(child<W>(['--phase', 'workers', '--workers', String(w)]));
  for (const w of [1, 2]) {
    const xs = res[w]!;
    const wc = median(xs.map((x) => x.workerCpu.reduce((a, b) => a + b, 0)));
    console.log(`campaign (${engine}), ${w} worker(s), ${campaignIterations} iterations: ${median(xs.map((x) => x.wall)).toFixed(1)}s wall, ${median(xs.map((x) => x.cpu)).toFixed(1)} CPU-s process, ${wc.toFixed(1)} CPU-s in worker threads (${xs.map((x) => x.workerCpu.map((c) => c.toFixed(1)).join('+')).join(', ')}), ${median(xs.map((x) => x.mainCpu ?? NaN)).toFixed(1)} CPU-s main thread, start-up ${median(xs.map((x) => Math.max(...x.startupMs))).toFixed(0)} ms, ${xs[0]!.isolations} isolations for ${xs[0]!.causes} causes`);
    // Where the process CPU went: the rest of it ran on V8's and libuv's helper threads (JIT, GC).
    const sum = (a: number[]) => a.reduce((p, q) => p + q, 0);
    console.log(`  per thread (median): isolating ${median(xs.map((x) => sum(x.isolationCpu))).toFixed(1)} CPU-s inside the workers; helper threads (JIT compiler, GC) ${median(xs.map((x) => x.cpu - x.mainCpu - sum(x.workerCpu))).toFixed(1)} CPU-s; main thread busy ${(100 * median(xs.map((x) => x.mainElu))).toFixed(1)} % of the time (event-loop utilisation); workers' tail after their share ${xs.map((x) => x.tailMs.map((t) => t.toFixed(0)).join('+')).join(', ')} ms; ranges stolen ${xs.map((x) => x.steals ?? 0).join(', ')}`);
  }
  const wall1 = median(res[1]!.map((x) => x.wall)), wall2 = median(res[2]!.map((x) => x.wall));
  // On 2 idle cores the speedup is at most 2 × (CPU of 1 worker / CPU of 2): what a second worker adds in total work.
  const cpu1 = median(res[1]!.map((x) => x.cpu)), cpu2 = median(res[2]!.map((x) => x.cpu));
  console.log(`speedup 1 → 2 workers: ${(wall1 / wall2).toFixed(2)}x wall; process CPU 2 workers / 1 worker ${(cpu2 / cpu1).toFixed(2)}x, so at most ${(2 * cpu1 / cpu2).toFixed(2)}x on 2 idle cores`);
}

await main();
