// What travels through Redis: work units and minimization jobs (names of backends and
// seeds, never code), and their results. Everything read back from Redis is checked here
// before use: a queue is shared, and what is in it may have been put there by anyone who
// can reach the server.
import { createHash } from 'node:crypto';
import { parseScenario } from '../scenario/schema.js';
import type { Scenario } from '../scenario/types.js';

/** Iteration numbers of the interleavings that showed a root cause, kept per unit and per bucket. */
export const MAX_SEEDS_PER_HIT = 3;
export const MAX_BUCKET_SEEDS = 20;
/** Result of one job, as stored (a minimized reproducer is at most a few KiB; 4 MiB is the scenario bound). */
export const MAX_RESULT_BYTES = 5 * 1024 * 1024;
const MAX_UNIT = 1_000_000;
const SPEC = /^[a-z0-9_-]{1,64}\/[A-Za-z0-9_.+-]{1,64}$/;
const SIGNATURE = /^[a-z0-9_-]{1,64}\/[A-Za-z0-9_.+-]{1,64}:[\x21-\x7e]{1,400}$/;
const HEX = /^[0-9a-f]{16,64}$/;

export interface UnitData {
  kind: 'unit';
  id: string;
  campaign: string;
  /** Hash of the model code that made the unit (see model.ts). */
  model: string;
  seed: string;
  stream: number;
  target: string;
  first: number;
  stride: number;
  count: number;
  maxEvents: number;
}

export interface MinimizeData {
  kind: 'minimize';
  id: string;
  campaign: string;
  model: string;
  target: string;
  signature: string;
  /** Which try for this root cause (0, 1, 2: as the local engine, three interleavings at most). */
  attempt: number;
  seed: string;
  stream: number;
  iter: number;
  maxEvents: number;
}

export type JobData = UnitData | MinimizeData;

export interface UnitResult {
  kind: 'unit';
  id: string;
  target: string;
  scenarios: number;
  events: number;
  divergent: number;
  /** Per root cause: interleavings that showed it, and the first few iteration numbers. */
  hits: Record<string, { count: number; seeds: number[] }>;
  /** Who ran it ("host:pid"), filled by the worker. */
  worker?: string;
  ms?: number;
}

export interface MinimizeResult {
  kind: 'minimize';
  id: string;
  signature: string;
  attempt: number;
  ok: boolean;
  why?: string;
  scenario?: Scenario;
  worker?: string;
  ms?: number;
}

export type JobResult = UnitResult | MinimizeResult;

const h = (...parts: (string | number)[]): string => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 24);

/** A campaign is its seed, variants, unit size, generator bound and model: the same ones are the same campaign. */
export function campaignId(model: string, seed: string, targets: string[], unitSize: number, maxEvents: number): string {
  return h('campaign', model, seed, targets.join(','), unitSize, maxEvents);
}

/** Idempotent job ids: adding the same unit twice is a no-op in BullMQ. */
export const unitId = (campaign: string, target: string, k: number): string => `u-${h(campaign, target, k)}`;
export const minimizeId = (campaign: string, signature: string, attempt: number): string => `m-${h(campaign, signature)}-${attempt}`;

export class ProtocolError extends Error {}

type Obj = Record<string, unknown>;

function field<T>(o: Obj, where: string, name: string, ok: (v: unknown) => v is T, what: string): T {
  const v = o[name];
  if (!ok(v)) throw new ProtocolError(`${where}: field '${name}': expected ${what}`);
  return v;
}
const isStr = (re: RegExp) => (v: unknown): v is string => typeof v === 'string' && re.test(v);
const isInt = (lo: number, hi: number) => (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= lo && (v as number) <= hi;
const isSeed = isStr(/^[\x20-\x7e]{0,200}$/);

function asObj(v: unknown, where: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError(`${where}: expected an object`);
  return v as Obj;
}

/** A job taken from the queue, checked field by field (where: names the job in errors). */
export function checkJobData(v: unknown, where: string): JobData {
  const o = asObj(v, where);
  const kind = o.kind;
  const common = {
    id: field(o, where, 'id', isStr(/^[um]-[0-9a-f]{24}(-[0-2])?$/), 'a unit or minimize job id'),
    campaign: field(o, where, 'campaign', isStr(HEX), 'a campaign id'),
    model: field(o, where, 'model', isStr(HEX), 'a model hash'),
    seed: field(o, where, 'seed', isSeed, 'printable text of at most 200 characters'),
    stream: field(o, where, 'stream', isInt(0, 4096), 'a stream number from 0 to 4096'),
    target: field(o, where, 'target', isStr(SPEC), '"backend/variant"'),
    maxEvents: field(o, where, 'maxEvents', isInt(4, 4000), 'a number from 4 to 4000'),
  };
  if (kind === 'unit') {
    return {
      kind, ...common,
      first: field(o, where, 'first', isInt(0, Number.MAX_SAFE_INTEGER / 2), 'an iteration number'),
      stride: field(o, where, 'stride', isInt(1, 10_000), 'a stride from 1 to 10000'),
      count: field(o, where, 'count', isInt(1, MAX_UNIT), `a count from 1 to ${MAX_UNIT}`),
    };
  }
  if (kind === 'minimize') {
    return {
      kind, ...common,
      signature: field(o, where, 'signature', isStr(SIGNATURE), 'a root-cause signature'),
      attempt: field(o, where, 'attempt', isInt(0, 2), '0, 1 or 2'),
      iter: field(o, where, 'iter', isInt(0, Number.MAX_SAFE_INTEGER), 'an iteration number'),
    };
  }
  throw new ProtocolError(`${where}: field 'kind': expected "unit" or "minimize"`);
}

/** A result read back from Redis: bounded, parsed, checked; a reproducer goes through the scenario loader. */
export function checkResult(text: string, where: string): JobResult {
  if (text.length > MAX_RESULT_BYTES) throw new ProtocolError(`${where}: result too large (${text.length} bytes)`);
  let v: unknown;
  try { v = JSON.parse(text); } catch { throw new ProtocolError(`${where}: result is not JSON`); }
  const o = asObj(v, where);
  const worker = o.worker === undefined ? undefined : field(o, where, 'worker', isStr(/^[\x20-\x7e]{1,200}$/), 'host:pid');
  const ms = o.ms === undefined ? undefined : field(o, where, 'ms', isInt(0, 1e12), 'milliseconds');
  const id = field(o, where, 'id', isStr(/^[um]-[0-9a-f]{24}(-[0-2])?$/), 'a job id');
  if (o.kind === 'unit') {
    const hitsIn = asObj(o.hits, `${where}.hits`);
    const hits: UnitResult['hits'] = {};
    const keys = Object.keys(hitsIn);
    if (keys.length > 10_000) throw new ProtocolError(`${where}: field 'hits': too many root causes`);
    for (const sig of keys) {
      if (!SIGNATURE.test(sig)) throw new ProtocolError(`${where}: field 'hits': bad signature`);
      const e = asObj(hitsIn[sig], `${where}.hits`);
      const seeds = e.seeds;
      if (!Array.isArray(seeds) || seeds.length > MAX_SEEDS_PER_HIT || !seeds.every(isInt(0, Number.MAX_SAFE_INTEGER))) {
        throw new ProtocolError(`${where}: field 'hits.seeds': expected at most ${MAX_SEEDS_PER_HIT} iteration numbers`);
      }
      hits[sig] = { count: field(e, `${where}.hits`, 'count', isInt(1, MAX_UNIT), 'a count'), seeds: seeds as number[] };
    }
    return {
      kind: 'unit', id, worker, ms, hits,
      target: field(o, where, 'target', isStr(SPEC), '"backend/variant"'),
      scenarios: field(o, where, 'scenarios', isInt(0, MAX_UNIT), 'a count'),
      events: field(o, where, 'events', isInt(0, Number.MAX_SAFE_INTEGER), 'a count'),
      divergent: field(o, where, 'divergent', isInt(0, MAX_UNIT), 'a count'),
    };
  }
  if (o.kind === 'minimize') {
    const ok = field(o, where, 'ok', (x): x is boolean => typeof x === 'boolean', 'true or false');
    const scenario = ok ? parseScenario(JSON.stringify(o.scenario ?? null), `${where}.scenario`) : undefined;
    return {
      kind: 'minimize', id, worker, ms, ok, scenario,
      signature: field(o, where, 'signature', isStr(SIGNATURE), 'a root-cause signature'),
      attempt: field(o, where, 'attempt', isInt(0, 2), '0, 1 or 2'),
      why: o.why === undefined ? undefined : field(o, where, 'why', isStr(/^[\s\S]{0,500}$/), 'text'),
    };
  }
  throw new ProtocolError(`${where}: field 'kind': expected "unit" or "minimize"`);
}

/**
 * The units of row `row`: for variant ti of n, interleavings i ≡ ti (mod n) in
 * [row·U·n, (row+1)·U·n), below `iterations` when the campaign has that budget. Rows
 * 0..r-1 together run exactly the seeds of the first r·U·n interleavings of local job 0.
 */
export function rowUnits(campaign: string, model: string, seed: string, specs: readonly string[], U: number, maxEvents: number, iterations: number | undefined, row: number): UnitData[] {
  const n = specs.length;
  const out: UnitData[] = [];
  specs.forEach((target, ti) => {
    let count = U;
    if (iterations !== undefined) count = Math.min(U, Math.ceil((iterations - ti) / n) - row * U);
    if (count <= 0) return;
    out.push({ kind: 'unit', id: unitId(campaign, target, row), campaign, model, seed, stream: 0, target, first: ti + n * row * U, stride: n, count, maxEvents });
  });
  return out;
}
