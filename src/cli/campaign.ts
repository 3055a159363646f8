// `irqdiff fuzz` campaign settings: budgets, workers, engine, and the resume rules of
// src/fuzz/state.ts (a matching run continues; --resume takes the saved settings; anything
// else into a directory holding a campaign is refused, naming the field).
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../backends/api.js';
import { parseDuration, type CampaignSummary } from '../fuzz/campaign.js';
import type { Engine } from '../fuzz/job.js';
import { mismatch, readState, STATE_FILE, type CampaignState } from '../fuzz/state.js';
import type { Target } from '../fuzz/targets.js';
import { DEFAULT_GEN } from '../gen/generator.js';
import { shown } from '../scenario/sanitize.js';
import { stepsOf } from '../coverage/steps.js';

export interface FuzzValues {
  backend?: string[];
  'backend-module'?: string[];
  time?: string;
  iterations?: string;
  seed?: string;
  out?: string;
  jobs?: string;
  workers?: string;
  'max-events'?: string;
  resume?: boolean;
  random?: boolean;
  guided?: boolean;
}

export interface Plan {
  filters: string[];
  modules: string[];
  seconds: number;
  iterations: number | undefined;
  workers: number;
  maxEvents: number;
  seed: string;
  out: string;
  engine: Engine;
  saved: CampaignState | undefined;
  resume: boolean;
}

/** Settings from the command line, completed by the saved campaign on --resume. */
export function planCampaign(v: FuzzValues, usage: (msg: string) => Error): Plan {
  const out = v.out ?? 'crashes';
  const saved = readState(out);
  const resume = v.resume === true;
  if (resume && !saved) throw usage(`fuzz: --resume: no campaign to resume in ${shown(out, 300)}/ (no ${STATE_FILE})`);
  const from = resume ? saved : undefined;
  let seconds = Infinity;
  if (v.time !== undefined) {
    try { seconds = parseDuration(v.time); } catch (err) { throw usage((err as Error).message); }
  }
  let iterations: number | undefined;
  if (v.iterations !== undefined) {
    iterations = Number(v.iterations);
    if (!Number.isInteger(iterations) || iterations < 1) throw usage('fuzz: --iterations must be a whole number ≥ 1');
  } else if (from?.iterations != null) iterations = from.iterations;
  if (v.time === undefined && iterations === undefined) seconds = 30;
  const w = v.workers ?? v.jobs;
  const workers = w === undefined ? from?.workers ?? Math.max(1, availableParallelism()) : Number(w);
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw usage('fuzz: --workers must be a whole number from 1 to 256');
  const me = v['max-events'];
  const maxEvents = me === undefined ? (from && from.maxEvents > 0 ? from.maxEvents : DEFAULT_GEN.maxEvents) : Number(me);
  if (!Number.isInteger(maxEvents) || maxEvents < 4 || maxEvents > 4000) throw usage('fuzz: --max-events must be from 4 to 4000');
  const filters = v.backend ?? (from && from.targets.length > 0 ? from.targets : []);
  const modules = v['backend-module'] ?? from?.modules ?? [];
  // Random is the default: the recorded rates of documented causes (rate jumps) were measured with the generator
  // alone, and guided search is not faster on every documented bug (docs/campaign-engine.md).
  if (v.random && v.guided) throw usage('fuzz: --random and --guided exclude each other');
  const engine: Engine = v.guided ? 'guided' : v.random ? 'random' : from ? from.engine : 'random';
  const seed = v.seed ?? from?.seed ?? '1';
  return { filters, modules, seconds, iterations, workers, maxEvents, seed, out, engine, saved, resume };
}

/** Refuse a run that does not match the campaign saved in its directory. */
export function checkResume(p: Plan, targets: Target[]): void {
  if (!p.saved) return;
  const e = mismatch(join(p.out, STATE_FILE), p.saved, {
    seed: p.seed, workers: p.workers, targets: targets.map((t) => `${t.backend.name}/${t.variant}`), engine: p.engine, maxEvents: p.maxEvents,
  });
  if (e) throw e;
}

/** The lines after a campaign's summary: how it stopped, and the coverage report. */
export function epilogue(s: CampaignSummary, p: Plan, backends: Backend[], coverage: boolean, out: (l: string) => void): void {
  const t = s.total;
  out(`campaign ${shown(p.out, 300)}/: ${t.execs} interleavings, ${t.events} events in ${(t.elapsedMs / 1000).toFixed(0)}s over all sessions, ${t.buckets} root causes (${p.engine}${s.mutants > 0 ? `, ${s.mutants} mutants this session` : ''})`);
  if (s.errors > 0) out(`warning: ${s.errors} interleavings failed in the engine (not a backend) and were skipped`);
  if (s.stopped) out(`stopped by ${s.stopped}: state saved; rerun with --resume (irqdiff fuzz --resume --out ${shown(p.out, 300)}) to continue`);
  if (!coverage) return;
  out('coverage (model-state transitions, distinct abstract states, hypervisor steps exercised / known):');
  for (const [k, c] of Object.entries(s.coverage)) {
    const name = k.split('/')[0]!;
    const all = stepsOf(backends.find((b) => b.name === name));
    const seen = Object.keys(c.steps);
    const never = all.filter((x) => !(x in c.steps));
    const known = new Set([...all, ...seen]).size;
    out(`  ${k.padEnd(28)} ${String(c.edges).padStart(6)} transitions ${String(c.states).padStart(6)} states  steps ${seen.length}/${known}  corpus ${c.corpus}`);
    if (never.length > 0) out(`  ${''.padEnd(28)} never exercised: ${shown(never.join(', '), 2000)}`);
  }
}
