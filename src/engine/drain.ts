// The end-of-scenario drain (docs/oracle.md). Every guest is put into a canonical idle
// (handlers EOI and IRET, TPR 0, STI, then spin) and the system settles in two phases:
//   1. no spontaneous VM exits: only what the mechanism itself causes happens (in-flight
//      physical interrupts arrive, kicks and window exits, entries complete, guests take
//      interrupts and EOI them). Each spin is an instruction boundary, judged like any other
//      (REF-TIME-1); what bare metal would still take afterwards is late;
//   2. with spontaneous exits (a timer tick on every vCPU, a few times). What bare metal
//      would still take afterwards is lost.
// A phase that does not settle within its bound is a livelock.
import type { BackendInstance } from '../backends/api.js';
import type { Oracle } from '../oracle/oracle.js';
import type { Event } from '../scenario/types.js';

const PHASE2_TICKS = 3;

export interface DrainHooks {
  /** Feed one event to the backend (the engine records it for traces and counts it). */
  apply(ev: Event): void;
}

// Drain events are immutable: build them once per vCPU so the drain does not allocate.
interface CpuEvents { step: Event; l2: Event; iret: Event; eoi: Event; tpr0: Event; sti: Event; pirq: Event; enter: Event; tick: Event; readIsr: Event; readIrr: Event }
const EV: CpuEvents[] = [];
for (let cpu = 0; cpu < 8; cpu++) {
  EV.push({
    step: { k: 'step', cpu }, l2: { k: 'l2', cpu, op: 'step' }, iret: { k: 'iret', cpu }, eoi: { k: 'eoi', cpu },
    tpr0: { k: 'tpr', cpu, value: 0, via: 'mmio' }, sti: { k: 'sti', cpu }, pirq: { k: 'pirq', cpu },
    enter: { k: 'enter', cpu }, tick: { k: 'exit', cpu, reason: 'timer' },
    readIsr: { k: 'read', cpu, reg: 'isr' }, readIrr: { k: 'read', cpu, reg: 'irr' },
  });
}

/** The idle action for a vCPU that runs guest code, or null when it is idle. */
function idleAction(b: BackendInstance, cpu: number): Event | null {
  const e = EV[cpu]!;
  if (b.inL2(cpu)) return e.l2;
  const g = b.guest(cpu);
  if (g.halted) return null;
  if (g.shadow) return e.step;
  const f = g.top();
  if (f) return f.eoied ? e.iret : e.eoi;
  if (g.owedEoi > 0) return e.eoi;
  if (g.tpr !== 0) return e.tpr0;
  if (!g.IF) return e.sti;
  return null;
}

/** Run rounds until two consecutive rounds are quiet; false if the bound was hit. */
function settle(b: BackendInstance, o: Oracle, h: DrainHooks, vcpus: number, bound: number): boolean {
  let quiet = 0;
  o.exitReasons.clear();
  for (let round = 0; round < bound; round++) {
    const before = o.activity;
    let busy = false;
    for (let cpu = 0; cpu < vcpus; cpu++) {
      if (b.physPending(cpu)) { h.apply(EV[cpu]!.pirq); busy = true; }
      const where = b.where(cpu);
      if (where === 'hv') { h.apply(EV[cpu]!.enter); busy = true; continue; }
      if (where === 'blocked') { h.apply(EV[cpu]!.enter); continue; }
      const act = idleAction(b, cpu);
      if (act) { h.apply(act); if (act.k !== 'l2') busy = true; }
      else if (!b.guest(cpu).halted) h.apply(EV[cpu]!.step);
    }
    if (!busy && o.activity === before) {
      if (++quiet >= 2) return true;
    } else {
      quiet = 0;
    }
  }
  return false;
}

export function drain(b: BackendInstance, o: Oracle, h: DrainHooks): void {
  const n = o.machine.vcpus;
  const bound = 48 + 16 * n;
  // Devices go quiet: a level line left asserted would re-fire after every EOI.
  for (const [pin, st] of o.ref.pins) if (st.line) h.apply({ k: 'ioapic', pin, op: 'deassert' });
  o.ref.cpus.forEach((a, cpu) => a.lint.forEach((l, pin) => { if (l.line) h.apply({ k: 'lint', cpu, pin: pin as 0 | 1, op: 'deassert' }); }));

  if (!settle(b, o, h, n, bound)) {
    o.livelock('phase1', `the system did not settle within ${bound} rounds without spontaneous exits (${o.exits} VM exits so far)`);
    return;
  }
  o.judgeSettled();
  for (let tick = 0; tick < PHASE2_TICKS; tick++) {
    for (let cpu = 0; cpu < n; cpu++) h.apply(EV[cpu]!.tick);
    if (!settle(b, o, h, n, bound)) {
      o.livelock('phase2', `the system did not settle within ${bound} rounds after a timer tick`);
      return;
    }
  }
  o.judgeFinal();
  // Final reads: stale in-service or pending state shows up here even when nothing was lost.
  for (let cpu = 0; cpu < n; cpu++) {
    if (b.where(cpu) !== 'guest' || b.inL2(cpu) || b.guest(cpu).halted) continue;
    h.apply(EV[cpu]!.readIsr);
    if (b.where(cpu) === 'hv') h.apply(EV[cpu]!.enter);
    if (b.where(cpu) === 'guest' && !b.guest(cpu).halted) h.apply(EV[cpu]!.readIrr);
  }
}
