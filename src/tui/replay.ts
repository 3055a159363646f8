// A reproducer replayed into plain data for the reproducer view, the exports and the report:
// every step (scenario and drain) with its lane (vCPU, or the hypervisor/hardware), what the
// hypervisor and the guest did, register reads with their values, and per vCPU the
// reference's and the backend's IRR/ISR/TMR/PPR with their differences — a difference the
// reference explains by a message still on the bus is legal latency, shown as such. Then the
// step where the vector got stuck, the first divergence, and a plain-words explanation.
import { hex, vsFormat, vsHas, vsList, type VecSet } from '../apic/vecset.js';
import type { Backend } from '../backends/api.js';
import { Session, type RunResult } from '../engine/session.js';
import { docFor } from '../fuzz/classify.js';
import { formatEvent } from '../scenario/format.js';
import { shown } from '../scenario/sanitize.js';
import type { Event, Reg, Scenario } from '../scenario/types.js';

export interface CpuState {
  where: string;
  ref: { irr: number[]; isr: number[]; tmr: number[]; ppr: number; bus: number[]; maybe: number[] };
  /** The backend's view; TMR is not part of the Backend snapshot API (null). */
  be: { irr: number[]; isr: number[]; tmr: number[] | null; ppr: number; extra: string };
  /** Vectors where ref and backend disagree that no in-flight message explains. */
  diff: { irr: number[]; isr: number[]; ppr: boolean };
  /** Vectors where they disagree only because a message is still on the bus (legal). */
  latency: number[];
}

export interface Step {
  /** Scenario event index; drain events are -1, -2, ... */
  index: number;
  event: Event;
  text: string;
  /** The lane: the vCPU of a guest instruction, or -1 for hypervisor/hardware/device steps. */
  lane: number;
  cpu: number;
  notes: { cpu: number; text: string; divergence: boolean }[];
  reads: { cpu: number; reg: Reg; value: string }[];
  state: CpuState[];
}

export interface Replay {
  target: string;
  steps: Step[];
  result: RunResult;
  /** Position in `steps` of the first divergence (-1: clean). */
  divergenceAt: number;
  /** Position in `steps` from which the vector was held, when that can be told (-1 otherwise). */
  stuckAt: number;
  vector: number | undefined;
  explanation: string[];
}

const GUEST_LANE = new Set<Event['k']>(['ipi', 'eoi', 'tpr', 'cli', 'sti', 'step', 'hlt', 'iret', 'read', 'work', 'wait', 'assist', 'vmentry', 'l2']);

export function laneOf(e: Event): number {
  return GUEST_LANE.has(e.k) && 'cpu' in e ? e.cpu : -1;
}

const xor = (a: readonly number[], b: readonly number[]) => [...a.filter((v) => !b.includes(v)), ...b.filter((v) => !a.includes(v))];

function readText(v: VecSet | number): string {
  return typeof v === 'number' ? hex(v) : vsFormat(v);
}

export function replay(s: Scenario, backend: Backend, variant: string): Replay {
  const session = new Session(backend, variant, s.machine);
  const o = session.oracle;
  const b = session.instance;
  let notes: Step['notes'] = [];
  let reads: Step['reads'] = [];
  o.listener = (cpu, what) => { notes.push({ cpu, text: what, divergence: what.startsWith('DIVERGENCE') }); };
  // Register reads reach the oracle through readValue: wrapped on this one object to record the value.
  const original = o.readValue.bind(o);
  o.readValue = (cpu: number, reg: Reg, value: VecSet | number) => { reads.push({ cpu, reg, value: readText(value) }); original(cpu, reg, value); };
  const state = (): CpuState[] => {
    const out: CpuState[] = [];
    for (let c = 0; c < s.machine.vcpus; c++) {
      const r = o.ref.cpus[c]!;
      const snap = b.snapshot(c);
      const ref = { irr: vsList(r.irr), isr: vsList(r.isr), tmr: vsList(r.tmr), ppr: r.ppr(), bus: vsList(r.inflight.bits), maybe: vsList(r.extra.bits) };
      const be = { irr: vsList(snap.irr), isr: vsList(snap.isr), tmr: null, ppr: snap.ppr, extra: snap.extra ?? '' };
      const irrX = xor(ref.irr, be.irr);
      const legal = irrX.filter((v) => vsHas(r.inflight.bits, v) || vsHas(r.extra.bits, v));
      out.push({
        where: b.where(c) + (b.inL2(c) ? '/L2' : '') + (b.guest(c).halted ? '/hlt' : ''),
        ref, be, latency: legal,
        diff: { irr: irrX.filter((v) => !legal.includes(v)), isr: xor(ref.isr, be.isr), ppr: ref.ppr !== be.ppr && legal.length === 0 },
      });
    }
    return out;
  };
  const steps: Step[] = [];
  const push = (e: Event, i: number) => {
    steps.push({ index: i, event: e, text: formatEvent(e), lane: laneOf(e), cpu: 'cpu' in e ? e.cpu : e.k === 'msi' ? e.dest : -1, notes, reads, state: state() });
    notes = []; reads = [];
  };
  s.events.forEach((e, i) => { session.apply(e, i); push(e, i); });
  session.onApply = (e, i) => {
    // Drain steps that only let a guest spin are folded away, as in `irqdiff run`.
    if (notes.every((n) => n.text === 'executed step') && reads.length === 0) { notes = []; return; }
    push(e, i);
  };
  const result = session.finish();
  if (notes.length > 0 || reads.length > 0) steps.push({ index: -9999, event: { k: 'step', cpu: 0 }, text: 'drain: final judgement', lane: -1, cpu: -1, notes, reads, state: state() });
  const divergenceAt = steps.findIndex((st) => st.notes.some((n) => n.divergence));
  const vector = vectorOf(result);
  const stuckAt = divergenceAt < 0 || vector === undefined ? -1 : findStuck(steps, divergenceAt, result.primary!.cpu, vector);
  const r: Replay = { target: `${backend.name}/${variant}`, steps, result, divergenceAt, stuckAt, vector, explanation: [] };
  r.explanation = explain(r, [backend]);
  return r;
}

/** The vector a divergence is about: the first "0x.." in its message. */
function vectorOf(r: RunResult): number | undefined {
  const m = r.primary ? /0x([0-9a-f]{1,2})\b/i.exec(r.primary.message) : null;
  if (r.primary && /\bNMI\b/.test(r.primary.message) && !m) return 2;
  return m ? parseInt(m[1]!, 16) : undefined;
}

/**
 * The step from which the backend held the vector: the first step of the last run of steps,
 * ending at the divergence, where the reference had it (pending, in service or delivered)
 * while the backend's registers disagreed about it with no message on the bus to explain it.
 */
function findStuck(steps: readonly Step[], at: number, cpu: number, v: number): number {
  const differs = (st: Step) => {
    const c = st.state[cpu];
    return c !== undefined && (c.diff.irr.includes(v) || c.diff.isr.includes(v));
  };
  let k = at;
  while (k > 0 && differs(steps[k - 1]!)) k--;
  if (k < at || differs(steps[at]!)) return k;
  // Registers agreed all along (e.g. the vector sits in a posted descriptor the snapshot does
  // not show): the last step that sent the vector is where it went into the mechanism.
  for (let i = at; i >= 0; i--) {
    const e = steps[i]!.event;
    if ((e.k === 'ipi' || e.k === 'msi') && e.vector === v) return i;
  }
  return -1;
}

const KIND_WORDS: Record<string, string> = {
  lost: 'was never delivered, even after the drain let every vCPU run and exit',
  late: 'was not taken at the instruction boundary where bare metal takes it',
  duplicate: 'was delivered again with nothing pending',
  spurious: 'was delivered although it was never sent',
  'masked-if': 'was delivered while RFLAGS.IF = 0',
  'masked-shadow': 'was delivered in an STI shadow',
  'masked-ppr': 'was delivered at or below the processor priority',
  'nmi-blocked': 'was delivered while NMIs were blocked',
  'priority-inversion': 'was taken after a lower vector',
  'read-mismatch': 'showed in a register read a value bare metal cannot return',
  livelock: 'kept the vCPU exiting with no progress',
};

/** Plain words: what happened, where it got stuck, and the documented reason if there is one. */
export function explain(r: Replay, backends: readonly Backend[]): string[] {
  const p = r.result.primary;
  if (!p) return [`${r.target}: clean — every delivery, read and EOI matched the reference.`];
  const v = r.vector === undefined ? 'the interrupt' : r.vector === 2 && /NMI/.test(p.message) ? 'the NMI' : hex(r.vector);
  const lines = [`On ${r.target}, vCPU${p.cpu}: ${v} ${KIND_WORDS[p.kind] ?? `diverged (${p.kind})`}.`];
  if (r.vector !== undefined) {
    const sent = r.steps.filter((st) => (st.event.k === 'ipi' || st.event.k === 'msi') && st.event.vector === r.vector).length;
    const took = r.steps.reduce((n, st) => n + st.notes.filter((x) => x.cpu === p.cpu && x.text === `deliver ${hex(r.vector!)}`).length, 0);
    if (sent > 0) lines.push(`${v} was sent ${sent} time${sent === 1 ? '' : 's'} and delivered ${took} time${took === 1 ? '' : 's'} on vCPU${p.cpu}.`);
  }
  const d = docFor(backends, p.signature);
  if (d) lines.push(`${d.cls === 'expected' ? 'Documented bug' : 'Documented deviation'}: ${shown(d.doc.why, 1200)}`);
  else lines.push('Not documented by this variant: UNEXPECTED — read the steps above.');
  if (r.stuckAt >= 0) {
    const st = r.steps[r.stuckAt]!;
    lines.push(`It got stuck at step ${st.index >= 0 ? st.index : `d${-1 - st.index}`} (${st.text}): from there ${r.target} ${p.cause.startsWith('stuck') ? 'held it' : 'disagreed with the reference about it'}.`);
  }
  lines.push(`Root cause ${p.cause} — ${shown(p.message, 400)}`);
  return lines;
}

/** "IRR 41 51" style: the vectors as the trace prints them. */
export function fmtVecs(list: readonly number[]): string {
  return list.length === 0 ? '—' : list.map((v) => v.toString(16).padStart(2, '0')).join(',');
}
