// The minimizer: shrinks a divergent scenario while its run keeps the same primary
// signature. Delta debugging over events first, then domain passes: merged entry steps,
// fewer vCPUs, fewer IOAPIC pins, canonical low vectors, simpler machine. Every
// subsequence of a scenario is valid (disabled events are no-ops), so deletion is safe.
import type { Backend } from '../backends/api.js';
import { runScenario } from '../engine/session.js';
import { validateScenario } from '../scenario/schema.js';
import type { Event, MachineConfig, Scenario } from '../scenario/types.js';

export interface MinimizeResult {
  scenario: Scenario;
  runs: number;
  before: number;
  after: number;
}

type Pred = (s: Scenario) => boolean;

function withEvents(s: Scenario, events: Event[]): Scenario {
  return { ...s, events };
}

/** Classic ddmin on the event list (Zeller & Hildebrandt), deleting chunks. */
function ddmin(s: Scenario, test: Pred): Scenario {
  let cur = s.events;
  let n = 2;
  while (cur.length >= 2) {
    const chunk = Math.ceil(cur.length / n);
    let reduced = false;
    for (let start = 0; start < cur.length; start += chunk) {
      const candidate = cur.slice(0, start).concat(cur.slice(start + chunk));
      if (candidate.length < cur.length && test(withEvents(s, candidate))) {
        cur = candidate;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= cur.length) break;
      n = Math.min(n * 2, cur.length);
    }
  }
  return withEvents(s, cur);
}

/** Replace `enter_step` by `enter`, one at a time. */
function mergeSteps(s: Scenario, test: Pred): Scenario {
  let cur = s;
  for (let i = 0; i < cur.events.length; i++) {
    const e = cur.events[i]!;
    if (e.k !== 'enter_step') continue;
    const events = cur.events.slice();
    events[i] = { k: 'enter', cpu: e.cpu };
    const cand = withEvents(cur, events);
    if (test(cand)) cur = cand;
  }
  return cur;
}

function cpusUsed(s: Scenario): Set<number> {
  const used = new Set<number>();
  for (const e of s.events) {
    if ('cpu' in e) used.add(e.cpu);
    if (e.k === 'ipi' && (e.shorthand ?? 'none') === 'none' && !e.logical && e.dest !== undefined) used.add(e.dest);
    if (e.k === 'msi' && !e.logical) used.add(e.dest);
    if (e.k === 'ioapic') { const p = s.machine.ioapic.find((x) => x.pin === e.pin); if (p) used.add(p.dest); }
  }
  return used;
}

/** Renumber vCPUs so the used ones come first, then drop the rest. */
function fewerCpus(s: Scenario, test: Pred): Scenario {
  const used = [...cpusUsed(s)].filter((c) => c < s.machine.vcpus).sort((a, b) => a - b);
  const n = Math.max(1, used.length);
  if (n >= s.machine.vcpus) return s;
  const map = new Map<number, number>();
  used.forEach((c, i) => map.set(c, i));
  const m = (c: number) => map.get(c) ?? c;
  const events = s.events.map((e): Event => {
    if (e.k === 'msi') return e.logical ? e : { ...e, dest: m(e.dest) };
    if (e.k === 'ipi') {
      const out = { ...e, cpu: m(e.cpu) };
      if ((e.shorthand ?? 'none') === 'none' && !e.logical && e.dest !== undefined) out.dest = m(e.dest);
      return out;
    }
    if ('cpu' in e) return { ...e, cpu: m(e.cpu) } as Event;
    return e;
  });
  const machine: MachineConfig = { ...s.machine, vcpus: n, ioapic: s.machine.ioapic.map((p) => ({ ...p, dest: m(p.dest) })) };
  const cand: Scenario = { ...s, machine, events };
  return test(cand) ? cand : s;
}

function fewerPins(s: Scenario, test: Pred): Scenario {
  // Pins named by events: inputs, and the redirection entries a guest rewrites or reads.
  const used = new Set<number>();
  for (const e of s.events) {
    if (e.k === 'ioapic' || e.k === 'ioapic_write') used.add(e.pin);
    else if (e.k === 'ioapic_read' && e.pin !== undefined) used.add(e.pin);
  }
  if (used.size === s.machine.ioapic.length) return s;
  const cand: Scenario = { ...s, machine: { ...s.machine, ioapic: s.machine.ioapic.filter((p) => used.has(p.pin)) } };
  return test(cand) ? cand : s;
}

/**
 * Map the vectors to canonical low values that keep every relation the APIC can see:
 * order, equality of priority class, and the class order against TPR values.
 */
function canonicalVectors(s: Scenario, test: Pred): Scenario {
  const vecs = new Set<number>();
  for (const e of s.events) {
    if ((e.k === 'ipi' && !e.nmi) || e.k === 'msi') vecs.add(e.vector);
    if (e.k === 'vmentry' && e.inject !== undefined) vecs.add(e.inject);
  }
  for (const p of s.machine.ioapic) vecs.add(p.vector);
  const tprClasses = new Set<number>();
  for (const e of s.events) if (e.k === 'tpr') tprClasses.add(e.value >> 4);
  const classes = new Set<number>();
  for (const v of vecs) if (v >= 16) classes.add(v >> 4);
  for (const c of tprClasses) classes.add(c);
  const sortedClasses = [...classes].sort((a, b) => a - b);
  // Class 0 stays 0 (TPR 0); other classes become 2, 3, 4, ... in order.
  const classMap = new Map<number, number>();
  let next = 2;
  for (const c of sortedClasses) classMap.set(c, c === 0 ? 0 : next++);
  if (next > 16) return s;
  const vecMap = new Map<number, number>();
  const byClass = new Map<number, number[]>();
  for (const v of [...vecs].sort((a, b) => a - b)) {
    if (v < 16) { vecMap.set(v, v); continue; }
    const list = byClass.get(v >> 4) ?? [];
    list.push(v);
    byClass.set(v >> 4, list);
  }
  for (const [c, list] of byClass) list.forEach((v, i) => vecMap.set(v, (classMap.get(c)! << 4) | i));
  const mv = (v: number) => vecMap.get(v) ?? v;
  const events = s.events.map((e): Event => {
    if (e.k === 'ipi' && !e.nmi) return { ...e, vector: mv(e.vector) };
    if (e.k === 'msi') return { ...e, vector: mv(e.vector) };
    if (e.k === 'vmentry' && e.inject !== undefined) return { ...e, inject: mv(e.inject) };
    if (e.k === 'tpr') return { ...e, value: (classMap.get(e.value >> 4) ?? 0) << 4 };
    return e;
  });
  const machine = { ...s.machine, ioapic: s.machine.ioapic.map((p) => ({ ...p, vector: mv(p.vector) })) };
  const cand: Scenario = { ...s, machine, events };
  if (JSON.stringify(cand) === JSON.stringify(s)) return s;
  return test(cand) ? cand : s;
}

function simplerMachine(s: Scenario, test: Pred): Scenario {
  let cur = s;
  if (cur.machine.apic !== 'x2apic') {
    const cand = { ...cur, machine: { ...cur.machine, apic: 'x2apic' as const } };
    if (test(cand)) cur = cand;
  }
  if (cur.machine.nested && !cur.events.some((e) => e.k === 'vmentry' || e.k === 'l2')) {
    const machine = { ...cur.machine };
    delete machine.nested;
    const cand = { ...cur, machine };
    if (test(cand)) cur = cand;
  }
  if (cur.machine.hyperv) {
    // Without the enlightenment, or with a guest that EOIs plainly, if that keeps the finding.
    const machine = { ...cur.machine };
    delete machine.hyperv;
    const events = cur.events.filter((e) => e.k !== 'assist').map((e): Event => (e.k === 'eoi' && e.assist ? { k: 'eoi', cpu: e.cpu } : e));
    const cand = { ...cur, machine, events };
    if (test(cand)) cur = cand;
  }
  for (let i = 0; i < cur.events.length; i++) {
    const e = cur.events[i]!;
    if (e.k !== 'eoi' || !e.assist) continue;
    const events = cur.events.slice();
    events[i] = { k: 'eoi', cpu: e.cpu };
    const cand = withEvents(cur, events);
    if (test(cand)) cur = cand;
  }
  return cur;
}

/**
 * `anywhere`: keep the signature among the run's root causes rather than first — for a cause
 * first seen behind another one; removing the other's events usually makes it first.
 */
export function minimize(s: Scenario, backend: Backend, variant: string, signature: string, maxRuns = 4000, anywhere = false): MinimizeResult {
  let runs = 0;
  const test: Pred = (c) => {
    if (runs >= maxRuns) return false;
    runs++;
    try {
      // A candidate must still be a valid scenario (a pin an event names must stay configured,
      // a level vector must keep its own): the reproducer is written and read back as a file.
      validateScenario(c);
      const r = runScenario(c, backend, variant);
      return anywhere ? r.divergences.some((d) => d.signature === signature) : r.primary?.signature === signature;
    } catch {
      return false;
    }
  };
  const before = s.events.length;
  let cur: Scenario = { irqdiff: s.irqdiff, machine: s.machine, events: s.events };
  for (let round = 0; round < 4; round++) {
    const start = JSON.stringify(cur);
    cur = ddmin(cur, test);
    cur = mergeSteps(cur, test);
    cur = fewerCpus(cur, test);
    cur = fewerPins(cur, test);
    cur = canonicalVectors(cur, test);
    cur = simplerMachine(cur, test);
    if (JSON.stringify(cur) === start) break;
  }
  return { scenario: cur, runs, before, after: cur.events.length };
}
