// The guided engine's choice of where to resume: a covered guide feature that has an owner,
// drawn with weight energy / hits². hits² prefers rarely reached states (session 8); energy
// (session 10, AFL's power schedules in spirit; off by default, see ENERGY) is a per-feature
// level that rises when a resumption from the feature found guide features no run had hit and
// falls after resumptions that found none, bounded both ways. Counts only: deterministic.
import type { Guide } from '../coverage/coverage.js';

/** The energy schedule's bounds and steps (counts of resumptions, never time). */
export interface EnergyParams {
  /** Level bounds: a feature's weight is multiplied by 2^level. */
  lmax: number;
  lmin: number;
  /** Fruitless resumptions (since the level last changed) that lower the level by one. */
  fruitless: number;
  /** Levels a fruitful resumption adds. */
  step: number;
}

/**
 * The candidate measured in session 10 (docs/campaign-engine.md): up to 2^16 lets a feature whose
 * resumptions keep finding new ones outweigh ~256 hits (1/hits²); down to 2^-4 after repeated dry
 * resumptions. Not the default: better than 1/hits² on main d6af867's generator, worse on 81322bf's
 * (10-seed find table, both measured). Tried and dropped: (16, 0, 8, +2), (10, -10, 2, +1).
 */
export const ENERGY: EnergyParams = { lmax: 16, lmin: -4, fruitless: 4, step: 1 };
/** No energy, the default: weight 1/hits² exactly, the session-8 schedule (same draws for the same seed). */
export const ENERGY_OFF: EnergyParams = { lmax: 0, lmin: 0, fruitless: 1, step: 0 };

export class Schedule {
  /** Per feature: its energy level, and fruitless resumptions since it last changed. */
  private readonly level: Int8Array;
  private readonly dry: Uint16Array;
  constructor(size: number, readonly p: EnergyParams = ENERGY_OFF) {
    this.level = new Int8Array(size);
    this.dry = new Uint16Array(size);
  }

  private weight(f: number, hits: number): number { return 2 ** this.level[f]! / (hits * hits); }

  /**
   * A covered feature with an owner (`owned(f)`), drawn with weight 2^level / hits²;
   * undefined when no covered feature has one.
   */
  pick(guide: Guide, owned: (f: number) => boolean, rng: () => number): number | undefined {
    const cov = guide.covered, hits = guide.hits;
    let sum = 0;
    for (const f of cov) if (owned(f)) sum += this.weight(f, hits[f]!);
    if (sum === 0) return undefined;
    let x = rng() * sum;
    let last: number | undefined;
    for (const f of cov) {
      if (!owned(f)) continue;
      x -= this.weight(f, hits[f]!);
      last = f;
      if (x < 0) return f;
    }
    return last;
  }

  /** A resumption from `f` found `gained` features no run had hit. */
  credit(f: number, gained: number): void {
    const p = this.p;
    if (gained > 0) { this.level[f] = Math.min(p.lmax, this.level[f]! + p.step); this.dry[f] = 0; return; }
    if (++this.dry[f]! >= p.fruitless) { this.level[f] = Math.max(p.lmin, this.level[f]! - 1); this.dry[f] = 0; }
  }
}
