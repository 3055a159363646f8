// The coordinator's merge: unit results and minimizations folded into buckets (one per
// root cause, with the workers and seeds that hit it). Each job id is merged once however
// often its result is logged (at-least-once delivery), so the merge is idempotent and a
// restarted coordinator rebuilds the same state by reading the log from the start.
import { MAX_BUCKET_SEEDS, type MinimizeResult, type UnitResult } from './protocol.js';

export interface Bucket {
  signature: string;
  target: string;
  /** Interleavings that showed this root cause. */
  count: number;
  workers: Set<string>;
  /** Lowest iteration numbers that showed it (sorted, at most MAX_BUCKET_SEEDS). */
  seeds: number[];
  /** Minimization: the try in flight or done, and how it ended. */
  attempt: number;
  state: 'none' | 'queued' | 'failed' | 'done';
}

export class Merge {
  readonly merged = new Set<string>();
  readonly buckets = new Map<string, Bucket>();
  readonly perTarget: Record<string, [number, number, number]> = {};
  readonly bySignature: Record<string, number> = {};
  scenarios = 0;
  events = 0;
  divergent = 0;
  units = 0;
  unitMs = 0;
  readonly workers = new Map<string, number>();

  /** Returns false when this job id was merged already. */
  unit(r: UnitResult): boolean {
    if (this.merged.has(r.id)) return false;
    this.merged.add(r.id);
    this.units++;
    this.unitMs += r.ms ?? 0;
    this.scenarios += r.scenarios; this.events += r.events; this.divergent += r.divergent;
    const pt = this.perTarget[r.target] ?? (this.perTarget[r.target] = [0, 0, 0]);
    pt[0] += r.scenarios; pt[1] += r.events; pt[2] += r.divergent;
    if (r.worker) this.workers.set(r.worker, (this.workers.get(r.worker) ?? 0) + 1);
    for (const [sig, h] of Object.entries(r.hits)) {
      this.bySignature[sig] = (this.bySignature[sig] ?? 0) + h.count;
      let b = this.buckets.get(sig);
      if (!b) { b = { signature: sig, target: r.target, count: 0, workers: new Set(), seeds: [], attempt: 0, state: 'none' }; this.buckets.set(sig, b); }
      b.count += h.count;
      if (r.worker) b.workers.add(r.worker);
      b.seeds = mergeSeeds(b.seeds, h.seeds);
    }
    return true;
  }

  /** Returns false when this job id was merged already. */
  minimize(r: MinimizeResult): boolean {
    if (this.merged.has(r.id)) return false;
    this.merged.add(r.id);
    const b = this.buckets.get(r.signature);
    if (b && r.attempt >= b.attempt) {
      b.attempt = r.attempt;
      b.state = r.ok ? 'done' : 'failed';
    }
    return true;
  }
}

function mergeSeeds(a: number[], b: number[]): number[] {
  const s = new Set(a);
  for (const x of b) s.add(x);
  return [...s].sort((x, y) => x - y).slice(0, MAX_BUCKET_SEEDS);
}
