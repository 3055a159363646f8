// Architectural reference: the bare-metal local APIC and I/O APIC per the Intel SDM
// (rule ids REF-* are documented in docs/reference-rules.md with their sources).
//
// The reference never delivers on its own in the middle of a scenario: it judges the
// deliveries a backend reports (oracle-design: "mirror the backend's deliveries"), and
// at the drain it says what bare metal would still deliver. It therefore keeps exactly
// the state a bare-metal APIC keeps, plus the source of every pending vector (for
// signatures only).
import { GuestCpu, execCoreInstruction } from '../apic/guestcpu.js';
import { resolveDest } from '../apic/dest.js';
import { Ioapic, type IoPin } from '../apic/ioapic.js';
import {
  computePpr, prioClass, vecSet, vsAdd, vsDel, vsHas, vsHighest, vsTestAndAdd, type VecSet,
} from '../apic/vecset.js';
import type { Event, MachineConfig, Reg } from '../scenario/types.js';

/** Where a pending vector came from, coarse enough for signatures. */
export const enum Src { None = 0, Ipi = 1, SelfIpi = 2, Msi = 3, IoEdge = 4, IoLevel = 5 }
export const SRC_NAMES = ['none', 'ipi', 'self-ipi', 'msi', 'ioapic-edge', 'ioapic-level'] as const;

export const ESR_SEND_ILLEGAL = 0x20;
export const ESR_RECV_ILLEGAL = 0x40;

export class RefLapic {
  readonly irr = vecSet();
  readonly isr = vecSet();
  readonly tmr = vecSet();
  tpr = 0;
  esr = 0;
  nmiPending = false;
  /** NMIs that may still be in flight after the latched one (REF-ACC-3 for NMI). */
  nmiExtra = 0;
  /** A received illegal vector was sent here at some point (RIV timing is latency-bound). */
  rivEver = false;
  /**
   * Acceptances that collapsed here but that hardware latency could have kept in flight
   * until after the pending instance was taken (REF-ACC-3): each may still be delivered
   * once, and none must be.
   */
  readonly extra = new Uint8Array(256);
  readonly src = new Uint8Array(256);
  readonly guest = new GuestCpu();
  // Nested view (what L1 observes about its L2).
  l2Running = false;
  /** Event L1 injected into L2 that is neither delivered nor reported back (-1 none). */
  l2Pending = -1;
  /** Event the last exit reported in IDT-vectoring info; L1 re-injects it at its next VM entry. */
  l2Reinject = -1;

  ppr(): number {
    return computePpr(this.tpr, vsHighest(this.isr));
  }

  /** Highest pending vector that the APIC would dispatch now (REF-DISP-1), or -1. */
  deliverable(): number {
    const v = vsHighest(this.irr);
    if (v < 0) return -1;
    return prioClass(v) > prioClass(this.ppr()) ? v : -1;
  }
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
  readonly ioapic: Ioapic;
  /** The I/O APIC's pins (line, mask, Remote IRR). */
  get pins(): Map<number, IoPin> { return this.ioapic.pins; }

  constructor(readonly machine: MachineConfig) {
    this.cpus = [];
    for (let i = 0; i < machine.vcpus; i++) this.cpus.push(new RefLapic());
    this.ioapic = new Ioapic(machine.ioapic, (p) => {
      if (p.dest < machine.vcpus) this.accept(p.dest, p.vector, p.level, p.level ? Src.IoLevel : Src.IoEdge);
    });
  }

  /** REF-ACC-1/2, REF-VEC-1: a fixed interrupt arrives at vCPU `cpu`. */
  accept(cpu: number, vector: number, level: boolean, src: Src): void {
    const a = this.cpus[cpu]!;
    if (vector < 16) {
      a.esr |= ESR_RECV_ILLEGAL;
      a.rivEver = true;
      return;
    }
    // Collapse: one pending instance per vector (R4.2) — unless the message was still in
    // flight when the pending one was taken (REF-ACC-3).
    if (vsTestAndAdd(a.irr, vector) && a.extra[vector]! < 255) a.extra[vector]!++;
    if (level) vsAdd(a.tmr, vector); else vsDel(a.tmr, vector);
    a.src[vector] = src;
  }

  /** A guest instruction or device event took effect (the backend executed it). */
  apply(ev: Event): void {
    switch (ev.k) {
      case 'msi': {
        const mask = resolveDest(this.machine.apic, this.machine.vcpus, 0, 'none', ev.logical ?? false, ev.dest);
        for (let i = 0; i < this.machine.vcpus; i++) if (mask & (1 << i)) this.accept(i, ev.vector, false, Src.Msi);
        return;
      }
      case 'ioapic': this.ioapic.apply(ev.pin, ev.op); return; // REF-IOA-1..3
      default: break;
    }
    const a = this.cpus[ev.cpu]!;
    a.guest.beginInstruction();
    if (execCoreInstruction(a.guest, ev.k)) return;
    switch (ev.k) {
      case 'ipi': this.ipi(ev.cpu, ev); return;
      case 'eoi': a.guest.eoi(); this.eoi(ev.cpu); return;
      case 'tpr': a.tpr = ev.via === 'cr8' ? ev.value & 0xf0 : ev.value; a.guest.tpr = a.tpr; return;
      case 'read': if (ev.reg === 'esr') a.esr = 0; return;
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
    const src = sh === 'self' ? Src.SelfIpi : Src.Ipi;
    if (!ev.nmi && ev.vector < 16) {
      this.cpus[from]!.esr |= ESR_SEND_ILLEGAL; // REF-VEC-1: the sender flags SIV...
    }
    const mask = resolveDest(this.machine.apic, this.machine.vcpus, from, sh, ev.logical ?? false, ev.dest ?? 0);
    for (let i = 0; i < this.machine.vcpus; i++) {
      if (!(mask & (1 << i))) continue;
      if (ev.nmi) { // REF-DISP-3: one NMI latched; a further one may still be in flight
        const t = this.cpus[i]!;
        if (t.nmiPending && t.nmiExtra < 255) t.nmiExtra++;
        t.nmiPending = true;
      }
      else this.accept(i, ev.vector, false, i === from ? Src.SelfIpi : src); // ...and each receiver RIV (R1.3)
    }
  }

  /** REF-EOI-1/2. */
  eoi(cpu: number): void {
    const a = this.cpus[cpu]!;
    const v = vsHighest(a.isr);
    if (v < 0) return;
    vsDel(a.isr, v);
    if (vsHas(a.tmr, v)) this.ioapic.eoi(v);
  }

  /**
   * Judge a delivery reported by a backend and, when it is legal, perform it (IRR → ISR,
   * push the frame). Returns null when legal, else why bare metal could not have done it.
   * An illegal delivery is still mirrored as far as it can be, so that one divergence does
   * not cascade into many.
   */
  deliver(cpu: number, vector: number, nmi: boolean): DeliveryFault | null {
    const a = this.cpus[cpu]!;
    const g = a.guest;
    let fault: DeliveryFault | null = null;
    if (a.l2Running) fault = 'not-running';
    if (nmi) {
      if (!a.nmiPending && a.nmiExtra > 0) { a.nmiExtra--; a.nmiPending = true; }
      if (!a.nmiPending) fault ??= 'not-pending';
      else if (!g.nmiWindow()) fault ??= 'nmi-blocked';
      a.nmiPending = false;
      g.take(2, true);
      return fault;
    }
    if (!vsHas(a.irr, vector)) {
      if (a.extra[vector]! > 0) {
        a.extra[vector]!--; // an in-flight duplicate lands now (REF-ACC-3)
        vsAdd(a.irr, vector);
      } else {
        fault ??= 'not-pending';
      }
    }
    if (fault === null) {
      if (!g.IF) fault = 'masked-if';
      else if (g.shadow) fault = 'masked-shadow';
      else if (prioClass(vector) <= prioClass(a.ppr())) fault = 'masked-ppr';
    }
    vsDel(a.irr, vector);
    vsAdd(a.isr, vector);
    g.take(vector, false);
    return fault;
  }

  /** What a guest read of `reg` returns on bare metal now. */
  read(cpu: number, reg: Reg): VecSet | number {
    const a = this.cpus[cpu]!;
    switch (reg) {
      case 'irr': return a.irr;
      case 'isr': return a.isr;
      case 'tmr': return a.tmr;
      case 'ppr': return a.ppr();
      case 'tpr': return a.tpr;
      case 'esr': return a.esr;
    }
  }

  /**
   * Whether bare metal would take something on this vCPU now if the guest kept running
   * with its current core state: a pending NMI outside NMI blocking, or a maskable
   * interrupt that passes PPR with IF = 1 (or, in L2 with exit-on-interrupt, regardless
   * of IF: REF-NST-3). Returns the vector (2 for NMI) or -1.
   */
  wouldDeliver(cpu: number): number {
    const a = this.cpus[cpu]!;
    const g = a.guest;
    if (a.nmiPending && !g.nmiBlocked) return 2;
    const v = a.deliverable();
    if (v < 0) return -1;
    if (a.l2Running) return this.machine.nested?.exitOnIntr ? v : -1;
    return g.IF ? v : -1;
  }
}
