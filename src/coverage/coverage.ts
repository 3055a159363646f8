// Model-state coverage, per backend variant: an abstract state of the system after each
// event (per vCPU: where it runs, L2, physical interrupts in flight, the guest core's
// IF/shadow/HLT/handler depth/TPR, and the backend's own abstract state from its optional
// `coverage(cpu)` hook) and the transitions (state, event kind, state) between them, hashed
// into a fixed bitmap as AFL does for edges. Plus the hypervisor steps (real function names)
// each run went through. A run that sets a bit never set before reached new coverage.
import type { BackendInstance } from '../backends/api.js';
import type { Event } from '../scenario/types.js';

// 256 Ki entries: per-vCPU transitions of kvm/v4.16 filled 52 k of 64 Ki in a 60 s guided run.
export const MAP_BITS = 18;
const MAP_SIZE = 1 << MAP_BITS;

const WHERE: Record<string, number> = { guest: 0, hv: 1, blocked: 2 };
const KIND = new Map<string, number>();

// A fixed hash of the kind's name, not the order kinds were first seen: that order depended on
// what ran earlier in the process, so the same seed could grow a different guided corpus.
function kindCode(k: string): number {
  let c = KIND.get(k);
  if (c === undefined) {
    c = 0x811c9dc5;
    for (let i = 0; i < k.length; i++) c = Math.imul(c ^ k.charCodeAt(i), 0x01000193);
    c >>>= 0;
    KIND.set(k, c);
  }
  return c;
}

/** 32-bit mixing step (murmur3 finalizer). */
function mix(h: number): number {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The engine-agnostic part of one vCPU's abstract state (12 bits; bits 0–2: where and L2). */
export function genericState(b: BackendInstance, cpu: number): number {
  const g = b.guest(cpu);
  const depth = g.frames.length > 2 ? 2 : g.frames.length;
  return WHERE[b.where(cpu)]! | (b.inL2(cpu) ? 4 : 0) | (b.physPending(cpu) ? 8 : 0) | (g.halted ? 16 : 0) | (g.IF ? 32 : 0)
    | (g.shadow ? 64 : 0) | (depth << 7) | (g.tpr !== 0 ? 512 : 0) | (g.owedEoi > 0 ? 1024 : 0) | (g.nmiBlocked ? 2048 : 0);
}

/** The abstract state of one vCPU: small, engine-agnostic parts only. */
export function cpuState(b: BackendInstance, cpu: number): number {
  const s = genericState(b, cpu);
  return b.coverage ? mix(s ^ Math.imul(b.coverage(cpu) | 0, 0x9e3779b1)) : s;
}

/** One variant's coverage: transitions bitmap, distinct states, steps seen. */
export class Coverage {
  readonly edges = new Uint8Array(MAP_SIZE);
  readonly states = new Uint8Array(MAP_SIZE);
  edgeCount = 0;
  stateCount = 0;
  readonly steps = new Map<string, number>();
  /** Event kinds seen as transitions: "<kind>" → count of distinct edges. */
  readonly kinds = new Map<string, number>();

  /** Record the transition `prev --ev--> next`; returns how many bits were new (0 to 2). */
  transition(prev: number, ev: Event, next: number): number {
    let gained = 0;
    const si = next & (MAP_SIZE - 1);
    if (this.states[si] === 0) { this.states[si] = 1; this.stateCount++; gained++; }
    const ei = mix(prev ^ Math.imul(kindCode(ev.k), 0x27d4eb2d) ^ mix(next)) & (MAP_SIZE - 1);
    if (this.edges[ei] === 0) {
      this.edges[ei] = 1; this.edgeCount++; gained++;
      this.kinds.set(ev.k, (this.kinds.get(ev.k) ?? 0) + 1);
    }
    return gained;
  }

  /** A step name; true if it was never seen. */
  step(name: string): boolean {
    const n = this.steps.get(name);
    this.steps.set(name, (n ?? 0) + 1);
    return n === undefined;
  }
}

/**
 * What the guided engine steers by: coarse features, counted per run in a map of 64 Ki hit
 * counters per variant (not bits), each listed once per run with the index of the event that
 * first reached it, so the engine can prefer rarely reached ones and resume a run where it
 * reached one. Per vCPU, after each event:
 *  - the engine-agnostic state (where, L2, IF, HLT, handler depth...: ≤ 4096 values);
 *  - the backend's own mechanism state (its `coverage(cpu)` number) with where and L2;
 *  - a change of that mechanism state (previous → next value), whatever event caused it.
 * Until session 8 a feature was the fine transition (generic + mechanism state, event kind,
 * next state): ~13,000 of them in 10,000 kvm/v4.16 runs and still growing by one a run, so
 * nearly every run was "new", the corpus churned and "rare" meant noise. The coarse kinds
 * count ~500 mechanism states and ~1,400 changes there after 10,000 runs: a rare one is a
 * state the models seldom reach (docs/campaign-engine.md, session 8). The fine transitions
 * stay in Coverage's bitmaps (--coverage, stats.ndjson). (Near-miss bits from the reference
 * and pairs of hypervisor steps were tried as extra features and dropped: no measurable effect.)
 */
export const GUIDE_BITS = 16;
const GUIDE_SIZE = 1 << GUIDE_BITS;

export class Guide {
  /** Runs that hit each feature (saturating at 2^32-1 is never reached in practice). */
  readonly hits: Uint32Array;
  /** Features hit at least once, in first-hit order (the engine samples from it). */
  readonly covered: number[] = [];
  /** Scratch: runMark[f] === epoch when the run in progress already listed f (runs are sequential). */
  readonly runMark: Uint32Array;
  epoch = 0;
  /** `size` 0: an empty guide for random campaigns, which never steer (0.5 MB a variant saved). */
  constructor(size: number = GUIDE_SIZE) {
    this.hits = new Uint32Array(size);
    this.runMark = new Uint32Array(size);
  }
}

/**
 * Tracks one run: begin() before the first event, after(ev) after each; `gained` new bits of
 * the coverage bitmaps. Transitions are per vCPU — (its state, event kind, its next state) for
 * each vCPU the event changed or concerns — not of the product of all vCPUs: the product hashed
 * into 64 Ki bits saturated within minutes. vCPUs are symmetric, so the vCPU index is not hashed.
 * With a Guide, it also lists the run's guide features (each once, with the index of the
 * event that first hit it).
 */
export class RunTracker {
  gained = 0;
  private readonly prev: Uint32Array;
  /** Per vCPU: the generic state and the backend's mechanism state after the last event (guide only). */
  private readonly prevGen: Uint32Array;
  private readonly prevMech: Int32Array;
  /** This run's guide features and the event index that first hit each. */
  readonly feats: number[] = [];
  readonly featAt: number[] = [];
  /** Features among `feats` no run had hit before this one. */
  newFeats = 0;
  private index = 0;
  constructor(readonly cov: Coverage, private readonly b: BackendInstance, private readonly guide?: Guide) {
    this.prev = new Uint32Array(b.machine.vcpus);
    this.prevGen = new Uint32Array(b.machine.vcpus);
    this.prevMech = new Int32Array(b.machine.vcpus);
  }
  begin(): void {
    for (let c = 0; c < this.prev.length; c++) {
      this.prev[c] = cpuState(this.b, c);
      if (this.guide) { this.prevGen[c] = genericState(this.b, c); this.prevMech[c] = this.b.coverage ? this.b.coverage(c) | 0 : 0; }
    }
    this.gained = 0;
    this.index = 0;
    this.newFeats = 0;

    if (this.guide) this.guide.epoch++;
    this.feats.length = 0; this.featAt.length = 0;
  }
  after(ev: Event): void {
    const own = 'cpu' in ev && typeof ev.cpu === 'number' ? ev.cpu : -1;
    const guide = this.guide;
    for (let c = 0; c < this.prev.length; c++) {
      const next = cpuState(this.b, c) >>> 0;
      if (next !== this.prev[c] || c === own) this.gained += this.cov.transition(this.prev[c]!, ev, next);
      this.prev[c] = next;
      if (guide) {
        const g = genericState(this.b, c);
        const m = this.b.coverage ? this.b.coverage(c) | 0 : 0;
        if (g !== this.prevGen[c]) this.feature(mix(g ^ 0x10000));
        const pm = this.prevMech[c]!;
        // The whole mechanism state, with where/L2 (its combinations)...
        if (m !== pm || (g & 7) !== (this.prevGen[c]! & 7)) this.feature(mix(Math.imul(m, 0x9e3779b1) ^ (g & 7) ^ 0x30000));
        // ...and each of its bits newly set (or set while where/L2 changes), with where/L2.
        let up = (g & 7) !== (this.prevGen[c]! & 7) ? m : m & ~pm;
        while (up !== 0) {
          const bit = 31 - Math.clz32(up);
          up &= ~(1 << bit);
          this.feature(mix((bit << 3 | (g & 7)) ^ 0x20000));
        }
        this.prevGen[c] = g; this.prevMech[c] = m;
      }
    }
    this.index++;
  }
  private feature(h: number): void {
    const guide = this.guide!;
    const f = h & (GUIDE_SIZE - 1);
    if (guide.runMark[f] === guide.epoch) return;
    guide.runMark[f] = guide.epoch;
    this.feats.push(f); this.featAt.push(this.index);
    if (guide.hits[f] === 0) this.newFeats++;
  }
  /** Count this run's features as hit (after the engine has judged what was new). */
  commit(): void {
    const g = this.guide;
    if (!g) return;
    for (const f of this.feats) { if (g.hits[f]++ === 0) g.covered.push(f); }
  }
}
