// Exhaustive exploration for small bounds: breadth first over every interleaving of a small
// event alphabet (per vCPU: IPIs of one or two vectors, EOI, IRET, STI, step, HLT, a VM exit,
// entry steps, notification arrivals; L2 steps and VM entries on nested machines), up to a
// depth. Each prefix is run from scratch; a prefix whose state (backend + reference, hashed
// canonically) was already reached at the same or a smaller depth is not expanded again.
// Every prefix is also drained and judged, so the first depth at which a root cause shows is
// the length of its shortest interleaving over this alphabet.
//
// Soundness of the dedup: two prefixes with the same backend and reference state behave the
// same from then on, except for the oracle's own bookkeeping (pending obligations carry event
// indices). The digest covers every field of the backend and of the reference, indices
// included, so it over-distinguishes rather than merges; "none up to depth N" is exact for
// the alphabet and machine, not for every machine or vector choice.
import type { Backend, BackendInstance } from '../backends/api.js';
import { supportsOn } from '../backends/features.js';
import { Session } from '../engine/session.js';
import type { Event, MachineConfig } from '../scenario/types.js';

export interface ExploreOptions {
  depth: number;
  vcpus: number;
  vectors: number[];
  /** Bound on distinct states kept (memory); exploration stops at the depth where it is hit. */
  maxStates: number;
  /** Prefer a nested machine (L1 runs an L2) when the backend accepts one. */
  nested?: boolean;
  /** Add device MSIs of each vector to each vCPU to the alphabet. */
  msi?: boolean;
  /** A Hyper-V guest with the APIC assist (backends that accept it); adds assisted EOIs. */
  hyperv?: boolean;
}

export interface ExploreResult {
  machine: MachineConfig;
  alphabet: Event[];
  /** Per root cause ("<class>:<tag>"): the shortest interleaving found. */
  shortest: Map<string, Event[]>;
  /** Depth fully explored (every prefix up to it was run and judged). */
  completeDepth: number;
  states: number;
  runs: number;
  truncated: boolean;
}

/** The smallest machine the backend accepts: flat, else nested; x2APIC, else xAPIC. */
export function smallMachine(b: Backend, vcpus: number, nested = false, hyperv = false, variant?: string): MachineConfig | undefined {
  // The variant's own refusals too (Backend.supportsVariant).
  const sup = (c: MachineConfig): string | null => supportsOn(b, c, variant);
  for (const apic of ['x2apic', 'xapic'] as const) {
    const m: MachineConfig = { vcpus, apic, ioapic: [] };
    const h: MachineConfig = { ...m, hyperv: { apicAssist: true } };
    if (hyperv && sup(h) === null) return h;
    const n: MachineConfig = { ...m, nested: { exitOnIntr: true } };
    if (nested && sup(n) === null) return n;
    if (sup(m) === null) return m;
    if (sup(n) === null) return n;
  }
  return undefined;
}

export function alphabet(m: MachineConfig, vectors: number[], msi = false): Event[] {
  const out: Event[] = [];
  if (msi) for (let dest = 0; dest < m.vcpus; dest++) for (const vector of vectors) out.push({ k: 'msi', dest, vector });
  for (let cpu = 0; cpu < m.vcpus; cpu++) {
    for (const v of vectors) out.push(m.vcpus > 1 ? { k: 'ipi', cpu, vector: v, dest: (cpu + 1) % m.vcpus } : { k: 'ipi', cpu, vector: v, shorthand: 'self' });
    out.push({ k: 'eoi', cpu }, { k: 'iret', cpu }, { k: 'sti', cpu }, { k: 'step', cpu }, { k: 'hlt', cpu },
      { k: 'exit', cpu, reason: 'timer' }, { k: 'enter', cpu }, { k: 'enter_step', cpu }, { k: 'pirq', cpu });
    if (m.nested) out.push({ k: 'vmentry', cpu }, { k: 'l2', cpu, op: 'step' });
    if (m.hyperv?.apicAssist) out.push({ k: 'eoi', cpu, assist: true });
  }
  return out;
}

/** A canonical digest of everything reachable from `root`, skipping `skip` (the oracle). */
export function digest(root: unknown, skip: ReadonlySet<unknown>): string {
  const parts: string[] = [];
  const ids = new Map<object, number>();
  const walk = (x: unknown): void => {
    if (x === null || typeof x !== 'object') {
      if (typeof x !== 'function') parts.push(typeof x === 'string' ? JSON.stringify(x) : String(x));
      return;
    }
    if (skip.has(x)) { parts.push('~'); return; }
    const seen = ids.get(x);
    if (seen !== undefined) { parts.push(`@${seen}`); return; }
    ids.set(x, ids.size);
    if (ArrayBuffer.isView(x)) { parts.push(`[${Array.from(x as Uint8Array).join(',')}]`); return; }
    if (Array.isArray(x)) { parts.push('['); for (const e of x) walk(e); parts.push(']'); return; }
    if (x instanceof Map) { parts.push('M{'); for (const [k, v] of x) { walk(k); walk(v); } parts.push('}'); return; }
    if (x instanceof Set) { parts.push('S{'); for (const v of x) walk(v); parts.push('}'); return; }
    parts.push('{');
    for (const k of Object.keys(x)) { parts.push(k); walk((x as Record<string, unknown>)[k]); }
    parts.push('}');
  };
  walk(root);
  return parts.join(' ');
}

function stateOf(s: Session): string {
  const inst: BackendInstance = s.instance;
  return digest([inst, s.oracle.ref], new Set<unknown>([s.oracle, s.oracle.machine]));
}

export function explore(b: Backend, variant: string, o: ExploreOptions): ExploreResult {
  const machine = smallMachine(b, o.vcpus, o.nested, o.hyperv, variant);
  if (!machine) throw new Error(`backend '${b.name}' accepts no ${o.vcpus}-vCPU machine without devices`);
  const letters = alphabet(machine, o.vectors, o.msi);
  const shortest = new Map<string, Event[]>();
  const seen = new Set<string>();
  let frontier: Event[][] = [[]];
  let runs = 0;
  let completeDepth = 0;
  let truncated = false;
  {
    const s = new Session(b, variant, machine);
    seen.add(stateOf(s));
  }
  for (let depth = 1; depth <= o.depth && frontier.length > 0; depth++) {
    const next: Event[][] = [];
    for (const prefix of frontier) {
      for (const ev of letters) {
        const events = [...prefix, ev];
        const s = new Session(b, variant, machine);
        for (let i = 0; i < events.length; i++) s.apply(events[i]!, i);
        runs++;
        const key = stateOf(s);
        const fresh = !seen.has(key);
        // Judge every new state; a known state's verdict is its twin's.
        if (!fresh) continue;
        if (seen.size >= o.maxStates) { truncated = true; continue; }
        seen.add(key);
        next.push(events);
        const r = s.finish();
        for (const d of r.divergences) if (!shortest.has(d.cause)) shortest.set(d.cause, events);
      }
    }
    if (truncated) break;
    completeDepth = depth;
    frontier = next;
  }
  return { machine, alphabet: letters, shortest, completeDepth, states: seen.size, runs, truncated };
}
