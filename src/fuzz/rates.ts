// Documented is not invisible: each documented cause carries its usual rate on its variant
// (the fraction of interleavings that show it, measured with the default generator and
// recorded with the variant). A campaign that sees a documented cause far more often than
// that is told so: a new mechanism may be producing the same symptom under the same tag.
import type { Backend } from '../backends/api.js';
import { parseSignature } from '../oracle/divergence.js';
import { docFor, variantOf } from './classify.js';

export interface RateAlarm {
  signature: string;
  /** Interleavings of the variant that showed the cause. */
  observed: number;
  /** Interleavings of the variant in the campaign. */
  runs: number;
  /** The recorded rate (fraction of interleavings). */
  recorded: number;
  /** observed / expected. */
  ratio: number;
}

/** How far above the recorded rate counts as a jump, and how sure we must be. */
const MIN_RATIO = 5;
const MIN_OBSERVED = 20;
const LOG_P = Math.log(1e-9);

/** Chernoff bound on log P(X >= k) for X ~ Poisson(lambda), k > lambda. */
function logPoissonTail(k: number, lambda: number): number {
  if (k <= lambda) return 0;
  return -lambda + k * (1 + Math.log(lambda) - Math.log(k));
}

/**
 * `bySignature` and `runs` (interleavings per "backend/variant") must count the generator's own runs alone: the
 * recorded rates were measured with it (a guided campaign passes its freshRun counts, CampaignSummary.fresh).
 */
export function rateAlarms(
  backends: readonly Backend[],
  bySignature: Readonly<Record<string, number>>,
  runsPerTarget: Readonly<Record<string, number>>,
): RateAlarm[] {
  const out: RateAlarm[] = [];
  for (const [sig, k] of Object.entries(bySignature)) {
    const d = docFor(backends, sig);
    const p = parseSignature(sig);
    if (!d || !p || d.doc.rate === undefined) continue;
    const runs = runsPerTarget[`${p.backend}/${p.variant}`] ?? 0;
    if (runs === 0) continue;
    const sample = variantOf(backends, p.backend, p.variant)?.ratesSample ?? 0;
    // A cause seen rarely in the calibration sample is only known to be below ~3/sample.
    const rate = Math.max(d.doc.rate, sample > 0 ? 3 / sample : 0, 1e-7);
    const lambda = runs * rate;
    if (k < MIN_OBSERVED || k < MIN_RATIO * lambda) continue;
    if (logPoissonTail(k, lambda) > LOG_P) continue;
    out.push({ signature: sig, observed: k, runs, recorded: d.doc.rate, ratio: k / lambda });
  }
  return out.sort((a, b) => b.ratio - a.ratio);
}

/** Interleavings per target from per-target [interleavings, events, divergent] counts (a random campaign's). */
export function runsOf(perTarget: Readonly<Record<string, readonly [number, number, number]>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(perTarget)) out[k] = v[0];
  return out;
}
