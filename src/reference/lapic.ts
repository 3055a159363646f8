// Architectural reference: the bare-metal local APIC and I/O APIC per the Intel SDM
// (rule ids REF-* are documented in docs/reference-rules.md with their sources).
//
// The reference never delivers on its own in the middle of a scenario: it judges the
// deliveries a backend reports (oracle-design: "mirror the backend's deliveries"), and it
// says what bare metal would take at an instruction boundary. It keeps exactly the state a
// bare-metal APIC keeps, plus what latency leaves open:
//   - messages *in flight*: sent on the bus (another CPU's IPI, an MSI, an I/O APIC
//     message) and not yet landed in the target's IRR (REF-LAT-1). They land at the latest
//     at the target's next due point (REF-DUE-1), which the oracle decides;
//   - *optional* instances: a message that was in flight while its vector was pending and
//     then taken may have collapsed into it or landed after it (REF-ACC-3): it may be
//     delivered once more, and need not be. The next boundary where it would be taken
//     settles the question.
import { GuestCpu, execCoreInstruction } from '../apic/guestcpu.js';
import { initialAddr, matchDest, x2apicLdr, type ApicAddr } from '../apic/dest.js';
import { Ioapic, IOAPIC_ID_BITS, IOAPIC_VERSION, type IoPin } from '../apic/ioapic.js';
import {
  computePpr, prioClass, vecSet, vsAdd, vsDel, vsHas, vsHighest, type VecSet,
} from '../apic/vecset.js';
import type { Event, MachineConfig, Reg } from '../scenario/types.js';
import { CountSet } from '../apic/countset.js';
import { LapicTimer } from '../apic/timer.js';
import { LintPin, Raise } from '../apic/lint.js';

/** Where a pending vector came from, coarse enough for symptoms. */
export const enum Src { None = 0, Ipi = 1, SelfIpi = 2, Msi = 3, IoEdge = 4, IoLevel = 5, Timer = 6, Lint = 7 }
export const SRC_NAMES = ['none', 'ipi', 'self-ipi', 'msi', 'ioapic-edge', 'ioapic-level', 'timer', 'lint'] as const;

/** Local APIC version register of an integrated APIC: version 0x14, 6 LVT entries (max LVT 5). */
export const LAPIC_VERSION = 0x00050014;
export const ESR_SEND_ILLEGAL = 0x20;
export const ESR_RECV_ILLEGAL = 0x40;
/** The vector number used for an NMI in deliveries and whereStuck queries. */
export const NMI_VECTOR = 2;

/** SVR bit 8: APIC software enable (SDM 10.4.7.2). The OS leaves it set, spurious vector 0xFF. */
export const SVR_ENABLE = 0x100;
export const SVR_INITIAL = 0x1ff;

/** Trigger of the last message that landed for a vector (TMR shape tags). */
export const enum Trig { None = 0, Edge = 1, Level = 2 }

export class RefLapic {
  readonly irr = vecSet();
  readonly isr = vecSet();
  readonly tmr = vecSet();
  /**
   * TMR bits set by a message that crossed an SVR write (REF-SVR-3): it may have been discarded
   * while the APIC was disabled, leaving TMR as it was, so a read may show either value until a
   * message of the vector lands for sure.
   */
  readonly tmrMaybe = vecSet();
  /**
   * REF-ACC-4: TMR[v] is open because the last messages of v to land had both trigger modes
   * and their acceptance order was open. Unlike an SVR crossing, seeing one of them pending
   * does not settle it: only a message of v that lands for sure and alone does.
   */
  readonly tmrRace = vecSet();
  tpr = 0;
  /** Errors detected since the last ESR write (or, before any write, since the last read). */
  esr = 0;
  nmiPending = false;
  /** Addressing state (APIC ID, LDR, DFR model): REF-ADDR-1. */
  readonly addr: ApicAddr = { id: 0, ldr: 0, flat: true };
  /** Spurious-interrupt vector register; bit 8 is the software enable (REF-SVR-1). */
  svr = SVR_INITIAL;
  /**
   * REF-ESR-1: once the guest has written ESR, reads return what that write latched (the
   * architectural protocol); before, a read returns and clears the errors (the base
   * language's shortcut, kept for its scenarios).
   */
  esrLatched = false;
  esrShown = 0;
  /** A Receive-Illegal-Vector message was on the bus at the latching write: it may show or not. */
  esrRivMaybe = false;
  /** The APIC timer and this vCPU's logical clock (REF-TMR-1..3). */
  readonly timer = new LapicTimer();
  now = 0;
  /** LINT0, LINT1 (REF-LINT-1). */
  readonly lint: [LintPin, LintPin] = [new LintPin(), new LintPin()];

  // ---- latency (REF-LAT-1, REF-ACC-3)
  /** Messages per vector sent to this CPU that have not landed yet. */
  readonly inflight = new CountSet();
  /** The latest in-flight message of the vector is level-triggered. */
  readonly inflightLevel = vecSet();
  /**
   * REF-ACC-4: since the vector last had nothing in flight, messages of it with both trigger
   * modes were on the bus together (or one landed locally while the other was on the bus):
   * the order in which they are accepted, hence TMR, is open.
   */
  readonly inflightMixed = vecSet();
  /**
   * Of the messages of v in flight, how many were in flight at some time while v was pending:
   * each may have collapsed into that instance, or not (REF-ACC-3). The others were sent
   * after it was taken and must land.
   */
  readonly inflightSaw = new CountSet();
  nmiInflight = 0;
  /** The same for NMIs in flight. */
  nmiInflightSaw = 0;
  /** Illegal-vector messages in flight: their Receive-Illegal-Vector bit lands with them. */
  rivInflight = 0;
  /** Of the messages in flight, those sent before the last SVR enable/disable write (REF-SVR-3). */
  readonly crossed = new CountSet();
  /** Optional instances per vector (may be delivered once each, need not be). */
  readonly extra = new CountSet();
  nmiExtra = 0;

  // ---- bookkeeping for symptoms and shape tags (not architectural state)
  /** Source of the latest message per vector (Src as three bit planes). */
  private readonly src0 = vecSet();
  private readonly src1 = vecSet();
  private readonly src2 = vecSet();
  /** Vectors ever sent here: tells a duplicate delivery from a spurious one. */
  readonly everSent = vecSet();
  /** Trigger of the last message that landed, per vector. */
  private readonly landedLevel = vecSet();
  private readonly landedEdge = vecSet();
  /**
   * Vectors whose redirection entry the guest rewrote since a message of them last landed: a
   * TMR that already shows the entry's new trigger mode was programmed ahead of acceptance.
   */
  readonly rewritten = vecSet();

  readonly guest = new GuestCpu();
  // Nested view (what L1 observes about its L2).
  l2Running = false;
  /** Event L1 injected into L2 that is neither delivered nor reported back (-1 none). */
  l2Pending = -1;
  /** Event the last exit reported in IDT-vectoring info; L1 re-injects it at its next VM entry. */
  l2Reinject = -1;

  /** Copy every piece of state (the real-hardware judge forks reference states). */
  copyFrom(o: RefLapic): void {
    this.irr.set(o.irr); this.isr.set(o.isr); this.tmr.set(o.tmr); this.tmrMaybe.set(o.tmrMaybe); this.tmrRace.set(o.tmrRace);
    this.tpr = o.tpr; this.esr = o.esr; this.nmiPending = o.nmiPending;
    this.addr.id = o.addr.id; this.addr.ldr = o.addr.ldr; this.addr.flat = o.addr.flat;
    this.timer.copyFrom(o.timer); this.now = o.now;
    this.lint[0].copyFrom(o.lint[0]); this.lint[1].copyFrom(o.lint[1]);
    this.svr = o.svr; this.esrLatched = o.esrLatched; this.esrShown = o.esrShown; this.esrRivMaybe = o.esrRivMaybe;
    this.inflight.copyFrom(o.inflight); this.inflightLevel.set(o.inflightLevel); this.inflightMixed.set(o.inflightMixed); this.inflightSaw.copyFrom(o.inflightSaw);
    this.crossed.copyFrom(o.crossed);
    this.nmiInflight = o.nmiInflight; this.nmiInflightSaw = o.nmiInflightSaw; this.rivInflight = o.rivInflight;
    this.extra.copyFrom(o.extra); this.nmiExtra = o.nmiExtra;
    this.src0.set(o.src0); this.src1.set(o.src1); this.src2.set(o.src2);
    this.everSent.set(o.everSent); this.landedLevel.set(o.landedLevel); this.landedEdge.set(o.landedEdge); this.rewritten.set(o.rewritten);
    this.guest.copyFrom(o.guest);
    this.l2Running = o.l2Running; this.l2Pending = o.l2Pending; this.l2Reinject = o.l2Reinject;
  }

  srcOf(v: number): Src {
    return ((vsHas(this.src0, v) ? 1 : 0) | (vsHas(this.src1, v) ? 2 : 0) | (vsHas(this.src2, v) ? 4 : 0)) as Src;
  }

  setSrc(v: number, s: Src): void {
    if (s & 1) vsAdd(this.src0, v); else vsDel(this.src0, v);
    if (s & 2) vsAdd(this.src1, v); else vsDel(this.src1, v);
    if (s & 4) vsAdd(this.src2, v); else vsDel(this.src2, v);
  }

  lastTrigger(v: number): Trig {
    return vsHas(this.landedLevel, v) ? Trig.Level : vsHas(this.landedEdge, v) ? Trig.Edge : Trig.None;
  }

  /** A message of v landed: TMR follows its trigger mode (REF-ACC-1). */
  landedTrigger(v: number, level: boolean): void {
    vsDel(this.tmrMaybe, v);
    vsDel(this.tmrRace, v);
    vsDel(this.rewritten, v);
    if (level) { vsAdd(this.tmr, v); vsAdd(this.landedLevel, v); vsDel(this.landedEdge, v); }
    else { vsDel(this.tmr, v); vsAdd(this.landedEdge, v); vsDel(this.landedLevel, v); }
  }

  ppr(): number {
    return computePpr(this.tpr, vsHighest(this.isr));
  }

  /** The APIC is software-disabled (SVR bit 8 clear). */
  disabled(): boolean {
    return (this.svr & SVR_ENABLE) === 0;
  }

  /**
   * Highest pending vector that the APIC would dispatch now (REF-DISP-1), or -1. While the
   * APIC is software-disabled nothing pending is due (REF-SVR-2: held, taken or not).
   */
  deliverable(): number {
    if (this.disabled()) return -1;
    const v = vsHighest(this.irr);
    if (v < 0) return -1;
    return prioClass(v) > prioClass(this.ppr()) ? v : -1;
  }

  /**
   * Make v pending. A message of v still in flight may now collapse into it: whichever way
   * latency went is legal from here on (REF-ACC-3).
   */
  setPending(v: number): void {
    vsAdd(this.irr, v);
    const n = this.inflight.count(v);
    if (n !== 0) { this.inflightSaw.takeAll(v); this.inflightSaw.add(v, n); }
  }

  /**
   * REF-SVR-3: every fixed message in flight at an SVR enable/disable write may land on
   * either side of it (accepted, or discarded while disabled): when it lands on an enabled
   * APIC it becomes an optional instance.
   */
  markCrossed(): void {
    this.crossed.copyFrom(this.inflight);
  }

  /**
   * A message of v lands into an instance already pending (it collapses, REF-ACC-2). Whether a
   * collapsed message still sets TMR by its trigger mode the SDM does not say ("accepted into
   * the IRR"; KVM's __apic_accept_irq updates it): when that would change TMR, or TMR was
   * already open, it is open (REF-ACC-4).
   */
  landedCollapsed(v: number, level: boolean): void {
    const open = vsHas(this.tmr, v) !== level || vsHas(this.tmrMaybe, v);
    this.landedTrigger(v, level);
    if (open) { vsAdd(this.tmrMaybe, v); vsAdd(this.tmrRace, v); }
  }

  /**
   * REF-ACC-4: messages of v landed while messages of v with the other trigger mode were on
   * the bus with them: TMR is either. Once nothing of v is in flight the race is over.
   */
  raced(v: number): void {
    if (!vsHas(this.inflightMixed, v)) return;
    vsAdd(this.tmrMaybe, v);
    vsAdd(this.tmrRace, v);
    if (this.inflight.count(v) === 0) vsDel(this.inflightMixed, v);
  }

  /** Drop every fixed message in flight: it lands on a software-disabled APIC (REF-SVR-1). */
  dropInflight(): void {
    if (this.inflight.total === 0) return;
    this.inflightMixed.fill(0);
    for (let v = 16; v < 256; v++) { if (this.inflight.takeAll(v) !== 0) this.inflightSaw.takeAll(v); }
    this.crossed.copyFrom(this.inflight);
  }

  /** REF-SVR-3: messages that crossed an SVR write land as optional instances. */
  landCrossed(): void {
    for (let v = 16; v < 256 && this.crossed.total !== 0; v++) {
      const c = Math.min(this.crossed.takeAll(v), this.inflight.count(v));
      for (let i = 0; i < c; i++) {
        this.inflight.takeOne(v);
        if (this.inflightSaw.count(v) > this.inflight.count(v)) this.inflightSaw.takeOne(v);
      }
      if (c !== 0) {
        // Other optional instances of v still undecided: an IRR read that shows v then proves only that some
        // instance exists, not this one, so TMR stays open (tmrRace). (Alone, this one is the last message of
        // v sent, so an instance of it shown or taken settles TMR: REF-ACC-4's fixed order.)
        const race = this.extra.count(v) !== 0;
        this.extra.add(v, c); this.landedTrigger(v, vsHas(this.inflightLevel, v)); vsAdd(this.tmrMaybe, v);
        if (race) vsAdd(this.tmrRace, v);
        this.raced(v);
      }
    }
  }

  /** Something is still on the bus to this CPU. */
  anyInflight(): boolean {
    return this.inflight.total !== 0 || this.nmiInflight !== 0 || this.rivInflight !== 0;
  }
}

export interface CollapseListener {
  collapsed(cpu: number, vector: number): void;
}

/** Told when a backend's lowest-priority arbitration chose a vCPU the message did not address. */
export interface MisrouteListener {
  misrouted(cpu: number, vector: number, allowed: number): void;
}

/** Why the reference refuses a delivery. */
export type DeliveryFault =
  | 'not-pending'      // REF-DISP-1: nothing of that vector in IRR (spurious or duplicate)
  | 'masked-if'        // REF-DISP-2: RFLAGS.IF = 0
  | 'masked-shadow'    // REF-DISP-2: STI shadow
  | 'masked-ppr'       // REF-DISP-1: class(v) <= class(PPR)
  | 'nmi-blocked'      // REF-DISP-3: NMI blocked until IRET
  | 'not-running';     // nested: L1 cannot take an interrupt while L2 runs

export class Reference {
  readonly cpus: RefLapic[];
  /** Told of every message that landed for good into an instance already pending (NMI: NMI_VECTOR). */
  collapses: CollapseListener | null = null;
  readonly ioapic: Ioapic;
  /** The I/O APIC's pins (line, mask, Remote IRR). */
  get pins(): Map<number, IoPin> { return this.ioapic.pins; }
  /** Each vCPU's addressing state (the same objects as cpus[i].addr). */
  readonly addrs: ApicAddr[] = [];
  /**
   * REF-LP-1: lowest-priority arbitration is model-specific, so the backend says which vCPU
   * it chose for each lowest-priority message of the current event (ObsSink.arbitrated), in
   * order; the reference accepts any vCPU the message addresses. Without a report the
   * lowest-numbered addressed vCPU is assumed.
   */
  readonly lowestChoices: number[] = [];
  lowestNext = 0;
  misroutes: MisrouteListener | null = null;
  /**
   * REF-IOA-7: the I/O APIC ID register (bits 27:24), -1 while it is the platform's (not yet written
   * or read: the oracle adopts the first value read, the ID being constant until written).
   */
  ioapicId = -1;
  /**
   * REF-IOA-7: the arbitration register (bits 27:24), loaded with the ID by an ID write; -1 while open:
   * never loaded, or changed since by the APIC bus's rotating arbitration (82093AA 3.2.3: every message
   * sent on the bus rotates every agent's arbitration ID), so any bits-27:24 value may be read.
   */
  ioapicArb = -1;
  /** REF-IOA-7: the version register as first read (-1 before): read-only, so every later read returns it. */
  ioapicVersion = -1;

  constructor(readonly machine: MachineConfig) {
    this.cpus = [];
    for (let i = 0; i < machine.vcpus; i++) {
      const a = new RefLapic();
      const init = initialAddr(machine.apic, i, machine.apicIds?.[i] ?? i);
      a.addr.id = init.id; a.addr.ldr = init.ldr; a.addr.flat = init.flat;
      this.cpus.push(a);
      this.addrs.push(a.addr);
    }
    this.ioapic = new Ioapic(machine.ioapic, (p) => {
      // REF-IPI-1 for the I/O APIC: its 8-bit destination, physical or logical.
      let mask = matchDest(machine.apic, this.addrs, -1, 'none', p.logical, p.dest);
      if (p.lowest) mask = this.lowest(mask, p.vector);
      for (let i = 0; i < machine.vcpus; i++) if (mask & (1 << i)) this.send(-1, i, p.vector, p.level, p.level ? Src.IoLevel : Src.IoEdge);
    }, (p) => {
      // REF-EOI-4: a level message sent in one outcome of an open EOI broadcast only. It goes
      // on the bus and lands as an optional instance (as a message that crossed an SVR write,
      // REF-SVR-3), TMR open until the vector lands for sure. A lowest-priority one may go to
      // any addressed vCPU, and the backend need not report a choice for it.
      const mask = matchDest(machine.apic, this.addrs, -1, 'none', p.logical, p.dest);
      for (let i = 0; i < machine.vcpus; i++) {
        if (!(mask & (1 << i))) continue;
        this.send(-1, i, p.vector, true, Src.IoLevel);
        if (this.cpus[i]!.inflight.count(p.vector) !== 0) this.cpus[i]!.crossed.add(p.vector);
      }
    });
  }

  /** REF-LP-1: the one vCPU a lowest-priority message goes to, as a mask (0: it addresses none). */
  private lowest(mask: number, vector: number): number {
    if (mask === 0) return 0;
    const c = this.lowestChoices[this.lowestNext++];
    if (c === undefined || c < 0 || c >= this.cpus.length) return mask & -mask;
    if (!(mask & (1 << c))) this.misroutes?.misrouted(c, vector, mask);
    return 1 << c; // mirrored even when illegal: one divergence, not a cascade
  }

  /**
   * A fixed interrupt lands in vCPU `cpu`'s IRR now (REF-ACC-1/2, REF-VEC-1). A collapse is
   * recorded as an optional instance (REF-ACC-3): for callers that cannot tell when a
   * message landed (the real-hardware judge). The oracle uses send/land instead.
   */
  accept(cpu: number, vector: number, level: boolean, src: Src): void {
    const a = this.cpus[cpu]!;
    if (vector < 16) {
      a.esr |= ESR_RECV_ILLEGAL;
      return;
    }
    if (a.disabled()) return; // REF-SVR-1
    vsAdd(a.everSent, vector);
    if (vsHas(a.irr, vector)) a.extra.add(vector);
    a.setPending(vector);
    a.landedTrigger(vector, level);
    a.setSrc(vector, src);
  }

  /**
   * A message leaves `from` (-1: a device) for `to`. A CPU's message to itself never leaves
   * its local APIC and lands at once (REF-LAT-2); any other travels on the bus (REF-LAT-1).
   */
  send(from: number, to: number, vector: number, level: boolean, src: Src): void {
    const a = this.cpus[to]!;
    if (from === to) { this.landNow(to, vector, level, src); return; }
    this.ioapicArb = -1; // REF-IOA-7: a message on the bus rotates the arbitration IDs
    if (vector < 16) { a.rivInflight++; return; }
    vsAdd(a.everSent, vector);
    // REF-ACC-4: both trigger modes on the bus together: their acceptance order is open.
    if (a.inflight.count(vector) !== 0 && vsHas(a.inflightLevel, vector) !== level) vsAdd(a.inflightMixed, vector);
    a.inflight.add(vector);
    if (level) vsAdd(a.inflightLevel, vector); else vsDel(a.inflightLevel, vector);
    a.setSrc(vector, src);
    if (vsHas(a.irr, vector)) a.inflightSaw.add(vector);
  }

  /** A message lands now and for good: collapse into a pending instance is final. */
  private landNow(cpu: number, vector: number, level: boolean, src: Src): void {
    const a = this.cpus[cpu]!;
    if (vector < 16) { a.esr |= ESR_RECV_ILLEGAL; return; }
    vsAdd(a.everSent, vector);
    if (a.disabled()) return; // REF-SVR-1: a fixed message to a software-disabled APIC is discarded
    if (vsHas(a.irr, vector)) this.collapses?.collapsed(cpu, vector);
    // REF-ACC-4: a message of the vector with the other trigger mode still on the bus may be
    // accepted before this one or after it.
    const racing = a.inflight.count(vector) !== 0 && (vsHas(a.inflightMixed, vector) || vsHas(a.inflightLevel, vector) !== level);
    const collapsing = vsHas(a.irr, vector);
    a.setPending(vector);
    if (collapsing) a.landedCollapsed(vector, level); else a.landedTrigger(vector, level);
    if (racing) { vsAdd(a.inflightMixed, vector); a.raced(vector); }
    a.setSrc(vector, src);
  }

  sendNmi(from: number, to: number): void {
    const a = this.cpus[to]!;
    if (from === to) {
      if (a.nmiPending) this.collapses?.collapsed(to, NMI_VECTOR);
      a.nmiPending = true;
      a.nmiInflightSaw = a.nmiInflight; // those may now collapse into it
      return;
    }
    this.ioapicArb = -1; // REF-IOA-7
    if (a.nmiInflight < 255) a.nmiInflight++;
    if (a.nmiPending) a.nmiInflightSaw = a.nmiInflight;
  }

  /**
   * REF-DUE-1: everything in flight to `cpu` lands now (NMIs too unless `nmi` is false),
   * except messages of `except` (NMI_VECTOR for NMIs): a delivery of that vector happening
   * now may come before or after they land.
   */
  /** The NMIs in flight to `cpu` land now (REF-DUE-1 for NMIs alone). */
  landNmi(cpu: number): void {
    const a = this.cpus[cpu]!;
    if (a.nmiInflight === 0) return;
    const n = a.nmiInflight;
    const optional = Math.min(n, a.nmiInflightSaw);
    if (a.nmiPending) {
      this.collapses?.collapsed(cpu, NMI_VECTOR);
    } else if (n > optional) {
      a.nmiPending = true; // one sent after the last take lands; the others collapse into it
      if (n > 1) this.collapses?.collapsed(cpu, NMI_VECTOR);
    } else {
      a.nmiExtra = Math.min(255, a.nmiExtra + optional);
    }
    a.nmiInflight = 0;
    a.nmiInflightSaw = 0;
  }

  land(cpu: number, nmi = true, except = -1): void {
    const a = this.cpus[cpu]!;
    if (a.rivInflight !== 0) { a.esr |= ESR_RECV_ILLEGAL; a.rivInflight = 0; }
    if (nmi && except !== NMI_VECTOR) this.landNmi(cpu);
    if (a.inflight.total === 0) return;
    // REF-SVR-3: what was on the bus at the last SVR write may have landed on either side of it.
    if (a.crossed.total !== 0) { a.landCrossed(); if (a.inflight.total === 0) return; }
    if (a.disabled()) { a.dropInflight(); return; } // REF-SVR-1
    const bits = a.inflight.bits;
    for (let w = 0; w < 8; w++) {
      let word = bits[w]!;
      while (word !== 0) {
        const low = word & -word;
        word ^= low;
        const v = (w << 5) + 31 - Math.clz32(low);
        if (v === except) continue;
        const n = a.inflight.takeAll(v);
        const optional = Math.min(n, a.inflightSaw.takeAll(v));
        const level = vsHas(a.inflightLevel, v);
        // Would this message change TMR (or is TMR open already)? Asked before it lands.
        const changes = vsHas(a.tmr, v) !== level || vsHas(a.tmrMaybe, v);
        if (vsHas(a.irr, v)) a.landedCollapsed(v, level); else a.landedTrigger(v, level);
        a.raced(v);
        if (vsHas(a.irr, v)) {
          // Pending now: whatever the order, the messages collapsed into it.
          this.collapses?.collapsed(cpu, v);
        } else if (n > optional) {
          // One was sent after the last take: it lands; the others merge into it.
          vsAdd(a.irr, v);
          if (n > 1) this.collapses?.collapsed(cpu, v);
        } else {
          // All were in flight while an instance was pending and taken: each may have
          // collapsed into it before the take, or not. Collapsed, it may have left TMR as it was
          // (the SDM does not say, see landedCollapsed): TMR is open until the instance is shown
          // to exist (confirmExtra, or taken: it landed after the take and TMR follows it).
          if (changes) vsAdd(a.tmrMaybe, v);
          a.extra.add(v, optional);
        }
      }
    }
  }

  /** One in-flight message of `vector` lands now (the guest took it, or read it in IRR). */
  landOne(cpu: number, vector: number): void {
    const a = this.cpus[cpu]!;
    if (!a.inflight.takeOne(vector)) return;
    if (a.inflightSaw.count(vector) > a.inflight.count(vector)) a.inflightSaw.takeOne(vector);
    const collapsing = vsHas(a.irr, vector);
    a.setPending(vector);
    if (collapsing) a.landedCollapsed(vector, vsHas(a.inflightLevel, vector)); else a.landedTrigger(vector, vsHas(a.inflightLevel, vector));
    a.raced(vector);
  }

  /** An optional instance is shown to exist (an IRR read): it is pending for good. */
  confirmExtra(cpu: number, vector: number): void {
    const a = this.cpus[cpu]!;
    if (a.extra.takeAll(vector) === 0) return;
    if (!vsHas(a.tmrRace, vector)) vsDel(a.tmrMaybe, vector); // the instance exists: it was accepted, TMR follows it (unless a race left it open)
    a.setPending(vector);
  }

  /** An optional instance is shown not to exist (it collapsed). */
  dropExtra(cpu: number, vector: number): void {
    const a = this.cpus[cpu]!;
    a.extra.takeAll(vector);
    this.collapses?.collapsed(cpu, vector);
  }

  /**
   * REF-ACC-3 settled: at a boundary where bare metal would have taken an optional instance
   * and the guest did not, it had collapsed. Called after the boundary's deliveries.
   */
  settleExtras(cpu: number): void {
    const a = this.cpus[cpu]!;
    const g = a.guest;
    if (a.nmiExtra !== 0 && !a.nmiPending && g.nmiWindow()) { a.nmiExtra = 0; this.collapses?.collapsed(cpu, NMI_VECTOR); }
    if (a.extra.total === 0 || !g.interruptible() || a.l2Running || a.disabled()) return;
    const ppr = prioClass(a.ppr());
    for (let v = 255; v >= 16 && a.extra.total !== 0; v--) {
      if (vsHas(a.extra.bits, v) && !vsHas(a.irr, v) && prioClass(v) > ppr) this.dropExtra(cpu, v);
    }
  }

  /** A guest instruction or device event took effect (the backend executed it). */
  apply(ev: Event): void {
    switch (ev.k) {
      case 'msi': {
        let mask = matchDest(this.machine.apic, this.addrs, 0, 'none', ev.logical ?? false, ev.dest);
        if (ev.lowest) mask = this.lowest(mask, ev.vector);
        for (let i = 0; i < this.machine.vcpus; i++) if (mask & (1 << i)) this.send(-1, i, ev.vector, false, Src.Msi);
        return;
      }
      case 'ioapic': this.ioapic.apply(ev.pin, ev.op); return; // REF-IOA-1..3
      case 'lint': { // REF-LINT-1: a device line, not an instruction
        const l = this.cpus[ev.cpu]!.lint[ev.pin];
        if (ev.op === 'deassert') { l.deassert(); return; }
        this.lintRaise(ev.cpu, ev.pin, l.assert());
        if (ev.op === 'pulse') l.deassert();
        return;
      }
      case 'time': { // REF-TMR-2: not an instruction; the clock runs while halted too
        const t = this.cpus[ev.cpu]!;
        t.now += ev.advance;
        this.timerFires(ev.cpu);
        return;
      }
      default: break;
    }
    const a = this.cpus[ev.cpu]!;
    a.guest.beginInstruction();
    if (execCoreInstruction(a.guest, ev.k)) return;
    switch (ev.k) {
      case 'ipi': this.ipi(ev.cpu, ev); return;
      case 'eoi': a.guest.eoi(); this.eoi(ev.cpu); return;
      case 'tpr': a.tpr = ev.via === 'cr8' ? ev.value & 0xf0 : ev.value; a.guest.tpr = a.tpr; return;
      case 'read': if (ev.reg === 'esr' && !a.esrLatched) a.esr = 0; return;
      case 'lapic_write': this.lapicWrite(ev.cpu, ev.reg, ev.value); return;
      case 'int': a.guest.softInt(ev.vector); return; // REF-SWI-1
      case 'lvt_lint': this.lintRaise(ev.cpu, ev.pin, a.lint[ev.pin].write(ev.vector, ev.trigger === 'level', ev.masked || a.disabled(), ev.nmi ?? false)); return;
      case 'self_ipi': // REF-LAT-2: a fixed edge self-IPI, as the ICR's self shorthand
        if (ev.vector < 16) a.esr |= ESR_SEND_ILLEGAL;
        this.landNow(ev.cpu, ev.vector, false, Src.SelfIpi);
        return;
      case 'ioapic_write': // REF-IOA-5
        for (const c of this.cpus) vsAdd(c.rewritten, ev.vector);
        this.ioapic.write(ev.pin, ev);
        return;
      case 'ioapic_reg_write': // REF-IOA-7: the ID (bits 27:24) and, with it, the arbitration ID; the others read-only
        if (ev.reg === 'id') this.ioapicId = this.ioapicArb = (ev.value & IOAPIC_ID_BITS) >>> 0;
        return;
      case 'lvt_timer': a.timer.writeLvt(ev.vector, ev.masked || a.disabled(), ev.mode); return; // REF-TMR-1, REF-SVR-1
      case 'timer_initial': a.timer.writeInitial(ev.count, a.now); this.timerFires(ev.cpu); return;
      case 'tsc_deadline': a.timer.writeDeadline(ev.deadline, a.now); this.timerFires(ev.cpu); return; // REF-TMR-3
      case 'vmentry':
        a.l2Running = true;
        // L1 re-injects what the last exit handed back (SDM 31.7.1.2), unless it injects
        // something explicitly.
        if (ev.inject !== undefined) a.l2Pending = ev.inject;
        else if (a.l2Reinject >= 0) a.l2Pending = a.l2Reinject;
        a.l2Reinject = -1;
        return;
      default: return;
    }
  }

  private ipi(from: number, ev: Extract<Event, { k: 'ipi' }>): void {
    const sh = ev.shorthand ?? 'none';
    if (!ev.nmi && ev.vector < 16) {
      this.cpus[from]!.esr |= ESR_SEND_ILLEGAL; // REF-VEC-1: the sender flags SIV...
    }
    let mask = matchDest(this.machine.apic, this.addrs, from, sh, ev.logical ?? false, ev.dest ?? 0);
    if (ev.lowest && !ev.nmi) mask = this.lowest(mask, ev.vector);
    for (let i = 0; i < this.machine.vcpus; i++) {
      if (!(mask & (1 << i))) continue;
      if (ev.nmi) this.sendNmi(from, i); // REF-DISP-3: one NMI latched
      else this.send(from, i, ev.vector, false, i === from ? Src.SelfIpi : Src.Ipi); // ...and each receiver RIV (R1.3)
    }
  }

  /**
   * REF-TMR-2: the timer's expiries up to now. An unmasked expiry is a local, edge-triggered
   * interrupt that lands at once (no bus); several in one advance collapse into one IRR bit.
   */
  private timerFires(cpu: number): void {
    const a = this.cpus[cpu]!;
    if (a.timer.expire(a.now) === 0 || a.timer.masked) return;
    this.landNow(cpu, a.timer.vector, false, Src.Timer);
  }

  /** REF-LINT-1: a local interrupt lands at once (no bus): fixed with its trigger, or an NMI. */
  private lintRaise(cpu: number, pin: 0 | 1, r: Raise): void {
    if (r === Raise.None) return;
    const l = this.cpus[cpu]!.lint[pin];
    if (r === Raise.Nmi) this.sendNmi(cpu, cpu);
    else this.landNow(cpu, l.vector, l.level, Src.Lint);
  }

  /** REF-ADDR-1, REF-SVR-1, REF-ESR-1: a local APIC register write (validated for the mode). */
  private lapicWrite(cpu: number, reg: 'id' | 'ldr' | 'dfr' | 'svr' | 'esr', value: number): void {
    const a = this.cpus[cpu]!;
    switch (reg) {
      case 'id': a.addr.id = value >>> 24; return;
      case 'ldr': a.addr.ldr = (value & 0xff000000) >>> 0; return;
      case 'dfr': a.addr.flat = value >>> 28 === 0xf; return;
      case 'svr': {
        const was = a.disabled();
        a.svr = value;
        if (was !== a.disabled()) a.markCrossed(); // REF-SVR-3
        if (a.disabled()) { a.timer.masked = true; a.lint[0].masked = true; a.lint[1].masked = true; } // SDM 10.4.7.2: every LVT mask bit is set
        return;
      }
      case 'esr':
        a.esrLatched = true;
        a.esrShown = a.esr;
        a.esrRivMaybe = a.rivInflight > 0;
        a.esr = 0;
        return;
    }
  }

  /** REF-EOI-1/2. */
  eoi(cpu: number): void {
    const a = this.cpus[cpu]!;
    const v = vsHighest(a.isr);
    if (v < 0) return;
    vsDel(a.isr, v);
    // REF-EOI-4: the broadcast follows TMR[v] at the EOI. It is open when TMR is (REF-ACC-4,
    // REF-SVR-3), or when a message of v still on the bus (the vCPU's notification in flight)
    // would change it by landing before the EOI.
    const pending = a.inflight.count(v) !== 0 && (vsHas(a.inflightMixed, v) || vsHas(a.inflightLevel, v) !== vsHas(a.tmr, v));
    if (vsHas(a.tmrMaybe, v) || pending) this.ioapic.eoiMaybe(v);
    else if (vsHas(a.tmr, v)) this.ioapic.eoi(v);
    this.lintRaise(cpu, 0, a.lint[0].eoi(v)); // REF-LINT-1: the LVT's Remote IRR
    this.lintRaise(cpu, 1, a.lint[1].eoi(v));
  }

  /**
   * Judge a delivery reported by a backend and, when it is legal, perform it (IRR → ISR,
   * push the frame). The caller has landed what must have landed (REF-DUE-1). Returns null
   * when legal, else why bare metal could not have done it. An illegal delivery is still
   * mirrored as far as it can be, so that one divergence does not cascade into many.
   */
  deliver(cpu: number, vector: number, nmi: boolean, exitAck = false): DeliveryFault | null {
    const a = this.cpus[cpu]!;
    const g = a.guest;
    let fault: DeliveryFault | null = null;
    if (a.l2Running) fault = 'not-running';
    if (nmi) {
      // An optional instance taken: it is pending at this instant, so NMIs still in flight may
      // collapse into it (as setPending does for fixed vectors).
      if (!a.nmiPending && a.nmiExtra > 0) { a.nmiExtra--; a.nmiPending = true; a.nmiInflightSaw = a.nmiInflight; }
      if (!a.nmiPending && a.nmiInflight > 0) {
        a.nmiInflight--;
        a.nmiPending = true;
        a.nmiInflightSaw = a.nmiInflight; // the others may land before the take, or after
      }
      if (!a.nmiPending) fault ??= 'not-pending';
      else if (!g.nmiWindow()) fault ??= 'nmi-blocked';
      a.nmiPending = false;
      g.take(NMI_VECTOR, true);
      return fault;
    }
    if (!vsHas(a.irr, vector)) {
      if (a.extra.takeOne(vector)) {
        a.setPending(vector); // an in-flight duplicate lands now (REF-ACC-3)
        // The last optional instance existed, so it was accepted: TMR follows it, as when an
        // IRR read shows it (confirmExtra) — unless a race or a later message keeps it open.
        if (a.extra.count(vector) === 0 && a.inflight.count(vector) === 0 && !vsHas(a.tmrRace, vector)) vsDel(a.tmrMaybe, vector);
      } else if (vsHas(a.inflight.bits, vector)) {
        this.landOne(cpu, vector);
      } else {
        fault ??= 'not-pending';
      }
    }
    if (fault === null) {
      // REF-NST-4: an acknowledgement at an external-interrupt VM exit is no IDT delivery: L1's IF and
      // STI shadow do not gate it; the local APIC still presents only a vector above PPR.
      if (!exitAck && !g.IF) fault = 'masked-if';
      else if (!exitAck && g.shadow) fault = 'masked-shadow';
      else if (prioClass(vector) <= prioClass(a.ppr())) fault = 'masked-ppr';
    }
    vsDel(a.irr, vector);
    vsAdd(a.isr, vector);
    g.take(vector, false);
    return fault;
  }

  /** What a guest read of `reg` returns on bare metal now (in-flight messages not landed). */
  read(cpu: number, reg: Reg): VecSet | number {
    const a = this.cpus[cpu]!;
    switch (reg) {
      case 'irr': return a.irr;
      case 'isr': return a.isr;
      case 'tmr': return a.tmr;
      case 'ppr': return a.ppr();
      case 'tpr': return a.tpr;
      case 'esr': return a.esrLatched ? a.esrShown : a.esr;
      case 'id': return this.machine.apic === 'x2apic' ? a.addr.id : (a.addr.id << 24) >>> 0;
      case 'ldr': return this.machine.apic === 'x2apic' ? x2apicLdr(a.addr.id) : a.addr.ldr;
      case 'dfr': return a.addr.flat ? 0xffffffff : 0x0fffffff;
      case 'svr': return a.svr;
      case 'version': return LAPIC_VERSION;
      case 'tmcct': return a.timer.current(a.now);
      case 'ioapic-id': return Math.max(this.ioapicId, 0);
      case 'ioapic-version': return IOAPIC_VERSION;
      case 'ioapic-arb': return Math.max(this.ioapicArb, 0);
      case 'redir-lo': case 'redir-hi': return 0; // per pin: see readEntry
    }
  }

  /** An I/O APIC register (REF-IOA-6). */
  readIoapic(reg: 'id' | 'version' | 'arb' | 'redir-lo' | 'redir-hi', pin: number): number {
    switch (reg) {
      case 'id': return Math.max(this.ioapicId, 0);
      case 'arb': return Math.max(this.ioapicArb, 0);
      case 'version': return IOAPIC_VERSION;
      case 'redir-lo': return this.ioapic.readEntry(pin, false);
      case 'redir-hi': return this.ioapic.readEntry(pin, true);
    }
  }

  /**
   * What bare metal takes on this vCPU at an instruction boundary now, given its core
   * state and what has landed: an NMI outside NMI blocking (before anything maskable,
   * REF-DISP-4), else a maskable interrupt that passes PPR with IF = 1 and no shadow.
   * Returns the vector (NMI_VECTOR for an NMI) or -1. L1 in L2: see wouldExitL2.
   */
  takeNow(cpu: number): number {
    const a = this.cpus[cpu]!;
    const g = a.guest;
    if (g.halted) return this.wakesHalted(cpu);
    if (a.nmiPending && g.nmiWindow()) return NMI_VECTOR;
    if (!g.interruptible()) return -1;
    return a.deliverable();
  }

  /** REF-HLT-1: what would end a HLT now (an NMI, or a maskable interrupt with IF = 1). */
  wakesHalted(cpu: number): number {
    const a = this.cpus[cpu]!;
    if (a.nmiPending && !a.guest.nmiBlocked) return NMI_VECTOR;
    return a.guest.IF ? a.deliverable() : -1;
  }

  /** REF-NST-3: with external-interrupt exiting, an L1 interrupt above PPR makes L2 exit. */
  wouldExitL2(cpu: number): number {
    if (!this.machine.nested?.exitOnIntr) return -1;
    return this.cpus[cpu]!.deliverable();
  }

  /**
   * Whether bare metal would still take something on this vCPU if the guest kept running
   * with its current core state (the drain's question). Returns the vector (NMI_VECTOR for
   * an NMI) or -1.
   */
  wouldDeliver(cpu: number): number {
    const a = this.cpus[cpu]!;
    const g = a.guest;
    if (a.nmiPending && !g.nmiBlocked) return NMI_VECTOR;
    if (a.l2Running) return this.wouldExitL2(cpu);
    const v = a.deliverable();
    return g.IF ? v : -1;
  }
}
