// Equivalence check of the generator: one SHA-256 over everything it generates for a variant
// (scenario JSON) and what the run gives (result JSON: divergences with signatures, counts).
// Two builds of the generator that give the same digest for the same seeds are equivalent on
// them; any change to what is drawn, in what order, or to an event's JSON (key order included)
// changes it. Covers both entry points the campaign uses: generateAndRun (random and guided
// engines) and extendAndRun from a makeRng stream (guided).
import { createHash } from 'node:crypto';
import type { Backend } from '../backends/api.js';
import { DEFAULT_GEN, extendAndRun, generateAndRun, makeRng } from './generator.js';

export interface VariantDigest {
  /** SHA-256 (hex) over the generated scenarios and their results, in seed order. */
  digest: string;
  interleavings: number;
  events: number;
}

/**
 * Seeds `${prefix}:${i}` for i < seeds, through generateAndRun; then, for every 4th seed, an
 * extension of interleaving i cut where a makeRng(`${prefix}-x:${i}`) stream says.
 */
export function variantDigest(backend: Backend, variant: string, seeds: number, prefix = 'gd'): VariantDigest {
  const h = createHash('sha256');
  let events = 0;
  let interleavings = 0;
  for (let i = 0; i < seeds; i++) {
    const g = generateAndRun(`${prefix}:${i}`, backend, variant);
    h.update(JSON.stringify(g.scenario)); h.update('\n');
    h.update(JSON.stringify(g.result)); h.update('\n');
    events += g.result.eventsRun;
    interleavings++;
    if ((i & 3) !== 0) continue;
    const rng = makeRng(`${prefix}-x:${i}`);
    const base = g.scenario;
    const x = extendAndRun(rng, backend, variant, base, Math.floor(rng() * (base.events.length + 1)), DEFAULT_GEN);
    h.update(JSON.stringify(x.scenario)); h.update('\n');
    h.update(JSON.stringify(x.result)); h.update('\n');
    events += x.result.eventsRun;
    interleavings++;
  }
  return { digest: h.digest('hex'), interleavings, events };
}

/** The digest of a list of per-variant digests (in order). */
export function totalDigest(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) { h.update(p); h.update('\n'); }
  return h.digest('hex');
}
