// Structure-aware mutations of a scenario's interleaving. The machine stays fixed (every
// event stays valid for it: a disabled event is a no-op), so a mutant always runs. The
// interleaving itself is what is searched: besides inserting, deleting and changing
// events, events move across other vCPUs' events, and VM exits, entry steps and
// notification arrivals are put next to the events that matter (sends, EOIs, TPR writes).
import type { Event, ExitReason, MachineConfig, Scenario } from '../scenario/types.js';
import type { Rng } from './generator.js';

const REASONS: readonly ExitReason[] = ['timer', 'io', 'cpuid', 'npf', 'pause'];
const REGS = ['irr', 'isr', 'ppr', 'tpr', 'tmr', 'esr'] as const;

const int = (rng: Rng, n: number) => Math.floor(rng() * n);
function pick<T>(rng: Rng, xs: readonly T[]): T { return xs[int(rng, xs.length)]!; }

/** Vectors the scenario already uses (collisions and class ties are what find bugs), else one. */
function vectorsOf(events: readonly Event[], m: MachineConfig): number[] {
  // A level-triggered pin's vector must have no other source (scenario rule): never reused.
  const level = new Set(m.ioapic.filter((p) => p.trigger === 'level').map((p) => p.vector));
  const out: number[] = [];
  for (const e of events) if (((e.k === 'ipi' && !e.nmi) || e.k === 'msi') && !level.has(e.vector)) out.push(e.vector);
  if (out.length > 0) return out;
  for (let v = 0x41; ; v += 0x10) if (!level.has(v)) return [v];
}

const cpuOf = (e: Event): number => ('cpu' in e ? e.cpu : -1);

/** One random event for the machine, in the generator's vocabulary. */
export function randomEvent(rng: Rng, m: MachineConfig, vectors: readonly number[]): Event {
  const cpu = int(rng, m.vcpus);
  const v = pick(rng, vectors);
  const r = int(rng, m.nested ? 20 : 18);
  switch (r) {
    case 0: case 1: case 2: return m.vcpus > 1 ? { k: 'ipi', cpu, vector: v, dest: (cpu + 1 + int(rng, m.vcpus - 1)) % m.vcpus } : { k: 'ipi', cpu, vector: v, shorthand: 'self' };
    case 3: return { k: 'ipi', cpu, vector: v, shorthand: pick(rng, ['self', 'all', 'others'] as const) };
    case 4: return m.hyperv?.apicAssist && rng() < 0.5 ? { k: 'eoi', cpu, assist: true } : { k: 'eoi', cpu };
    case 5: return { k: 'iret', cpu };
    case 6: return { k: 'step', cpu };
    case 7: return { k: 'sti', cpu };
    case 8: return { k: 'cli', cpu };
    case 9: return { k: 'tpr', cpu, value: rng() < 0.4 ? 0 : v & 0xf0, via: rng() < 0.5 ? 'cr8' : 'mmio' };
    case 10: return { k: 'hlt', cpu };
    case 11: return { k: 'read', cpu, reg: pick(rng, REGS) };
    case 12: return { k: 'exit', cpu, reason: pick(rng, REASONS) };
    case 13: return { k: 'enter', cpu };
    case 14: return { k: 'enter_step', cpu };
    case 15: return { k: 'pirq', cpu };
    case 16: return m.ioapic.length > 0 ? { k: 'ioapic', pin: pick(rng, m.ioapic).pin, op: pick(rng, ['assert', 'deassert', 'pulse', 'mask', 'unmask'] as const) } : { k: 'msi', dest: int(rng, m.vcpus), vector: v };
    case 17: return { k: 'msi', dest: int(rng, m.vcpus), vector: v };
    case 18: return rng() < 0.5 ? { k: 'vmentry', cpu } : { k: 'vmentry', cpu, inject: v >= 16 ? v : 0x30 };
    default: return { k: 'l2', cpu, op: rng() < 0.6 ? 'step' : 'vmcall' };
  }
}

/** Steps of the mechanism placed right after (or before) an event that matters on `cpu`. */
function mechanismEvent(rng: Rng, cpu: number): Event {
  switch (int(rng, 5)) {
    case 0: return { k: 'exit', cpu, reason: pick(rng, REASONS) };
    case 1: return { k: 'enter_step', cpu };
    case 2: return { k: 'pirq', cpu };
    case 3: return { k: 'enter', cpu };
    default: return { k: 'step', cpu };
  }
}

const MATTERS = new Set<Event['k']>(['ipi', 'msi', 'eoi', 'tpr', 'sti', 'iret', 'ioapic', 'vmentry', 'hlt']);

/** Change one field: a vector, a vCPU, a reason, a register. */
function tweak(rng: Rng, e: Event, m: MachineConfig, vectors: readonly number[]): Event {
  const cpu = int(rng, m.vcpus);
  switch (e.k) {
    case 'ipi': {
      const r = int(rng, 3);
      if (r === 0) return { ...e, vector: pick(rng, vectors) };
      if (r === 1 && e.dest !== undefined && !e.logical) return { ...e, dest: int(rng, m.vcpus) };
      return { ...e, cpu };
    }
    case 'msi': return rng() < 0.5 ? { ...e, vector: pick(rng, vectors) } : { ...e, dest: int(rng, m.vcpus) };
    case 'exit': return rng() < 0.5 ? { ...e, reason: pick(rng, REASONS) } : { ...e, cpu };
    case 'read': return { ...e, reg: pick(rng, REGS) };
    case 'tpr': return { ...e, value: rng() < 0.3 ? 0 : pick(rng, vectors) & 0xf0 };
    case 'ioapic': return m.ioapic.length > 0 ? { ...e, pin: pick(rng, m.ioapic).pin } : e;
    // Retarget or (un)mask a redirection write; its vector and trigger stay (a level vector has one source).
    case 'ioapic_write': {
      if (rng() < 0.5) return { ...e, masked: !e.masked };
      return e.logical ? { ...e, cpu } : { ...e, dest: m.apicIds?.[cpu] ?? cpu };
    }
    default: return 'cpu' in e ? { ...e, cpu } : e;
  }
}

export interface MutateOptions {
  /** Mutants are cut to this many events. */
  maxEvents: number;
  /** Another corpus scenario to splice with (used only when its machine is the same). */
  other?: Scenario;
}

/** 1 to 4 stacked mutations; returns a new scenario (the parent is never modified). */
export function mutate(rng: Rng, parent: Scenario, o: MutateOptions): Scenario {
  const m = parent.machine;
  const ev = parent.events.slice();
  const vectors = vectorsOf(ev, m);
  const rounds = 1 + int(rng, 4);
  for (let r = 0; r < rounds; r++) {
    const n = ev.length;
    const i = n > 0 ? int(rng, n) : 0;
    switch (int(rng, 11)) {
      case 0: ev.splice(int(rng, n + 1), 0, randomEvent(rng, m, vectors)); break;
      // Copy an event elsewhere, maybe on another vCPU: the scenario's own vocabulary
      // (redirection writes, LVT programming...) that randomEvent does not draw.
      case 10: if (n > 0) { const e = ev[i]!; ev.splice(int(rng, n + 1), 0, rng() < 0.5 ? tweak(rng, e, m, vectors) : e); } break;
      case 1: if (n > 1) ev.splice(i, 1 + int(rng, Math.min(3, n - i))); break;
      case 2: if (n > 0) ev.splice(i, 0, ev[i]!); break;
      case 3: if (n > 1) { const j = (i + 1) % n; const t = ev[i]!; ev[i] = ev[j]!; ev[j] = t; } break;
      case 4: if (n > 0) ev[i] = tweak(rng, ev[i]!, m, vectors); break;
      case 5: case 6: { // move an event past the next (or previous) run of another vCPU's events
        if (n < 2) break;
        const c = cpuOf(ev[i]!);
        const dir = rng() < 0.5 ? 1 : -1;
        let j = i + dir;
        while (j >= 0 && j < n && cpuOf(ev[j]!) === c) j += dir;
        while (j >= 0 && j < n && cpuOf(ev[j]!) !== c && rng() < 0.7) j += dir;
        j = Math.max(0, Math.min(n - 1, j));
        const [e] = ev.splice(i, 1);
        ev.splice(j, 0, e!);
        break;
      }
      case 7: case 8: { // a mechanism step next to an event that matters
        let j = i;
        for (let t = 0; t < 4 && n > 0 && !MATTERS.has(ev[j]!.k); t++) j = int(rng, n);
        const e = ev[j];
        const c = e ? (e.k === 'ipi' && e.dest !== undefined && !e.logical && rng() < 0.5 ? e.dest : e.k === 'msi' ? e.dest : cpuOf(e)) : 0;
        ev.splice(j + (rng() < 0.75 ? 1 : 0), 0, mechanismEvent(rng, c >= 0 && c < m.vcpus ? c : int(rng, m.vcpus)));
        break;
      }
      default: { // splice: our prefix, the other's suffix
        const other = o.other;
        if (!other || other === parent || JSON.stringify(other.machine) !== JSON.stringify(m) || other.events.length === 0) {
          ev.splice(int(rng, n + 1), 0, randomEvent(rng, m, vectors));
          break;
        }
        const cut = int(rng, n + 1);
        const from = int(rng, other.events.length);
        ev.splice(cut, n - cut, ...other.events.slice(from));
      }
    }
  }
  if (ev.length > o.maxEvents) ev.length = o.maxEvents;
  if (ev.length === 0) ev.push(randomEvent(rng, m, vectors));
  return { irqdiff: parent.irqdiff, machine: m, events: ev };
}
