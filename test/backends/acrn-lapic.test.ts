// The ACRN vLAPIC under the local-APIC programming events it declares: INT n (not intercepted:
// VMX_EXCEPTION_BITMAP = #MC, +#AC/#GP in v3.3), the vlapic_read registers (trapped in basic
// mode, virtualized reads of the virtual-APIC page in advanced mode), the SVR software-disable
// as vlapic_accept_intr / vlapic_receive_intr test it, and the ESR write (vlapic_write_esr).
import { describe, expect, it } from 'vitest';
import type { BackendInstance, ObsSink } from '../../src/backends/api.js';
import { acrn } from '../../src/backends/acrn/index.js';
import { vsList, type VecSet } from '../../src/apic/vecset.js';
import { runScenario } from '../../src/engine/session.js';
import { classify } from '../../src/fuzz/classify.js';
import type { Event, LapicReadReg, MachineConfig, Reg } from '../../src/scenario/types.js';

class RecSink implements ObsSink {
  readonly log: string[] = [];
  readonly deliveries: { cpu: number; vector: number; at: number }[] = [];
  readonly reads: { cpu: number; reg: Reg; value: number | number[] }[] = [];
  readonly exits: string[] = [];
  executed(index: number): void { this.log.push(`executed ${index}`); }
  deliver(cpu: number, vector: number): void {
    this.deliveries.push({ cpu, vector, at: this.log.length });
    this.log.push(`${cpu} deliver ${vector}`);
  }
  readValue(cpu: number, reg: Reg, value: VecSet | number): void {
    this.reads.push({ cpu, reg, value: typeof value === 'number' ? value : vsList(value) });
  }
  evaluate(): void {}
  vmexit(cpu: number, reason: string): void { this.exits.push(`${cpu} ${reason}`); this.log.push(`${cpu} vmexit ${reason}`); }
  step(cpu: number, name: string): void { this.log.push(`${cpu} ${name}`); }
  crash(cpu: number, where: string): void { this.log.push(`${cpu} CRASH ${where}`); }
  l1Exit(): void { throw new Error('no nested guests'); }
  l2Deliver(): void { throw new Error('no nested guests'); }
}

const machine = (vcpus = 2): MachineConfig => ({ vcpus, apic: 'xapic', ioapic: [] });

class Run {
  readonly sink = new RecSink();
  readonly inst: BackendInstance;
  private n = 0;
  constructor(variant: string, m: MachineConfig = machine()) {
    this.inst = acrn.create(variant, m, this.sink);
  }
  do(...evs: Event[]): this {
    for (const e of evs) this.inst.apply(e, this.n++);
    return this;
  }
  read(e: Event): number | number[] {
    const before = this.sink.reads.length;
    this.do(e);
    expect(this.sink.reads.length).toBe(before + 1);
    return this.sink.reads[before]!.value;
  }
  irr(cpu: number): number[] { return vsList(this.inst.snapshot(cpu).irr); }
  delivered(cpu: number, vector: number): number {
    return this.sink.deliveries.filter((d) => d.cpu === cpu && d.vector === vector).length;
  }
}

const enter = (cpu: number): Event => ({ k: 'enter', cpu });
const selfIpi = (cpu: number, vector: number): Event => ({ k: 'ipi', cpu, vector, shorthand: 'self' });
const ipi = (cpu: number, dest: number, vector: number): Event => ({ k: 'ipi', cpu, vector, dest });
const svr = (cpu: number, value: number): Event => ({ k: 'lapic_write', cpu, reg: 'svr', value });
const lread = (cpu: number, reg: LapicReadReg): Event => ({ k: 'lapic_read', cpu, reg });
const ALL = acrn.variants.map((v) => v.name);
const ADVANCED = ['pre-1443-vid', '1443-vid', '3374-adv', 'pre-4937-adv', 'pre-8507-adv', 'v3.3-adv'];

describe('acrn: INT n is a guest-core step (no exception-bitmap exit)', () => {
  it('no VM exit; the software-interrupt frame (IF = 0) holds a self-IPI until its IRET, in both APICv modes', () => {
    for (const variant of ['2018-basic', 'v3.3-basic', '1443-vid', 'v3.3-adv']) {
      const r = new Run(variant, machine(1));
      r.do({ k: 'int', cpu: 0, vector: 0x80 });
      expect(r.sink.exits).toEqual([]);
      expect(r.inst.guest(0).IF).toBe(false);
      r.do(selfIpi(0, 0x40));
      // v3.3-adv: apicv_advanced_inject_intr's self-notification lands at the pirq.
      for (let i = 0; i < 4; i++) r.do(enter(0), { k: 'pirq', cpu: 0 });
      // Basic mode: is_guest_irq_enabled is false, the injection waits behind the interrupt
      // window; advanced mode: RVI is set but the guest is not interruptible.
      expect(r.delivered(0, 0x40)).toBe(0);
      r.do({ k: 'iret', cpu: 0 });
      for (let i = 0; i < 4; i++) r.do(enter(0));
      expect(r.delivered(0, 0x40)).toBe(1);
    }
  });

  it('end to end: INT n inside a handler and HLT wake-ups stay clean on the clean variants', () => {
    const events: Event[] = [
      { k: 'int', cpu: 0, vector: 0x81 }, ipi(1, 0, 0x50), enter(1), enter(1), enter(1), { k: 'pirq', cpu: 0 }, enter(0),
      { k: 'iret', cpu: 0 }, enter(0), { k: 'eoi', cpu: 0 }, enter(0), { k: 'iret', cpu: 0 }, { k: 'int', cpu: 0, vector: 0x82 },
      { k: 'iret', cpu: 0 },
    ];
    for (const v of acrn.variants.filter((x) => x.status === 'clean')) {
      const res = runScenario({ irqdiff: 1, name: 'int', machine: machine(), events }, acrn, v.name);
      expect(res.divergences.map((d) => d.signature)).toEqual([]);
    }
  });
});

describe('acrn: vlapic_read registers', () => {
  it('ID = vCPU << 24, version 0x00060010 (VLAPIC_VERSION 16, max LVT APIC_LVT_CMCI = 6), flat LDR, DFR, SVR 0x1FF', () => {
    for (const variant of ALL) {
      const r = new Run(variant);
      const got = (cpu: number, reg: LapicReadReg): number => {
        const v = r.read(lread(cpu, reg)) as number;
        r.do(enter(cpu));
        return v;
      };
      expect(got(1, 'id')).toBe(0x01000000);
      expect(got(0, 'version')).toBe(0x00060010);
      expect(got(1, 'ldr')).toBe(0x02000000);
      expect(got(0, 'dfr')).toBe(0xffffffff);
      expect(got(0, 'svr')).toBe(0x1ff);
    }
  });

  it('basic mode traps the read (APIC-access exit, vlapic_read); advanced mode reads the virtual-APIC page without an exit', () => {
    const b = new Run('v3.3-basic');
    b.read(lread(0, 'version'));
    expect(b.sink.exits).toEqual(['0 apic-access']);
    expect(b.sink.log).toContain('0 vlapic_read');
    for (const variant of ADVANCED) {
      const a = new Run(variant);
      a.read(lread(0, 'version'));
      expect(a.sink.exits).toEqual([]);
    }
  });

  it('end to end: the oracle accepts ACRN\'s version (an integrated APIC, 7 LVT entries): every variant clean', () => {
    const events: Event[] = [lread(0, 'version'), enter(0), lread(1, 'id'), enter(1), lread(0, 'ldr'), enter(0), lread(1, 'dfr'), enter(1), lread(0, 'svr')];
    for (const v of ALL) {
      const res = runScenario({ irqdiff: 1, name: 'lapic-read', machine: machine(), events }, acrn, v);
      expect(res.divergences.map((d) => d.signature)).toEqual([]);
    }
  });
});

describe('acrn: SVR software disable (vlapic_write_svr; the SVR tests of vlapic_accept_intr and vlapic_receive_intr)', () => {
  it('a fixed IPI to a software-disabled vLAPIC is ignored by vlapic_accept_intr: no IRR bit, no request; accepted again once enabled', () => {
    for (const variant of ALL) {
      const r = new Run(variant);
      r.do(svr(0, 0xff));
      expect(r.sink.exits).toEqual([variant.includes('basic') ? '0 apic-access' : '0 apic-write']);
      r.do(enter(0), ipi(1, 0, 0x40), enter(1), enter(1));
      expect(r.sink.log.some((l) => l.includes('vlapic_accept_intr(vcpu0, 64): software disabled'))).toBe(true);
      expect(r.irr(0)).toEqual([]);
      expect(r.inst.snapshot(0).extra).toContain('req=-');
      r.do(svr(0, 0x1ff), enter(0), ipi(1, 0, 0x41), enter(1), enter(1), { k: 'pirq', cpu: 0 }, enter(0));
      expect(r.delivered(0, 0x41)).toBe(1);
      expect(r.delivered(0, 0x40)).toBe(0);
    }
  });

  it('an MSI to a disabled vLAPIC is skipped by vlapic_receive_intr before vlapic_set_intr: not even Receive Illegal Vector is flagged', () => {
    const r = new Run('v3.3-basic', machine(1));
    r.do({ k: 'msi', dest: 0, vector: 5 }, { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, enter(0));
    expect(r.read({ k: 'read', cpu: 0, reg: 'esr' })).toBe(0x40);
    r.do(enter(0), svr(0, 0xff), enter(0), { k: 'msi', dest: 0, vector: 5 }, { k: 'msi', dest: 0, vector: 0x40 });
    r.do({ k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, enter(0));
    expect(r.read({ k: 'read', cpu: 0, reg: 'esr' })).toBe(0);
    expect(r.irr(0)).toEqual([]);
    // The reference flags RIV before it looks at SVR: a documented deviation with its own tag.
    const events: Event[] = [svr(0, 0xff), enter(0), { k: 'msi', dest: 0, vector: 5 }, { k: 'read', cpu: 0, reg: 'esr' }];
    for (const v of ['3374-basic', 'v3.3-basic', 'v3.3-adv']) {
      const res = runScenario({ irqdiff: 1, name: 'riv-disabled', machine: machine(1), events }, acrn, v);
      expect(res.divergences.map((d) => d.cause)).toEqual(['read:riv-skipped-while-software-disabled']);
      for (const d of res.divergences) expect(classify([acrn], d.signature)).toBe('known');
    }
  });

  it('what is pending stays pending and is still injected: no injection path tests SVR (REF-SVR-2 allows it)', () => {
    const events: Event[] = [
      { k: 'cli', cpu: 0 }, ipi(1, 0, 0x40), enter(1), enter(1), enter(1), { k: 'pirq', cpu: 0 }, enter(0), svr(0, 0xff), enter(0),
      { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, enter(0), { k: 'pirq', cpu: 0 }, enter(0), { k: 'step', cpu: 0 },
    ];
    for (const v of ['v3.3-basic', 'v3.3-adv', '3374-basic', '1443-vid']) {
      const r = new Run(v);
      r.do(...events);
      expect(r.delivered(0, 0x40)).toBe(1);
      const res = runScenario({ irqdiff: 1, name: 'svr-held', machine: machine(), events }, acrn, v);
      expect(res.divergences.map((d) => d.signature)).toEqual([]);
    }
  });

  it('one SVR test per message: with signal_event before the accept (pre-8507) a disable between the two steps does not stop the accept', () => {
    const r = new Run('pre-8507-basic');
    r.do(ipi(1, 0, 0x40), { k: 'enter_step', cpu: 1 });
    expect(r.sink.log).toContain('1 signal_event(vcpu0)');
    r.do(svr(0, 0xff), { k: 'enter_step', cpu: 1 });
    expect(r.irr(0)).toEqual([0x40]);
    // v3.3 tests SVR in the accept step, the first one: the same disable drops the message.
    const v = new Run('v3.3-basic');
    v.do(ipi(1, 0, 0x40), svr(0, 0xff), { k: 'enter_step', cpu: 1 }, { k: 'enter_step', cpu: 1 });
    expect(v.irr(0)).toEqual([]);
  });

  it('NMIs are not tested against SVR (vcpu_inject_nmi): delivered to a disabled vLAPIC', () => {
    const r = new Run('v3.3-basic');
    r.do(svr(0, 0xff), enter(0), { k: 'ipi', cpu: 1, vector: 2, nmi: true, dest: 0 }, enter(1), enter(1), { k: 'pirq', cpu: 0 }, enter(0));
    expect(r.sink.log).toContain('0 deliver 2');
  });
});

describe('acrn: ESR write (vlapic_write_esr: esr = esr_pending, esr_pending = 0)', () => {
  it('latches the errors since the last write; later reads are plain reads of lapic->esr and do not clear it', () => {
    for (const variant of ['2018-basic', 'v3.3-basic', 'v3.3-adv']) {
      const r = new Run(variant, machine(1));
      r.do(ipi(0, 0, 5), enter(0), { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, enter(0));
      expect(r.read({ k: 'read', cpu: 0, reg: 'esr' })).toBe(0x20);
      r.do(enter(0));
      expect(r.read({ k: 'read', cpu: 0, reg: 'esr' })).toBe(0x20);
      r.do(enter(0), { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, enter(0));
      expect(r.read({ k: 'read', cpu: 0, reg: 'esr' })).toBe(0);
    }
  });

  it('end to end: ESR writes and reads, SVR disable and enable around IPIs are clean on every clean variant', () => {
    const events: Event[] = [
      ipi(0, 1, 7), enter(0), { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, enter(0), { k: 'read', cpu: 0, reg: 'esr' }, enter(0),
      svr(1, 0xff), enter(1), ipi(0, 1, 0x40), enter(0), enter(0), lread(1, 'svr'), enter(1), svr(1, 0x1ff), enter(1),
      ipi(0, 1, 0x41), enter(0), enter(0), { k: 'pirq', cpu: 1 }, enter(1), { k: 'eoi', cpu: 1 }, enter(1), { k: 'iret', cpu: 1 },
      { k: 'read', cpu: 0, reg: 'esr' },
    ];
    for (const v of acrn.variants.filter((x) => x.status === 'clean')) {
      const res = runScenario({ irqdiff: 1, name: 'svr-esr', machine: machine(), events }, acrn, v.name);
      expect(res.divergences.map((d) => d.signature)).toEqual([]);
      for (const d of res.divergences) expect(classify([acrn], d.signature)).toBe('known');
    }
  });
});
