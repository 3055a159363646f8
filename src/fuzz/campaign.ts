// A fuzzing campaign: N workers (threads, one per core by default) for a time and/or
// iteration budget. The campaign directory (--out) holds:
//   campaign.json          resume point + buckets (root cause → reproducer, count, first/last seen, seeds)
//   stats.ndjson           time series, one line per ~10 s: execs, events/s, coverage, buckets, RSS
//   queue-<worker>.ndjson  each worker's guided corpus (interleavings that reached new coverage)
//   <backend>/<variant>/<class>-<hash>.json   minimized reproducers, one per root cause
// Every file is written atomically (stats.ndjson is appended a whole line at a time). Findings
// are deduplicated across workers and earlier sessions; the parent isolates (minimizes) each
// new cause once, from the earliest (iteration, worker) that showed it, so an iteration budget
// gives byte-identical reproducers whatever the machine's speed; the minimization itself runs
// on a worker (between its runs, or after its share), so the parent thread stays idle.
// SIGINT/SIGTERM stop the workers at their next iteration; the state is saved and the summary printed.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { allBackends } from '../backends/load.js';
import { parseSignature } from '../oracle/divergence.js';
import { crashPath, loadKnown, OutputError, scenarioText, writeAtomic } from '../store/files.js';
import { isolate, ISOLATE_TRIES, type Candidate } from './isolate.js';
import { guardTargets, MIN_SPLIT, type Engine, type IterRange, type JobFinding, type JobStats, type TargetCoverage } from './job.js';
import { threadCpuMs } from './thread-cpu.js';
import { readState, share, STATE_FILE, type Bucket, type CampaignState } from './state.js';
import { resolveTargets, type Target } from './targets.js';
import type { Scenario } from '../scenario/types.js';
import type { IsolatedMessage, SplitMessage, TaskMessage, WorkerData } from './worker.js';

export interface CampaignOptions {
  filters: string[];
  modules: string[];
  seed: string;
  /** Wall-clock budget; Infinity for none (then `iterations` must be set). */
  seconds: number;
  /** Worker threads. */
  jobs: number;
  out: string;
  maxEvents: number;
  /** How often progress is reported (ms). */
  reportEveryMs: number;
  /** Total iteration budget over all workers (deterministic findings). */
  iterations?: number;
  /** Default 'guided'. */
  engine?: Engine;
  /** "backend/variant" of every target, in order (the campaign's identity). */
  targetKeys?: string[];
  /** Track coverage in random mode too (for --coverage). */
  track?: boolean;
  /** Stop cleanly on SIGINT/SIGTERM (the CLI; not tests that run in-process). */
  handleSignals?: boolean;
  /** Stats line interval (ms), default 10 s. */
  statsEveryMs?: number;
}

export interface CampaignEvent {
  kind: 'finding' | 'progress' | 'warning';
  text: string;
  path?: string;
  signature?: string;
  /** On progress: the running totals (live object; copy what you keep). */
  summary?: CampaignSummary;
  elapsedSeconds?: number;
}

export interface CampaignSummary {
  scenarios: number;
  events: number;
  divergent: number;
  newFindings: { signature: string; path: string }[];
  elapsedMs: number;
  perTarget: Record<string, [number, number, number]>;
  bySignature: Record<string, number>;
  /** This session's counts over the generator's own runs alone (JobStats.fresh), for the rate checks. */
  fresh: { runs: Record<string, number>; bySignature: Record<string, number> };
  resumedFrom: number[];
  /** Coverage per target, merged over workers (edges/states: the best worker; steps: union). */
  coverage: Record<string, TargetCoverage>;
  /** Set when a signal stopped the run. */
  stopped?: string;
  /** Whole-campaign totals (all sessions). */
  total: { execs: number; events: number; elapsedMs: number; buckets: number };
  mutants: number;
  errors: number;
  /** Per worker, when it finished: CPU time of its thread (ms, Linux) and spawn → first iteration (ms). */
  workerCpuMs: (number | undefined)[];
  workerStartupMs: (number | undefined)[];
  /** Minimizations run (each new cause is isolated once, not once per worker). */
  isolations: number;
  /** Work stealing: ranges of iterations handed from a busy worker to an idle one. */
  steals: number;
  /** Per worker: CPU time (ms) of the isolations it ran for the campaign (included in workerCpuMs). */
  isolationCpuMs: (number | undefined)[];
  /** CPU time of the parent's thread (ms, Linux): start-up and bookkeeping (isolating only if every worker died). */
  mainCpuMs?: number;
  /** Event-loop utilisation of the parent thread over the campaign (0..1): how much of the time it was busy. */
  mainElu?: number;
  /** Per worker: its thread's event-loop utilisation over its life (0..1; the job counts as busy). */
  workerElu: (number | undefined)[];
  /** Per worker: ms from the end of its own share to its exit (serving isolations, then waiting for the others). */
  workerTailMs: (number | undefined)[];
}

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`bad duration '${text}': expected e.g. 30s, 10m, 8h`);
  const n = Number(m[1]);
  return m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : n;
}

export const queueFile = (out: string, job: number) => join(out, `queue-${job}.ndjson`);

export async function runCampaign(o: CampaignOptions, listen: (e: CampaignEvent) => void): Promise<CampaignSummary> {
  const started = Date.now();
  const engine: Engine = o.engine ?? 'guided';
  const known = loadKnown(o.out);
  for (const b of known.bad) listen({ kind: 'warning', text: `skipping unreadable file ${b.error}` });
  // The CLI has already checked identity (state.ts); here the saved counters are continued.
  const saved = readState(o.out);
  const resumable = saved !== undefined && saved.seed === o.seed && saved.workers === o.jobs;
  const iters = resumable ? saved.iters.slice() : new Array<number>(o.jobs).fill(0);
  const resumedFrom = iters.slice();
  const deadline = Number.isFinite(o.seconds) ? started + o.seconds * 1000 : Infinity;
  const iterations = o.iterations ?? (resumable ? saved.iterations ?? undefined : undefined);
  const stats: (JobStats | undefined)[] = new Array(o.jobs).fill(undefined);
  const base = resumable ? saved : undefined;
  const buckets: Record<string, Bucket> = base ? structuredClone(base.buckets) : {};
  const baseCount: Record<string, number> = {};
  const baseSeeds: Record<string, string[]> = {};
  for (const [k, b] of Object.entries(buckets)) { baseCount[k] = b.count; baseSeeds[k] = b.seeds.slice(); }
  const summary: CampaignSummary = {
    scenarios: 0, events: 0, divergent: 0, newFindings: [], elapsedMs: 0, perTarget: {}, bySignature: {}, fresh: { runs: {}, bySignature: {} }, resumedFrom,
    coverage: {}, total: { execs: 0, events: 0, elapsedMs: 0, buckets: 0 }, mutants: 0, errors: 0,
    workerCpuMs: new Array(o.jobs).fill(undefined), workerStartupMs: new Array(o.jobs).fill(undefined), isolations: 0, steals: 0,
    isolationCpuMs: new Array(o.jobs).fill(undefined), workerElu: new Array(o.jobs).fill(undefined), workerTailMs: new Array(o.jobs).fill(undefined),
  };
  const elu0 = performance.eventLoopUtilization();
  const startedAt = base?.startedAt || new Date(started).toISOString();
  const stop = new Int32Array(new SharedArrayBuffer(4));
  let fatal: Error | undefined;

  const state = (): CampaignState => ({
    version: 2, seed: o.seed, workers: o.jobs, jobs: o.jobs, targets: o.targetKeys ?? base?.targets ?? [], modules: o.modules,
    engine, maxEvents: o.maxEvents, iterations: iterations ?? null, iters,
    execs: summary.total.execs, events: summary.total.events, divergent: (base?.divergent ?? 0) + summary.divergent,
    elapsedMs: summary.total.elapsedMs, sessions: (base?.sessions ?? 0) + 1, startedAt, updatedAt: new Date().toISOString(), buckets,
  });
  const saveState = () => {
    try { writeAtomic(join(o.out, STATE_FILE), JSON.stringify(state(), null, 1) + '\n'); } catch (err) { fail(err); }
  };
  const fail = (err: unknown) => {
    if (fatal) return;
    fatal = err instanceof Error ? err : new Error(String(err));
    Atomics.store(stop, 0, 1);
  };

  // Per signature, the (iteration, worker) of the reproducer written in this session.
  const written = new Map<string, [number, number]>();
  const onFinding = (f: JobFinding) => {
    const prev = written.get(f.signature);
    if (prev ? prev[0] < f.iter || (prev[0] === f.iter && prev[1] <= f.job) : known.signatures.has(f.signature)) return;
    known.signatures.add(f.signature);
    written.set(f.signature, [f.iter, f.job]);
    const fd = f.scenario.found!;
    const path = crashPath(o.out, fd.backend, fd.variant, f.signature.split(':')[1]!, f.signature);
    try { writeAtomic(path, scenarioText(f.scenario)); } catch (err) { fail(err); return; }
    const b = bucketFor(f.signature);
    b.reproducer = relative(o.out, path);
    if (prev) return; // a better reproducer of a cause already announced
    summary.newFindings.push({ signature: f.signature, path });
    listen({ kind: 'finding', text: `${f.signature}  (${fd.originalEvents} → ${f.scenario.events.length} events)`, path, signature: f.signature });
  };
  // Each new cause is isolated once for the campaign, not once per worker: workers report
  // their first occurrences; the earliest (iteration, worker) is isolated as soon as no worker
  // can still report an earlier one, so an iteration budget gives the same reproducer whatever
  // the timing. The parent only chooses: the minimization itself is a task for a worker (the
  // first free one, finished workers first), which runs it between two of its own runs. A
  // cause has at most one try in flight; if it fails, its next occurrence is tried, as before.
  const finished = new Array<boolean>(o.jobs).fill(false);
  interface Pending { list: Candidate[]; tries: number; done: boolean; busy: boolean }
  const pending = new Map<string, Pending>();
  interface Task { id: number; candidate: Candidate }
  const ready: Task[] = [];
  let taskIds = 0;
  const ports: (MessagePort | undefined)[] = new Array(o.jobs).fill(undefined);
  const inflight: (Task | undefined)[] = new Array(o.jobs).fill(undefined);
  const taskCount = new Int32Array(new SharedArrayBuffer(4 * o.jobs));
  /** A message on worker k's task port; the worker polls the count between runs, or waits on it. */
  const post = (k: number, msg: TaskMessage) => {
    ports[k]!.postMessage(msg);
    Atomics.add(taskCount, k, 1); // after the post: the worker's poll then finds the message
    Atomics.notify(taskCount, k);
  };

  // Which iterations are where. Job k's iterations are 0..endOf[k]-1 ("<seed>:<k>:<i>"); a
  // worker runs one range of one job's iterations at a time: its own job's at first, then, with
  // work stealing (random engine and an iteration budget), the back half of another worker's
  // range when its own is done. Iterations keep their job and seed wherever they run, so the
  // findings do not depend on who ran what: candidates are ordered by (iteration, job).
  const steal = engine === 'random' && iterations !== undefined;
  const endOf = Array.from({ length: o.jobs }, (_, k) => (iterations === undefined ? Infinity : share(iterations, o.jobs, k)));
  interface Live { job: number; start: number; end: number; next: number }
  /** Per worker: the range it runs (next: its last reported next iteration). */
  const ranges: (Live | undefined)[] = new Array(o.jobs).fill(undefined);
  /** Ranges of workers that ended (stopped, timed out or died) before finishing them: not run, for resuming. */
  const abandoned: Live[] = [];
  /**
   * Per job, the first iteration not known to be done and reported: of what a live worker
   * still runs (`live`), and of everything not yet run, ended workers' left-overs included.
   */
  const lowWater = (k: number, live: boolean): number => {
    let lw = Infinity;
    for (const r of ranges) if (r && r.job === k && r.next < r.end) lw = Math.min(lw, r.next);
    if (!live) for (const r of abandoned) if (r.job === k) lw = Math.min(lw, r.next);
    return lw;
  };
  /** The resume point of every job: where its left-overs begin (a range done out of order past it is run again on --resume). */
  const updateIters = () => {
    for (let k = 0; k < o.jobs; k++) {
      const lw = lowWater(k, false);
      if (lw !== Infinity) iters[k] = lw;
      else if (endOf[k] !== Infinity) iters[k] = endOf[k]!;
    }
  };
  // An occurrence is settled when no earlier (iteration, job) can still be reported: every
  // other job's live ranges are past its iteration, and its own job's are not before it.
  const settled = (c: Candidate) => {
    for (let k = 0; k < o.jobs; k++) {
      const lw = lowWater(k, true);
      if (k === c.job ? lw < c.iter : lw <= c.iter) return false;
    }
    return true;
  };
  const progress = (w: number, s: JobStats) => {
    const r = ranges[w];
    if (r && s.job === r.job && s.iter >= r.start && s.iter <= r.end) r.next = s.iter;
    updateIters();
  };
  const ended = (w: number) => {
    const r = ranges[w];
    if (r && r.next < r.end) abandoned.push(r);
    ranges[w] = undefined;
    updateIters();
  };
  // Work stealing. A worker whose range is done says 'idle'; the parent asks the worker with the
  // most left (by its last progress) to split its range, and hands the back half over; with
  // nothing worth splitting, the idle worker's job is done.
  const thieves: number[] = [];
  /** Per worker: the idle worker its split request is for. */
  const splitFor: (number | undefined)[] = new Array(o.jobs).fill(undefined);
  /** Per worker: its current range was found too short to split. */
  const unsplittable = new Array<boolean>(o.jobs).fill(false);
  let splitIds = 0;
  const matchThieves = () => {
    for (let i = 0; i < thieves.length;) {
      const thief = thieves[i]!;
      let victim = -1, waiting = false;
      for (let k = 0; k < o.jobs; k++) {
        const r = ranges[k];
        if (k === thief || !r || !ports[k] || finished[k] || unsplittable[k] || thieves.includes(k) || r.end - r.next < MIN_SPLIT) continue;
        if (splitFor[k] !== undefined) { waiting = true; continue; }
        if (victim < 0 || r.end - r.next > ranges[victim]!.end - ranges[victim]!.next) victim = k;
      }
      if (victim >= 0) {
        splitFor[victim] = thief;
        thieves.splice(i, 1);
        post(victim, { type: 'split', id: splitIds++ });
      } else if (!waiting) {
        thieves.splice(i, 1);
        if (ports[thief]) post(thief, { type: 'range', range: undefined });
      } else i++;
    }
  };
  const onIdle = (w: number) => {
    ranges[w] = undefined;
    unsplittable[w] = false;
    updateIters();
    thieves.push(w);
    matchThieves();
  };
  const onSplit = (w: number, m: SplitMessage) => {
    const thief = splitFor[w];
    splitFor[w] = undefined;
    if (thief === undefined) return;
    const r = ranges[w];
    const range: IterRange | undefined = m.range;
    if (range && r && ports[thief]) {
      r.end = range.start;
      ranges[thief] = { job: range.job, start: range.start, end: range.end, next: range.start };
      summary.steals++;
      updateIters();
      post(thief, { type: 'range', range });
    } else {
      if (!range) unsplittable[w] = true;
      else {
        // The thief died meanwhile: the victim has already shortened its range, so the part it
        // gave away is left over, as a dead worker's range is (run on --resume).
        if (r) r.end = range.start;
        abandoned.push({ ...range, next: range.start });
        updateIters();
      }
      if (ports[thief]) thieves.push(thief);
    }
    matchThieves();
  };
  const dispatch = () => {
    while (ready.length > 0) {
      let w = -1;
      for (let k = 0; k < o.jobs; k++) {
        if (!ports[k] || inflight[k]) continue;
        if (w < 0 || (finished[k] && !finished[w])) w = k;
      }
      if (w < 0) return;
      const task = ready.shift()!;
      inflight[w] = task;
      summary.isolations++;
      post(w, { type: 'isolate', id: task.id, candidate: task.candidate, iterationBudget: iterations !== undefined });
    }
  };
  const isolateSettled = () => {
    for (const [sig, e] of pending) {
      if (e.done || e.busy) continue;
      if (known.signatures.has(sig)) { e.done = true; e.list.length = 0; continue; }
      if (e.tries < ISOLATE_TRIES && e.list.length > 0 && settled(e.list[0]!)) {
        e.tries++;
        e.busy = true;
        ready.push({ id: taskIds++, candidate: e.list.shift()! });
      } else if (e.tries >= ISOLATE_TRIES) { e.list.length = 0; e.done = true; }
    }
    dispatch();
  };
  const onIsolated = (job: number, m: IsolatedMessage) => {
    const task = inflight[job];
    if (!task || task.id !== m.id) return;
    inflight[job] = undefined;
    summary.isolationCpuMs[job] = (summary.isolationCpuMs[job] ?? 0) + (m.cpuMs ?? 0);
    if (m.error !== undefined) listen({ kind: 'warning', text: `worker ${job}: isolating ${m.signature} failed: ${m.error}` });
    tried(task, m.scenario);
    isolateSettled();
    release();
  };
  const tried = (task: Task, scenario: Scenario | undefined) => {
    const c = task.candidate;
    const e = pending.get(c.signature)!;
    e.busy = false;
    if (scenario) { e.done = true; e.list.length = 0; onFinding({ signature: c.signature, job: c.job, iter: c.iter, scenario }); }
  };
  const onCandidate = (c: Candidate) => {
    let e = pending.get(c.signature);
    if (!e) pending.set(c.signature, e = { list: [], tries: 0, done: false, busy: false });
    if (e.done) return;
    // In (iteration, worker) order; only the first tries left can matter.
    let i = e.list.length;
    while (i > 0 && (e.list[i - 1]!.iter > c.iter || (e.list[i - 1]!.iter === c.iter && e.list[i - 1]!.job > c.job))) i--;
    e.list.splice(i, 0, c);
    if (e.list.length > ISOLATE_TRIES - e.tries) e.list.length = ISOLATE_TRIES - e.tries;
    isolateSettled();
  };
  /** Every worker's job done and no try left anywhere: the workers may end. */
  const drained = () => finished.every(Boolean) && ready.length === 0 && inflight.every((t) => t === undefined)
    && [...pending.values()].every((e) => e.done || (!e.busy && e.list.length === 0));
  const release = () => {
    if (!drained()) return;
    // The worker closes the channel when it reads this (and then ends).
    for (let k = 0; k < o.jobs; k++) { ports[k]?.postMessage({ type: 'exit' } satisfies TaskMessage); ports[k] = undefined; }
  };
  const bucketFor = (sig: string): Bucket => {
    let b = buckets[sig];
    if (!b) {
      const p = parseSignature(sig);
      const now = new Date().toISOString();
      b = buckets[sig] = { cause: p?.cause ?? sig, target: p ? `${p.backend}/${p.variant}` : '', reproducer: '', count: 0, firstSeen: now, lastSeen: now, seeds: [] };
      if (p) {
        const path = crashPath(o.out, p.backend, p.variant, p.cause.split(':')[0]!, sig);
        if (existsSync(path)) b.reproducer = relative(o.out, path);
      }
    }
    return b;
  };
  const aggregate = () => {
    let sc = 0, ev = 0, dv = 0, mu = 0, er = 0;
    const per: Record<string, [number, number, number]> = {};
    const sigs: Record<string, number> = {};
    const fresh: CampaignSummary['fresh'] = { runs: {}, bySignature: {} };
    const cov: Record<string, TargetCoverage> = {};
    const seeds: Record<string, { job: number; iter: number; seed: string }[]> = {};
    for (const s of stats) {
      if (!s) continue;
      sc += s.scenarios; ev += s.events; dv += s.divergent; mu += s.mutants; er += s.errors;
      for (const [k, n] of Object.entries(s.bySignature)) sigs[k] = (sigs[k] ?? 0) + n;
      for (const [k, n] of Object.entries(s.fresh.runs)) fresh.runs[k] = (fresh.runs[k] ?? 0) + n;
      for (const [k, n] of Object.entries(s.fresh.bySignature)) fresh.bySignature[k] = (fresh.bySignature[k] ?? 0) + n;
      for (const [k, h] of Object.entries(s.hits)) {
        const list = seeds[k] ??= [];
        for (const seed of h.seeds) {
          // "<seed>:<job>:<iter>" (the campaign seed may itself hold colons).
          const b = seed.lastIndexOf(':'), a = seed.lastIndexOf(':', b - 1);
          list.push({ job: Number(seed.slice(a + 1, b)), iter: Number(seed.slice(b + 1)), seed });
        }
      }
      for (const [k, v] of Object.entries(s.perTarget)) {
        const acc = per[k] ?? [0, 0, 0];
        acc[0] += v[0]; acc[1] += v[1]; acc[2] += v[2];
        per[k] = acc;
      }
      for (const [k, c] of Object.entries(s.coverage)) {
        const acc = cov[k] ?? (cov[k] = { edges: 0, states: 0, corpus: 0, steps: {} });
        acc.edges = Math.max(acc.edges, c.edges); acc.states = Math.max(acc.states, c.states); acc.corpus += c.corpus;
        for (const [n, x] of Object.entries(c.steps)) acc.steps[n] = (acc.steps[n] ?? 0) + x;
      }
    }
    const now = new Date().toISOString();
    for (const [sig, n] of Object.entries(sigs)) {
      const b = bucketFor(sig);
      const count = (baseCount[sig] ?? 0) + n;
      if (count !== b.count) { b.count = count; b.lastSeen = now; }
      // This session's: the first two iterations of every job that hit it, in (job, iteration)
      // order, whichever workers ran them, after the earlier sessions'.
      const list = (seeds[sig] ?? []).sort((x, y) => x.job - y.job || x.iter - y.iter);
      const out = (baseSeeds[sig] ?? []).slice();
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!;
        if (i >= 2 && list[i - 2]!.job === e.job) continue;
        if (out.length < 16 && !out.includes(e.seed)) out.push(e.seed);
      }
      b.seeds = out;
    }
    summary.scenarios = sc; summary.events = ev; summary.divergent = dv; summary.perTarget = per; summary.bySignature = sigs; summary.fresh = fresh;
    summary.coverage = cov; summary.mutants = mu; summary.errors = er;
    summary.total = {
      execs: (base?.execs ?? 0) + sc, events: (base?.events ?? 0) + ev,
      elapsedMs: (base?.elapsedMs ?? 0) + (Date.now() - started), buckets: Object.keys(buckets).length,
    };
  };

  let lastStatsLine = 0;
  let lastStatsEvents = 0;
  const statsEvery = o.statsEveryMs ?? 10_000;
  const statsLine = () => {
    const now = Date.now();
    const dt = (now - lastStatsLine) / 1000;
    let edges = 0, states = 0, corpus = 0;
    const perTarget: Record<string, number> = {};
    for (const [k, c] of Object.entries(summary.coverage)) { edges += c.edges; states += c.states; corpus += c.corpus; perTarget[k] = c.edges; }
    const mem = process.memoryUsage();
    const line = {
      t: new Date(now).toISOString(), elapsed: Math.round(summary.total.elapsedMs / 1000), execs: summary.total.execs, events: summary.total.events,
      eventsPerSec: lastStatsLine === 0 ? 0 : Math.round((summary.total.events - lastStatsEvents) / dt),
      divergent: (base?.divergent ?? 0) + summary.divergent, buckets: summary.total.buckets, edges, states, corpus,
      rssMB: Math.round(mem.rss / 1048576), heapMB: Math.round(mem.heapUsed / 1048576), coverage: perTarget,
    };
    lastStatsLine = now; lastStatsEvents = summary.total.events;
    try { appendFileSync(join(o.out, 'stats.ndjson'), JSON.stringify(line) + '\n'); } catch (err) { fail(new OutputError(join(o.out, 'stats.ndjson'), (err as Error).message)); }
  };

  aggregate();
  saveState(); // at once: a campaign killed in its first seconds still has a resume point
  statsLine();
  let lastSave = Date.now();
  let lastReport = Date.now();
  const onProgress = (job: number, s: JobStats) => {
    stats[job] = s;
    progress(job, s);
    if (s.cpuMs !== undefined) summary.workerCpuMs[job] = s.cpuMs;
    if (s.startupMs !== undefined) summary.workerStartupMs[job] = s.startupMs;
    isolateSettled();
    aggregate();
    const now = Date.now();
    if (now - lastSave >= 2000) { lastSave = now; saveState(); }
    if (now - lastStatsLine >= statsEvery) statsLine();
    if (now - lastReport >= o.reportEveryMs) {
      lastReport = now;
      const secs = (now - started) / 1000;
      listen({ kind: 'progress', summary, elapsedSeconds: secs, text: `${secs.toFixed(0)}s: ${summary.scenarios} interleavings, ${summary.events} events (${Math.round(summary.events / secs)}/s), ${summary.divergent} divergent, ${known.signatures.size} signatures` });
    }
  };

  const onSignal = (sig: NodeJS.Signals) => {
    if (summary.stopped) return;
    summary.stopped = sig;
    Atomics.store(stop, 0, 1);
    listen({ kind: 'warning', text: `${sig}: stopping the workers, saving the campaign state…` });
  };
  if (o.handleSignals) { process.on('SIGINT', onSignal); process.on('SIGTERM', onSignal); }

  const corpusOf = (job: number): WorkerData['corpus'] => {
    const f = queueFile(o.out, job);
    if (!resumable || engine !== 'guided' || !existsSync(f)) return undefined;
    try {
      const out: Record<string, unknown[]> = {};
      for (const line of readFileSync(f, 'utf8').split('\n')) {
        if (!line) continue;
        const e = JSON.parse(line) as { target: string; scenario: unknown };
        (out[e.target] ??= []).push(e.scenario);
      }
      return out;
    } catch (err) {
      listen({ kind: 'warning', text: `${f}: unreadable corpus (${(err as Error).message}); worker ${job} starts with an empty one` });
      return undefined;
    }
  };

  const workerUrl = new URL('./worker.js', import.meta.url);
  try {
    const runs = iters.map((startIter, job) => new Promise<void>((resolve) => {
      const endIter = iterations === undefined ? Infinity : share(iterations, o.jobs, job);
      // A worker with its own share done (resumed) still starts when it can steal another's left-overs.
      if (startIter >= endIter && !(steal && iters.some((it, k) => it < endOf[k]!))) { finished[job] = true; resolve(); return; }
      ranges[job] = { job, start: startIter, end: endIter, next: startIter };
      const channel = new MessageChannel();
      const data: WorkerData = {
        filters: o.filters, modules: o.modules, out: o.out, corpus: corpusOf(job),
        params: { seed: o.seed, job, startIter, deadline, endIter, maxEvents: o.maxEvents, known: [...known.signatures], engine, track: o.track },
        stop, spawnedAt: Date.now(), tasks: channel.port2, taskCount, steal,
      };
      const w = new Worker(workerUrl, { workerData: data, transferList: [channel.port2] });
      ports[job] = channel.port1;
      let doneAt: number | undefined;
      let died = false;
      w.on('message', (m: { type: string; finding?: JobFinding; candidate?: Candidate; stats?: JobStats; job?: number; message?: string; cpuMs?: number }) => {
        if (m.type === 'candidate') onCandidate(m.candidate!);
        else if (m.type === 'isolated') onIsolated(job, m as unknown as IsolatedMessage);
        else if (m.type === 'idle') onIdle(job);
        else if (m.type === 'split') onSplit(job, m as unknown as SplitMessage);
        else if (m.type === 'progress') onProgress(m.job!, m.stats!);
        else if (m.type === 'done') { onProgress(m.job!, m.stats!); finished[job] = true; ended(job); doneAt = Date.now(); isolateSettled(); release(); } // after all its candidates
        else if (m.type === 'bye') {
          if (m.cpuMs !== undefined) summary.workerCpuMs[job] = m.cpuMs;
          summary.workerElu[job] = w.performance.eventLoopUtilization().utilization;
        }
        else if (m.type === 'finding') onFinding(m.finding!);
        else if (m.type === 'warning') listen({ kind: 'warning', text: `worker ${job}: ${m.message}` });
        else if (m.type === 'error') { died = true; listen({ kind: 'warning', text: `worker ${job} died: ${m.message}` }); }
      });
      // A worker that dies (out of memory, an engine bug) costs its share, not the campaign:
      // a try it had in hand goes to another worker (or to the parent, below).
      w.on('error', (err) => { died = true; listen({ kind: 'warning', text: `worker ${job} died: ${err.stack ?? String(err)}` }); });
      w.on('exit', (code) => {
        if (doneAt !== undefined) summary.workerTailMs[job] = Date.now() - doneAt;
        else if (!died) listen({ kind: 'warning', text: `worker ${job} ended (exit code ${code}) before its share was done` });
        finished[job] = true;
        ended(job);
        ports[job] = undefined;
        // A split asked of it is not coming: its thief asks elsewhere.
        const thief = splitFor[job];
        if (thief !== undefined) { splitFor[job] = undefined; thieves.push(thief); }
        const ti = thieves.indexOf(job);
        if (ti >= 0) thieves.splice(ti, 1);
        matchThieves();
        const t = inflight[job];
        if (t) { inflight[job] = undefined; summary.isolations--; ready.unshift(t); }
        isolateSettled();
        release();
        resolve();
      });
    }));
    await Promise.all(runs);
    // Tries left with no worker to run them (every worker died): the parent runs them.
    if (!drained()) {
      const byKey = new Map<string, Target>();
      for (const t of guardTargets(resolveTargets(await allBackends(o.modules), o.filters), false).targets) byKey.set(`${t.backend.name}/${t.variant}`, t);
      for (isolateSettled(); ready.length > 0; isolateSettled()) {
        const task = ready.shift()!;
        const t = byKey.get(task.candidate.target);
        summary.isolations++;
        tried(task, t ? isolate(task.candidate, t, iterations !== undefined) : undefined);
      }
    }
  } finally {
    if (o.handleSignals) { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); }
  }
  aggregate();
  saveState();
  statsLine();
  summary.elapsedMs = Date.now() - started;
  summary.mainCpuMs = threadCpuMs();
  summary.mainElu = performance.eventLoopUtilization(elu0).utilization;
  if (fatal) throw fatal;
  return summary;
}
