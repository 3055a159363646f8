// A bare-metal machine as a backend: local APICs with no hypervisor, where cross-CPU IPIs
// and MSIs travel on the bus and land in the target's IRR only at its `pirq` event (a
// bounded but unspecified latency, SDM 10.6.1/R8.8), while self-IPIs land at once.
// It is the oracle's own soundness check: whatever latency it shows, the oracle must stay
// silent (test/oracle/soundness.test.ts runs it over random scenarios). It is also the
// smallest example of a backend for users who write their own (docs/writing-a-backend.md).
import { GuestCpu, execCoreInstruction } from '../../apic/guestcpu.js';
import { resolveDest } from '../../apic/dest.js';
import { Ioapic } from '../../apic/ioapic.js';
import {
  computePpr, prioClass, vecSet, vsAdd, vsDel, vsEmpty, vsHas, vsHighest, type VecSet,
} from '../../apic/vecset.js';
import type { Event, MachineConfig } from '../../scenario/types.js';
import type { Backend, BackendInstance, ObsSink, VcpuWhere } from '../api.js';


class Cpu {
  readonly irr = vecSet();
  readonly isr = vecSet();
  readonly tmr = vecSet();
  /** Messages on the bus, not yet accepted (edge only: level messages are sent by the IOAPIC at once). */
  readonly inflight = vecSet();
  nmiInflight = false;
  nmiPending = false;
  tpr = 0;
  esr = 0;
  readonly guest = new GuestCpu();
  ppr(): number { return computePpr(this.tpr, vsHighest(this.isr)); }
}

class BareMetal implements BackendInstance {
  private readonly cpus: Cpu[] = [];
  private readonly ioapic: Ioapic;

  constructor(readonly machine: MachineConfig, private readonly sink: ObsSink) {
    for (let i = 0; i < machine.vcpus; i++) this.cpus.push(new Cpu());
    this.ioapic = new Ioapic(machine.ioapic, (p) => {
      if (p.dest >= machine.vcpus) return;
      if (p.level) this.land(p.dest, p.vector, true); // level: accepted before Remote IRR is set
      else vsAdd(this.cpus[p.dest]!.inflight, p.vector);
    });
  }

  where(): VcpuWhere { return 'guest'; }
  inL2(): boolean { return false; }
  physPending(cpu: number): boolean { const c = this.cpus[cpu]!; return c.nmiInflight || !vsEmpty(c.inflight); }
  guest(cpu: number): GuestCpu { return this.cpus[cpu]!.guest; }
  snapshot(cpu: number) { const c = this.cpus[cpu]!; return { irr: c.irr, isr: c.isr, ppr: c.ppr() }; }

  private land(cpu: number, v: number, level: boolean): void {
    const c = this.cpus[cpu]!;
    if (v < 16) { c.esr |= 0x40; return; }
    vsAdd(c.irr, v);
    if (level) vsAdd(c.tmr, v); else vsDel(c.tmr, v);
    // The APIC arbitrates continuously, but "due" means every message sent to this CPU so
    // far is visible: only true once nothing is in flight to it.
    if (vsEmpty(c.inflight) && !c.nmiInflight) this.sink.evaluate(cpu);
  }

  apply(ev: Event, index: number): void {
    switch (ev.k) {
      case 'msi': {
        this.sink.executed(index);
        const mask = resolveDest(this.machine.apic, this.machine.vcpus, 0, 'none', ev.logical ?? false, ev.dest);
        for (let i = 0; i < this.machine.vcpus; i++) if (mask & (1 << i)) vsAdd(this.cpus[i]!.inflight, ev.vector);
        break;
      }
      case 'ioapic':
        this.sink.executed(index);
        this.ioapic.apply(ev.pin, ev.op);
        break;
      case 'pirq': {
        const c = this.cpus[ev.cpu]!;
        if (c.nmiInflight) { c.nmiInflight = false; c.nmiPending = true; }
        for (let v = vsHighest(c.inflight); v >= 0; v = vsHighest(c.inflight)) { vsDel(c.inflight, v); this.land(ev.cpu, v, false); }
        break;
      }
      case 'exit': case 'enter': case 'enter_step': case 'fault': case 'vmentry': case 'l2':
        break; // no hypervisor
      default: this.instruction(ev, index);
    }
    this.settleAll();
  }

  private instruction(ev: Event & { cpu: number }, index: number): void {
    const c = this.cpus[ev.cpu]!;
    const g = c.guest;
    if (g.halted) return;
    g.beginInstruction();
    if (execCoreInstruction(g, ev.k)) { this.sink.executed(index); return; }
    switch (ev.k) {
      case 'ipi': {
        this.sink.executed(index);
        if (!ev.nmi && ev.vector < 16) c.esr |= 0x20;
        const mask = resolveDest(this.machine.apic, this.machine.vcpus, ev.cpu, ev.shorthand ?? 'none', ev.logical ?? false, ev.dest ?? 0);
        for (let i = 0; i < this.machine.vcpus; i++) {
          if (!(mask & (1 << i))) continue;
          const t = this.cpus[i]!;
          if (ev.nmi) { if (i === ev.cpu) t.nmiPending = true; else t.nmiInflight = true; }
          else if (i === ev.cpu) this.land(i, ev.vector, false);
          else vsAdd(t.inflight, ev.vector);
        }
        return;
      }
      case 'eoi': {
        g.eoi();
        const v = vsHighest(c.isr);
        if (v >= 0) {
          vsDel(c.isr, v);
          if (vsHas(c.tmr, v)) this.ioapic.eoi(v);
        }
        this.sink.executed(index);
        return;
      }
      case 'tpr': c.tpr = ev.via === 'cr8' ? ev.value & 0xf0 : ev.value; g.tpr = c.tpr; this.sink.executed(index); return;
      case 'read': {
        const r = ev.reg;
        const val: VecSet | number = r === 'irr' ? c.irr : r === 'isr' ? c.isr : r === 'tmr' ? c.tmr : r === 'ppr' ? c.ppr() : r === 'tpr' ? c.tpr : c.esr;
        this.sink.readValue(ev.cpu, r, val);
        if (r === 'esr') c.esr = 0;
        this.sink.executed(index);
        return;
      }
      default: this.sink.executed(index);
    }
  }

  /** The cores take what they can at the current boundary (NMI first, R5.6). */
  private settleAll(): void {
    for (let i = 0; i < this.cpus.length; i++) {
      const c = this.cpus[i]!;
      const g = c.guest;
      for (;;) {
        if (c.nmiPending && g.nmiWindow()) { c.nmiPending = false; g.take(2, true); this.sink.deliver(i, 2, true); continue; }
        if (!g.interruptible()) break;
        const v = vsHighest(c.irr);
        if (v < 0 || prioClass(v) <= prioClass(c.ppr())) break;
        vsDel(c.irr, v); vsAdd(c.isr, v); g.take(v, false);
        this.sink.deliver(i, v, false);
      }
    }
  }
}

export const baremetal: Backend = {
  name: 'baremetal',
  description: 'Bare-metal local APICs with bus latency (no hypervisor): the oracle\'s soundness baseline',
  variants: [{
    name: 'sdm', source: 'Intel SDM Vol. 3 ch. 10 (local APIC), 82093AA I/O APIC', status: 'clean',
    summary: 'Architectural behaviour with cross-CPU IPI/MSI latency until the target\'s pirq event', expectedBugs: [],
  }],
  supports(m: MachineConfig): string | null {
    return m.nested ? 'no nested virtualization on bare metal' : null;
  },
  create(_variant: string, machine: MachineConfig, sink: ObsSink): BackendInstance {
    return new BareMetal(machine, sink);
  },
};
