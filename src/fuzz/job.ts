// One fuzzing job: a deterministic stream of interleavings. Iteration i of job j draws its
// randomness from the seed "<seed>:<j>:<i>". Random mode (the CLI's default) is the generator
// alone. Guided mode runs the random engine's runs in order (freshRun: all of its first WARM,
// then every other run) and spends the others on feedback: resuming or mutating a corpus
// entry — a run that reached a coarse model state no run had — from a rarely reached one, so
// what one run learns shapes the next. Every run is judged; each root cause new to the job is minimized.
// A backend that throws is a `crash` finding (see guard.ts), never a dead job.
import type { Backend } from '../backends/api.js';
import { supportsOn } from '../backends/features.js';
import { Coverage, Guide, GUIDE_BITS, RunTracker } from '../coverage/coverage.js';
import { Session, type RunResult } from '../engine/session.js';
import { guardBackend } from './guard.js';
import { isolate, ISOLATE_TRIES, type Candidate } from './isolate.js';
import { extendAndRun, generateAndRun, makeRng, type RunObserver } from '../gen/generator.js';
import { mutate } from '../gen/mutate.js';
import { Schedule } from './schedule.js';
import type { Event, Scenario } from '../scenario/types.js';
import type { Target } from './targets.js';

export type Engine = 'guided' | 'random';

export interface JobParams {
  seed: string;
  job: number;
  startIter: number;
  /** Wall-clock budget (ms since epoch); Infinity for none. */
  deadline: number;
  /** Iteration budget: the job stops before this iteration (deterministic). Infinity for none. */
  endIter: number;
  maxEvents: number;
  /** Signatures already known (found earlier, or in the output directory): not minimized again. */
  known: Set<string>;
  engine: Engine;
  /** Track state coverage in random mode too (guided always does). */
  track?: boolean;
  /** Shared stop flag (SIGINT/SIGTERM): the job stops at the next iteration when [0] != 0. */
  stop?: Int32Array;
  /** Told every root cause of every run (benchmarks stop at the first detection). */
  onHit?: (signature: string, iter: number) => void;
  /** Guided corpus to start from (resume), per target key. */
  corpus?: Record<string, Scenario[]>;
  /**
   * When set, a new root cause is not minimized here: its first few occurrences are handed
   * over (the campaign's parent isolates each cause once for all workers).
   */
  onCandidate?: (c: Candidate) => void;
  /**
   * Called before every iteration: a campaign worker serves the parent's isolation tasks here
   * (between runs, so they never touch a run's generator state or coverage), and may give the
   * tail of the current range away (lowering `cur.end`; random engine only, see `nextRange`).
   */
  poll?: (cur: Cursor) => void;
  /**
   * When the current range is done: another range to run (of any job's iterations, which keep
   * their seeds "<seed>:<job>:<iter>"), or undefined when there is none. A campaign worker of the
   * random engine asks the parent here (work stealing); may block.
   */
  nextRange?: (cur: Cursor) => IterRange | undefined;
}

/** Work stealing: a range shorter than this is not split (the message round trip would cost more than it saves). */
export const MIN_SPLIT = 4;

/** A range of one job's iterations [start, end). */
export interface IterRange { job: number; start: number; end: number }

/** Where the job is: the next iteration of job `job` to run, and the end of its current range. */
export interface Cursor { job: number; iter: number; end: number }

export interface JobFinding {
  scenario: Scenario;
  signature: string;
  job: number;
  iter: number;
}

export interface TargetCoverage {
  edges: number;
  states: number;
  corpus: number;
  steps: Record<string, number>;
}

export interface Hit {
  count: number;
  /** The first few iterations ("<seed>:<job>:<iter>") that showed the cause, per range run (one range unless stealing). */
  seeds: string[];
}

export interface JobStats {
  /** The next iteration of the current range, and its job (ranges of other jobs' iterations: see JobParams.nextRange). */
  iter: number;
  job?: number;
  scenarios: number;
  events: number;
  divergent: number;
  /** Per "backend/variant": [scenarios, events, divergent]. */
  perTarget: Record<string, [number, number, number]>;
  /** Interleavings that showed this root cause (first in the run or not). */
  bySignature: Record<string, number>;
  /**
   * The same two counts over the generator's own runs alone (all of the random engine's; guided's freshRun ones,
   * which are the random engine's runs with its seeds): what the recorded rates of documented causes compare with.
   */
  fresh: { runs: Record<string, number>; bySignature: Record<string, number> };
  hits: Record<string, Hit>;
  coverage: Record<string, TargetCoverage>;
  /** Interleavings that came from mutating the corpus (guided). */
  mutants: number;
  /** Runs that failed outside any backend (an engine bug): counted, reported, skipped. */
  errors: number;
  lastError?: string;
  /** Set by a campaign worker: CPU time of its own thread (ms), and from spawn to its first iteration (ms). */
  cpuMs?: number;
  startupMs?: number;
}

/** Per target: at most this many corpus entries (memory stays flat over hours). */
export const CORPUS_MAX = 256;
const SEEDS_KEPT = 8;

/** A corpus entry and the guide features it owns (it was the first run to hit them). */
interface Entry { scenario: Scenario; owned: number[] }

interface TargetState {
  key: string;
  t: Target;
  cov: Coverage;
  guide: Guide;
  corpus: Entry[];
  /** Per guide feature: the entry that first hit it and the index of the event that did. */
  owner: (Entry | undefined)[];
  ownerAt: Uint16Array;
  /** Where feedback runs resume (schedule.ts). */
  sched: Schedule;
}

/** Feeds each event's transition to the coverage map (and, guided, its guide features). */
class Observer implements RunObserver {
  tracker: RunTracker | undefined;
  constructor(private readonly cov: Coverage, private readonly guide?: Guide) {}
  start(s: Session): void { this.tracker = new RunTracker(this.cov, s.instance, this.guide); this.tracker.begin(); }
  after(ev: Event): void { this.tracker!.after(ev); }
}

function replayObserved(s: Scenario, backend: Backend, variant: string, o: Observer): RunResult {
  const session = new Session(backend, variant, s.machine);
  o.start(session);
  for (let i = 0; i < s.events.length; i++) { const ev = s.events[i]!; session.apply(ev, i); o.after(ev); }
  return session.finish();
}

/**
 * A run that hit guide features no run had hit joins the corpus and owns them (with the index
 * of the event that first reached each, where frontier extensions resume). When full, the
 * entry whose rarest owned feature is hit most often leaves (the oldest of those): it holds no
 * stepping stone the others lack. Its features stay covered but ownerless, so the engine no
 * longer resumes from them. (Until session 8 the entry owning fewest features left, which
 * with coarse features is exactly the run that found one rare state.)
 */
function admit(ts: TargetState, scenario: Scenario, tr: RunTracker): void {
  if (tr.newFeats === 0) return;
  const e: Entry = { scenario, owned: [] };
  for (let i = 0; i < tr.feats.length; i++) {
    const f = tr.feats[i]!;
    if (ts.guide.hits[f] !== 0) continue;
    ts.owner[f] = e; ts.ownerAt[f] = Math.min(tr.featAt[i]!, 0xffff); e.owned.push(f);
  }
  if (ts.corpus.length >= CORPUS_MAX) {
    const hits = ts.guide.hits;
    const rarest = (x: Entry) => { let m = Infinity; for (const f of x.owned) if (ts.owner[f] === x && hits[f]! < m) m = hits[f]!; return m; };
    let worst = 0, worstScore = rarest(ts.corpus[0]!);
    for (let i = 1; i < ts.corpus.length; i++) { const sc = rarest(ts.corpus[i]!); if (sc > worstScore) { worst = i; worstScore = sc; } }
    const [gone] = ts.corpus.splice(worst, 1);
    for (const f of gone!.owned) if (ts.owner[f] === gone) ts.owner[f] = undefined;
  }
  ts.corpus.push(e);
}

/**
 * The guided schedule, per target (`n`: the target's own iteration count, iterations being
 * dealt to targets in turn): its first WARM runs are the random engine's first WARM runs,
 * then every other run is the random engine's next run, in order, and the others are
 * feedback. So random's run i is guided's run i (i < WARM) or 2i − WARM: a bug the generator
 * finds by luck at run i costs guided at most 2i runs, and its seeds are the same.
 * Returns the random run (per-target count) to run, or -1 for a feedback run.
 */
export const WARM = 64;
export function freshRun(n: number): number {
  if (n < WARM) return n;
  const d = n - WARM;
  return (d & 1) === 0 ? WARM + (d >> 1) : -1;
}

export function corpusOf(states: readonly TargetState[]): Record<string, Scenario[]> {
  const out: Record<string, Scenario[]> = {};
  for (const ts of states) out[ts.key] = ts.corpus.map((e) => e.scenario);
  return out;
}

export interface JobHandle {
  stats: JobStats;
  /** The job's corpus now (for saving). */
  corpus(): Record<string, Scenario[]>;
}

/**
 * Guard every target's backend (exceptions become crash findings) and, unless `steps` is
 * false, route its hypervisor steps to the variant's coverage. The step tap costs a call per
 * step: a random campaign without --coverage does not read steps, so it goes without.
 */
export function guardTargets(targets: Target[], steps = true): { targets: Target[]; steps: { route(key: string, cov: Coverage): void } } {
  // One listener per variant, bound once; route() points it at the job's coverage.
  const sinks = new Map<string, { cov: Coverage | undefined; fn: (name: string) => void }>();
  const sinkFor = (key: string) => {
    let k = sinks.get(key);
    if (!k) {
      const sink: { cov: Coverage | undefined; fn: (name: string) => void } = { cov: undefined, fn: (name) => { sink.cov?.step(name); } };
      sinks.set(key, k = sink);
    }
    return k;
  };
  const guarded = new Map<Backend, Backend>();
  const out = targets.map((t) => {
    let g = guarded.get(t.backend);
    if (!g) {
      const name = t.backend.name;
      g = guardBackend(t.backend, steps ? (variant) => sinkFor(`${name}/${variant}`).fn : undefined);
      guarded.set(t.backend, g);
    }
    return { backend: g, variant: t.variant };
  });
  return { targets: out, steps: { route: (key, cov) => { if (steps) sinkFor(key).cov = cov; } } };
}

/**
 * `targets` must hold guarded backends (guard.ts) when exceptions are to become findings;
 * `stepListener` is the per-variant step hook the guard was built with, routed here.
 */
export function runJob(
  targets: Target[], p: JobParams,
  onFinding: (f: JobFinding) => void, onProgress: (s: JobStats, h: JobHandle) => void, now: () => number,
  steps?: { route(key: string, cov: Coverage): void },
): JobStats {
  const stats: JobStats = { iter: p.startIter, scenarios: 0, events: 0, divergent: 0, perTarget: {}, bySignature: {}, fresh: { runs: {}, bySignature: {} }, hits: {}, coverage: {}, mutants: 0, errors: 0 };
  const states: TargetState[] = targets.map((t) => {
    const key = `${t.backend.name}/${t.variant}`;
    stats.perTarget[key] = [0, 0, 0];
    // Random campaigns never steer: no guide tables (about 1.1 MB a variant, per worker).
    const gsize = p.engine === 'guided' ? 1 << GUIDE_BITS : 0;
    return { key, t, cov: new Coverage(), guide: new Guide(gsize), corpus: [], owner: new Array<Entry | undefined>(gsize), ownerAt: new Uint16Array(gsize), sched: new Schedule(gsize) };
  });
  for (const ts of states) steps?.route(ts.key, ts.cov);
  const observers = states.map((ts) => new Observer(ts.cov, p.engine === 'guided' ? ts.guide : undefined));
  const handle: JobHandle = { stats, corpus: () => corpusOf(states) };
  // A resumed corpus is replayed once to rebuild the coverage it stood for.
  for (let k = 0; k < states.length; k++) {
    const ts = states[k]!;
    for (const s of p.corpus?.[ts.key] ?? []) {
      if (supportsOn(ts.t.backend, s.machine, ts.t.variant) !== null) continue;
      const o = observers[k]!;
      try { replayObserved(s, ts.t.backend, ts.t.variant, o); } catch { continue; }
      if (o.tracker) { admit(ts, s, o.tracker); o.tracker.commit(); }
    }
  }
  const fillCoverage = () => {
    for (const ts of states) {
      stats.coverage[ts.key] = { edges: ts.cov.edgeCount, states: ts.cov.stateCount, corpus: ts.corpus.length, steps: Object.fromEntries(ts.cov.steps) };
    }
  };
  let lastProgress = now();
  const cur: Cursor = { job: p.job, iter: p.startIter, end: p.endIter };
  // Occurrences reported (candidates) and seeds kept, per cause, counted per range: the first
  // few of every range include the first few of the whole job whichever thread ran which range.
  let attempts = new Map<string, number>();
  let kept = new Map<string, number>();
  for (;;) {
    p.poll?.(cur);
    if (cur.iter >= cur.end) {
      if (p.nextRange && !(p.stop && Atomics.load(p.stop, 0) !== 0) && now() < p.deadline) {
        // The parent learns where this range ended before it is asked for another.
        stats.iter = cur.iter; stats.job = cur.job;
        fillCoverage(); onProgress(stats, handle); lastProgress = now();
        const r = p.nextRange(cur);
        if (r) { cur.job = r.job; cur.iter = r.start; cur.end = r.end; attempts = new Map(); kept = new Map(); continue; }
      }
      stats.iter = cur.iter; stats.job = cur.job; break;
    }
    const iter = cur.iter;
    const job = cur.job;
    if (p.stop && Atomics.load(p.stop, 0) !== 0) { stats.iter = iter; stats.job = job; break; }
    if ((iter & 15) === 0 && iter !== p.startIter && now() >= p.deadline) { stats.iter = iter; stats.job = job; break; }
    cur.iter = iter + 1;
    const k = iter % states.length;
    const ts = states[k]!;
    const t = ts.t;
    const seed = `${p.seed}:${job}:${iter}`;
    const obs = observers[k]!;
    let scenario: Scenario;
    let result: RunResult;
    let fresh = p.engine === 'random';
    try {
      if (p.engine === 'random') {
        ({ scenario, result } = generateAndRun(seed, t.backend, t.variant, { maxEvents: p.maxEvents }, p.track ? obs : undefined));
      } else {
        // Iterations are dealt to targets in turn (k = iter mod T): the target's own count is
        // iter div T, and its m-th random run is the random engine's iteration m·T + k.
        const T = states.length;
        const m = freshRun(Math.floor(iter / T));
        let f: number | undefined;
        if (m >= 0 || ts.corpus.length === 0) {
          // (An empty corpus after the warm-up: no run reached any feature; draw afresh.)
          ({ scenario, result } = generateAndRun(m >= 0 ? `${p.seed}:${job}:${m * T + k}` : `${seed}:f`, t.backend, t.variant, { maxEvents: p.maxEvents }, obs));
          fresh = m >= 0;
        } else {
          // Resume from a rarely hit feature: replay its owner up to the event that first
          // reached it, then continue with the generator's choices (or mutate the owner).
          const rng = makeRng(`${seed}:f`);
          const n = ts.corpus.length;
          f = ts.sched.pick(ts.guide, (x) => ts.owner[x] !== undefined, rng);
          const base = f === undefined ? ts.corpus[Math.floor(rng() * n)]! : ts.owner[f]!;
          const at = f === undefined ? Math.floor(rng() * (base.scenario.events.length + 1)) : ts.ownerAt[f]! + 1;
          if (rng() < 0.65) {
            ({ scenario, result } = extendAndRun(rng, t.backend, t.variant, base.scenario, at, { maxEvents: p.maxEvents }, obs));
          } else {
            const other = ts.corpus[Math.floor(rng() * n)]!.scenario;
            scenario = mutate(rng, base.scenario, { maxEvents: p.maxEvents * 2, other });
            result = replayObserved(scenario, t.backend, t.variant, obs);
          }
          stats.mutants++;
        }
        const tr = obs.tracker!;
        if (f !== undefined) ts.sched.credit(f, tr.newFeats);
        admit(ts, scenario, tr);
        tr.commit();
      }
    } catch (err) {
      stats.errors++;
      stats.lastError = `${seed}: ${(err as Error).stack ?? String(err)}`.slice(0, 2000);
      stats.iter = iter + 1; stats.job = job;
      continue;
    }
    const pt = stats.perTarget[ts.key]!;
    stats.scenarios++; pt[0]++;
    stats.events += result.eventsRun; pt[1] += result.eventsRun;
    if (result.primary) { stats.divergent++; pt[2]++; }
    if (fresh) stats.fresh.runs[ts.key] = (stats.fresh.runs[ts.key] ?? 0) + 1;
    // Every root cause of the run counts (a documented deviation that comes first must not
    // hide a new one behind it); each new one is minimized until it is the run's first cause.
    for (const d of result.divergences) {
      stats.bySignature[d.signature] = (stats.bySignature[d.signature] ?? 0) + 1;
      if (fresh) stats.fresh.bySignature[d.signature] = (stats.fresh.bySignature[d.signature] ?? 0) + 1;
      p.onHit?.(d.signature, iter);
      const h = stats.hits[d.signature] ?? (stats.hits[d.signature] = { count: 0, seeds: [] });
      h.count++;
      const nk = kept.get(d.signature) ?? 0;
      if (nk < SEEDS_KEPT) { h.seeds.push(seed); kept.set(d.signature, nk + 1); }
      if (p.known.has(d.signature)) continue;
      const tries = attempts.get(d.signature) ?? 0;
      if (tries >= ISOLATE_TRIES) continue;
      attempts.set(d.signature, tries + 1);
      const c: Candidate = { signature: d.signature, cause: d.cause, target: ts.key, job, iter, seed, scenario };
      if (p.onCandidate) { p.onCandidate(c); continue; }
      const found = isolate(c, t, Number.isFinite(p.endIter));
      if (!found) continue;
      p.known.add(d.signature);
      onFinding({ signature: d.signature, job, iter, scenario: found });
    }
    stats.iter = iter + 1; stats.job = job;
    const tnow = now();
    if (tnow - lastProgress >= 1000) { lastProgress = tnow; fillCoverage(); onProgress(stats, handle); }
  }
  fillCoverage();
  onProgress(stats, handle);
  return stats;
}
