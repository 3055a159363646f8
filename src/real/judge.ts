// Judges what the real guest observed against the architectural reference (src/reference).
//
// Real vCPUs run in parallel and interrupts have latency, so the judge never asks "what did
// the reference do at this step"; it asks whether SOME timing allowed by the latency
// assumptions explains every observation. Each vCPU is judged on its own timeline: its own
// ops and observed deliveries are fixed points; every interrupt sent to it (IPI, MSI, I/O
// APIC message, NMI) is accepted into its IRR at some moment after the sender's op and no
// later than the bound of assumption A1; a vector that is pending and deliverable for a
// whole op must be taken at the next op boundary where the core is interruptible (A2). The
// judge keeps the set of all reference states that some choice of acceptance moments
// yields (a breadth-first search with deduplication) and drops the states that contradict
// an observation or a lateness rule. A divergence is reported only when no state survives.
// The assumptions and their sources are in docs/real-replay.md.
import { initialAddr, matchesAddr, type ApicAddr } from '../apic/dest.js';
import { computePpr, prioClass, vecSet, vsHas, vsHighest, vsList, type VecSet } from '../apic/vecset.js';
import { makeSignature, type Divergence, type DivergenceKind } from '../oracle/divergence.js';
import { ESR_RECV_ILLEGAL, ESR_SEND_ILLEGAL, Reference, SRC_NAMES, Src, type DeliveryFault } from '../reference/lapic.js';
import { ioapicIdImpossible, ioapicVersionImpossible, lapicVersionImpossible } from '../reference/model-specific.js';
import type { Event, MachineConfig, Reg } from '../scenario/types.js';
import type { Compiled, CompiledOp, PinEntry } from './compile.js';
import { ERR, POS_END_MODE, type CpuLog, type ObsRecord, type ScenarioObs } from './qemu.js';

export const MAX_STATES = 20000;

// ------------------------------------------------------------------------------------------
// Adapter: the only place that touches the Reference (src/reference/lapic.ts). One vCPU's
// architectural APIC and core, as a one-vCPU Reference. Members relied on: new Reference(m),
// accept(0, v, level, src) ("lands in IRR now"), apply(ev) for guest instructions, deliver(0,
// v, nmi) → DeliveryFault | null, read(0, reg), eoi(0); cpus[0].{irr, isr, tmr, tpr, esr,
// nmiPending, nmiExtra, extra, guest, addr, svr, esrLatched, esrShown, disabled(), ppr(),
// deliverable(), copyFrom()}; guest.{IF, shadow,
// nmiBlocked, beginInstruction(), iret(), copyFrom()}.
// ------------------------------------------------------------------------------------------
class Apic {
  private constructor(private readonly ref: Reference) {}
  /** Whether this APIC, as programmed now (ID, LDR, DFR), accepts a message with this destination (REF-ADDR-1). */
  matches(logical: boolean, dest: number): boolean { return matchesAddr(this.ref.machine.apic, this.c.addr, logical, dest); }
  /** Software-disabled (SVR bit 8 clear): fixed messages are discarded on arrival, IRR is held (REF-SVR-1/2). */
  get disabled(): boolean { return this.c.disabled(); }

  /** The APIC of the vCPU whose APIC ID is `id` (programmed registers read back its ID and LDR). */
  static create(apic: MachineConfig['apic'], id: number): Apic {
    const ref = new Reference({ vcpus: 1, apic, ioapic: [], apicIds: [id] });
    // vCPU `id`'s initial logical ID (the harness programs the same LDR as the reference).
    const init = initialAddr(apic, id, id);
    ref.cpus[0]!.addr.ldr = init.ldr; ref.cpus[0]!.addr.flat = init.flat;
    return new Apic(ref);
  }

  private get c() { return this.ref.cpus[0]!; }

  clone(): Apic {
    const r = new Reference(this.ref.machine);
    r.cpus[0]!.copyFrom(this.c);
    return new Apic(r);
  }

  key(): string {
    const a = this.c, g = a.guest;
    return `${a.irr.join(',')}|${a.isr.join(',')}|${a.tmr.join(',')}|${a.tpr}|${a.esr}|${a.nmiPending ? 1 : 0}|${g.IF ? 1 : 0}${g.shadow ? 1 : 0}${g.nmiBlocked ? 1 : 0}${g.frames.length}`
      + `|${a.addr.id},${a.addr.ldr},${a.addr.flat ? 1 : 0},${a.svr},${a.esrLatched ? 1 : 0},${a.esrShown}`;
  }

  get irr(): VecSet { return this.c.irr; }
  get isr(): VecSet { return this.c.isr; }
  get tpr(): number { return this.c.tpr; }
  get nmiPending(): boolean { return this.c.nmiPending; }
  get IF(): boolean { return this.c.guest.IF; }
  get shadow(): boolean { return this.c.guest.shadow; }
  get nmiBlocked(): boolean { return this.c.guest.nmiBlocked; }
  ppr(): number { return this.c.ppr(); }
  /** Highest vector the APIC would hand the core now (IRR above PPR), or -1. */
  deliverable(): number { return this.c.deliverable(); }
  /** Maskable interrupts can be recognised at this boundary. */
  interruptible(): boolean { return this.c.guest.IF && !this.c.guest.shadow; }

  /** A fixed message arrives now. Collapse is exact: the judge itself chooses acceptance moments. */
  accept(vector: number, level: boolean, src: Src): void {
    if (vector < 16) { this.c.esr |= ESR_RECV_ILLEGAL; return; }
    this.ref.accept(0, vector, level, src);
    this.c.extra.takeAll(vector);
  }
  acceptNmi(): void { this.c.nmiPending = true; this.c.nmiExtra = 0; }
  dropNmi(): void { this.c.nmiPending = false; }

  /** A guest instruction of this vCPU (never an MSI or I/O APIC event: the judge routes those). */
  exec(ev: Event): void {
    if (ev.k === 'ipi') {
      this.c.guest.beginInstruction();
      if (!ev.nmi && ev.vector < 16) this.c.esr |= ESR_SEND_ILLEGAL;
      return;
    }
    this.ref.apply({ ...ev, cpu: 0 } as Event);
  }
  /** An instruction with no APIC effect (a trapping instruction, a device write). */
  step(): void { this.c.guest.beginInstruction(); }

  deliver(vector: number, nmi: boolean): DeliveryFault | null {
    if (nmi) this.c.guest.shadow = false; // NMIs "may" be taken in an STI shadow (SDM STI): allowed
    return this.ref.deliver(0, nmi ? 2 : vector, nmi);
  }
  read(reg: Reg): VecSet | number { return this.ref.read(0, reg); }
  /** The vector an EOI now retires and whether it was level-triggered. */
  eoiTarget(): { vector: number; level: boolean } {
    const v = vsHighest(this.c.isr);
    return { vector: v, level: v >= 0 && vsHas(this.c.tmr, v) };
  }
  eoi(): void { this.c.guest.eoi(); this.ref.eoi(0); }
  iret(): void { this.c.guest.iret(); }
  /** The harness's canonical idle before the drain: TPR 0, every ISR bit EOIed, NMIs unblocked, IF = 1. */
  idle(onEoi: (vector: number, level: boolean) => void): void {
    this.ref.apply({ k: 'tpr', cpu: 0, value: 0, via: 'mmio' });
    for (let k = 0; k < 256 && vsHighest(this.c.isr) >= 0; k++) { const t = this.eoiTarget(); this.ref.eoi(0); onEoi(t.vector, t.level); }
    const g = this.c.guest;
    g.nmiBlocked = false; g.IF = true; g.shadow = false;
  }
}
// ------------------------------------------------------------------------------------------

/** Something accepted into the judged vCPU at an unknown moment. */
interface Incoming {
  id: number;
  kind: 'fixed' | 'nmi' | 'pinop';
  vector: number;
  src: Src;
  /** Available from boundary lb + 1 on (lb: the latest op of the judged vCPU that happens-before the send; -1: from the start). */
  lb: number;
  /** Accepted before op ub of the judged vCPU executes (assumption A1; Infinity: by the end of the drain). */
  ub: number;
  pin?: number;
  rank?: number;
  pinOp?: 'assert' | 'deassert' | 'mask' | 'unmask' | 'write-hi' | 'write-lo';
  /** The new redirection entry (pinOp write-hi: its destination only; write-lo: the rest). */
  entry?: PinEntry;
  /** A message addressed by a destination the judged vCPU matches under some but not all of its
   *  programmings (lapic_write ID/LDR/DFR): whether it lands is decided by the APIC's state when it arrives. */
  match?: { logical: boolean; dest: number };
  /** Where it was sent: vCPU and op index (-1 for the harness). */
  from: { cpu: number; op: number; event: number };
}

/** A pin's line and its redirection entry as run-time writes leave it (dest: a vCPU index, ≥ vCPUs: none). */
interface PinState { line: boolean; masked: boolean; remoteIrr: boolean; next: number; vector: number; level: boolean; dest: number }
interface PinCfg { vector: number; level: boolean }

interface St {
  apic: Apic;
  acc: Uint8Array;
  pins: PinState[];
  /** IRR as it was at the previous op boundary: these vectors have had a whole op to reach the core (A2). */
  ripe: VecSet;
  nmiRipe: boolean;
}

export interface JudgeResult {
  status: 'clean' | 'divergent' | 'error' | 'inconclusive';
  divergences: Divergence[];
  /** Harness problems (barrier timeouts, log overflow) or why the judge gave up. */
  problems: string[];
  /** Informational: a spurious-vector entry the SDM allows, swallowed watchdog NMIs, waits that gave up. */
  info: string[];
}

function cloneSt(s: St): St {
  return { apic: s.apic.clone(), acc: s.acc.slice(), pins: s.pins.map((p) => ({ ...p })), ripe: s.ripe.slice(), nmiRipe: s.nmiRipe };
}

function keyOf(s: St): string {
  let k = `${s.apic.key()}|${s.ripe.join(',')}|${s.nmiRipe ? 1 : 0}|${s.acc.join('')}`;
  for (const p of s.pins) k += `|${p.line ? 1 : 0}${p.masked ? 1 : 0}${p.remoteIrr ? 1 : 0}${p.next},${p.vector},${p.level ? 1 : 0},${p.dest}`;
  return k;
}

function vecsetFromWords(w: number[]): Uint32Array {
  const v = new Uint32Array(8);
  for (let i = 0; i < 8; i++) v[i] = (w[i] ?? 0) >>> 0;
  return v;
}
function fmtSet(s: VecSet): string {
  return '{' + vsList(s).map((v) => '0x' + v.toString(16)).join(',') + '}';
}
const hex = (v: number) => `0x${v.toString(16)}`;

/** Happens-before through work/wait: hb[s][j][c] = latest op of c that happens-before op j of s (-1 none). */
function happensBefore(c: Compiled, executed: number[], waitGaveUp: Set<string>): number[][][] {
  const n = c.machine.vcpus;
  const works = new Map<number, { cpu: number; op: number }[]>();
  c.programs.forEach((prog, cpu) => prog.forEach((op, i) => {
    if (i >= executed[cpu]!) return;
    if (op.sem.k === 'guest' && op.sem.ev.k === 'work') {
      const f = op.sem.ev.flag;
      const list = works.get(f) ?? [];
      list.push({ cpu, op: i });
      works.set(f, list);
    }
  }));
  const hb: number[][][] = c.programs.map((prog) => prog.map(() => new Array<number>(n).fill(-1)));
  let changed = true;
  for (let iter = 0; changed && iter < 4 * n + 4; iter++) {
    changed = false;
    for (let cpu = 0; cpu < n; cpu++) {
      const prog = c.programs[cpu]!;
      for (let i = 0; i < prog.length && i < executed[cpu]!; i++) {
        const v = hb[cpu]![i]!;
        const before = v.join(',');
        if (i > 0) for (let x = 0; x < n; x++) v[x] = Math.max(v[x]!, hb[cpu]![i - 1]![x]!);
        v[cpu] = i;
        const op = prog[i]!;
        if (op.sem.k === 'guest' && op.sem.ev.k === 'wait' && !waitGaveUp.has(`${cpu}:${i}`)) {
          const ws = works.get(op.sem.ev.flag) ?? [];
          // Only a flag set by one vCPU tells which work the wait saw (its first one in program order).
          const cpus = new Set(ws.map((w) => w.cpu));
          if (cpus.size === 1) {
            const w = ws[0]!;
            if (w.cpu !== cpu) for (let x = 0; x < n; x++) v[x] = Math.max(v[x]!, hb[w.cpu]![w.op]![x]!);
          }
        }
        if (v.join(',') !== before) changed = true;
      }
    }
  }
  return hb;
}

function srcOf(ev: Event, target: number, sender: number): Src {
  if (ev.k === 'msi') return Src.Msi;
  if (ev.k === 'ipi') return target === sender ? Src.SelfIpi : Src.Ipi;
  return Src.None;
}

export interface JudgeOptions { backend?: string; variant: string }

/** Judge one scenario's observations. */
export function judgeScenario(c: Compiled, obs: ScenarioObs, opts: JudgeOptions): JudgeResult {
  const backend = opts.backend ?? 'real';
  const res: JudgeResult = { status: 'clean', divergences: [], problems: [], info: [] };
  const n = c.machine.vcpus;
  const logs: CpuLog[] = [];
  for (let cpu = 0; cpu < n; cpu++) {
    const l = obs.cpus.find((x) => x.cpu === cpu);
    if (!l) { res.problems.push(`vCPU ${cpu}: no log`); res.status = 'error'; return res; }
    logs.push(l);
  }
  // A CPU exception in the guest is the hypervisor's doing (our kernel takes none): a crash.
  for (const l of logs) {
    const exc = l.records.find((r) => r.t === 'error' && r.code === ERR.EXCEPTION);
    if (exc && exc.t === 'error') {
      res.divergences.push({
        kind: 'crash', cause: 'crash:guest-exception', signature: makeSignature(backend, opts.variant, 'crash:guest-exception'),
        cpu: l.cpu, at: -1, message: `vCPU ${l.cpu}: the guest took CPU exception ${exc.extra} (our kernel causes none)`,
        symptoms: ['crash:guest-exception'],
      });
    }
  }
  if (res.divergences.length) { res.status = 'divergent'; return res; }
  for (const l of logs) {
    const cpu = l.cpu;
    if (l.err) res.problems.push(`vCPU ${cpu}: harness flags 0x${l.err.toString(16)}`);
    for (const r of l.records) {
      if (r.t === 'error') res.problems.push(`vCPU ${cpu}: harness error ${r.code} (0x${r.extra.toString(16)})`);
      if (r.t === 'wd-swallow') res.info.push(`vCPU ${cpu}: a watchdog NMI arrived after a real wake-up and was dropped`);
      if (r.t === 'wait-timeout') res.info.push(`vCPU ${cpu}: wait at op ${r.pos} gave up`);
    }
  }
  if (res.problems.length) { res.status = 'error'; return res; }

  // How far each vCPU got, and which waits gave up.
  const executed: number[] = [];
  const waitGaveUp = new Set<string>();
  logs.forEach((l, cpu) => {
    let ex = 0;
    for (const r of l.records) {
      if (r.t === 'end') ex = Math.max(ex, r.pos);
      if (r.t === 'hlt-stuck') ex = Math.max(ex, r.pos + 1);
      if (r.t === 'wait-timeout') waitGaveUp.add(`${cpu}:${r.pos}`);
    }
    executed.push(Math.min(ex, c.programs[cpu]!.length));
  });
  const hb = happensBefore(c, executed, waitGaveUp);

  for (let cpu = 0; cpu < n; cpu++) {
    const d = judgeCpu(c, cpu, logs[cpu]!.records, executed, hb, backend, opts.variant, res.info);
    if (d === 'inconclusive') { res.status = 'inconclusive'; res.problems.push(`vCPU ${cpu}: more than ${MAX_STATES} candidate timings; not judged`); continue; }
    if (d) res.divergences.push(d);
  }
  if (res.divergences.length) res.status = 'divergent';
  return res;
}

class Inconclusive extends Error {}

function judgeCpu(
  c: Compiled, me: number, records: ObsRecord[], executed: number[], hb: number[][][], backend: string, variant: string, info: string[],
): Divergence | null | 'inconclusive' {
  const machine: MachineConfig = c.machine;
  const prog = c.programs[me]!;
  // Pins whose messages go to this vCPU.
  const pinIdx = new Map<number, number>();
  const pinCfg: PinCfg[] = [];
  for (const p of c.pins) {
    if (p.judgeCpu !== me) continue;
    pinIdx.set(p.pin, pinCfg.length);
    pinCfg.push({ vector: p.vector, level: p.level });
  }
  // This vCPU's destination state (ID, LDR, DFR) before and after each of its own writes
  // (REF-ADDR-1): a message it matches under every one lands as usual, one it matches under
  // none never does, and the others are matched when they land.
  const addrs: ApicAddr[] = [initialAddr(machine.apic, me, me)];
  for (const op of prog) {
    if (op.sem.k !== 'guest' || op.sem.ev.k !== 'lapic_write') continue;
    const ev = op.sem.ev, a = { ...addrs[addrs.length - 1]! };
    if (ev.reg === 'id') a.id = ev.value >>> 24;
    else if (ev.reg === 'ldr') a.ldr = (ev.value & 0xff000000) >>> 0;
    else if (ev.reg === 'dfr') a.flat = ev.value >>> 28 === 0xf;
    else continue;
    addrs.push(a);
  }
  /** undefined: never lands here; null: always; else: matched on arrival. */
  const matchFor = (logical: boolean, dest: number): Incoming['match'] | null | undefined => {
    const hits = addrs.filter((a) => matchesAddr(machine.apic, a, logical, dest)).length;
    if (hits === 0) return undefined;
    return hits === addrs.length ? null : { logical, dest };
  };
  // A1: a message sent by op j of vCPU s is in the target's IRR before s finishes op j + 1;
  // on this vCPU's timeline that is before the op after the first of its ops that op j + 1
  // of s happens-before (a wait that saw a later work settles first).
  const upperBound = (s: number, j: number, devicePin: boolean): number => {
    // A pin driven by this vCPU changes with its OUT (I/O writes complete before the next instruction, SDM vol. 1 19.6).
    if (s === me) return devicePin ? j + 1 : j + 2;
    const mine = c.programs[me]!;
    for (let i = 0; i < mine.length && i < executed[me]!; i++) if (hb[me]![i]![s]! >= j + 1) return i + 1;
    return Infinity;
  };
  // Everything that lands in this vCPU.
  const inc: Incoming[] = [];
  const ranks = new Array<number>(pinCfg.length).fill(0);
  for (let s = 0; s < machine.vcpus; s++) {
    c.programs[s]!.forEach((op: CompiledOp, j: number) => {
      if (j >= executed[s]!) return;
      const lb = s === me ? j : hb[s]![j]![me]!;
      const ub = upperBound(s, j, op.sem.k === 'pin');
      const from = { cpu: s, op: j, event: op.event };
      if (op.sem.k === 'guest' && op.sem.ev.k === 'ipi') {
        const ev = op.sem.ev;
        const sh = ev.shorthand ?? 'none';
        let dest = ev.dest ?? 0;
        if (sh === 'none' && !ev.logical && machine.apic === 'x2apic' && dest === 0xff) dest = 0xfe;
        let match: Incoming['match'] | null | undefined = null;
        if (sh === 'self' && s !== me) return;
        if (sh === 'others' && s === me) return;
        if (sh === 'none') match = matchFor(ev.logical ?? false, dest);
        if (match === undefined) return;
        const m = match ?? undefined;
        if (ev.nmi) inc.push({ id: inc.length, kind: 'nmi', vector: 2, src: Src.None, lb, ub, from, match: m });
        else inc.push({ id: inc.length, kind: 'fixed', vector: ev.vector, src: srcOf(ev, me, s), lb, ub, from, match: m });
      } else if (op.sem.k === 'msi') {
        const ev = op.sem.ev;
        const match = matchFor(ev.logical ?? false, ev.dest);
        if (match === undefined) return;
        inc.push({ id: inc.length, kind: 'fixed', vector: ev.vector, src: Src.Msi, lb, ub, from, match: match ?? undefined });
      } else if (op.sem.k === 'pin') {
        const pi = pinIdx.get(op.sem.pin);
        if (pi === undefined) return;
        const cfg = pinCfg[pi]!;
        inc.push({ id: inc.length, kind: 'pinop', vector: cfg.vector, src: cfg.level ? Src.IoLevel : Src.IoEdge, lb, ub, pin: pi, rank: ranks[pi]!++, pinOp: op.sem.op, from });
      } else if (op.sem.k === 'iowrite') {
        // Two items in FIFO order: between the halves the entry has the new destination and the
        // old low dword, and a level re-send (an EOI) may go out under it.
        const pi = pinIdx.get(op.sem.pin);
        if (pi === undefined) return;
        const e = op.sem.entry, src = e.level ? Src.IoLevel : Src.IoEdge;
        inc.push({ id: inc.length, kind: 'pinop', vector: e.vector, src, lb, ub, pin: pi, rank: ranks[pi]!++, pinOp: 'write-hi', entry: e, from });
        inc.push({ id: inc.length, kind: 'pinop', vector: e.vector, src, lb, ub, pin: pi, rank: ranks[pi]!++, pinOp: 'write-lo', entry: e, from });
      }
    });
  }
  // The harness deasserts every line after all programs ended, before the drain.
  pinCfg.forEach((cfg, pi) => {
    inc.push({ id: inc.length, kind: 'pinop', vector: cfg.vector, src: cfg.level ? Src.IoLevel : Src.IoEdge, lb: Infinity, ub: Infinity, pin: pi, rank: ranks[pi]!++, pinOp: 'deassert', from: { cpu: -1, op: -1, event: -1 } });
  });
  const pinOpsTotal = ranks.slice();

  let states: St[] = [{
    apic: Apic.create(machine.apic, me),
    acc: new Uint8Array(inc.length),
    pins: c.pins.filter((p) => p.judgeCpu === me).map((p) => ({ line: false, masked: p.masked, remoteIrr: false, next: 0, vector: p.vector, level: p.level, dest: p.dest })),
    ripe: vecSet(),
    nmiRipe: false,
  }];
  let done = 0;             // ops of this vCPU completed = the current boundary
  let recIdx = 0;           // the record being judged
  let atEnd = false;        // the program is over (harness deassert ops available)
  const delivered = new Set<number>();

  // A real hypervisor is a black box: no mechanism tag, so the symptom and its shape stand
  // in for the cause ("<kind>:<shape>").
  const fail = (kind: DivergenceKind, shape: string, at: number, message: string): Divergence => ({
    kind, cause: `${kind}:${shape}`, signature: makeSignature(backend, variant, `${kind}:${shape}`), cpu: me, at,
    message: `vCPU ${me}: ${message}`, symptoms: [`${kind}:${shape}`],
  });
  const srcName = (v: number): string => {
    const names = new Set(inc.filter((i) => i.kind !== 'nmi' && i.vector === v).map((i) => SRC_NAMES[i.src]));
    return names.size ? [...names].sort().join('+') : 'never-sent';
  };

  // I/O APIC pins (REF-IOA): an asserted, unmasked level pin without Remote IRR sends at
  // once; QEMU's and KVM's I/O APICs deliver inside the write or EOI that causes it.
  // A pin followed here sends to this vCPU or, under an entry whose destination is no vCPU,
  // to nobody (the compiler follows a pin only where no programming sends elsewhere).
  const servicePin = (s: St, pi: number): void => {
    const p = s.pins[pi]!;
    if (p.level && p.line && !p.masked && !p.remoteIrr) { p.remoteIrr = true; if (p.dest === me) s.apic.accept(p.vector, true, Src.IoLevel); }
  };
  const eoiPins = (s: St, vector: number, level: boolean): void => {
    if (!level) return;
    s.pins.forEach((p, pi) => {
      if (p.level && p.vector === vector && p.remoteIrr) { p.remoteIrr = false; servicePin(s, pi); }
    });
  };
  const available = (i: Incoming): boolean => (i.lb === Infinity ? atEnd : i.lb < done);

  const acceptItem = (s: St, i: Incoming): St | null => {
    if (i.kind === 'pinop') {
      const p = s.pins[i.pin!]!;
      if (p.next !== i.rank) return null;
      const t = cloneSt(s); t.acc[i.id] = 1;
      const tp = t.pins[i.pin!]!;
      tp.next++;
      switch (i.pinOp) {
        case 'assert': {
          const rising = !tp.line;
          tp.line = true;
          if (tp.level) servicePin(t, i.pin!);
          else if (rising && !tp.masked && tp.dest === me) t.apic.accept(tp.vector, false, Src.IoEdge);
          break;
        }
        case 'deassert': tp.line = false; break;
        case 'mask': tp.masked = true; break;
        case 'unmask': tp.masked = false; if (tp.level) servicePin(t, i.pin!); break;
        // REF-IOA-5 per dword: a write makes no edge; Remote IRR is kept for a level entry and
        // cleared for an edge one; an unmasked level entry with its line high and Remote IRR clear sends.
        case 'write-hi': tp.dest = i.entry!.dest; if (tp.level) servicePin(t, i.pin!); break;
        case 'write-lo': {
          const e = i.entry!;
          tp.vector = e.vector; tp.level = e.level; tp.masked = e.masked;
          if (!tp.level) tp.remoteIrr = false;
          else servicePin(t, i.pin!);
          break;
        }
      }
      return t;
    }
    const t = cloneSt(s); t.acc[i.id] = 1;
    // Matched against this APIC's programming at the moment it lands (REF-ADDR-1).
    if (i.match && !t.apic.matches(i.match.logical, i.match.dest)) return t;
    if (i.kind === 'nmi') t.apic.acceptNmi();
    else t.apic.accept(i.vector, false, i.src);
    return t;
  };

  // All states reachable by accepting any available items in any order, keeping those in
  // which everything due by this boundary (A1) has arrived.
  const closure = (boundary = done): void => {
    const seen = new Map<string, St>();
    const queue: St[] = [];
    for (const s of states) { const k = keyOf(s); if (!seen.has(k)) { seen.set(k, s); queue.push(s); } }
    while (queue.length) {
      const s = queue.pop()!;
      for (const i of inc) {
        if (s.acc[i.id] || !available(i)) continue;
        const t = acceptItem(s, i);
        if (!t) continue;
        const k = keyOf(t);
        if (seen.has(k)) continue;
        seen.set(k, t);
        queue.push(t);
        if (seen.size > MAX_STATES) throw new Inconclusive();
      }
    }
    const due = inc.filter((i) => i.ub <= boundary);
    states = [...seen.values()].filter((s) => due.every((i) => s.acc[i.id]));
  };

  /** Kind and shape for a vector that a lateness rule required at this boundary. */
  const lateness = (v: number, nmi: boolean, window: string, at: number, message: string): Divergence => {
    const later = records.slice(recIdx).some((r) => r.t === 'end-nmi' ? nmi : (r.t === 'deliver' || r.t === 'drain-deliver') && (nmi ? r.nmi : !r.nmi && r.vector === v));
    const src = nmi ? 'nmi' : srcName(v).split('+')[0]!;
    return fail(later ? 'late' : 'lost', `${src}@${window}`, at, message);
  };
  /** What the op before boundary b was (for naming the window in which a delivery was due). */
  const windowAt = (b: number): string => {
    const k = (i: number) => { const op = prog[i]; return op && op.sem.k === 'guest' ? op.sem.ev.k : ''; };
    const prev = k(b - 1);
    if (prev === 'eoi' || prev === 'tpr' || prev === 'hlt' || prev === 'iret' || prev === 'sti') return prev;
    if (k(b - 2) === 'sti') return 'sti';
    return 'boundary';
  };

  // A2 at boundary `done`, when the guest leaves it without (another) delivery: a ripe
  // deliverable vector (or an unblocked ripe NMI) must have been taken here.
  const checkLate = (): Divergence | null => {
    const keep: St[] = [];
    let culprit = -1, nmi = false;
    for (const s of states) {
      const a = s.apic;
      if (s.nmiRipe && a.nmiPending && !a.nmiBlocked && !a.shadow) { culprit = 2; nmi = true; continue; }
      if (a.interruptible() && !a.disabled) {
        const ripeHigh = vsHighest(andSet(s.ripe, a.irr));
        if (ripeHigh >= 0 && prioClass(ripeHigh) > prioClass(a.ppr())) { if (culprit < 0) culprit = ripeHigh; continue; }
      }
      keep.push(s);
    }
    if (!keep.length && states.length) {
      const w = windowAt(done);
      const what = nmi ? 'an NMI' : `vector ${hex(culprit)}`;
      return lateness(culprit, nmi, w, prog[done]?.event ?? prog[done - 1]?.event ?? -1,
        `${what} was pending and deliverable for a whole op before op ${done} (after ${w === 'boundary' ? 'an instruction boundary' : w}) and not taken there; bare metal takes it at that boundary`);
    }
    states = keep;
    return null;
  };

  // An I/O APIC register read (only the vCPU that writes entries reads them): the programmed bits are exact, the
  // version and ID are the platform's within what the 82093AA family allows, Remote IRR is
  // judged when this vCPU is the entry's destination (the judge follows that pin here).
  let firstIoVersion = -1;
  const judgeIoRead = (sem: Extract<CompiledOp['sem'], { k: 'ioread' }>, read: Extract<ObsRecord, { t: 'read' }>, i: number): Divergence | null => {
    const got = (read.value as number) >>> 0;
    const ev = sem.ev;
    const at = prog[i]!.event;
    if (ev.reg === 'version') {
      const maxPin = c.pins.reduce((m, p) => Math.max(m, p.line), 0);
      const why = ioapicVersionImpossible(got, maxPin);
      if (why) return fail('read-mismatch', 'read-ioapic-version:programmed', at, `I/O APIC version read at op ${i} returned ${hex(got)}; bare metal: ${why}`);
      // REF-IOA-7: read-only, so every read returns what the first one did.
      if (firstIoVersion >= 0 && got !== firstIoVersion) return fail('read-mismatch', 'read-ioapic-version:programmed', at, `I/O APIC version read at op ${i} returned ${hex(got)}; bare metal: ${hex(firstIoVersion)}, as read before (read-only)`);
      firstIoVersion = got;
      return null;
    }
    if (ev.reg === 'id' || ev.reg === 'arb') {
      const name = ev.reg === 'id' ? 'ID' : 'arbitration ID';
      const why = ioapicIdImpossible(got) ?? (sem.exact !== undefined && got !== sem.exact ? `${hex(sem.exact)}, as the ID write before it set (REF-IOA-7)` : null);
      return why ? fail('read-mismatch', `read-ioapic-${ev.reg}:programmed`, at, `I/O APIC ${name} read at op ${i} returned ${hex(got)}; bare metal: ${why}`) : null;
    }
    if (((got ^ sem.expect) & sem.care) !== 0) {
      return fail('read-mismatch', `read-${ev.reg}:programmed`, at, `I/O APIC ${ev.reg} of pin ${ev.pin ?? '?'} read at op ${i} returned ${hex(got)}; the entry was programmed as ${hex(sem.expect)}`);
    }
    const pi = sem.remoteIrrPin === undefined ? undefined : pinIdx.get(sem.remoteIrrPin);
    if (ev.reg !== 'redir-lo' || pi === undefined) return null;
    const rirr = (got & 0x4000) !== 0;
    const keep = states.filter((s) => s.pins[pi]!.remoteIrr === rirr);
    if (!keep.length) return fail('read-mismatch', `read-redir-lo:remote-irr-${rirr ? 'stale' : 'missing'}`, at, `I/O APIC pin ${ev.pin} read Remote IRR = ${rirr ? 1 : 0} at op ${i}; no legal timing gives that`);
    states = keep;
    return null;
  };

  // Apply one of this vCPU's ops to every state; reads filter.
  let swiEntered = false;
  const execOp = (i: number, read?: Extract<ObsRecord, { t: 'read' }>): Divergence | null => {
    const op = prog[i]!;
    const ev = op.sem.k === 'guest' ? op.sem.ev : null;
    // An INT n executed without its handler entry at the next position: the instruction was dropped.
    if (ev && ev.k === 'int' && !swiEntered) return fail('lost', `int-handler-not-entered`, op.event, `INT ${hex(ev.vector)} at op ${i} never entered its handler (bare metal enters it before the next instruction)`);
    if (read && op.sem.k === 'ioread') {
      const d = judgeIoRead(op.sem, read, i);
      if (d) return d;
    } else if (read && ev && ev.k === 'lapic_read') {
      const got = read.value as number;
      const want = states[0] ? states[0].apic.read(ev.reg) as number : got;
      // The version register is the model's (REF-ADDR-1 leaves it open); the others are exact.
      const why = ev.reg === 'version' ? lapicVersionImpossible(got) : got >>> 0 === want >>> 0 ? null : hex(want);
      if (why) return fail('read-mismatch', `read-${ev.reg}:programmed`, op.event, `read ${ev.reg.toUpperCase()} at op ${i} returned ${hex(got)}; bare metal: ${why}`);
    } else if (read && ev && ev.k === 'read') {
      const keep: St[] = [];
      let expected = '';
      for (const s of states) {
        const want = s.apic.read(ev.reg);
        let ok: boolean;
        if (typeof want === 'number') {
          const got = (read.value as number) & 0xff;
          ok = got === (want & 0xff);
          if (!ok && !expected) expected = hex(want & 0xff);
        } else {
          const got = vecsetFromWords(read.value as number[]);
          ok = got.every((w, k) => w === want[k]);
          if (!ok && !expected) expected = fmtSet(want);
        }
        if (ok) keep.push(s);
      }
      if (!keep.length) {
        const got = typeof read.value === 'number' ? hex(read.value & 0xff) : fmtSet(vecsetFromWords(read.value));
        const shape = `read-${ev.reg}:${ev.reg === 'isr' || ev.reg === 'ppr' || ev.reg === 'tpr' ? 'exact' : 'timing'}`;
        return fail('read-mismatch', shape, op.event, `read ${ev.reg} at op ${i} returned ${got}; no legal timing gives that (e.g. ${expected})`);
      }
      states = keep;
    }
    for (const s of states) {
      // What is pending now has had this whole op to reach the core by the next boundary.
      s.ripe.set(s.apic.irr);
      s.nmiRipe = s.apic.nmiPending;
      if (!ev) { s.apic.step(); continue; }
      if (ev.k === 'eoi') {
        const t = s.apic.eoiTarget();
        s.apic.exec(ev);
        if (t.vector >= 0) eoiPins(s, t.vector, t.level);
        continue;
      }
      s.apic.exec(ev);
    }
    done = i + 1;
    return null;
  };

  const deliver = (vector: number, nmi: boolean, atEvent: number, where: string): Divergence | null => {
    const keep: St[] = [];
    const why = new Map<string, number>();
    const note = (w: string) => why.set(w, (why.get(w) ?? 0) + 1);
    for (const s of states) {
      const a = s.apic;
      if (nmi) {
        if (!a.nmiPending) { note('not-pending'); continue; }
        if (a.nmiBlocked) { note('nmi-blocked'); continue; }
        a.deliver(2, true);
        keep.push(s);
        continue;
      }
      if (a.nmiPending && !a.nmiBlocked && !a.shadow) { note('priority:nmi-first'); continue; }
      const best = a.deliverable();
      if (best >= 0 && best > vector && vsHas(a.irr, vector)) { note('priority-inversion'); continue; }
      const f: DeliveryFault | null = a.deliver(vector, false);
      if (f) { note(f); continue; }
      keep.push(s);
    }
    if (!keep.length) {
      // Prefer what stopped the states in which the vector was pending.
      let top = '', cnt = -1;
      for (const [w, k] of why) if (w !== 'not-pending' && k > cnt) { top = w; cnt = k; }
      if (!top) top = 'not-pending';
      const src = nmi ? 'nmi' : srcName(vector);
      let kind: DivergenceKind;
      switch (top) {
        case 'not-pending': kind = nmi ? 'spurious' : (delivered.has(vector) ? 'duplicate' : 'spurious'); break;
        case 'masked-if': kind = 'masked-if'; break;
        case 'masked-shadow': kind = 'masked-shadow'; break;
        case 'masked-ppr': kind = 'masked-ppr'; break;
        case 'nmi-blocked': kind = 'nmi-blocked'; break;
        default: kind = 'priority-inversion'; break;
      }
      const shape = top === 'priority:nmi-first' ? 'nmi-over-fixed' : src;
      return fail(kind, shape, atEvent, `${nmi ? 'NMI' : `vector ${hex(vector)}`} delivered ${where}: ${top} under every legal timing`);
    }
    states = keep;
    delivered.add(vector);
    return null;
  };

  const runOpsTo = (pos: number): Divergence | null => {
    while (done < pos && done < prog.length) {
      closure();
      const d = checkLate() ?? execOp(done);
      if (d) return d;
    }
    return null;
  };

  /** An exact observation of IRR (and PPR) at the current point. */
  const observeIrr = (irr: number[], ppr: number | null, what: string, at: number): Divergence | null => {
    const got = vecsetFromWords(irr);
    const keep = states.filter((s) => s.apic.irr.every((w, k) => w === got[k]) && (ppr === null || (s.apic.ppr() & 0xff) === (ppr & 0xff)));
    if (!keep.length) {
      const s = states[0];
      return fail('read-mismatch', `read-irr:${what}`, at, `IRR ${what === 'hlt' ? 'when the HLT was given up' : 'when the drain ended'} was ${fmtSet(got)}${ppr === null ? '' : ` (PPR ${hex(ppr & 0xff)})`}; no legal timing gives that (e.g. ${s ? `${fmtSet(s.apic.irr)}${ppr === null ? '' : ` with PPR ${hex(s.apic.ppr() & 0xff)}`}` : '{}'})`);
    }
    states = keep;
    return null;
  };

  let stuck = false;
  try {
    for (; recIdx < records.length; recIdx++) {
      const r = records[recIdx]!;
      let d: Divergence | null = null;
      switch (r.t) {
        case 'deliver': {
          // The handler entry of an INT n is recorded right after it (REF-SWI-1): the INT op
          // itself, not an APIC delivery.
          const swi = r.nmi || r.pos < 1 ? undefined : prog[r.pos - 1];
          if (swi && swi.sem.k === 'guest' && swi.sem.ev.k === 'int' && swi.sem.ev.vector === r.vector && done <= r.pos - 1) {
            d = runOpsTo(r.pos - 1);
            if (d) break;
            closure();
            d = checkLate();
            if (d) break;
            swiEntered = true;
            d = execOp(r.pos - 1);
            swiEntered = false;
            break;
          }
          if (r.pos === POS_END_MODE) {
            closure();
            d = deliver(r.vector, r.nmi, -1, 'after the program ended (IF = 0)');
            break;
          }
          d = runOpsTo(r.pos);
          if (d) break;
          closure();
          d = deliver(r.vector, r.nmi, prog[r.pos]?.event ?? -1, `before op ${r.pos}`);
          break;
        }
        case 'read':
          d = runOpsTo(r.pos);
          if (d) break;
          closure();
          d = checkLate() ?? execOp(r.pos, r);
          break;
        case 'wait-timeout':
          d = runOpsTo(r.pos);
          if (d) break;
          closure();
          d = checkLate() ?? execOp(r.pos);
          break;
        case 'spurious': {
          // SDM 10.9: only when the vector the APIC was presenting became masked (a TPR raise) before INTA.
          const prev = prog[r.pos - 1];
          const tprRaise = prev && prev.sem.k === 'guest' && prev.sem.ev.k === 'tpr';
          if (tprRaise) info.push(`vCPU ${me}: spurious-vector entry at op ${r.pos}, right after a TPR write (SDM 10.9)`);
          else d = fail('spurious', 'spurious-vector', prog[r.pos]?.event ?? -1, `a spurious-vector entry at op ${r.pos}, where no TPR write masked a vector being presented (SDM 10.9)`);
          break;
        }
        case 'hlt-stuck': {
          // The HLT at r.pos never woke. The guest read IRR and PPR when it gave up: it is an
          // observation, and with IF = 1 nothing deliverable may be in IRR (it would have woken it).
          d = runOpsTo(r.pos);
          if (d) break;
          closure();
          d = checkLate();
          if (d) break;
          if (r.pos < prog.length) { d = execOp(r.pos); if (d) break; }
          closure();
          d = observeIrr(r.irr, r.ppr, 'hlt', prog[r.pos]?.event ?? -1);
          if (d) break;
          const keep: St[] = [];
          let culprit = -1;
          for (const s of states) {
            const a = s.apic;
            const v = a.deliverable();
            if (a.IF && v >= 0) { culprit = v; continue; }
            // The watchdog's NMI and a latched NMI collapse into one (harness ambiguity).
            if (a.nmiPending && !a.nmiBlocked) a.dropNmi();
            keep.push(s);
          }
          if (!keep.length) {
            d = lateness(culprit, false, 'hlt', prog[r.pos]?.event ?? -1, `the HLT at op ${r.pos} never woke although vector ${hex(culprit)} was pending and deliverable`);
            break;
          }
          states = keep;
          stuck = true;
          break;
        }
        case 'wd-wake': {
          // The watchdog ended a HLT while IRR held a deliverable vector: it has been presented
          // for the whole halt, so it is due at this boundary.
          d = runOpsTo(r.pos);
          if (d) break;
          closure();
          const keep = states.filter((s) => s.apic.deliverable() >= 0);
          if (keep.length) states = keep;
          for (const s of states) s.ripe.set(s.apic.irr);
          break;
        }
        case 'end':
          d = runOpsTo(r.pos);
          if (d) break;
          if (!stuck) { closure(); d = checkLate(); }
          atEnd = true;
          break;
        case 'end-nmi':
          closure();
          d = deliver(2, true, -1, 'after the program ended');
          if (!d) for (const s of states) s.apic.iret();
          break;
        case 'drain-isr': {
          atEnd = true;
          closure();
          // The harness finished driving the pins before the drain.
          states = states.filter((s) => s.pins.every((p, pi) => p.next === pinOpsTotal[pi]));
          const got = vecsetFromWords(r.isr);
          const keep = states.filter((s) => s.apic.isr.every((w, k) => w === got[k]));
          if (!keep.length) {
            const want = states[0] ? fmtSet(states[0].apic.isr) : '{}';
            d = fail('read-mismatch', 'read-isr:drain', -1, `ISR when the program ended was ${fmtSet(got)}; the deliveries and EOIs observed leave ${want}`);
            break;
          }
          states = keep;
          for (const s of states) s.apic.idle((v, level) => eoiPins(s, v, level));
          break;
        }
        case 'drain-deliver': {
          closure();
          d = deliver(r.vector, r.nmi, -1, 'in the drain');
          if (d) break;
          for (const s of states) {
            if (!r.nmi) { const t = s.apic.eoiTarget(); s.apic.eoi(); if (t.vector >= 0) eoiPins(s, t.vector, t.level); }
            s.apic.iret();
          }
          break;
        }
        case 'drain-end':
          done = prog.length;
          closure(Infinity);
          d = observeIrr(r.irr, null, 'drain', -1);
          break;
        default: break;
      }
      if (d) return d;
    }
    // The end of the drain: everything sent must have arrived and been delivered.
    atEnd = true;
    done = prog.length;
    closure(Infinity);
    // A software-disabled APIC holds what is in IRR (REF-SVR-2): bare metal delivers none of it.
    const clean = states.filter((s) => !s.apic.nmiPending && (vsHighest(s.apic.irr) < 0 || s.apic.disabled));
    if (!clean.length) {
      const s = states[0];
      if (!s) return fail('lost', 'unknown', -1, 'no consistent state at the end');
      const a = s.apic;
      const pend = vsList(a.irr);
      const ppr = computePpr(a.tpr, vsHighest(a.isr));
      const what = [...pend.map(hex), ...(a.nmiPending ? ['NMI'] : [])].join(', ');
      const shape = a.nmiPending && !pend.length ? 'nmi' : [...new Set(pend.flatMap((v) => srcName(v).split('+')))].sort().join('+');
      const ev = inc.find((i) => (i.kind !== 'nmi' && pend.includes(i.vector)) || (i.kind === 'nmi' && a.nmiPending));
      return fail('lost', shape || 'unknown', ev?.from.event ?? -1,
        `still pending after the drain: ${what || '?'} (PPR ${hex(ppr)}, class ${prioClass(ppr)}); bare metal delivers it once IF = 1 and TPR = 0`);
    }
    return null;
  } catch (e) {
    if (e instanceof Inconclusive) return 'inconclusive';
    throw e;
  }
}

function andSet(a: VecSet, b: VecSet): VecSet {
  const r = vecSet();
  for (let w = 0; w < 8; w++) r[w] = a[w]! & b[w]!;
  return r;
}
