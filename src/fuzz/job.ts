// One fuzzing job: a deterministic stream of interleavings (scenario i of job j is
// generated from the seed "<seed>:<j>:<i>", so a campaign resumes exactly where it
// stopped), judged, and each signature new to this job minimized.
import { runScenario } from '../engine/session.js';
import { generateAndRun } from '../gen/generator.js';
import { minimize } from '../minimizer/minimize.js';
import type { Finding, Scenario } from '../scenario/types.js';
import type { Target } from './targets.js';

export interface JobParams {
  seed: string;
  job: number;
  startIter: number;
  deadline: number;
  maxEvents: number;
  /** Signatures already known (found earlier, or in crashes/): not minimized again. */
  known: Set<string>;
}

export interface JobFinding {
  scenario: Scenario;
  signature: string;
}

export interface JobStats {
  iter: number;
  scenarios: number;
  events: number;
  divergent: number;
  /** Per "backend/variant": [scenarios, events, divergent]. */
  perTarget: Record<string, [number, number, number]>;
  /** Interleavings that showed this root cause (first in the run or not). */
  bySignature: Record<string, number>;
}

export function runJob(targets: Target[], p: JobParams, onFinding: (f: JobFinding) => void, onProgress: (s: JobStats) => void, now: () => number): JobStats {
  const stats: JobStats = { iter: p.startIter, scenarios: 0, events: 0, divergent: 0, perTarget: {}, bySignature: {} };
  for (const t of targets) stats.perTarget[`${t.backend.name}/${t.variant}`] = [0, 0, 0];
  let lastProgress = now();
  const attempts = new Map<string, number>();
  for (let iter = p.startIter; ; iter++) {
    if ((iter & 15) === 0 && iter !== p.startIter && now() >= p.deadline) { stats.iter = iter; break; }
    const t = targets[iter % targets.length]!;
    const seed = `${p.seed}:${p.job}:${iter}`;
    const { scenario, result } = generateAndRun(seed, t.backend, t.variant, { maxEvents: p.maxEvents });
    const key = `${t.backend.name}/${t.variant}`;
    const pt = stats.perTarget[key]!;
    stats.scenarios++; pt[0]++;
    stats.events += result.eventsRun; pt[1] += result.eventsRun;
    if (result.primary) { stats.divergent++; pt[2]++; }
    // Every root cause of the run counts (a documented deviation that comes first must not
    // hide a new one behind it); each new one is minimized until it is the run's first cause.
    for (const d of result.divergences) {
      stats.bySignature[d.signature] = (stats.bySignature[d.signature] ?? 0) + 1;
      if (p.known.has(d.signature)) continue;
      const tries = attempts.get(d.signature) ?? 0;
      if (tries >= 3) continue;
      attempts.set(d.signature, tries + 1);
      const min = minimize(scenario, t.backend, t.variant, d.signature);
      const replay = runScenario(min.scenario, t.backend, t.variant).primary;
      if (replay?.signature !== d.signature) continue; // could not isolate it (yet)
      p.known.add(d.signature);
      const found: Finding = {
        backend: t.backend.name, variant: t.variant, signature: d.signature,
        message: replay.message, // names vectors and vCPUs of the minimized run
        symptoms: replay.symptoms,
        seed, originalEvents: scenario.events.length, foundAt: new Date().toISOString(),
      };
      onFinding({
        signature: d.signature,
        scenario: { ...min.scenario, name: `${d.cause} on ${key}`, found, expect: { [key]: { signature: d.signature } } },
      });
    }
    stats.iter = iter + 1;
    const tnow = now();
    if (tnow - lastProgress >= 1000) { lastProgress = tnow; onProgress(stats); }
  }
  onProgress(stats);
  return stats;
}
