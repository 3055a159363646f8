// Turning one occurrence of a new root cause into a finding: minimize the interleaving until
// the cause is its first, check that the minimized run still names it, and describe it. Used
// by a job running alone (benchmarks) and by the campaign's parent, which isolates each cause
// once for all workers (the workers only report where they saw it).
import type { Target } from './targets.js';
import { runScenario } from '../engine/session.js';
import { minimize } from '../minimizer/minimize.js';
import type { Finding, Scenario } from '../scenario/types.js';

/** One occurrence of a root cause the job did not know: what the parent needs to isolate it. */
export interface Candidate {
  signature: string;
  cause: string;
  /** "backend/variant". */
  target: string;
  job: number;
  iter: number;
  /** "<seed>:<job>:<iter>". */
  seed: string;
  scenario: Scenario;
}

/** Occurrences of one cause tried before giving up on isolating it. */
export const ISOLATE_TRIES = 3;

/**
 * The minimized reproducer of `c`, or undefined when the minimized run no longer shows the
 * cause first. Deterministic: the same candidate gives the same bytes (no clock when
 * `iterationBudget`).
 */
export function isolate(c: Candidate, t: Target, iterationBudget: boolean): Scenario | undefined {
  let start = c.scenario;
  // A cause seen only behind an earlier one: shrink while it is among the causes first; what
  // the earlier cause needed is usually dropped, and the cause becomes the run's first.
  let first: string | undefined;
  try { first = runScenario(start, t.backend, t.variant).primary?.signature; } catch { return undefined; }
  if (first !== c.signature) start = minimize(start, t.backend, t.variant, c.signature, 4000, true).scenario;
  const min = minimize(start, t.backend, t.variant, c.signature);
  let replay;
  try { replay = runScenario(min.scenario, t.backend, t.variant).primary; } catch { return undefined; }
  if (replay?.signature !== c.signature) return undefined; // could not isolate it (yet)
  const found: Finding = {
    backend: t.backend.name, variant: t.variant, signature: c.signature,
    message: replay.message, // names vectors and vCPUs of the minimized run
    symptoms: replay.symptoms,
    seed: c.seed, originalEvents: c.scenario.events.length,
    // With an iteration budget the reproducer is byte-identical run to run: no clock in it.
    foundAt: iterationBudget ? `iteration ${c.iter} of job ${c.job}` : new Date().toISOString(),
  };
  return { ...min.scenario, name: `${c.cause} on ${c.target}`, found, expect: { [c.target]: { signature: c.signature } } };
}
