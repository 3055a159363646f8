// The interleaving generator. It drives a Session as it goes and looks at where each vCPU
// is (guest, hypervisor, blocked, in-flight physical interrupts, handler frames) to choose
// events that are enabled, so most of what it generates does something. Every random
// choice comes from one seedrandom stream: the same seed yields the same scenario.
import seedrandom from 'seedrandom';
import type { Backend } from '../backends/api.js';
import { hasFeature } from '../backends/features.js';
import { Session, type RunResult } from '../engine/session.js';
import type { Event, IoapicPin, MachineConfig, Scenario } from '../scenario/types.js';
import { SCENARIO_VERSION } from '../scenario/types.js';

export type Rng = () => number;

export function makeRng(seed: string): Rng {
  return seedrandom(seed);
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
}

export const DEFAULT_GEN: GenOptions = { maxEvents: 40 };

export function generateMachine(rng: Rng, backend: Backend, vectors: number[]): MachineConfig {
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
  if (m.apic === 'x2apic' && backend.supports(m) !== null && backend.supports({ ...m, apic: 'xapic' }) === null) m.apic = 'xapic';
  const nested: MachineConfig = { ...m, nested: { exitOnIntr: true } };
  if (backend.supports(nested) === null && (backend.supports(m) !== null || chance(rng, 0.5))) {
    // L1 giving L2 posted interrupts, for backends that model it (kvm): the draw happens only
    // for them, so other backends' seeds keep their interleavings.
    const posted: MachineConfig = { ...m, nested: { exitOnIntr: true, postedIntr: true } };
    if (backend.supports(posted) === null && chance(rng, 0.3)) return posted;
    return nested;
  }
  // The Hyper-V APIC assist, for backends that accept it (xen, and baremetal as the soundness
  // baseline): the draw happens only for them, so the streams of backends that refuse it are unchanged.
  const hyperv: MachineConfig = { ...m, hyperv: { apicAssist: true } };
  if (backend.supports(hyperv) === null && chance(rng, 0.5)) return hyperv;
  programmable(rng, backend, m);
  return m;
}

/**
 * Machine features of the programmable APICs (docs/scenario-language.md), drawn only for
 * backends that declare them, so every other backend's seeds keep their interleavings.
 */
function programmable(rng: Rng, backend: Backend, m: MachineConfig): void {
  if (hasFeature(backend, 'machine.apicIds') && chance(rng, 0.3)) {
    // x2APIC: IDs in clusters other than 0 (16 IDs a cluster); xAPIC: a permutation with gaps.
    const ids: number[] = [];
    while (ids.length < m.vcpus) {
      const id = m.apic === 'x2apic' ? Math.floor(rng() * 40) : Math.floor(rng() * 12);
      if (!ids.includes(id)) ids.push(id);
    }
    m.apicIds = ids;
  }
  for (const p of m.ioapic) {
    if (hasFeature(backend, 'ioapic.logical') && chance(rng, 0.3)) { p.logical = true; p.dest = 1 + Math.floor(rng() * ((1 << m.vcpus) - 1)); }
    if (hasFeature(backend, 'ioapic.lowest') && chance(rng, 0.2)) p.lowest = true;
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

interface Cand { w: number; make: () => Event }

function candidates(rng: Rng, s: Session, vectors: number[]): Cand[] {
  const b = s.instance;
  const m = s.machine;
  const out: Cand[] = [];
  const vec = () => pick(rng, vectors);
  for (let cpu = 0; cpu < m.vcpus; cpu++) {
    if (b.physPending(cpu)) out.push({ w: 10, make: () => ({ k: 'pirq', cpu }) });
    // The logical clock runs in every state (a halted guest waits for its timer).
    if (hasFeature(s.backend, 'lvt_lint')) {
      out.push({ w: 1.5, make: () => ({ k: 'lint', cpu, pin: chance(rng, 0.5) ? 0 : 1, op: pick(rng, ['assert', 'deassert', 'pulse', 'pulse'] as const) }) });
    }
    if (hasFeature(s.backend, 'time')) out.push({ w: 2, make: () => ({ k: 'time', cpu, advance: chance(rng, 0.9) ? 1 + Math.floor(rng() * 12) : 100 }) });
    const where = b.where(cpu);
    if (where === 'hv') {
      out.push({ w: 8, make: () => ({ k: 'enter', cpu }) });
      out.push({ w: 8, make: () => ({ k: 'enter_step', cpu }) });
      continue;
    }
    if (where === 'blocked') {
      out.push({ w: 2, make: () => ({ k: 'enter', cpu }) });
      continue;
    }
    if (b.inL2(cpu)) {
      out.push({ w: 4, make: () => ({ k: 'l2', cpu, op: 'step' }) });
      out.push({ w: 3, make: () => ({ k: 'l2', cpu, op: 'vmcall' }) });
      out.push({ w: 3, make: () => ({ k: 'exit', cpu, reason: pick(rng, ['timer', 'npf'] as const) }) });
      out.push({ w: 2, make: () => ({ k: 'fault', cpu }) });
      continue;
    }
    const g = b.guest(cpu);
    if (g.halted) continue;
    const top = g.top();
    out.push({
      w: 12, make: () => {
        const r = rng();
        const v = vec();
        if (r < 0.55 && m.vcpus > 1) {
          let dest = Math.floor(rng() * m.vcpus);
          if (dest === cpu) dest = (dest + 1) % m.vcpus;
          return { k: 'ipi', cpu, vector: v, dest };
        }
        if (r < 0.75) return { k: 'ipi', cpu, vector: v, shorthand: 'self' };
        if (r < 0.85) return { k: 'ipi', cpu, vector: v, shorthand: pick(rng, ['all', 'others'] as const) };
        if (r < 0.95) return { k: 'ipi', cpu, vector: v, logical: true, dest: Math.floor(rng() * (1 << m.vcpus)) };
        return { k: 'ipi', cpu, vector: 0, dest: Math.floor(rng() * m.vcpus), nmi: true };
      },
    });
    // On a Hyper-V machine the guest's EOI routine honours "No EOI required" half the time
    // (both are legal, TLFS 10.3.5), and it sometimes rewrites its VP assist page MSR.
    const hv = m.hyperv?.apicAssist === true;
    out.push({ w: top && !top.eoied ? 12 : 3, make: () => (hv && chance(rng, 0.5) ? { k: 'eoi', cpu, assist: true } : { k: 'eoi', cpu }) });
    if (hv) out.push({ w: 1.5, make: () => ({ k: 'assist', cpu, on: chance(rng, 0.8) }) });
    out.push({ w: top ? (top.eoied ? 12 : 4) : 1, make: () => ({ k: 'iret', cpu }) });
    out.push({ w: 5, make: () => ({ k: 'step', cpu }) });
    out.push({ w: g.IF ? 1 : 6, make: () => ({ k: 'sti', cpu }) });
    out.push({ w: g.IF ? 2 : 0.5, make: () => ({ k: 'cli', cpu }) });
    out.push({
      w: 2, make: () => {
        const via = chance(rng, 0.5) ? 'cr8' as const : 'mmio' as const;
        const cls = chance(rng, 0.4) ? 0 : (pick(rng, vectors) >> 4) - (chance(rng, 0.5) ? 1 : 0);
        const value = Math.max(0, cls) << 4 | (via === 'mmio' && chance(rng, 0.3) ? Math.floor(rng() * 16) : 0);
        return { k: 'tpr', cpu, value, via };
      },
    });
    out.push({ w: 2, make: () => ({ k: 'hlt', cpu }) });
    programmingEvents(rng, s, cpu, vectors, out);
    out.push({ w: 3, make: () => ({ k: 'read', cpu, reg: pick(rng, ['irr', 'isr', 'ppr', 'tpr', 'tmr', 'esr'] as const) }) });
    out.push({ w: 4, make: () => ({ k: 'exit', cpu, reason: pick(rng, ['timer', 'io', 'cpuid', 'npf', 'pause'] as const) }) });
    out.push({ w: 1, make: () => ({ k: 'fault', cpu }) });
    out.push({ w: 1, make: () => ({ k: 'work', cpu, flag: Math.floor(rng() * 4) }) });
    if (m.nested) {
      out.push({
        w: 4, make: () => {
          if (!chance(rng, 0.6)) return { k: 'vmentry', cpu };
          const v = vec();
          return { k: 'vmentry', cpu, inject: v >= 16 ? v : 0x30 };
        },
      });
    }
  }
  out.push({ w: 3, make: () => ({ k: 'msi', dest: Math.floor(rng() * m.vcpus), vector: vec() }) });
  if (hasFeature(s.backend, 'msi.lowest') && m.vcpus > 1) {
    out.push({ w: 1, make: () => ({ k: 'msi', dest: 1 + Math.floor(rng() * ((1 << m.vcpus) - 1)), vector: vec(), logical: true, lowest: true }) });
  }
  if (m.ioapic.length > 0) {
    out.push({ w: 4, make: () => ({ k: 'ioapic', pin: pick(rng, m.ioapic).pin, op: pick(rng, ['assert', 'deassert', 'pulse', 'assert', 'pulse', 'mask', 'unmask'] as const) }) });
  }
  return out;
}

/** Local and I/O APIC programming events, each only for a backend that declares it. */
function programmingEvents(rng: Rng, s: Session, cpu: number, vectors: number[], out: Cand[]): void {
  const be = s.backend;
  const m = s.machine;
  const x2 = m.apic === 'x2apic';
  const has = (f: Parameters<typeof hasFeature>[1]) => hasFeature(be, f);
  if (has('lapic_write.svr')) {
    // Software disable is rare and short-lived: re-enable is likelier once disabled.
    out.push({ w: 1, make: () => ({ k: 'lapic_write', cpu, reg: 'svr', value: chance(rng, 0.6) ? 0x1ff : 0x0ff }) });
  }
  if (has('lapic_write.esr')) out.push({ w: 0.5, make: () => ({ k: 'lapic_write', cpu, reg: 'esr', value: 0 }) });
  if (!x2 && has('lapic_write.id') && has('lapic_write.ldr') && has('lapic_write.dfr')) {
    out.push({
      w: 1, make: () => {
        const r = rng();
        if (r < 0.3) return { k: 'lapic_write', cpu, reg: 'id', value: (Math.floor(rng() * 12) << 24) >>> 0 };
        if (r < 0.8) return { k: 'lapic_write', cpu, reg: 'ldr', value: (Math.floor(rng() * 256) << 24) >>> 0 };
        return { k: 'lapic_write', cpu, reg: 'dfr', value: chance(rng, 0.5) ? 0xffffffff : 0x0fffffff };
      },
    });
  }
  if (has('lapic_read.id')) {
    const regs = (x2 ? ['id', 'ldr', 'svr', 'version', 'tmcct'] : ['id', 'ldr', 'dfr', 'svr', 'version', 'tmcct']) as ('id' | 'ldr' | 'dfr' | 'svr' | 'version' | 'tmcct')[];
    out.push({ w: 0.5, make: () => ({ k: 'lapic_read', cpu, reg: pick(rng, regs) }) });
  }
  if (has('lvt_timer')) {
    out.push({ w: 1.5, make: () => {
      if (chance(rng, 0.5)) return { k: 'timer_initial', cpu, count: chance(rng, 0.1) ? 0 : 1 + Math.floor(rng() * 16) };
      const mode = has('tsc_deadline') && chance(rng, 0.3) ? 'tsc-deadline' as const : chance(rng, 0.5) ? 'periodic' as const : 'oneshot' as const;
      return { k: 'lvt_timer', cpu, vector: pick(rng, vectors), mode, masked: chance(rng, 0.2) };
    } });
  }
  if (has('lvt_lint')) {
    out.push({ w: 1, make: () => {
      const pin = chance(rng, 0.5) ? 0 as const : 1 as const;
      const masked = chance(rng, 0.2);
      if (pin === 1 && chance(rng, 0.3)) return { k: 'lvt_lint', cpu, pin, vector: 0, trigger: 'edge', masked, nmi: true };
      // A level entry gets a vector of its own per (vCPU, pin), as a level pin does (REF-IOA-4).
      const own = 0x10 * (2 + ((cpu * 2 + pin) * 5) % 13) + 0x8 + cpu * 2 + pin - 8 * (cpu >> 2);
      const level = chance(rng, 0.5) && !vectors.includes(own) && !m.ioapic.some((p) => p.vector === own || altVector(p, vectors) === own);
      return { k: 'lvt_lint', cpu, pin, vector: level ? own : pick(rng, vectors), trigger: level ? 'level' : 'edge', masked };
    } });
  }
  if (has('int')) out.push({ w: 1, make: () => ({ k: 'int', cpu, vector: chance(rng, 0.5) ? pick(rng, vectors) : 0x20 + Math.floor(rng() * 0xe0) }) });
  if (has('tsc_deadline')) out.push({ w: 0.7, make: () => ({ k: 'tsc_deadline', cpu, deadline: chance(rng, 0.1) ? 0 : Math.floor(rng() * 120) }) });
  if (x2 && has('self_ipi')) out.push({ w: 2, make: () => ({ k: 'self_ipi', cpu, vector: pick(rng, vectors) }) });
  if (has('ipi.lowest') && m.vcpus > 1) {
    out.push({ w: 2, make: () => {
      const logical = chance(rng, 0.7);
      return { k: 'ipi', cpu, vector: pick(rng, vectors), logical, dest: destOf(rng, m, Math.floor(rng() * m.vcpus), logical), lowest: true };
    } });
  }
  if (x2 && has('ipi.dest32')) {
    out.push({ w: 1.5, make: () => {
      if (chance(rng, 0.3)) return { k: 'ipi', cpu, vector: pick(rng, vectors), dest: 0xffffffff, logical: chance(rng, 0.5) };
      const logical = chance(rng, 0.6);
      return { k: 'ipi', cpu, vector: pick(rng, vectors), logical, dest: destOf(rng, m, Math.floor(rng() * m.vcpus), logical) };
    } });
  }
  if (m.ioapic.length > 0 && has('ioapic_write')) {
    out.push({ w: 2, make: () => {
      const p = pick(rng, m.ioapic);
      const logical = has('ioapic.logical') && chance(rng, 0.3);
      const lowest = has('ioapic.lowest') && chance(rng, 0.2);
      const vector = chance(rng, 0.3) ? altVector(p, vectors) : p.vector;
      const dest = logical ? (m.apic === 'x2apic' ? 1 << Math.floor(rng() * m.vcpus) : 1 + Math.floor(rng() * 255)) & 0xff : (m.apicIds?.[Math.floor(rng() * m.vcpus)] ?? Math.floor(rng() * m.vcpus)) & 0xff;
      return { k: 'ioapic_write', cpu, pin: p.pin, vector, dest, trigger: p.trigger, masked: chance(rng, 0.25), logical, lowest };
    } });
  }
  if (m.ioapic.length > 0 && has('ioapic_read')) {
    out.push({ w: 1, make: () => {
      const r = rng();
      if (r < 0.15) return { k: 'ioapic_read', cpu, reg: chance(rng, 0.5) ? 'id' : 'version' };
      return { k: 'ioapic_read', cpu, reg: r < 0.85 ? 'redir-lo' : 'redir-hi', pin: pick(rng, m.ioapic).pin };
    } });
  }
}

function choose(rng: Rng, cands: Cand[]): Cand {
  let total = 0;
  for (const c of cands) total += c.w;
  let r = rng() * total;
  for (const c of cands) {
    r -= c.w;
    if (r < 0) return c;
  }
  return cands[cands.length - 1]!;
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
  const rng = makeRng(seed);
  const vectors = vectorPool(rng);
  const machine = generateMachine(rng, backend, vectors);
  const session = new Session(backend, variant, machine);
  observe?.start(session);
  const events: Event[] = [];
  const n = 4 + Math.floor(rng() * (opts.maxEvents - 3));
  for (let i = 0; i < n; i++) {
    const ev = choose(rng, candidates(rng, session, vectors)).make();
    events.push(ev);
    session.apply(ev, i);
    observe?.after(ev);
  }
  const result = session.finish();
  return { scenario: { irqdiff: SCENARIO_VERSION, machine, events }, result };
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
  for (let i = events.length; i < n; i++) {
    const ev = choose(rng, candidates(rng, session, vectors)).make();
    events.push(ev);
    session.apply(ev, i);
    observe?.after(ev);
  }
  const result = session.finish();
  return { scenario: { irqdiff: SCENARIO_VERSION, machine, events }, result };
}
