// The interleaving generator. It drives a Session as it goes and looks at where each vCPU
// is (guest, hypervisor, blocked, in-flight physical interrupts, handler frames) to choose
// events that are enabled, so most of what it generates does something. Every random
// choice comes from one seedrandom stream (src/gen/rng.ts, the same ARC4 stream as the
// seedrandom package): the same seed yields the same scenario.
import type { Backend } from '../backends/api.js';
import { hasFeature, supportsOn } from '../backends/features.js';
import { Session, type RunResult } from '../engine/session.js';
import type { Event, IoapicPin, MachineConfig, Scenario } from '../scenario/types.js';
import { MAX_VCPUS, SCENARIO_VERSION } from '../scenario/types.js';
import { Arc4 } from './rng.js';

export type Rng = () => number;

/** seedrandom(seed)'s stream, double for double (src/gen/rng.ts). */
export function makeRng(seed: string): Rng {
  const a = new Arc4(seed);
  return () => a.next();
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)]!;
}

function chance(rng: Rng, p: number): boolean {
  return rng() < p;
}

export interface GenOptions {
  /** Upper bound on scenario events before the drain. */
  maxEvents: number;
  /**
   * The share of machines with a level pin where edge sources get that pin's vector (REF-ACC-4,
   * REF-EOI-4); absent: SHARED_RATE, the campaigns' default; 0: never, and no draw (the streams
   * before issue 8). docs/oracle.md, "A vector shared between edge sources and a level pin".
   */
  sharedVectors?: number;
}

/**
 * The default `sharedVectors` rate (issue 8): 30 % of the machines with a level pin, about 4.2 % of
 * a default campaign's scenarios (`node dist/bench/event-mix.js`), so the other 95 % keep the
 * shapes every rate was measured on while shared vectors are drawn in every campaign.
 */
export const SHARED_RATE = 0.3;

export const DEFAULT_GEN: GenOptions = { maxEvents: 40, sharedVectors: SHARED_RATE };

/**
 * The long clock scale (issue 8): timer counts, `time` advances and TSC deadlines all drawn as on
 * the short scale times this. One clock unit is a timer tick and a TSC tick (src/apic/timer.ts), so
 * every periodic count is then at or above each hypervisor's minimum period in clock units: KVM's
 * min_timer_period_us (200 µs at its 1 ns APIC bus cycle: 200,000, src/backends/kvm/timer.ts), Xen's
 * 0.1 ms (10,000 ticks of 10 ns, src/backends/xen/vpt.ts) and ACRN's MIN_TIMER_PERIOD_US (500 µs at a
 * 2 GHz TSC: 1,000,000, src/backends/acrn/timer.ts). On the short scale (counts 1–16) every
 * periodic timer runs at the hypervisor's minimum instead; the long one runs it at its own period.
 */
export const LONG_CLOCK = 1_000_000;
/** The share of machines on the long clock scale (drawn only for backends with a timer). */
const LONG_CLOCK_RATE = 0.3;

/**
 * The generator's machine-level choices that are not part of the machine: the clock scale and the
 * level pin (if any) whose vector edge sources share.
 */
export interface GenPlan {
  /** 1, or LONG_CLOCK. */
  scale: number;
  /** The pin whose level vector is in the pool (-1: none). */
  sharedPin: number;
}

/**
 * Draw the plan for a generated machine, after the machine. Shared vector: one pool slot is
 * replaced by a level pin's vector, so IPIs, MSIs, SELF_IPIs, the timer, edge LINT entries (and,
 * in makeEvent, the pin rewritten edge and another pin's edge entry) may use it; REF-IOA-4 still
 * holds (schema.ts checkLevelVectors): a level LINT vector never comes from the pool, and pins'
 * vectors are their own. Each draw happens only where it can matter (a level pin; a backend with a
 * timer), so other machines keep more of their stream.
 */
export function drawPlan(rng: Rng, backend: Backend, m: MachineConfig, vectors: number[], sharedRate = 0): GenPlan {
  let sharedPin = -1;
  const level = sharedRate > 0 ? m.ioapic.filter((p) => p.trigger === 'level') : [];
  if (level.length > 0 && chance(rng, sharedRate)) {
    const p = pick(rng, level);
    vectors[Math.floor(rng() * vectors.length)] = p.vector;
    sharedPin = p.pin;
  }
  const f = cachedFeats(backend);
  const scale = (f.time || f.lvtTimer || f.tscDeadline) && chance(rng, LONG_CLOCK_RATE) ? LONG_CLOCK : 1;
  return { scale, sharedPin };
}

export function generateMachine(rng: Rng, backend: Backend, vectors: number[], variant?: string): MachineConfig {
  // The variant's own refusals too (Backend.supportsVariant): a backend without them draws as before.
  const sup = (c: MachineConfig): string | null => supportsOn(backend, c, variant);
  const r = rng();
  const vcpus = r < 0.1 ? 1 : r < 0.7 ? 2 : r < 0.9 ? 3 : 4;
  const ioapic: IoapicPin[] = [];
  if (chance(rng, 0.3)) {
    const n = 1 + Math.floor(rng() * 2);
    for (let pin = 0; pin < n; pin++) {
      const level = chance(rng, 0.5);
      // Pins get vectors of their own (a level vector must, see schema.ts; for an edge pin
      // it keeps the signature of a device-side duplicate apart from IPI/MSI ones). The
      // class is random, so pins still compete with the pool on priority.
      const vector = 0x10 * (2 + Math.floor(rng() * 13)) + 0x0f - pin;
      if (vectors.includes(vector)) continue;
      ioapic.push({ pin, vector, dest: Math.floor(rng() * vcpus), trigger: level ? 'level' : 'edge', masked: chance(rng, 0.1) });
    }
  }
  const m: MachineConfig = { vcpus, apic: chance(rng, 0.7) ? 'x2apic' : 'xapic', ioapic };
  // A backend that models xAPIC guests only (acrn) gets one; no extra draw, so other
  // backends' seeds keep their interleavings.
  // (The machines below are literals with the keys of `{ ...m, key }` in the same order: a
  // spread costs more, and a machine's JSON, key order included, is part of the scenario.)
  if (m.apic === 'x2apic' && sup(m) !== null && sup({ vcpus, apic: 'xapic', ioapic }) === null) m.apic = 'xapic';
  const nested: MachineConfig = { vcpus, apic: m.apic, ioapic, nested: { exitOnIntr: true } };
  if (sup(nested) === null && (sup(m) !== null || chance(rng, 0.5))) {
    // L1 giving L2 posted interrupts, for backends that model it (kvm): the draw happens only
    // for them, so other backends' seeds keep their interleavings.
    const posted: MachineConfig = { vcpus, apic: m.apic, ioapic, nested: { exitOnIntr: true, postedIntr: true } };
    if (sup(posted) === null && chance(rng, 0.3)) return posted;
    // L1 asking for "acknowledge interrupt on exit", for backends that model it (kvm, baremetal): the draw
    // happens only for them, so other backends' seeds keep their interleavings.
    const acked: MachineConfig = { vcpus, apic: m.apic, ioapic, nested: { exitOnIntr: true, ackOnExit: true } };
    if (sup(acked) === null && chance(rng, 0.5)) return acked;
    return nested;
  }
  // The Hyper-V APIC assist, for backends that accept it (xen, and baremetal as the soundness
  // baseline): the draw happens only for them, so the streams of backends that refuse it are unchanged.
  const hyperv: MachineConfig = { vcpus, apic: m.apic, ioapic, hyperv: { apicAssist: true } };
  if (sup(hyperv) === null && chance(rng, 0.5)) return hyperv;
  programmable(rng, backend, m, sup);
  return m;
}

/**
 * Machine features of the programmable APICs (docs/scenario-language.md), drawn only for
 * backends that declare them, so every other backend's seeds keep their interleavings.
 */
function programmable(rng: Rng, backend: Backend, m: MachineConfig, sup: (c: MachineConfig) => string | null): void {
  const f = cachedFeats(backend);
  if (f.apicIds && chance(rng, 0.3)) {
    // x2APIC: IDs in clusters other than 0 (16 IDs a cluster); xAPIC: a permutation with gaps.
    const ids: number[] = [];
    while (ids.length < m.vcpus) {
      const id = m.apic === 'x2apic' ? Math.floor(rng() * 40) : Math.floor(rng() * 12);
      if (!ids.includes(id)) ids.push(id);
    }
    m.apicIds = ids;
    // A backend may declare the feature yet refuse some ID layouts (supports() says which): drop
    // the draw then rather than generate a machine the backend refuses.
    if (sup(m) !== null) delete m.apicIds;
  }
  for (const p of m.ioapic) {
    if (f.ioapicLogical && chance(rng, 0.3)) { p.logical = true; p.dest = 1 + Math.floor(rng() * ((1 << m.vcpus) - 1)); }
    if (f.ioapicLowest && chance(rng, 0.2)) p.lowest = true;
  }
}

/** A pin's second vector of its own (another class, same low nibble, which is the pin's). */
function altVector(p: IoapicPin, vectors: number[]): number {
  const alt = 0x10 * (((p.vector >> 4) - 2 + 5) % 13 + 2) + (p.vector & 0xf);
  return vectors.includes(alt) ? p.vector : alt;
}

/** A destination that addresses some of the machine's vCPUs: an APIC ID, or a logical MDA. */
function destOf(rng: Rng, m: MachineConfig, cpu: number, logical: boolean): number {
  const id = m.apicIds?.[cpu] ?? cpu;
  if (!logical) return id;
  // x2APIC logical: cluster of that vCPU, bit of its ID (SDM 10.12.10.2); xAPIC: a flat MDA.
  if (m.apic === 'x2apic') return ((id >>> 4) << 16) | (1 << (id & 15)) | (chance(rng, 0.3) ? 1 << Math.floor(rng() * 16) : 0);
  return 1 + Math.floor(rng() * 255);
}

/** A small pool of vectors per scenario makes collapses and class ties likely. */
export function vectorPool(rng: Rng): number[] {
  const n = 2 + Math.floor(rng() * 2);
  const out: number[] = [];
  const baseClass = 2 + Math.floor(rng() * 12);
  for (let i = 0; i < n; i++) {
    const cls = chance(rng, 0.4) ? baseClass : 2 + Math.floor(rng() * 13);
    let v = (cls << 4) | Math.floor(rng() * 16);
    if (chance(rng, 0.01)) v = Math.floor(rng() * 16); // illegal vector (ESR)
    out.push(v);
  }
  return out;
}

// Candidate events as a table: per event the generator lists (kind, vCPU, weight) rows in
// preallocated arrays, draws one row, then builds only that event (makeEvent). The rows, their
// order, their weights and the draws each kind makes are those of the closure list this
// replaced (one `{w, make}` object and closure per candidate per event), so a seed gives the
// same scenario byte for byte (src/gen/digest.ts, test/gen/digest.test.ts): weights are
// summed in row order, and a kind's draws happen in the order the old closure made them.
const enum K {
  Pirq, Lint, Time, Enter, EnterStep, L2Step, L2Vmcall, L2Exit, Fault, Ipi, Eoi, Assist, Iret, Step, Sti, Cli,
  Tpr, Hlt, Svr, Esr, IdLdrDfr, LapicRead, LvtTimer, LvtLint, Int, TscDeadline, SelfIpi, IpiLowest, IpiDest32,
  IoapicWrite, IoapicRead, Read, Exit, Work, Vmentry, Msi, MsiLowest, Ioapic, IoapicRegWrite,
}

/** The backend's features the generator asks about, looked up once per interleaving. */
interface Feats {
  lint: boolean; time: boolean; msiLowest: boolean; svr: boolean; esr: boolean; ldrDfr: boolean; lapicId: boolean;
  lvtTimer: boolean; tscDeadline: boolean; int: boolean; selfIpi: boolean; ipiLowest: boolean; ipiDest32: boolean;
  ioapicWrite: boolean; ioapicRead: boolean; ioapicLogical: boolean; ioapicLowest: boolean; apicIds: boolean;
  /** ID/version/arbitration writes, and with them arbitration reads (drawn only with ioapic_read). */
  ioapicRegWrite: boolean;
  /** The local APIC registers the backend declares readable, per APIC mode (DFR does not exist in x2APIC mode). */
  readX: readonly LapicReadReg[]; readX2: readonly LapicReadReg[];
}

function featsOf(be: Backend): Feats {
  const has = (f: Parameters<typeof hasFeature>[1]) => hasFeature(be, f);
  return {
    lint: has('lvt_lint'), time: has('time'), msiLowest: has('msi.lowest'), svr: has('lapic_write.svr'), esr: has('lapic_write.esr'),
    // LDR and DFR are drawn together, with ID writes among them when the backend declares those too.
    ldrDfr: has('lapic_write.ldr') && has('lapic_write.dfr'), lapicId: has('lapic_write.id'),
    lvtTimer: has('lvt_timer'), tscDeadline: has('tsc_deadline'), int: has('int'), selfIpi: has('self_ipi'), ipiLowest: has('ipi.lowest'),
    ipiDest32: has('ipi.dest32'), ioapicWrite: has('ioapic_write'), ioapicRead: has('ioapic_read'), ioapicLogical: has('ioapic.logical'),
    ioapicLowest: has('ioapic.lowest'), apicIds: has('machine.apicIds'), ioapicRegWrite: has('ioapic_reg_write') && has('ioapic_read'),
    readX: LAPIC_READ_X.filter((r) => has(`lapic_read.${r}`)), readX2: LAPIC_READ_X2.filter((r) => has(`lapic_read.${r}`)),
  };
}

const LINT_OPS = ['assert', 'deassert', 'pulse', 'pulse'] as const;
const L2_EXITS = ['timer', 'npf'] as const;
const SHORTHANDS = ['all', 'others'] as const;
const READ_REGS = ['irr', 'isr', 'ppr', 'tpr', 'tmr', 'esr'] as const;
const EXITS = ['timer', 'io', 'cpuid', 'npf', 'pause'] as const;
const IOAPIC_OPS = ['assert', 'deassert', 'pulse', 'assert', 'pulse', 'mask', 'unmask'] as const;
type LapicReadReg = 'id' | 'ldr' | 'dfr' | 'svr' | 'version' | 'tmcct';
const LAPIC_READ_X2: readonly LapicReadReg[] = ['id', 'ldr', 'svr', 'version', 'tmcct'];
const LAPIC_READ_X: readonly LapicReadReg[] = ['id', 'ldr', 'dfr', 'svr', 'version', 'tmcct'];

/** Rows per event: at most 30 per vCPU (one in guest mode, all features) plus 3 machine-wide. */
const ROWS_PER_VCPU = 30;

/** Feature lookups per backend, redone if its feature list is replaced. */
const FEATS = new WeakMap<Backend, { of: Backend['features']; feats: Feats }>();

function cachedFeats(be: Backend): Feats {
  const c = FEATS.get(be);
  if (c !== undefined && c.of === be.features) return c.feats;
  const feats = featsOf(be);
  FEATS.set(be, { of: be.features, feats });
  return feats;
}

/**
 * One interleaving's generation state: what the candidates depend on, and the row table.
 * A campaign generates ~10^4 interleavings a second: one Gen (its table) is leased to each
 * generation in turn (leaseGen/returnGen) instead of being allocated per interleaving.
 */
class Gen {
  rng!: Rng;
  s!: Session;
  m!: MachineConfig;
  vectors!: number[];
  feats!: Feats;
  hv = false;
  x2 = false;
  plan: GenPlan = { scale: 1, sharedPin: -1 };
  // The table is reused for every event (nothing outlives one choice).
  kind = new Uint8Array(ROWS_PER_VCPU * MAX_VCPUS + 3);
  cpu = new Uint8Array(ROWS_PER_VCPU * MAX_VCPUS + 3);
  w = new Float64Array(ROWS_PER_VCPU * MAX_VCPUS + 3);
  n = 0;
  total = 0;

  reset(rng: Rng, s: Session, m: MachineConfig, vectors: number[], plan: GenPlan): this {
    this.rng = rng; this.s = s; this.m = m; this.vectors = vectors; this.plan = plan;
    this.feats = cachedFeats(s.backend);
    this.hv = m.hyperv?.apicAssist === true;
    this.x2 = m.apic === 'x2apic';
    const rows = ROWS_PER_VCPU * m.vcpus + 3;
    // A machine the schema would refuse (more vCPUs than MAX_VCPUS) still gets a table that fits.
    if (this.w.length < rows) { this.kind = new Uint8Array(rows); this.cpu = new Uint8Array(rows); this.w = new Float64Array(rows); }
    return this;
  }

  private row(kind: K, cpu: number, w: number): void {
    const n = this.n++;
    this.kind[n] = kind;
    this.cpu[n] = cpu;
    this.w[n] = w;
    // The same additions, in the same order, as summing the list afterwards.
    this.total += w;
  }

  /** The enabled events of the current state, as rows (the old candidates()). */
  candidates(): void {
    const b = this.s.instance;
    const m = this.m;
    const f = this.feats;
    this.n = 0;
    this.total = 0;
    for (let cpu = 0; cpu < m.vcpus; cpu++) {
      if (b.physPending(cpu)) this.row(K.Pirq, cpu, 10);
      // The logical clock runs in every state (a halted guest waits for its timer).
      if (f.lint) this.row(K.Lint, cpu, 1.5);
      if (f.time) this.row(K.Time, cpu, 2);
      const where = b.where(cpu);
      if (where === 'hv') {
        this.row(K.Enter, cpu, 8);
        this.row(K.EnterStep, cpu, 8);
        continue;
      }
      if (where === 'blocked') {
        this.row(K.Enter, cpu, 2);
        continue;
      }
      if (b.inL2(cpu)) {
        this.row(K.L2Step, cpu, 4);
        this.row(K.L2Vmcall, cpu, 3);
        this.row(K.L2Exit, cpu, 3);
        this.row(K.Fault, cpu, 2);
        continue;
      }
      const g = b.guest(cpu);
      if (g.halted) continue;
      const top = g.top();
      this.row(K.Ipi, cpu, 12);
      // On a Hyper-V machine the guest's EOI routine honours "No EOI required" half the time
      // (both are legal, TLFS 10.3.5), and it sometimes rewrites its VP assist page MSR.
      this.row(K.Eoi, cpu, top && !top.eoied ? 12 : 3);
      if (this.hv) this.row(K.Assist, cpu, 1.5);
      this.row(K.Iret, cpu, top ? (top.eoied ? 12 : 4) : 1);
      this.row(K.Step, cpu, 5);
      this.row(K.Sti, cpu, g.IF ? 1 : 6);
      this.row(K.Cli, cpu, g.IF ? 2 : 0.5);
      this.row(K.Tpr, cpu, 2);
      this.row(K.Hlt, cpu, 2);
      this.programmingEvents(cpu);
      this.row(K.Read, cpu, 3);
      this.row(K.Exit, cpu, 4);
      this.row(K.Fault, cpu, 1);
      this.row(K.Work, cpu, 1);
      if (m.nested) this.row(K.Vmentry, cpu, 4);
    }
    this.row(K.Msi, 0, 3);
    if (f.msiLowest && m.vcpus > 1) this.row(K.MsiLowest, 0, 1);
    if (m.ioapic.length > 0) this.row(K.Ioapic, 0, 4);
  }

  /** Local and I/O APIC programming events, each only for a backend that declares it. */
  private programmingEvents(cpu: number): void {
    const f = this.feats;
    const m = this.m;
    const x2 = this.x2;
    // Software disable is rare and short-lived: re-enable is likelier once disabled (makeEvent).
    if (f.svr) this.row(K.Svr, cpu, 1);
    if (f.esr) this.row(K.Esr, cpu, 0.5);
    if (!x2 && f.ldrDfr) this.row(K.IdLdrDfr, cpu, 1);
    if ((this.x2 ? f.readX2 : f.readX).length > 0) this.row(K.LapicRead, cpu, 0.5);
    if (f.lvtTimer) this.row(K.LvtTimer, cpu, 1.5);
    if (f.lint) this.row(K.LvtLint, cpu, 1);
    if (f.int) this.row(K.Int, cpu, 1);
    if (f.tscDeadline) this.row(K.TscDeadline, cpu, 0.7);
    if (x2 && f.selfIpi) this.row(K.SelfIpi, cpu, 2);
    if (f.ipiLowest && m.vcpus > 1) this.row(K.IpiLowest, cpu, 2);
    if (x2 && f.ipiDest32) this.row(K.IpiDest32, cpu, 1.5);
    if (m.ioapic.length > 0 && f.ioapicWrite) this.row(K.IoapicWrite, cpu, 2);
    if (m.ioapic.length > 0 && f.ioapicRead) this.row(K.IoapicRead, cpu, 1);
    // Rare, like the reads (issue 8): a new row last, so backends without the feature keep their streams.
    if (m.ioapic.length > 0 && f.ioapicRegWrite) this.row(K.IoapicRegWrite, cpu, 0.4);
  }

  /** Draw a row by weight (one draw), then build its event. */
  next(): Event {
    const n = this.n;
    const w = this.w;
    let r = this.rng() * this.total;
    let at = n - 1;
    for (let i = 0; i < n; i++) {
      r -= w[i]!;
      if (r < 0) { at = i; break; }
    }
    return this.make(this.kind[at]! as K, this.cpu[at]!);
  }

  /** The event of one row; its draws (kind, order) are those of the old closure. */
  private make(kind: K, cpu: number): Event {
    const rng = this.rng;
    const m = this.m;
    const vectors = this.vectors;
    const f = this.feats;
    switch (kind) {
      case K.Pirq: return { k: 'pirq', cpu };
      case K.Lint: return { k: 'lint', cpu, pin: chance(rng, 0.5) ? 0 : 1, op: pick(rng, LINT_OPS) };
      case K.Time: return { k: 'time', cpu, advance: (chance(rng, 0.9) ? 1 + Math.floor(rng() * 12) : 100) * this.plan.scale };
      case K.Enter: return { k: 'enter', cpu };
      case K.EnterStep: return { k: 'enter_step', cpu };
      case K.L2Step: return { k: 'l2', cpu, op: 'step' };
      case K.L2Vmcall: return { k: 'l2', cpu, op: 'vmcall' };
      case K.L2Exit: return { k: 'exit', cpu, reason: pick(rng, L2_EXITS) };
      case K.Fault: return { k: 'fault', cpu };
      case K.Ipi: {
        const r = rng();
        const v = pick(rng, vectors);
        if (r < 0.55 && m.vcpus > 1) {
          let dest = Math.floor(rng() * m.vcpus);
          if (dest === cpu) dest = (dest + 1) % m.vcpus;
          return { k: 'ipi', cpu, vector: v, dest };
        }
        if (r < 0.75) return { k: 'ipi', cpu, vector: v, shorthand: 'self' };
        if (r < 0.85) return { k: 'ipi', cpu, vector: v, shorthand: pick(rng, SHORTHANDS) };
        if (r < 0.95) return { k: 'ipi', cpu, vector: v, logical: true, dest: Math.floor(rng() * (1 << m.vcpus)) };
        return { k: 'ipi', cpu, vector: 0, dest: Math.floor(rng() * m.vcpus), nmi: true };
      }
      case K.Eoi: return this.hv && chance(rng, 0.5) ? { k: 'eoi', cpu, assist: true } : { k: 'eoi', cpu };
      case K.Assist: return { k: 'assist', cpu, on: chance(rng, 0.8) };
      case K.Iret: return { k: 'iret', cpu };
      case K.Step: return { k: 'step', cpu };
      case K.Sti: return { k: 'sti', cpu };
      case K.Cli: return { k: 'cli', cpu };
      case K.Tpr: {
        const via = chance(rng, 0.5) ? 'cr8' as const : 'mmio' as const;
        const cls = chance(rng, 0.4) ? 0 : (pick(rng, vectors) >> 4) - (chance(rng, 0.5) ? 1 : 0);
        const value = Math.max(0, cls) << 4 | (via === 'mmio' && chance(rng, 0.3) ? Math.floor(rng() * 16) : 0);
        return { k: 'tpr', cpu, value, via };
      }
      case K.Hlt: return { k: 'hlt', cpu };
      case K.Svr: return { k: 'lapic_write', cpu, reg: 'svr', value: chance(rng, 0.6) ? 0x1ff : 0x0ff };
      case K.Esr: return { k: 'lapic_write', cpu, reg: 'esr', value: 0 };
      case K.IdLdrDfr: {
        const r = rng();
        // Without lapic_write.id the same draw becomes an LDR write (a backend that declares all three keeps its stream).
        if (r < 0.3 && f.lapicId) return { k: 'lapic_write', cpu, reg: 'id', value: (Math.floor(rng() * 12) << 24) >>> 0 };
        if (r < 0.8) return { k: 'lapic_write', cpu, reg: 'ldr', value: (Math.floor(rng() * 256) << 24) >>> 0 };
        return { k: 'lapic_write', cpu, reg: 'dfr', value: chance(rng, 0.5) ? 0xffffffff : 0x0fffffff };
      }
      case K.LapicRead: return { k: 'lapic_read', cpu, reg: pick(rng, this.x2 ? this.feats.readX2 : this.feats.readX) };
      case K.LvtTimer: {
        if (chance(rng, 0.5)) return { k: 'timer_initial', cpu, count: chance(rng, 0.1) ? 0 : (1 + Math.floor(rng() * 16)) * this.plan.scale };
        const mode = f.tscDeadline && chance(rng, 0.3) ? 'tsc-deadline' as const : chance(rng, 0.5) ? 'periodic' as const : 'oneshot' as const;
        return { k: 'lvt_timer', cpu, vector: pick(rng, vectors), mode, masked: chance(rng, 0.2) };
      }
      case K.LvtLint: {
        const pin = chance(rng, 0.5) ? 0 as const : 1 as const;
        const masked = chance(rng, 0.2);
        if (pin === 1 && chance(rng, 0.3)) return { k: 'lvt_lint', cpu, pin, vector: 0, trigger: 'edge', masked, nmi: true };
        // A level entry gets a vector of its own per (vCPU, pin), as a level pin does (REF-IOA-4).
        const own = 0x10 * (2 + ((cpu * 2 + pin) * 5) % 13) + 0x8 + cpu * 2 + pin - 8 * (cpu >> 2);
        const level = chance(rng, 0.5) && !vectors.includes(own) && !m.ioapic.some((p) => p.vector === own || altVector(p, vectors) === own);
        return { k: 'lvt_lint', cpu, pin, vector: level ? own : pick(rng, vectors), trigger: level ? 'level' : 'edge', masked };
      }
      case K.Int: return { k: 'int', cpu, vector: chance(rng, 0.5) ? pick(rng, vectors) : 0x20 + Math.floor(rng() * 0xe0) };
      case K.TscDeadline: return { k: 'tsc_deadline', cpu, deadline: chance(rng, 0.1) ? 0 : Math.floor(rng() * 120) * this.plan.scale };
      case K.SelfIpi: return { k: 'self_ipi', cpu, vector: pick(rng, vectors) };
      case K.IpiLowest: {
        const logical = chance(rng, 0.7);
        return { k: 'ipi', cpu, vector: pick(rng, vectors), logical, dest: destOf(rng, m, Math.floor(rng() * m.vcpus), logical), lowest: true };
      }
      case K.IpiDest32: {
        if (chance(rng, 0.3)) return { k: 'ipi', cpu, vector: pick(rng, vectors), dest: 0xffffffff, logical: chance(rng, 0.5) };
        const logical = chance(rng, 0.6);
        return { k: 'ipi', cpu, vector: pick(rng, vectors), logical, dest: destOf(rng, m, Math.floor(rng() * m.vcpus), logical) };
      }
      case K.IoapicWrite: {
        const p = pick(rng, m.ioapic);
        const logical = f.ioapicLogical && chance(rng, 0.3);
        const lowest = f.ioapicLowest && chance(rng, 0.2);
        let vector = chance(rng, 0.3) ? altVector(p, vectors) : p.vector;
        // On a shared-vector machine: the level pin rewritten edge (kvm-unit-tests' test_ioapic_edge_tmr),
        // or another pin's edge entry given the level pin's vector (both edge sources, REF-ACC-4).
        let trigger = p.trigger;
        const shared = this.plan.sharedPin;
        if (shared >= 0 && chance(rng, 0.3)) {
          if (p.pin === shared) trigger = 'edge';
          else if (p.trigger === 'edge') vector = m.ioapic.find((q) => q.pin === shared)!.vector;
        }
        const dest = logical ? (m.apic === 'x2apic' ? 1 << Math.floor(rng() * m.vcpus) : 1 + Math.floor(rng() * 255)) & 0xff : (m.apicIds?.[Math.floor(rng() * m.vcpus)] ?? Math.floor(rng() * m.vcpus)) & 0xff;
        return { k: 'ioapic_write', cpu, pin: p.pin, vector, dest, trigger, masked: chance(rng, 0.25), logical, lowest };
      }
      case K.IoapicRead: {
        const r = rng();
        if (r < 0.15) {
          // The arbitration register only for backends that model its writes (no extra draw for the others).
          if (f.ioapicRegWrite && chance(rng, 0.35)) return { k: 'ioapic_read', cpu, reg: 'arb' };
          return { k: 'ioapic_read', cpu, reg: chance(rng, 0.5) ? 'id' : 'version' };
        }
        return { k: 'ioapic_read', cpu, reg: r < 0.85 ? 'redir-lo' : 'redir-hi', pin: pick(rng, m.ioapic).pin };
      }
      case K.IoapicRegWrite: {
        // Mostly ID writes, half of them a plain 4-bit ID, half any 32-bit value (reserved bits set: KUT's ~id).
        const r = rng();
        const any = (rng() * 0x100000000) >>> 0;
        if (r < 0.6) return { k: 'ioapic_reg_write', cpu, reg: 'id', value: chance(rng, 0.5) ? ((any & 0x0f000000) >>> 0) : any };
        return { k: 'ioapic_reg_write', cpu, reg: r < 0.85 ? 'arb' : 'version', value: any };
      }
      case K.Read: return { k: 'read', cpu, reg: pick(rng, READ_REGS) };
      case K.Exit: return { k: 'exit', cpu, reason: pick(rng, EXITS) };
      case K.Work: return { k: 'work', cpu, flag: Math.floor(rng() * 4) };
      case K.Vmentry: {
        if (!chance(rng, 0.6)) return { k: 'vmentry', cpu };
        const v = pick(rng, vectors);
        return { k: 'vmentry', cpu, inject: v >= 16 ? v : 0x30 };
      }
      case K.Msi: return { k: 'msi', dest: Math.floor(rng() * m.vcpus), vector: pick(rng, vectors) };
      case K.MsiLowest: return { k: 'msi', dest: 1 + Math.floor(rng() * ((1 << m.vcpus) - 1)), vector: pick(rng, vectors), logical: true, lowest: true };
      case K.Ioapic: return { k: 'ioapic', pin: pick(rng, m.ioapic).pin, op: pick(rng, IOAPIC_OPS) };
    }
  }
}

/** A spare Gen and a spare seeded stream; a nested generation (an observer that generates) finds none and makes its own. */
let spareGen: Gen | undefined;
let spareStream: { a: Arc4; rng: Rng } | undefined;

function leaseGen(rng: Rng, s: Session, m: MachineConfig, vectors: number[], plan: GenPlan): Gen {
  const g = spareGen ?? new Gen();
  spareGen = undefined;
  return g.reset(rng, s, m, vectors, plan);
}

function newStream(): { a: Arc4; rng: Rng } {
  const a = new Arc4('');
  return { a, rng: () => a.next() };
}

function returnGen(g: Gen): void {
  // Drop the run's objects so a spare keeps nothing alive.
  g.s = undefined as unknown as Session; g.m = undefined as unknown as MachineConfig; g.vectors = undefined as unknown as number[];
  g.rng = undefined as unknown as Rng;
  spareGen = g;
}

/** Watches a run event by event (coverage); called after each scenario event, not the drain. */
export interface RunObserver {
  start(session: Session): void;
  after(ev: Event): void;
}

export interface Generated {
  scenario: Scenario;
  result: RunResult;
}

/** Generate one interleaving for (backend, variant) from `seed`, run it, drain and judge. */
export function generateAndRun(seed: string, backend: Backend, variant: string, opts: GenOptions = DEFAULT_GEN, observe?: RunObserver): Generated {
  // seedrandom(seed)'s stream, in a reused state when one is spare (makeRng allocates one).
  const stream = spareStream ?? newStream();
  spareStream = undefined;
  stream.a.seed(seed);
  const rng = stream.rng;
  const vectors = vectorPool(rng);
  const machine = generateMachine(rng, backend, vectors, variant);
  const plan = drawPlan(rng, backend, machine, vectors, opts.sharedVectors ?? SHARED_RATE);
  const session = new Session(backend, variant, machine);
  observe?.start(session);
  const events: Event[] = [];
  const n = 4 + Math.floor(rng() * (opts.maxEvents - 3));
  const gen = leaseGen(rng, session, machine, vectors, plan);
  for (let i = 0; i < n; i++) {
    gen.candidates();
    const ev = gen.next();
    events.push(ev);
    session.apply(ev, i);
    observe?.after(ev);
  }
  returnGen(gen);
  spareStream = stream;
  const result = session.finish();
  return { scenario: { irqdiff: SCENARIO_VERSION, machine, events }, result };
}

/**
 * The plan of an extension, read off its base without a draw (so a base on neither keeps its
 * extensions): the long clock scale if the base has a timer count, advance or deadline on it;
 * the shared pin (with shared vectors on) if a level pin's vector is among the base's IPI and MSI vectors.
 */
function planOf(base: Scenario, vectors: number[], opts: GenOptions): GenPlan {
  let scale = 1;
  for (const e of base.events) {
    if ((e.k === 'time' && e.advance >= LONG_CLOCK) || (e.k === 'timer_initial' && e.count >= LONG_CLOCK) || (e.k === 'tsc_deadline' && e.deadline >= LONG_CLOCK)) { scale = LONG_CLOCK; break; }
  }
  const p = (opts.sharedVectors ?? SHARED_RATE) > 0 ? base.machine.ioapic.find((q) => q.trigger === 'level' && vectors.includes(q.vector)) : undefined;
  return { scale, sharedPin: p === undefined ? -1 : p.pin };
}

/**
 * Replay a prefix of `base` (its first `cut` events), then continue it with the generator's
 * own state-aware choices: the corpus decides where to start, the generator picks events that
 * are enabled there. Vectors come from the base scenario, so collisions stay likely.
 */
export function extendAndRun(rng: Rng, backend: Backend, variant: string, base: Scenario, cut: number, opts: GenOptions, observe?: RunObserver): Generated {
  const machine = base.machine;
  const vectors: number[] = [];
  for (const e of base.events) if ((e.k === 'ipi' && !e.nmi) || e.k === 'msi') vectors.push(e.vector);
  if (vectors.length === 0) vectors.push(...vectorPool(rng));
  const session = new Session(backend, variant, machine);
  observe?.start(session);
  const events: Event[] = [];
  for (let i = 0; i < cut && i < base.events.length; i++) {
    const ev = base.events[i]!;
    events.push(ev);
    session.apply(ev, i);
    observe?.after(ev);
  }
  const n = events.length + 4 + Math.floor(rng() * (opts.maxEvents - 3));
  const gen = leaseGen(rng, session, machine, vectors, planOf(base, vectors, opts));
  for (let i = events.length; i < n; i++) {
    gen.candidates();
    const ev = gen.next();
    events.push(ev);
    session.apply(ev, i);
    observe?.after(ev);
  }
  returnGen(gen);
  const result = session.finish();
  return { scenario: { irqdiff: SCENARIO_VERSION, machine, events }, result };
}
