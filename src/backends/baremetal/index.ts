// A bare-metal machine as a backend: local APICs with no hypervisor, where cross-CPU IPIs
// and MSIs travel on the bus and land in the target's IRR only at its `pirq` event (a
// bounded but unspecified latency, SDM 10.6.1/R8.8), while self-IPIs land at once.
// It is the oracle's own soundness check: whatever latency it shows, the oracle must stay
// silent (test/oracle/soundness.test.ts runs it over random scenarios). It is also the
// smallest example of a backend for users who write their own (docs/writing-a-backend.md).
import { GuestCpu, execCoreInstruction } from '../../apic/guestcpu.js';
import { initialAddr, matchDest, x2apicLdr, type ApicAddr } from '../../apic/dest.js';
import { Ioapic, IOAPIC_ID_BITS, IOAPIC_VERSION } from '../../apic/ioapic.js';
import {
  computePpr, prioClass, vecSet, vsAdd, vsDel, vsEmpty, vsHas, vsHighest, type VecSet,
} from '../../apic/vecset.js';
import { ioapicReadReg, type Event, type MachineConfig } from '../../scenario/types.js';
import type { Backend, BackendInstance, ObsSink, VcpuWhere } from '../api.js';
import { FEATURES } from '../../scenario/features.js';
import { LapicTimer } from '../../apic/timer.js';
import { LintPin, Raise } from '../../apic/lint.js';


class Cpu {
  readonly irr = vecSet();
  readonly isr = vecSet();
  readonly tmr = vecSet();
  /** Messages on the bus, not yet accepted (edge only: level messages are sent by the IOAPIC at once). */
  readonly inflight = vecSet();
  nmiInflight = false;
  nmiPending = false;
  tpr = 0;
  /** Errors since the last ESR write; `esrShown` is what that write latched (SDM 10.5.3). */
  esr = 0;
  esrShown = 0;
  esrWritten = false;
  svr = 0x1ff;
  readonly timer = new LapicTimer();
  readonly lint: [LintPin, LintPin] = [new LintPin(), new LintPin()];
  /** This vCPU's logical clock. */
  now = 0;
  readonly addr: ApicAddr;
  readonly guest = new GuestCpu();
  // Nested (the machine's L1 is a hypervisor on real VMX hardware; `guest` is L1's core):
  /** L2 runs (between L1's VMRESUME and the next VM exit). */
  inL2 = false;
  /** The event the last exit reported in IDT-vectoring information: L1 re-injects it. */
  reinject = -1;
  /** Scenario `fault`: the next event delivery into L2 takes an EPT violation. */
  faultArmed = false;
  constructor(addr: ApicAddr) { this.addr = addr; }
  ppr(): number { return computePpr(this.tpr, vsHighest(this.isr)); }
  /** Software-disabled (SVR bit 8 clear, SDM 10.4.7.2): fixed messages are discarded, IRR held. */
  disabled(): boolean { return (this.svr & 0x100) === 0; }
}

class BareMetal implements BackendInstance {
  private readonly cpus: Cpu[] = [];
  private readonly ioapic: Ioapic;
  private readonly addrs: ApicAddr[] = [];
  /** Lowest-priority arbitration: a rotating tie-break among the lowest TPR classes. */
  private rotor = 0;
  /**
   * The I/O APIC ID and arbitration registers (bits 27:24; 0 at reset, 82093AA 3.2.1, 3.2.3): an ID write loads
   * both. This I/O APIC sends on the system bus, not the APIC serial bus, so nothing rotates the arbitration ID.
   */
  private ioapicId = 0;
  private ioapicArb = 0;

  constructor(readonly machine: MachineConfig, private readonly sink: ObsSink) {
    for (let i = 0; i < machine.vcpus; i++) {
      const c = new Cpu(initialAddr(machine.apic, i, machine.apicIds?.[i] ?? i));
      this.cpus.push(c);
      this.addrs.push(c.addr);
    }
    this.ioapic = new Ioapic(machine.ioapic, (p) => {
      let mask = matchDest(machine.apic, this.addrs, -1, 'none', p.logical, p.dest);
      if (p.lowest) mask = this.arbitrate(mask);
      for (let i = 0; i < machine.vcpus; i++) {
        if (!(mask & (1 << i))) continue;
        if (p.level) this.land(i, p.vector, true); // level: accepted before Remote IRR is set
        else vsAdd(this.cpus[i]!.inflight, p.vector);
      }
    });
  }

  /**
   * Lowest-priority delivery (SDM 10.6.2.4): one of the addressed vCPUs with the lowest TPR
   * class, ties broken by a rotor — one model's arbitration among those the SDM allows.
   * The choice is reported before the event is (ObsSink.arbitrated).
   */
  private arbitrate(mask: number): number {
    if (mask === 0) return 0;
    let best = -1;
    let bestCls = 16;
    const n = this.cpus.length;
    for (let k = 0; k < n; k++) {
      const i = (this.rotor + k) % n;
      if (!(mask & (1 << i))) continue;
      const cls = this.cpus[i]!.tpr >> 4;
      if (cls < bestCls) { bestCls = cls; best = i; }
    }
    this.rotor = (this.rotor + 1) % n;
    this.sink.arbitrated?.(best);
    return 1 << best;
  }

  where(): VcpuWhere { return 'guest'; }
  inL2(cpu: number): boolean { return this.cpus[cpu]!.inL2; }
  physPending(cpu: number): boolean { const c = this.cpus[cpu]!; return c.nmiInflight || !vsEmpty(c.inflight); }
  guest(cpu: number): GuestCpu { return this.cpus[cpu]!.guest; }
  snapshot(cpu: number) { const c = this.cpus[cpu]!; return { irr: c.irr, isr: c.isr, ppr: c.ppr() }; }

  private land(cpu: number, v: number, level: boolean): void {
    const c = this.cpus[cpu]!;
    if (v < 16) { c.esr |= 0x40; return; }
    if (c.disabled()) return; // SDM 10.4.7.2: only INIT, NMI, SMI and SIPI are accepted
    vsAdd(c.irr, v);
    if (level) vsAdd(c.tmr, v); else vsDel(c.tmr, v);
    // The APIC arbitrates continuously, but "due" means every message sent to this CPU so
    // far is visible: only true once nothing is in flight to it.
    if (vsEmpty(c.inflight) && !c.nmiInflight) this.sink.evaluate(cpu);
  }

  apply(ev: Event, index: number): void {
    switch (ev.k) {
      case 'msi': {
        let mask = matchDest(this.machine.apic, this.addrs, 0, 'none', ev.logical ?? false, ev.dest);
        if (ev.lowest) mask = this.arbitrate(mask);
        this.sink.executed(index);
        for (let i = 0; i < this.machine.vcpus; i++) if (mask & (1 << i)) vsAdd(this.cpus[i]!.inflight, ev.vector);
        break;
      }
      case 'ioapic':
        // Applied before it is reported: a lowest-priority message's choice comes first.
        this.ioapic.apply(ev.pin, ev.op);
        this.sink.executed(index);
        break;
      case 'pirq': {
        const c = this.cpus[ev.cpu]!;
        if (c.nmiInflight) { c.nmiInflight = false; c.nmiPending = true; }
        for (let v = vsHighest(c.inflight); v >= 0; v = vsHighest(c.inflight)) { vsDel(c.inflight, v); this.land(ev.cpu, v, false); }
        break;
      }
      case 'lint': { // a device line wired to this local APIC
        this.sink.executed(index);
        const l = this.cpus[ev.cpu]!.lint[ev.pin];
        if (ev.op === 'deassert') { l.deassert(); break; }
        this.lintRaise(ev.cpu, ev.pin, l.assert());
        if (ev.op === 'pulse') l.deassert();
        break;
      }
      case 'time': { // the clock runs whatever the core does
        this.sink.executed(index);
        const c = this.cpus[ev.cpu]!;
        c.now += ev.advance;
        this.timerFires(ev.cpu);
        break;
      }
      case 'exit': case 'enter': case 'enter_step':
        break; // no hypervisor (an L2 exit other than the ones below is L1's business, not modelled)
      case 'fault': if (this.machine.nested) this.cpus[ev.cpu]!.faultArmed = true; break;
      case 'l2': this.l2(ev.cpu, ev.op); break;
      default: this.instruction(ev, index);
    }
    this.settleAll();
  }

  private instruction(ev: Event & { cpu: number }, index: number): void {
    const c = this.cpus[ev.cpu]!;
    const g = c.guest;
    if (g.halted || c.inL2) return; // L1 runs no instruction while L2 runs
    g.beginInstruction();
    if (execCoreInstruction(g, ev.k)) { this.sink.executed(index); return; }
    switch (ev.k) {
      case 'ipi': {
        let mask = matchDest(this.machine.apic, this.addrs, ev.cpu, ev.shorthand ?? 'none', ev.logical ?? false, ev.dest ?? 0);
        if (ev.lowest && !ev.nmi) mask = this.arbitrate(mask);
        this.sink.executed(index);
        if (!ev.nmi && ev.vector < 16) c.esr |= 0x20;
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
          this.lintRaise(ev.cpu, 0, c.lint[0].eoi(v));
          this.lintRaise(ev.cpu, 1, c.lint[1].eoi(v));
        }
        this.sink.executed(index);
        return;
      }
      case 'tpr': c.tpr = ev.via === 'cr8' ? ev.value & 0xf0 : ev.value; g.tpr = c.tpr; this.sink.executed(index); return;
      case 'read': {
        const r = ev.reg;
        const val: VecSet | number = r === 'irr' ? c.irr : r === 'isr' ? c.isr : r === 'tmr' ? c.tmr : r === 'ppr' ? c.ppr() : r === 'tpr' ? c.tpr : c.esr;
        this.sink.readValue(ev.cpu, r, r === 'esr' && c.esrWritten ? c.esrShown : val);
        if (r === 'esr' && !c.esrWritten) c.esr = 0;
        this.sink.executed(index);
        return;
      }
      case 'lapic_write': {
        const v = ev.value;
        switch (ev.reg) {
          case 'id': c.addr.id = v >>> 24; break;
          case 'ldr': c.addr.ldr = (v & 0xff000000) >>> 0; break;
          case 'dfr': c.addr.flat = v >>> 28 === 0xf; break;
          case 'svr': c.svr = v; if (c.disabled()) { c.timer.masked = true; c.lint[0].masked = true; c.lint[1].masked = true; } break;
          case 'esr': c.esrWritten = true; c.esrShown = c.esr; c.esr = 0; break;
        }
        this.sink.executed(index);
        return;
      }
      case 'lapic_read': {
        const x2 = this.machine.apic === 'x2apic';
        let val: number;
        switch (ev.reg) {
          case 'id': val = x2 ? c.addr.id : (c.addr.id << 24) >>> 0; break;
          case 'ldr': val = x2 ? x2apicLdr(c.addr.id) : c.addr.ldr; break;
          case 'dfr': val = c.addr.flat ? 0xffffffff : 0x0fffffff; break;
          case 'svr': val = c.svr; break;
          case 'version': val = 0x00050014; break;
          case 'tmcct': val = c.timer.current(c.now); break;
        }
        this.sink.readValue(ev.cpu, ev.reg, val);
        this.sink.executed(index);
        return;
      }
      case 'self_ipi':
        this.sink.executed(index);
        if (ev.vector < 16) c.esr |= 0x20;
        this.land(ev.cpu, ev.vector, false);
        return;
      case 'ioapic_write':
        this.ioapic.write(ev.pin, ev);
        this.sink.executed(index);
        return;
      case 'ioapic_reg_write':
        // REF-IOA-7: version and arbitration registers are read-only.
        if (ev.reg === 'id') this.ioapicId = this.ioapicArb = (ev.value & IOAPIC_ID_BITS) >>> 0;
        this.sink.executed(index);
        return;
      case 'int': g.softInt(ev.vector); this.sink.executed(index); return;
      case 'vmentry': {
        if (!this.machine.nested) { this.sink.executed(index); return; }
        // VMRESUME: L2 runs; the entry delivers the injected event (or the one the last exit
        // handed back in IDT-vectoring information, which L1 re-injects: SDM 31.7.1.2) through L2's IDT.
        this.sink.executed(index);
        c.inL2 = true;
        const inject = ev.inject ?? c.reinject;
        c.reinject = -1;
        if (inject >= 0) this.deliverToL2(ev.cpu, inject);
        return;
      }
      case 'lvt_lint':
        this.sink.executed(index);
        this.lintRaise(ev.cpu, ev.pin, c.lint[ev.pin].write(ev.vector, ev.trigger === 'level', ev.masked || c.disabled(), ev.nmi ?? false));
        return;
      case 'lvt_timer':
        this.sink.executed(index);
        c.timer.writeLvt(ev.vector, ev.masked || c.disabled(), ev.mode);
        return;
      case 'timer_initial':
        this.sink.executed(index);
        c.timer.writeInitial(ev.count, c.now);
        this.timerFires(ev.cpu);
        return;
      case 'tsc_deadline':
        this.sink.executed(index);
        c.timer.writeDeadline(ev.deadline, c.now);
        this.timerFires(ev.cpu);
        return;
      case 'ioapic_read': {
        const val = ev.reg === 'id' ? this.ioapicId : ev.reg === 'arb' ? this.ioapicArb : ev.reg === 'version' ? IOAPIC_VERSION
          : this.ioapic.readEntry(ev.pin ?? -1, ev.reg === 'redir-hi');
        this.sink.readValue(ev.cpu, ioapicReadReg(ev.reg), val);
        this.sink.executed(index);
        return;
      }
      default: this.sink.executed(index);
    }
  }

  /**
   * Event injection at VM entry (SDM 26.5): delivered through L2's IDT, unless the delivery takes an
   * EPT violation (scenario `fault`): a VM exit to L1 with the event in IDT-vectoring information (SDM 27.2.3).
   */
  private deliverToL2(cpu: number, vector: number): void {
    const c = this.cpus[cpu]!;
    if (!c.faultArmed) { this.sink.l2Deliver(cpu, vector); return; }
    c.faultArmed = false;
    c.inL2 = false;
    c.reinject = vector;
    this.sink.l1Exit(cpu, 'ept-violation', true, vector);
  }

  /** An L2 instruction: VMCALL exits to L1 unconditionally (SDM 25.1.2); any other runs in L2. */
  private l2(cpu: number, op: 'step' | 'vmcall'): void {
    const c = this.cpus[cpu]!;
    if (!c.inL2 || op !== 'vmcall') return;
    c.inL2 = false;
    this.sink.l1Exit(cpu, 'vmcall', false, -1);
  }

  /**
   * L2 runs with external-interrupt exiting (and NMI exiting with it, as the KVM model assumes): a
   * pending NMI, or a vector the local APIC presents (above PPR), makes a VM exit to L1 whatever L2's
   * RFLAGS.IF (SDM 25.2, 2016 numbering as in docs/reference-rules.md). With "acknowledge interrupt on exit" the processor acknowledges the
   * interrupt as part of the exit — IRR → ISR, PPR follows — and reports it in the VM-exit
   * interruption information (SDM 24.7.1 Table 24-11, 27.2.2); the abstract L1 then runs that vector's handler (a frame,
   * IF = 0, as KVM's vmx_handle_external_intr calls the host IDT entry). Without it the vector stays
   * in IRR and L1 takes it through its IDT once its IF allows (the loop below). Returns whether L2 still runs.
   */
  private exitL2(i: number): boolean {
    const c = this.cpus[i]!;
    if (c.nmiPending) { c.inL2 = false; this.sink.l1Exit(i, 'nmi', false, -1); return false; }
    if (c.disabled()) return true;
    const v = vsHighest(c.irr);
    if (v < 0 || prioClass(v) <= prioClass(c.ppr())) return true;
    c.inL2 = false;
    if (!this.machine.nested?.ackOnExit) { this.sink.l1Exit(i, 'extint', false, -1); return false; }
    vsDel(c.irr, v); vsAdd(c.isr, v);
    this.sink.l1Exit(i, 'extint', false, -1, v);
    c.guest.take(v, false);
    return false;
  }

  /** A LINT pin raises locally: its fixed vector with its trigger, or an NMI. */
  private lintRaise(cpu: number, pin: 0 | 1, r: Raise): void {
    if (r === Raise.None) return;
    const c = this.cpus[cpu]!;
    if (r === Raise.Nmi) c.nmiPending = true;
    else this.land(cpu, c.lint[pin].vector, c.lint[pin].level);
  }

  /** Timer expiries up to now: an unmasked one raises the LVT vector locally (SDM 10.5.4). */
  private timerFires(cpu: number): void {
    const c = this.cpus[cpu]!;
    if (c.timer.expire(c.now) !== 0 && !c.timer.masked) this.land(cpu, c.timer.vector, false);
  }

  /** The cores take what they can at the current boundary (NMI first, R5.6). */
  private settleAll(): void {
    for (let i = 0; i < this.cpus.length; i++) {
      const c = this.cpus[i]!;
      const g = c.guest;
      if (c.inL2 && this.exitL2(i)) continue;
      for (;;) {
        if (c.nmiPending && g.nmiWindow()) { c.nmiPending = false; g.take(2, true); this.sink.deliver(i, 2, true); continue; }
        if (!g.interruptible() || c.disabled()) break; // software-disabled: IRR is held
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
  // Nested: L1 is a hypervisor on real VMX hardware (its own `vmentry`s, L2's `l2` instructions and
  // `fault`s); vmcs12's posted-interrupt controls change nothing here, as the abstract L1 never posts to L2.
  supports(m: MachineConfig): string | null {
    if (m.nested && !m.nested.exitOnIntr) return 'L2 without external-interrupt exiting (L1\'s interrupts through L2\'s IDT) is not modelled';
    return null;
  },
  // The architecture itself: every programmable feature of the scenario language.
  features: FEATURES,
  create(_variant: string, machine: MachineConfig, sink: ObsSink): BackendInstance {
    return new BareMetal(machine, sink);
  },
};
