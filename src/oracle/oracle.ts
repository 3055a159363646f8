// The oracle: receives a backend's observations (it is the backend's ObsSink), mirrors the
// guest-visible ones into the reference, and asks at each of them "could bare metal have
// produced this?" (docs/oracle.md). It never asks "did the backend do what the reference
// did at the same step?": hardware latency makes that question unsound.
import type { ObsSink } from '../backends/api.js';
import {
  hex, prioClass, vecSet, vsAdd, vsDel, vsEmpty, vsEqual, vsFormat, vsHas, vsHighest, vsOr, vsSubset, type VecSet,
} from '../apic/vecset.js';
import { Reference, SRC_NAMES, type DeliveryFault } from '../reference/lapic.js';
import type { Event, MachineConfig, Reg } from '../scenario/types.js';
import { makeSignature, type Divergence, type DivergenceKind } from './divergence.js';

export interface ObsListener {
  (cpu: number, what: string): void;
}

const scratch = vecSet();

export class Oracle implements ObsSink {
  readonly ref: Reference;
  readonly divergences: Divergence[] = [];
  private readonly seen = new Set<string>();
  /** Vectors the reference considers due (noticed by the target) per vCPU. */
  readonly due: VecSet[] = [];
  /** Vectors ever accepted per vCPU (tells a duplicate from a spurious delivery). */
  private readonly everPending: VecSet[] = [];
  private readonly crashed: boolean[] = [];
  private crashedAny = false;
  private cur: Event | undefined;
  private curIndex = -1;
  /** Count of observations that show the mechanism doing something (for the drain). */
  activity = 0;
  exits = 0;
  deliveries = 0;
  /** Optional trace listener (only `irqdiff run` sets one). */
  listener: ObsListener | undefined;

  constructor(readonly machine: MachineConfig, readonly backendName: string, readonly variant: string) {
    this.ref = new Reference(machine);
    for (let i = 0; i < machine.vcpus; i++) {
      this.due.push(vecSet());
      this.everPending.push(vecSet());
      this.crashed.push(false);
    }
  }

  /** The engine announces the event it is about to hand to the backend. */
  begin(ev: Event, index: number): void {
    this.cur = ev;
    this.curIndex = index;
  }

  private report(kind: DivergenceKind, shape: string, cpu: number, message: string): void {
    // After a hypervisor crash the VM is dead: what it then fails to deliver is a
    // consequence, not another divergence.
    if (this.crashedAny && kind !== 'crash') return;
    const signature = makeSignature(this.backendName, this.variant, kind, shape);
    if (this.seen.has(signature)) return;
    this.seen.add(signature);
    this.divergences.push({ kind, shape, signature, cpu, at: this.curIndex, message });
    this.listener?.(cpu, `DIVERGENCE ${kind}:${shape} — ${message}`);
  }

  private srcName(cpu: number, v: number): string {
    return SRC_NAMES[this.ref.cpus[cpu]!.src[v]!] ?? 'none';
  }

  // ---- ObsSink ----

  executed(_index: number): void {
    const ev = this.cur;
    if (!ev) return;
    if (ev.k !== 'step') this.activity++;
    this.ref.apply(ev);
    if (ev.k === 'ipi' || ev.k === 'msi' || ev.k === 'ioapic') this.notePending();
    this.listener?.('cpu' in ev ? ev.cpu : -1, `executed ${ev.k}`);
  }

  private notePending(): void {
    for (let i = 0; i < this.machine.vcpus; i++) vsOr(this.everPending[i]!, this.ref.cpus[i]!.irr);
  }

  evaluate(cpu: number): void {
    vsOr(this.due[cpu]!, this.ref.cpus[cpu]!.irr);
  }

  deliver(cpu: number, vector: number, nmi: boolean): void {
    this.activity++;
    this.deliveries++;
    this.listener?.(cpu, `deliver ${nmi ? 'NMI' : hex(vector)}`);
    const a = this.ref.cpus[cpu]!;
    if (!nmi) {
      // Priority inversion: a higher vector that is due and passes PPR is pending (REF-DISP-1).
      const due = this.due[cpu]!;
      for (let w = 0; w < 8; w++) scratch[w] = a.irr[w]! & due[w]!;
      const h = vsHighest(scratch);
      if (h > vector && prioClass(h) > prioClass(a.ppr()) && a.guest.interruptible()) {
        this.report('priority-inversion', `${this.srcName(cpu, vector)}<${this.srcName(cpu, h)}`, cpu,
          `vCPU${cpu} took ${hex(vector)} while ${hex(h)} was pending, due and deliverable`);
      }
    }
    const src = nmi ? 'nmi' : this.srcName(cpu, vector);
    const fault: DeliveryFault | null = this.ref.deliver(cpu, vector, nmi);
    if (!nmi) vsDel(this.due[cpu]!, vector);
    if (fault) this.deliveryFault(cpu, vector, nmi, fault, src);
  }

  private deliveryFault(cpu: number, vector: number, nmi: boolean, fault: DeliveryFault, src: string): void {
    const what = nmi ? 'NMI' : hex(vector);
    switch (fault) {
      case 'not-pending':
        if (nmi || vsHas(this.everPending[cpu]!, vector)) {
          this.report('duplicate', src, cpu, `vCPU${cpu} took ${what} again with nothing of it pending`);
        } else {
          // A vector configured on an IOAPIC pin is named by its pin kind even if the pin
          // never legally sent it (e.g. an edge raised while masked).
          let shape = 'never-sent';
          for (const p of this.ref.pins.values()) if (p.vector === vector) shape = p.level ? 'ioapic-level' : 'ioapic-edge';
          this.report('spurious', shape, cpu, `vCPU${cpu} took ${what}, which was never sent to it`);
        }
        return;
      case 'masked-if': this.report('masked-if', src, cpu, `vCPU${cpu} took ${what} with RFLAGS.IF = 0`); return;
      case 'masked-shadow': this.report('masked-shadow', src, cpu, `vCPU${cpu} took ${what} in an STI shadow`); return;
      case 'masked-ppr': this.report('masked-ppr', src, cpu, `vCPU${cpu} took ${what} although its class is not above PPR`); return;
      case 'nmi-blocked': this.report('nmi-blocked', 'nmi', cpu, `vCPU${cpu} took an NMI while NMIs were blocked`); return;
      case 'not-running': this.report('l1-invariant', 'l1-deliver-while-l2', cpu, `L1 on vCPU${cpu} took ${what} while L2 was running`); return;
    }
  }

  readValue(cpu: number, reg: Reg, value: VecSet | number): void {
    this.activity++;
    const expect = this.ref.read(cpu, reg);
    if (reg === 'esr' && typeof value === 'number' && typeof expect === 'number') {
      // Send-side errors are synchronous; a received illegal vector sets RIV when its
      // message lands, which latency may put before or after this read.
      const riv = 0x40;
      const ok = (value & ~riv) === (expect & ~riv) && (!(value & riv) || this.ref.cpus[cpu]!.rivEver);
      if (!ok) this.report('read-mismatch', reg, cpu, `vCPU${cpu} read ESR = ${fmt(value)}, bare metal: ${fmt(expect)}`);
      return;
    }
    if (typeof expect === 'number' || typeof value === 'number') {
      if (expect !== value) {
        this.report('read-mismatch', reg, cpu, `vCPU${cpu} read ${reg.toUpperCase()} = ${fmt(value)}, bare metal: ${fmt(expect)}`);
      }
      return;
    }
    if (reg === 'tmr') {
      // TMR changes when a message is accepted; for a vector whose latest message may
      // still be in flight (pending, not yet due) either value is possible.
      const a = this.ref.cpus[cpu]!;
      const due = this.due[cpu]!;
      for (let w = 0; w < 8; w++) scratch[w] = (value[w]! ^ expect[w]!) & ~(a.irr[w]! & ~due[w]!);
      for (let v = 16; v < 256; v++) if (a.extra[v]! > 0) vsDel(scratch, v);
      if (!vsEmpty(scratch)) {
        this.report('read-mismatch', reg, cpu, `vCPU${cpu} read TMR = ${vsFormat(value)}, bare metal: ${vsFormat(expect)}`);
      }
      return;
    }
    if (reg !== 'irr') {
      if (!vsEqual(value, expect)) {
        this.report('read-mismatch', reg, cpu, `vCPU${cpu} read ${reg.toUpperCase()} = ${vsFormat(value)}, bare metal: ${vsFormat(expect)}`);
      }
      return;
    }
    // IRR: everything shown must be pending on bare metal (or an in-flight duplicate that
    // may have landed, REF-ACC-3); everything due must be shown.
    const a = this.ref.cpus[cpu]!;
    for (let w = 0; w < 8; w++) scratch[w] = expect[w]!;
    for (let v = 16; v < 256; v++) if (a.extra[v]! > 0) vsAdd(scratch, v);
    if (!vsSubset(value, scratch)) {
      this.report('read-mismatch', 'irr-extra', cpu, `vCPU${cpu} read IRR = ${vsFormat(value)}, bare metal has only ${vsFormat(expect)} pending`);
      return;
    }
    const due = this.due[cpu]!;
    for (let w = 0; w < 8; w++) scratch[w] = expect[w]! & due[w]!;
    if (!vsSubset(scratch, value)) {
      this.report('read-mismatch', 'irr-missing', cpu, `vCPU${cpu} read IRR = ${vsFormat(value)}, missing due vectors of ${vsFormat(scratch)}`);
    }
  }

  vmexit(cpu: number, reason: string): void {
    this.activity++;
    this.exits++;
    this.listener?.(cpu, `VM exit (${reason})`);
  }

  step(cpu: number, name: string): void {
    this.listener?.(cpu, name);
  }

  crash(cpu: number, where: string, message: string): void {
    this.activity++;
    if (this.crashed[cpu]) return;
    this.crashed[cpu] = true;
    this.crashedAny = true;
    this.report('crash', where, cpu, `hypervisor crash on vCPU${cpu} in ${where}: ${message}`);
  }

  l1Exit(cpu: number, reason: string, idtValid: boolean, idtVector: number): void {
    this.activity++;
    this.listener?.(cpu, `L1 receives VM exit ${reason}${idtValid ? ` (IDT-vectoring ${hex(idtVector)})` : ''}`);
    const a = this.ref.cpus[cpu]!;
    a.l2Running = false;
    // REF-NST-1: an exit caused directly by an external interrupt never has valid vectoring info.
    if (reason === 'extint' && idtValid) {
      this.report('l1-invariant', 'extint-with-idt-vectoring', cpu,
        `L1 on vCPU${cpu} received an EXTERNAL_INTERRUPT exit with valid IDT-vectoring info (${hex(idtVector)})`);
    }
    // REF-NST-2: the event L1 injected is delivered to L2 or reported back, never dropped.
    if (idtValid) {
      if (a.l2Pending === idtVector) { a.l2Pending = -1; a.l2Reinject = idtVector; }
      else this.report('l1-invariant', 'idt-vectoring-unknown-event', cpu, `L1 on vCPU${cpu} got IDT-vectoring info for ${hex(idtVector)}, which it did not inject`);
    } else if (a.l2Pending >= 0) {
      this.report('l1-invariant', 'injected-event-lost', cpu, `the event ${hex(a.l2Pending)} L1 injected into L2 on vCPU${cpu} was neither delivered nor reported back`);
      a.l2Pending = -1;
    }
  }

  l2Deliver(cpu: number, vector: number): void {
    this.activity++;
    this.listener?.(cpu, `L2 takes ${hex(vector)}`);
    const a = this.ref.cpus[cpu]!;
    if (a.l2Pending === vector) a.l2Pending = -1;
    else this.report('l1-invariant', 'l2-spurious', cpu, `L2 on vCPU${cpu} took ${hex(vector)}, which L1 did not inject (or already delivered)`);
  }

  // ---- drain judgement ----

  /** Vectors bare metal would still deliver on `cpu` (NMI as 2 in the second slot). */
  stuck(cpu: number, out: VecSet): boolean {
    out.fill(0);
    const a = this.ref.cpus[cpu]!;
    // Maskable interrupts need IF = 1 (or, in L2 with exit-on-interrupt, nothing: REF-NST-3).
    const open = a.l2Running ? this.machine.nested?.exitOnIntr === true : a.guest.IF;
    if (!open) return false;
    let any = false;
    const ppr = prioClass(a.ppr());
    for (let v = vsHighest(a.irr); v >= 16; v--) {
      if (vsHas(a.irr, v) && prioClass(v) > ppr) { vsAdd(out, v); any = true; }
    }
    return any;
  }

  /** An NMI bare metal would still deliver on `cpu`. */
  stuckNmi(cpu: number): boolean {
    const a = this.ref.cpus[cpu]!;
    return a.nmiPending && !a.guest.nmiBlocked;
  }

  judgeDrain(late: VecSet[], lateNmi: boolean[], lateTags: (string | undefined)[][], finalStuck: VecSet[], finalNmi: boolean[], stuckTag: (cpu: number, v: number) => string | undefined): void {
    this.curIndex = -1;
    for (let cpu = 0; cpu < this.machine.vcpus; cpu++) {
      for (let v = 255; v >= 16; v--) {
        const tag = (t: string | undefined) => (t ? `@${t}` : '');
        if (vsHas(finalStuck[cpu]!, v)) {
          this.report('lost', this.srcName(cpu, v) + tag(stuckTag(cpu, v)), cpu,
            `${hex(v)} for vCPU${cpu} was never delivered, even with spontaneous VM exits`);
        } else if (vsHas(late[cpu]!, v)) {
          this.report('late', this.srcName(cpu, v) + tag(lateTags[cpu]![v]), cpu,
            `${hex(v)} for vCPU${cpu} was delivered only after an unrelated VM exit`);
        }
      }
      if (finalNmi[cpu]) this.report('lost', 'nmi', cpu, `an NMI for vCPU${cpu} was never delivered`);
      else if (lateNmi[cpu]) this.report('late', 'nmi', cpu, `an NMI for vCPU${cpu} was delivered only after an unrelated VM exit`);
    }
  }

  livelock(phase: string, message: string): void {
    this.curIndex = -1;
    this.report('livelock', phase, -1, message);
  }
}

function fmt(v: VecSet | number): string {
  return typeof v === 'number' ? hex(v) : vsFormat(v);
}
