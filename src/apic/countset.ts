// A multiset of vectors: a bitmap for "at least one" plus a small overflow map for counts
// above one (rare). Small and on the JS heap, so a run of the oracle allocates no off-heap
// memory for it (256-entry typed arrays per vCPU made garbage collection dominate).
import { vecSet, vsAdd, vsDel, vsEmpty, vsHas, type VecSet } from './vecset.js';

export class CountSet {
  readonly bits: VecSet = vecSet();
  private more: Map<number, number> | null = null;
  /** Total count over all vectors. */
  total = 0;

  count(v: number): number {
    if (!vsHas(this.bits, v)) return 0;
    return 1 + (this.more?.get(v) ?? 0);
  }

  add(v: number, n = 1): void {
    if (n <= 0) return;
    const c = this.count(v);
    const next = Math.min(255, c + n);
    this.total += next - c;
    vsAdd(this.bits, v);
    if (next > 1) (this.more ??= new Map()).set(v, next - 1);
  }

  /** Remove one; returns whether there was one. */
  takeOne(v: number): boolean {
    const c = this.count(v);
    if (c === 0) return false;
    this.total--;
    if (c === 1) vsDel(this.bits, v);
    else if (c === 2) this.more!.delete(v);
    else this.more!.set(v, c - 2);
    return true;
  }

  /** Remove all of v; returns how many there were. */
  takeAll(v: number): number {
    const c = this.count(v);
    if (c === 0) return 0;
    this.total -= c;
    vsDel(this.bits, v);
    if (c > 1) this.more!.delete(v);
    return c;
  }

  copyFrom(o: CountSet): void {
    this.bits.set(o.bits);
    this.more = o.more ? new Map(o.more) : null;
    this.total = o.total;
  }

  empty(): boolean {
    return this.total === 0 && vsEmpty(this.bits);
  }
}
