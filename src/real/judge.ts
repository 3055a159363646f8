// Judges what the real guest observed with the architectural reference (src/reference/lapic.ts).
//
// Real vCPUs run in parallel and interrupts have latency, so the judge never asks "what did
// the reference do at this step"; it asks whether SOME timing consistent with each vCPU's
// program order and the work/wait synchronization explains every observation. Each vCPU is
// judged on its own timeline: its own ops and observed deliveries are fixed points; every
// interrupt sent to it (IPI, MSI, I/O APIC message, NMI) is accepted into its IRR at some
// unknown moment after the latest point of this vCPU's timeline that happens-before the send
// (and before the end of the drain). The judge keeps the set of all reference states that
// some choice of acceptance moments yields (a breadth-first search with deduplication) and
// drops the states that contradict an observation. A divergence is reported only when no
// state survives: no legal timing produces what the guest saw. See docs/real-replay.md.
import { resolveDest } from '../apic/dest.js';
import { computePpr, prioClass, vsHas, vsHighest, vsList, type VecSet } from '../apic/vecset.js';
import { makeSignature, type Divergence, type DivergenceKind } from '../oracle/divergence.js';
import { ESR_RECV_ILLEGAL, ESR_SEND_ILLEGAL, Reference, SRC_NAMES, Src, type DeliveryFault } from '../reference/lapic.js';
import type { Event, MachineConfig } from '../scenario/types.js';
import type { Compiled, CompiledOp } from './compile.js';
import { POS_END_MODE, type CpuLog, type ObsRecord, type ScenarioObs } from './qemu.js';

export const MAX_STATES = 20000;

/** Something accepted into the judged vCPU at an unknown moment. */
interface Incoming {
  id: number;
  kind: 'fixed' | 'nmi' | 'pinop';
  vector: number;
  src: Src;
  /** Index of the judged vCPU's op after which it can happen (-1: from the start; Infinity: at the end). */
  lb: number;
  /** pin ops: which pin (index in the judged pins) and its FIFO rank. */
  pin?: number;
  rank?: number;
  pinOp?: 'assert' | 'deassert' | 'mask' | 'unmask';
  /** Where it was sent: vCPU and op index (-1 for the harness). */
  from: { cpu: number; op: number; event: number };
}

interface PinState { line: boolean; masked: boolean; remoteIrr: boolean; next: number; resend: boolean }
interface PinCfg { vector: number; level: boolean }

interface St {
  ref: Reference;
  acc: Uint8Array;
  pins: PinState[];
}

export interface JudgeResult {
  status: 'clean' | 'divergent' | 'error' | 'inconclusive';
  divergences: Divergence[];
  /** Harness problems (guest exceptions, barrier timeouts) or why the judge gave up. */
  problems: string[];
  /** Informational: spurious-vector entries, swallowed watchdog NMIs, wait timeouts. */
  info: string[];
}

function cloneSt(s: St): St {
  const r = new Reference(s.ref.machine);
  const a = s.ref.cpus[0]!, b = r.cpus[0]!;
  b.copyFrom(a);
  return { ref: r, acc: s.acc.slice(), pins: s.pins.map((p) => ({ ...p })) };
}

function keyOf(s: St): string {
  const a = s.ref.cpus[0]!;
  let k = `${Array.from(a.irr).join(',')}|${Array.from(a.tmr).join(',')}|${a.esr}|${a.nmiPending ? 1 : 0}|${s.acc.join('')}`;
  for (const p of s.pins) k += `|${p.line ? 1 : 0}${p.masked ? 1 : 0}${p.remoteIrr ? 1 : 0}${p.resend ? 1 : 0}${p.next}`;
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

/** Happens-before through work/wait: hb[s][j][c] = latest op of c that happens-before op j of s (-1 none). */
function happensBefore(c: Compiled, executed: number[], waitTimedOut: Set<string>): number[][][] {
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
        if (op.sem.k === 'guest' && op.sem.ev.k === 'wait' && !waitTimedOut.has(`${cpu}:${i}`)) {
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
    if (l.err) res.problems.push(`vCPU ${cpu}: harness flags 0x${l.err.toString(16)}`);
    for (const r of l.records) {
      if (r.t === 'error') res.problems.push(`vCPU ${cpu}: harness error ${r.code} (0x${r.extra.toString(16)})`);
      if (r.t === 'spurious') res.info.push(`vCPU ${cpu}: spurious-vector entry at op ${r.pos}`);
      if (r.t === 'wd-swallow') res.info.push(`vCPU ${cpu}: a watchdog NMI arrived after a real wake-up and was dropped`);
      if (r.t === 'wait-timeout') res.info.push(`vCPU ${cpu}: wait at op ${r.pos} timed out`);
      if (r.t === 'hlt-stuck') res.info.push(`vCPU ${cpu}: hlt at op ${r.pos} never woke`);
    }
  }
  if (res.problems.length) { res.status = 'error'; return res; }

  // How far each vCPU got, and which waits timed out.
  const executed: number[] = [];
  const waitTimedOut = new Set<string>();
  logs.forEach((l, cpu) => {
    let ex = 0;
    for (const r of l.records) {
      if (r.t === 'end') ex = Math.max(ex, r.pos);
      if (r.t === 'hlt-stuck') ex = Math.max(ex, r.pos + 1);
      if (r.t === 'wait-timeout') waitTimedOut.add(`${cpu}:${r.pos}`);
    }
    executed.push(Math.min(ex, c.programs[cpu]!.length));
  });
  const hb = happensBefore(c, executed, waitTimedOut);

  for (let cpu = 0; cpu < n; cpu++) {
    const d = judgeCpu(c, cpu, logs[cpu]!.records, executed, hb, backend, opts.variant);
    if (d === 'inconclusive') { res.status = 'inconclusive'; res.problems.push(`vCPU ${cpu}: more than ${MAX_STATES} candidate timings; not judged`); continue; }
    if (d) res.divergences.push(d);
  }
  if (res.divergences.length) res.status = 'divergent';
  return res;
}

function judgeCpu(
  c: Compiled, me: number, records: ObsRecord[], executed: number[], hb: number[][][], backend: string, variant: string,
): Divergence | null | 'inconclusive' {
  const machine: MachineConfig = c.machine;
  const prog = c.programs[me]!;
  // Pins whose messages go to this vCPU.
  const pinIdx = new Map<number, number>();
  const pinCfg: PinCfg[] = [];
  for (const p of c.pins) {
    if (p.dest !== me) continue;
    pinIdx.set(p.pin, pinCfg.length);
    pinCfg.push({ vector: p.vector, level: p.level });
  }
  // Everything that lands in this vCPU.
  const inc: Incoming[] = [];
  const ranks = new Array<number>(pinCfg.length).fill(0);
  for (let s = 0; s < machine.vcpus; s++) {
    c.programs[s]!.forEach((op: CompiledOp, j: number) => {
      if (j >= executed[s]!) return;
      const lb = s === me ? j : hb[s]![j]![me]!;
      const from = { cpu: s, op: j, event: op.event };
      if (op.sem.k === 'guest' && op.sem.ev.k === 'ipi') {
        const ev = op.sem.ev;
        const sh = ev.shorthand ?? 'none';
        let dest = ev.dest ?? 0;
        if (sh === 'none' && !ev.logical && machine.apic === 'x2apic' && dest === 0xff) dest = 0xfe;
        const mask = resolveDest(machine.apic, machine.vcpus, s, sh, ev.logical ?? false, dest);
        if (!(mask & (1 << me))) return;
        if (ev.nmi) inc.push({ id: inc.length, kind: 'nmi', vector: 2, src: Src.None, lb, from });
        else inc.push({ id: inc.length, kind: 'fixed', vector: ev.vector, src: srcOf(ev, me, s), lb, from });
      } else if (op.sem.k === 'msi') {
        const ev = op.sem.ev;
        const mask = resolveDest(machine.apic, machine.vcpus, 0, 'none', ev.logical ?? false, ev.dest);
        if (!(mask & (1 << me))) return;
        inc.push({ id: inc.length, kind: 'fixed', vector: ev.vector, src: Src.Msi, lb, from });
      } else if (op.sem.k === 'pin') {
        const pi = pinIdx.get(op.sem.pin);
        if (pi === undefined) return;
        const cfg = pinCfg[pi]!;
        inc.push({ id: inc.length, kind: 'pinop', vector: cfg.vector, src: cfg.level ? Src.IoLevel : Src.IoEdge, lb, pin: pi, rank: ranks[pi]!++, pinOp: op.sem.op, from });
      }
    });
  }
  // The harness deasserts every line after all programs ended, before the drain.
  pinCfg.forEach((cfg, pi) => {
    inc.push({ id: inc.length, kind: 'pinop', vector: cfg.vector, src: cfg.level ? Src.IoLevel : Src.IoEdge, lb: Infinity, pin: pi, rank: ranks[pi]!++, pinOp: 'deassert', from: { cpu: -1, op: -1, event: -1 } });
  });
  const pinOpsTotal = ranks.slice();

  const m1: MachineConfig = { vcpus: 1, apic: machine.apic, ioapic: [] };
  const init: St = {
    ref: new Reference(m1),
    acc: new Uint8Array(inc.length),
    pins: c.pins.filter((p) => p.dest === me).map((p) => ({ line: false, masked: p.masked, remoteIrr: false, next: 0, resend: false })),
  };
  let states: St[] = [init];
  let done = 0;             // ops of this vCPU completed
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

  const acceptInto = (s: St, vector: number, level: boolean, src: Src): void => {
    const a = s.ref.cpus[0]!;
    if (vector < 16) { a.esr |= ESR_RECV_ILLEGAL; return; }
    s.ref.accept(0, vector, level, src);
  };
  const servicePin = (s: St, pi: number): void => {
    const p = s.pins[pi]!, cfg = pinCfg[pi]!;
    if (cfg.level && p.line && !p.masked && !p.remoteIrr) { p.remoteIrr = true; p.resend = true; }
  };
  const available = (i: Incoming): boolean => (i.lb === Infinity ? atEnd : i.lb < done);

  // All states reachable by accepting any available items in any order.
  const closure = (): boolean => {
    const seen = new Map<string, St>();
    const queue: St[] = [];
    for (const s of states) { const k = keyOf(s); if (!seen.has(k)) { seen.set(k, s); queue.push(s); } }
    while (queue.length) {
      const s = queue.pop()!;
      const next: St[] = [];
      for (const i of inc) {
        if (s.acc[i.id] || !available(i)) continue;
        if (i.kind === 'pinop') {
          const p = s.pins[i.pin!]!;
          if (p.next !== i.rank) continue;
          const t = cloneSt(s); t.acc[i.id] = 1;
          const tp = t.pins[i.pin!]!, cfg = pinCfg[i.pin!]!;
          tp.next++;
          switch (i.pinOp) {
            case 'assert': {
              const rising = !tp.line;
              tp.line = true;
              if (cfg.level) servicePin(t, i.pin!);
              else if (rising && !tp.masked) acceptInto(t, cfg.vector, false, Src.IoEdge);
              break;
            }
            case 'deassert': tp.line = false; break;
            case 'mask': tp.masked = true; break;
            case 'unmask': tp.masked = false; if (cfg.level) servicePin(t, i.pin!); break;
          }
          next.push(t);
        } else {
          const t = cloneSt(s); t.acc[i.id] = 1;
          if (i.kind === 'nmi') t.ref.cpus[0]!.nmiPending = true;
          else acceptInto(t, i.vector, false, i.src);
          next.push(t);
        }
      }
      s.pins.forEach((p, pi) => {
        if (!p.resend) return;
        const t = cloneSt(s);
        t.pins[pi]!.resend = false;
        acceptInto(t, pinCfg[pi]!.vector, true, Src.IoLevel);
        next.push(t);
      });
      for (const t of next) {
        const k = keyOf(t);
        if (seen.has(k)) continue;
        seen.set(k, t);
        queue.push(t);
        if (seen.size > MAX_STATES) return false;
      }
    }
    states = [...seen.values()];
    return true;
  };

  const eoiInto = (s: St): void => {
    const a = s.ref.cpus[0]!;
    const v = vsHighest(a.isr);
    if (v >= 0 && vsHas(a.tmr, v)) {
      s.pins.forEach((p, pi) => {
        if (pinCfg[pi]!.level && pinCfg[pi]!.vector === v && p.remoteIrr) { p.remoteIrr = false; servicePin(s, pi); }
      });
    }
  };

  // Apply one of this vCPU's ops to every state; reads filter.
  const execOp = (i: number, read?: Extract<ObsRecord, { t: 'read' }>): Divergence | null => {
    const op = prog[i]!;
    const ev = op.sem.k === 'guest' ? op.sem.ev : null;
    if (read && ev && ev.k === 'read') {
      const keep: St[] = [];
      let expected = '';
      for (const s of states) {
        const want = s.ref.read(0, ev.reg);
        let ok: boolean;
        if (typeof want === 'number') {
          const got = (read.value as number) & 0xff;
          ok = got === (want & 0xff);
          if (!ok && !expected) expected = `0x${(want & 0xff).toString(16)}`;
        } else {
          const got = vecsetFromWords(read.value as number[]);
          ok = got.every((w, k) => w === want[k]);
          if (!ok && !expected) expected = fmtSet(want);
        }
        if (ok) keep.push(s);
      }
      if (!keep.length) {
        const got = typeof read.value === 'number' ? `0x${(read.value & 0xff).toString(16)}` : fmtSet(vecsetFromWords(read.value));
        const shape = `read-${ev.reg}:${ev.reg === 'isr' || ev.reg === 'ppr' || ev.reg === 'tpr' ? 'exact' : 'timing'}`;
        return fail('read-mismatch', shape, op.event, `read ${ev.reg} at op ${i} returned ${got}; no legal timing gives that (e.g. ${expected})`);
      }
      states = keep;
    }
    for (const s of states) {
      const a = s.ref.cpus[0]!;
      if (!ev) { a.guest.beginInstruction(); continue; }
      if (ev.k === 'ipi') {
        a.guest.beginInstruction();
        if (!ev.nmi && ev.vector < 16) a.esr |= ESR_SEND_ILLEGAL;
        continue;
      }
      if (ev.k === 'eoi') eoiInto(s);
      s.ref.apply({ ...ev, cpu: 0 } as Event);
    }
    done = i + 1;
    return null;
  };

  const deliver = (vector: number, nmi: boolean, atEvent: number, where: string): Divergence | null => {
    const keep: St[] = [];
    const why = new Map<string, number>();
    const note = (w: string) => why.set(w, (why.get(w) ?? 0) + 1);
    for (const s of states) {
      const a = s.ref.cpus[0]!, g = a.guest;
      if (nmi) {
        if (!a.nmiPending) { note('not-pending'); continue; }
        if (g.nmiBlocked) { note('nmi-blocked'); continue; }
        g.shadow = false; // NMIs "may" be taken in an STI shadow (SDM STI): allowed on real hardware
        s.ref.deliver(0, 2, true);
        keep.push(s);
        continue;
      }
      if (a.nmiPending && !g.nmiBlocked && !g.shadow) { note('priority:nmi-first'); continue; }
      const best = a.deliverable();
      if (best >= 0 && best > vector && vsHas(a.irr, vector)) { note('priority-inversion'); continue; }
      const f: DeliveryFault | null = s.ref.deliver(0, vector, false);
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
      return fail(kind, shape, atEvent, `${nmi ? 'NMI' : `vector 0x${vector.toString(16)}`} delivered ${where}: ${top} under every legal timing`);
    }
    states = keep;
    delivered.add(vector);
    return null;
  };

  const runOpsTo = (pos: number): Divergence | null => {
    while (done < pos && done < prog.length) {
      if (!closure()) throw new Inconclusive();
      const d = execOp(done);
      if (d) return d;
    }
    return null;
  };

  try {
    for (const r of records) {
      let d: Divergence | null = null;
      switch (r.t) {
        case 'deliver': {
          if (r.pos === POS_END_MODE) {
            if (!closure()) throw new Inconclusive();
            d = deliver(r.vector, r.nmi, -1, 'after the program ended (IF = 0)');
            break;
          }
          d = runOpsTo(r.pos);
          if (d) break;
          if (!closure()) throw new Inconclusive();
          d = deliver(r.vector, r.nmi, prog[r.pos]?.event ?? -1, `before op ${r.pos}`);
          break;
        }
        case 'read':
          d = runOpsTo(r.pos);
          if (d) break;
          if (!closure()) throw new Inconclusive();
          d = execOp(r.pos, r);
          break;
        case 'wait-timeout':
          d = runOpsTo(r.pos);
          if (d) break;
          if (!closure()) throw new Inconclusive();
          d = execOp(r.pos);
          break;
        case 'hlt-stuck':
          d = runOpsTo(r.pos);
          if (d) break;
          if (!closure()) throw new Inconclusive();
          if (r.pos < prog.length) d = execOp(r.pos);
          break;
        case 'end':
          d = runOpsTo(r.pos);
          atEnd = true;
          break;
        case 'end-nmi':
          if (!closure()) throw new Inconclusive();
          d = deliver(2, true, -1, 'after the program ended');
          if (!d) for (const s of states) s.ref.cpus[0]!.guest.iret();
          break;
        case 'drain-isr': {
          atEnd = true;
          if (!closure()) throw new Inconclusive();
          // The harness finished driving the pins before the drain.
          states = states.filter((s) => s.pins.every((p, pi) => p.next === pinOpsTotal[pi]));
          const got = vecsetFromWords(r.isr);
          const keep = states.filter((s) => s.ref.cpus[0]!.isr.every((w, k) => w === got[k]));
          if (!keep.length) {
            const want = states[0] ? fmtSet(states[0].ref.cpus[0]!.isr) : '{}';
            d = fail('read-mismatch', 'read-isr:drain', -1, `ISR when the program ended was ${fmtSet(got)}; the deliveries and EOIs observed leave ${want}`);
            break;
          }
          states = keep;
          // Canonical idle: TPR = 0, EOI everything in service, unblock NMIs, IF = 1.
          for (const s of states) {
            const a = s.ref.cpus[0]!;
            s.ref.apply({ k: 'tpr', cpu: 0, value: 0, via: 'mmio' });
            for (let k = 0; k < 256 && vsHighest(a.isr) >= 0; k++) { eoiInto(s); s.ref.eoi(0); }
            a.guest.nmiBlocked = false;
            a.guest.IF = true;
            a.guest.shadow = false;
          }
          break;
        }
        case 'drain-deliver': {
          if (!closure()) throw new Inconclusive();
          d = deliver(r.vector, r.nmi, -1, 'in the drain');
          if (d) break;
          for (const s of states) {
            if (!r.nmi) { eoiInto(s); s.ref.eoi(0); }
            s.ref.cpus[0]!.guest.iret();
          }
          break;
        }
        default: break;
      }
      if (d) return d;
    }
    // The end of the drain: everything sent must have arrived and been delivered.
    atEnd = true;
    done = prog.length;
    if (!closure()) throw new Inconclusive();
    const complete = states.filter((s) => s.acc.every((x) => x === 1) && s.pins.every((p) => !p.resend));
    const clean = complete.filter((s) => {
      const a = s.ref.cpus[0]!;
      if (a.nmiPending) return false;
      return vsHighest(a.irr) < 0;
    });
    if (!clean.length) {
      const s = complete[0] ?? states[0];
      if (!s) return fail('lost', 'unknown', -1, 'no consistent state at the end');
      const a = s.ref.cpus[0]!;
      const pend = vsList(a.irr);
      const ppr = computePpr(a.tpr, vsHighest(a.isr));
      const what = [...pend.map((v) => `0x${v.toString(16)}`), ...(a.nmiPending ? ['NMI'] : [])].join(', ');
      const shape = a.nmiPending && !pend.length ? 'nmi' : [...new Set(pend.flatMap((v) => srcName(v).split('+')))].sort().join('+');
      const ev = inc.find((i) => (i.kind !== 'nmi' && pend.includes(i.vector)) || (i.kind === 'nmi' && a.nmiPending));
      return fail('lost', shape || 'unknown', ev?.from.event ?? -1,
        `still pending after the drain: ${what || '?'} (PPR 0x${ppr.toString(16)}, class ${prioClass(ppr)}); bare metal delivers it once IF = 1 and TPR = 0`);
    }
    return null;
  } catch (e) {
    if (e instanceof Inconclusive) return 'inconclusive';
    throw e;
  }
}

class Inconclusive extends Error {}
