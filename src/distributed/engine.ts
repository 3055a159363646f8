// The one door from distributed campaigns into today's local engine (generator, minimizer,
// store, classification). Everything src/distributed needs from src/fuzz, src/gen and
// src/minimizer comes through here, so a rewrite of the local engine changes one file.
import type { Backend } from '../backends/api.js';
import { runScenario } from '../engine/session.js';
import { generateAndRun } from '../gen/generator.js';
import { minimize } from '../minimizer/minimize.js';
import type { Finding, Scenario } from '../scenario/types.js';
import { resolveTargets, type Target } from '../fuzz/targets.js';
import type { MinimizeData, MinimizeResult, UnitData, UnitResult } from './protocol.js';
import { MAX_SEEDS_PER_HIT } from './protocol.js';

export { resolveTargets, TargetError, type Target } from '../fuzz/targets.js';
export { classify, CLASS_LABEL, type Class } from '../fuzz/classify.js';
export { rateAlarms, runsOf } from '../fuzz/rates.js';
export { parseDuration } from '../fuzz/campaign.js';
export { DEFAULT_GEN } from '../gen/generator.js';
export { corpusSignatures } from '../store/corpus.js';
export { checkWritableDir, crashPath, loadKnown, scenarioText, writeAtomic } from '../store/files.js';

/** The seed string of interleaving `iter` of stream `stream`: the local engine's "<seed>:<job>:<iter>". */
export const scenarioSeed = (seed: string, stream: number, iter: number): string => `${seed}:${stream}:${iter}`;

export function findTarget(backends: Backend[], spec: string): Target {
  return resolveTargets(backends, [spec])[0]!;
}

/**
 * Run one work unit: interleavings first, first+stride, ... of one stream on one variant.
 * With stride = the campaign's number of variants and first = the variant's index (plus a
 * multiple of stride), the units of all variants together run exactly the seeds that local
 * job `stream` runs (there, interleaving i goes to variant i mod n).
 */
export function runUnit(backends: Backend[], u: UnitData): UnitResult {
  const t = findTarget(backends, u.target);
  const r: UnitResult = { kind: 'unit', id: u.id, target: u.target, scenarios: 0, events: 0, divergent: 0, hits: {} };
  for (let m = 0; m < u.count; m++) {
    const iter = u.first + m * u.stride;
    const seed = scenarioSeed(u.seed, u.stream, iter);
    const { result } = generateAndRun(seed, t.backend, t.variant, { maxEvents: u.maxEvents });
    r.scenarios++;
    r.events += result.eventsRun;
    if (result.primary) r.divergent++;
    // Every root cause of the run counts, as in the local engine (a documented deviation
    // that comes first must not hide a new one behind it).
    for (const d of result.divergences) {
      const h = r.hits[d.signature] ?? (r.hits[d.signature] = { count: 0, seeds: [] });
      h.count++;
      if (h.seeds.length < MAX_SEEDS_PER_HIT) h.seeds.push(iter);
    }
  }
  return r;
}

/**
 * Minimize one root cause from the interleaving that showed it, as the local engine does:
 * kept only if the minimized scenario's first cause is that root cause.
 */
export function minimizeFinding(backends: Backend[], m: MinimizeData, foundAt: string): MinimizeResult {
  const t = findTarget(backends, m.target);
  const seed = scenarioSeed(m.seed, m.stream, m.iter);
  const { scenario, result } = generateAndRun(seed, t.backend, t.variant, { maxEvents: m.maxEvents });
  const base: MinimizeResult = { kind: 'minimize', id: m.id, signature: m.signature, attempt: m.attempt, ok: false };
  if (!result.divergences.some((d) => d.signature === m.signature)) return { ...base, why: `seed ${seed} does not show it on this worker's model` };
  const min = minimize(scenario, t.backend, t.variant, m.signature);
  const replay = runScenario(min.scenario, t.backend, t.variant).primary;
  if (replay?.signature !== m.signature) return { ...base, why: 'could not isolate it as the first cause' };
  const key = `${t.backend.name}/${t.variant}`;
  const cause = m.signature.slice(m.signature.indexOf(':') + 1);
  const found: Finding = {
    backend: t.backend.name, variant: t.variant, signature: m.signature,
    message: replay.message, symptoms: replay.symptoms,
    seed, originalEvents: scenario.events.length, foundAt,
  };
  const s: Scenario = { ...min.scenario, name: `${cause} on ${key}`, found, expect: { [key]: { signature: m.signature } } };
  return { ...base, ok: true, scenario: s };
}
