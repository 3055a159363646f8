// The campaign's resume point: <out>/campaign.json. What identifies a campaign (seed, worker
// count, targets, engine, event bound) is fixed at its start; a run into the same directory
// with other settings either resumes that campaign (--resume takes the saved settings) or is
// refused with a message naming the field — a resume point is never silently discarded.
// Budgets (--time, --iterations) are not identity: a resumed campaign may get more.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ScenarioError } from '../scenario/error.js';
import type { Engine } from './job.js';

export const STATE_FILE = 'campaign.json';
const MAX_STATE_BYTES = 64 << 20;

export interface Bucket {
  /** "<class>:<tag>". */
  cause: string;
  /** "backend/variant". */
  target: string;
  /** Minimized reproducer, relative to the campaign directory ('' until one is isolated). */
  reproducer: string;
  /** Interleavings that showed the cause, over the whole campaign. */
  count: number;
  firstSeen: string;
  lastSeen: string;
  /** The first iterations ("<seed>:<job>:<iter>") that hit it, a few per session. */
  seeds: string[];
}

export interface CampaignState {
  version: 2;
  seed: string;
  /** Worker threads (the old name `jobs` is kept too, for readers of version 1). */
  workers: number;
  jobs: number;
  targets: string[];
  modules: string[];
  engine: Engine;
  maxEvents: number;
  /** Iteration budget of the campaign, if it has one (total over workers). */
  iterations: number | null;
  /** Next iteration of each worker. */
  iters: number[];
  execs: number;
  events: number;
  divergent: number;
  /** Wall time spent over all sessions. */
  elapsedMs: number;
  sessions: number;
  startedAt: string;
  updatedAt: string;
  buckets: Record<string, Bucket>;
}

export interface Identity {
  seed: string;
  workers: number;
  targets: string[];
  engine: Engine;
  maxEvents: number;
}

const isStr = (x: unknown): x is string => typeof x === 'string';
const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** The saved state, or undefined if there is none. A state that cannot be read is an error, never a fresh start. */
export function readState(out: string): CampaignState | undefined {
  const file = join(out, STATE_FILE);
  if (!existsSync(file)) return undefined;
  const bad = (field: string, what: string): never => {
    throw new ScenarioError(file, field, `${what}; this is a campaign's resume point, left untouched: move it away to start a new campaign in this directory, or use another --out`);
  };
  let raw: unknown;
  try {
    if (statSync(file).size > MAX_STATE_BYTES) bad('', 'too large');
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if (err instanceof ScenarioError) throw err;
    return bad('', `cannot read: ${(err as Error).message}`);
  }
  const s = raw as Partial<CampaignState> & Record<string, unknown>;
  if (!s || typeof s !== 'object') return bad('', 'not a JSON object');
  if (!isStr(s.seed)) bad('$.seed', 'must be a string');
  const workers = s.workers ?? s.jobs;
  if (!isInt(workers) || workers < 1) bad('$.workers', 'must be a whole number ≥ 1');
  if (!Array.isArray(s.iters) || s.iters.length !== workers || !s.iters.every(isInt)) bad('$.iters', `must be ${String(workers)} whole numbers`);
  // Version 1 (before this engine): seed, jobs and iters only; it resumes as what it was.
  const v1 = s.version === undefined;
  if (!v1) {
    if (!Array.isArray(s.targets) || !s.targets.every(isStr)) bad('$.targets', 'must be a list of "backend/variant"');
    if (s.engine !== 'guided' && s.engine !== 'random') bad('$.engine', "must be 'guided' or 'random'");
    if (!isInt(s.maxEvents)) bad('$.maxEvents', 'must be a whole number');
    if (s.buckets === undefined || typeof s.buckets !== 'object') bad('$.buckets', 'must be an object');
  }
  return {
    version: 2, seed: s.seed!, workers: workers!, jobs: workers!, targets: v1 ? [] : s.targets!, modules: Array.isArray(s.modules) ? s.modules.filter(isStr) : [],
    engine: v1 ? 'random' : s.engine!, maxEvents: v1 ? 0 : s.maxEvents!, iterations: isInt(s.iterations) ? s.iterations : null,
    iters: s.iters!, execs: isInt(s.execs) ? s.execs : 0, events: isInt(s.events) ? s.events : 0, divergent: isInt(s.divergent) ? s.divergent : 0,
    elapsedMs: isInt(s.elapsedMs) ? s.elapsedMs : 0, sessions: isInt(s.sessions) ? s.sessions : 0,
    startedAt: isStr(s.startedAt) ? s.startedAt : '', updatedAt: isStr(s.updatedAt) ? s.updatedAt : '',
    buckets: (v1 ? {} : s.buckets) as Record<string, Bucket>,
  };
}

/** Why `want` cannot continue `saved` (field and message), or null. v1 states know only seed and workers. */
export function mismatch(file: string, saved: CampaignState, want: Identity): ScenarioError | null {
  const v1 = saved.targets.length === 0;
  const diffs: [string, string, string][] = [];
  if (saved.seed !== want.seed) diffs.push(['$.seed', saved.seed, want.seed]);
  if (saved.workers !== want.workers) diffs.push(['$.workers', String(saved.workers), String(want.workers)]);
  if (!v1) {
    if (saved.targets.join(',') !== want.targets.join(',')) diffs.push(['$.targets', saved.targets.join(' '), want.targets.join(' ')]);
    if (saved.engine !== want.engine) diffs.push(['$.engine', saved.engine, want.engine]);
    if (saved.maxEvents !== want.maxEvents) diffs.push(['$.maxEvents', String(saved.maxEvents), String(want.maxEvents)]);
  }
  if (diffs.length === 0) return null;
  const [field, was, now] = diffs[0]!;
  const more = diffs.length > 1 ? ` (and ${diffs.slice(1).map((d) => d[0].slice(2)).join(', ')})` : '';
  return new ScenarioError(file, field,
    `this directory holds a campaign with ${field.slice(2)} ${was}, not ${now}${more}; rerun with --resume to continue it with its own settings, or use another --out for a new campaign (nothing was changed)`);
}

/** Iterations of worker `job` under a total budget, split as evenly as possible. */
export function share(total: number, workers: number, job: number): number {
  return Math.floor(total / workers) + (job < total % workers ? 1 : 0);
}
