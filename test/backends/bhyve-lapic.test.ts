// The bhyve model's local-APIC programming events (issue 8), each on the path the real code
// takes: INT n is not intercepted (svm.c vmcb_init), register reads go through vlapic_read with
// the values vlapic_reset / vlapic_set_x2apic_state leave, SELF_IPI through the MSR intercept
// into vlapic_self_ipi_handler, SVR and ESR writes through their vlapic.c handlers.
import { describe, expect, it } from 'vitest';
import type { BackendInstance, ObsSink } from '../../src/backends/api.js';
import { bhyve } from '../../src/backends/bhyve/index.js';
import { vsList, type VecSet } from '../../src/apic/vecset.js';
import { runScenario } from '../../src/engine/session.js';
import { classify } from '../../src/fuzz/classify.js';
import { parseScenario } from '../../src/scenario/schema.js';
import type { Event, MachineConfig, Reg } from '../../src/scenario/types.js';

class RecSink implements ObsSink {
  readonly log: string[] = [];
  readonly delivered: { cpu: number; vector: number; nmi: boolean }[] = [];
  readonly reads: { cpu: number; reg: Reg; value: number | number[] }[] = [];
  executed(index: number): void { this.log.push(`executed ${index}`); }
  deliver(cpu: number, vector: number, nmi: boolean): void { this.delivered.push({ cpu, vector, nmi }); this.log.push(`${cpu} deliver ${nmi ? 'nmi' : vector}`); }
  readValue(cpu: number, reg: Reg, value: VecSet | number): void { this.reads.push({ cpu, reg, value: typeof value === 'number' ? value : vsList(value) }); }
  evaluate(): void {}
  vmexit(cpu: number, reason: string): void { this.log.push(`${cpu} vmexit ${reason}`); }
  step(cpu: number, name: string): void { this.log.push(`${cpu} ${name}`); }
  crash(cpu: number, where: string, message: string): void { this.log.push(`${cpu} CRASH ${where}: ${message}`); }
  l1Exit(): void { throw new Error('no nested guests'); }
  l2Deliver(): void { throw new Error('no nested guests'); }
}

class Run {
  readonly sink = new RecSink();
  readonly inst: BackendInstance;
  private n = 0;
  constructor(variant: string, m: MachineConfig) { this.inst = bhyve.create(variant, m, this.sink); }
  do(...evs: Event[]): this { for (const e of evs) this.inst.apply(e, this.n++); return this; }
  mark(): number { return this.sink.log.length; }
  since(mark: number, cpu: number): string[] { return this.sink.log.slice(mark).filter((l) => l.startsWith(`${cpu} `)).map((l) => l.slice(2)); }
  irr(cpu: number): number[] { return vsList(this.inst.snapshot(cpu).irr); }
  lastRead(): number | number[] { return this.sink.reads.at(-1)!.value; }
  count(cpu: number, vector: number): number { return this.sink.delivered.filter((d) => d.cpu === cpu && d.vector === vector && !d.nmi).length; }
}

const m = (apic: 'xapic' | 'x2apic', vcpus = 2): MachineConfig => ({ vcpus, apic, ioapic: [] });
const scenario = (machine: MachineConfig, events: Event[]) =>
  parseScenario(JSON.stringify({ irqdiff: 1, machine, events }), 'test');
const V = 0x51;

describe('bhyve: the local-APIC features it declares', () => {
  it('declares what it models (the timer, LINTs, lowest-priority MSIs and entries, I/O APIC ID/version/arbitration writes too), and still refuses lowest-priority IPIs and TSC-deadline', () => {
    expect([...bhyve.features].sort()).toEqual([
      'int', 'ioapic_read', 'ioapic_reg_write', 'ioapic_write', 'lapic_read.dfr', 'lapic_read.id', 'lapic_read.ldr', 'lapic_read.svr',
      'lapic_read.tmcct', 'lapic_read.version', 'lapic_write.dfr', 'lapic_write.esr', 'lapic_write.id', 'lapic_write.ldr',
      'lapic_write.svr', 'self_ipi', 'ipi.dest32', 'ioapic.logical', 'lvt_timer', 'time', 'lvt_lint', 'msi.lowest', 'ioapic.lowest',
    ].sort());
    // x86_emulate_cpuid hides CPUID2_TSCDLT: no IA32_TSC_DEADLINE. A lowest-priority ICR makes
    // vlapic_icrlo_write_handler return 1 (to userland), which bhyve(8) does not emulate.
    for (const f of ['ipi.lowest', 'machine.apicIds', 'tsc_deadline'] as const) {
      expect(bhyve.features).not.toContain(f);
    }
  });
});

describe('bhyve: INT n (svm.c vmcb_init: no INTn intercept, only #MC in the exception bitmap)', () => {
  for (const variant of ['fixed', 'main']) {
    it(`${variant}: INT n runs in the guest with no exit; its frame (IF = 0) holds an IPI off EVENTINJ until IRET`, () => {
      const r = new Run(variant, m('x2apic'));
      let mk = r.mark();
      r.do({ k: 'int', cpu: 1, vector: 0x80 });
      expect(r.since(mk, 1)).toEqual([]); // no #VMEXIT, no hypervisor step
      expect(r.inst.guest(1).frames.length).toBe(1);
      expect(r.inst.guest(1).IF).toBe(false);
      // vCPU0's IPI: host IPI, #VMEXIT(INTR); svm_inj_interrupts sees IF = 0 and opens a VINTR window.
      r.do({ k: 'ipi', cpu: 0, vector: V, dest: 1 }, { k: 'pirq', cpu: 1 });
      mk = r.mark();
      r.do({ k: 'enter', cpu: 1 });
      expect(r.since(mk, 1)).toContain('enable_intr_window_exiting');
      expect(r.count(1, V)).toBe(0);
      expect(r.inst.where(1)).toBe('guest');
      // The INT handler's IRET restores IF = 1: the VINTR intercept fires, the next entry injects.
      mk = r.mark();
      r.do({ k: 'iret', cpu: 1 });
      expect(r.since(mk, 1)).toContain('vmexit vintr');
      r.do({ k: 'enter', cpu: 1 });
      expect(r.count(1, V)).toBe(1);
    });
  }

  it('prefix: a V_IRQ posted while the INT n handler runs is taken by the CPU only after its IRET', () => {
    const r = new Run('prefix', m('x2apic'));
    r.do({ k: 'ipi', cpu: 0, vector: V, dest: 1 }, { k: 'int', cpu: 1, vector: 0x80 }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 });
    expect(r.inst.snapshot(1).extra).toContain('v_irq=1');
    expect(r.count(1, V)).toBe(0);
    r.do({ k: 'iret', cpu: 1 });
    expect(r.count(1, V)).toBe(1);
  });

  it('end to end: an interrupt held behind an INT n frame is clean on every variant', () => {
    const s = scenario(m('x2apic'), [
      { k: 'int', cpu: 1, vector: 0x80 }, { k: 'ipi', cpu: 0, vector: V, dest: 1 }, { k: 'pirq', cpu: 1 },
      { k: 'enter', cpu: 1 }, { k: 'hlt', cpu: 1 }, { k: 'iret', cpu: 1 }, { k: 'enter', cpu: 1 },
      { k: 'eoi', cpu: 1 }, { k: 'iret', cpu: 1 },
    ]);
    for (const v of ['prefix', 'fixed', 'main']) expect(runScenario(s, bhyve, v).divergences).toEqual([]);
  });
});

describe('bhyve: vlapic_read of the programmed registers', () => {
  const reads = (variant: string, apic: 'xapic' | 'x2apic'): number[] => {
    const r = new Run(variant, m(apic));
    const regs = apic === 'xapic' ? ['id', 'version', 'ldr', 'dfr', 'svr', 'tmcct'] as const : ['id', 'version', 'ldr', 'svr', 'tmcct'] as const;
    for (const reg of regs) r.do({ k: 'lapic_read', cpu: 1, reg }, { k: 'enter', cpu: 1 });
    return r.sink.reads.map((x) => x.value as number);
  };

  it('version: VLAPIC_VERSION 16 in the 2018 vlapic.c, 0x14 in main; VLAPIC_MAXLVT_INDEX (CMCI, 6) in bits 23:16', () => {
    expect(reads('prefix', 'xapic')[1]).toBe(0x00060010);
    expect(reads('fixed', 'xapic')[1]).toBe(0x00060010);
    expect(reads('main', 'xapic')[1]).toBe(0x00060014);
  });

  it('xAPIC: ID vcpuid << 24, flat LDR, DFR all ones, SVR as the guest enabled it, CCR 0 with no callout armed', () => {
    expect(reads('main', 'xapic')).toEqual([0x01000000, 0x00060014, 0x02000000, 0xffffffff, 0x1ff, 0]);
  });

  it('x2APIC: ID vcpuid, x2apic_ldr (cluster 0, bit vcpuid)', () => {
    expect(reads('fixed', 'x2apic')).toEqual([1, 0x00060010, 0x2, 0x1ff, 0]);
  });

  it('the reads trap: x2APIC through lapic_rdmsr (handled in svm_vmexit), xAPIC through a nested page fault', () => {
    const x2 = new Run('main', m('x2apic'));
    let mk = x2.mark();
    x2.do({ k: 'lapic_read', cpu: 0, reg: 'version' });
    expect(x2.since(mk, 0)).toEqual(['vmexit msr', 'justreturn', 'svm_vmexit', 'svm_update_virqinfo', 'svm_save_intinfo', 'lapic_rdmsr', 'vlapic_read'].filter((s) => s !== 'justreturn'));
    const xa = new Run('main', m('xapic'));
    mk = xa.mark();
    xa.do({ k: 'lapic_read', cpu: 0, reg: 'id' });
    expect(xa.since(mk, 0)).toContain('lapic_mmio_read');
  });

  it('end to end: every register read is clean on every variant (versions inside the SDM range)', () => {
    for (const apic of ['xapic', 'x2apic'] as const) {
      const regs = apic === 'xapic' ? ['id', 'version', 'ldr', 'dfr', 'svr', 'tmcct'] as const : ['id', 'version', 'ldr', 'svr', 'tmcct'] as const;
      const evs: Event[] = [];
      for (const reg of regs) evs.push({ k: 'lapic_read', cpu: 1, reg }, { k: 'enter', cpu: 1 });
      for (const v of ['prefix', 'fixed', 'main']) expect(runScenario(scenario(m(apic), evs), bhyve, v).divergences).toEqual([]);
    }
  });
});

describe('bhyve: x2APIC SELF_IPI (vlapic_write → vlapic_self_ipi_handler → lapic_intr_edge)', () => {
  it('traps as an MSR write, lands in IRR through vlapic_set_intr_ready with no host IPI, is injected at the next entry', () => {
    const r = new Run('fixed', m('x2apic'));
    const mk = r.mark();
    r.do({ k: 'self_ipi', cpu: 0, vector: V });
    const path = r.since(mk, 0);
    expect(path.indexOf('vmexit msr')).toBeGreaterThanOrEqual(0);
    expect(path.indexOf('lapic_wrmsr')).toBeLessThan(path.indexOf('vlapic_self_ipi_handler'));
    expect(path.indexOf('vlapic_self_ipi_handler')).toBeLessThan(path.indexOf('vlapic_set_intr_ready'));
    expect(r.irr(0)).toEqual([V]);
    expect(r.inst.physPending(0)).toBe(false); // vcpu_notify_event: RUNNING on this pCPU, no IPI
    r.do({ k: 'enter', cpu: 0 });
    expect(r.count(0, V)).toBe(1);
  });

  it('a vector below 16 is refused by lapic_set_intr (EINVAL): no IRR bit and no ESR bit at all', () => {
    const r = new Run('main', m('x2apic'));
    r.do({ k: 'self_ipi', cpu: 0, vector: 7 }, { k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'esr' });
    expect(r.irr(0)).toEqual([]);
    expect(r.lastRead()).toBe(0);
  });

  it('end to end: that ESR read is the documented read:illegal-vector-dropped-before-receiver (bare metal: SIV | RIV)', () => {
    const s = scenario(m('x2apic'), [{ k: 'self_ipi', cpu: 0, vector: 7 }, { k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'esr' }]);
    for (const v of ['prefix', 'fixed', 'main']) {
      const res = runScenario(s, bhyve, v);
      expect(res.primary?.signature).toBe(`bhyve/${v}:read:illegal-vector-dropped-before-receiver`);
      expect(classify([bhyve], res.primary!.signature)).toBe('known');
    }
  });
});

describe('bhyve: SVR software disable (vlapic_svr_write_handler, vlapic_set_intr_ready)', () => {
  const off: Event = { k: 'lapic_write', cpu: 1, reg: 'svr', value: 0xff };
  const on: Event = { k: 'lapic_write', cpu: 1, reg: 'svr', value: 0x1ff };

  it('a disable masks the LVTs; fixed IPIs to the disabled vlapic are dropped without a notification, NMIs are not', () => {
    const r = new Run('fixed', m('x2apic'));
    const mk = r.mark();
    r.do(off);
    expect(r.since(mk, 1)).toContain('vlapic_mask_lvts');
    r.do({ k: 'enter', cpu: 1 }, { k: 'ipi', cpu: 0, vector: V, dest: 1 });
    expect(r.irr(1)).toEqual([]);
    expect(r.inst.physPending(1)).toBe(false);
    r.do({ k: 'enter', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 });
    expect(r.sink.delivered.filter((d) => d.nmi && d.cpu === 1).length).toBe(1);
  });

  it('what was pending before the disable stays in IRR and is still injected (vlapic_pending_intr ignores SVR)', () => {
    const r = new Run('main', m('x2apic'));
    r.do({ k: 'cli', cpu: 1 }, { k: 'ipi', cpu: 0, vector: V, dest: 1 }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 }, off, { k: 'enter', cpu: 1 });
    expect(r.irr(1)).toEqual([V]);
    // STI's shadow ends after the next instruction; then the VINTR window exits and EVENTINJ follows.
    r.do({ k: 'sti', cpu: 1 }, { k: 'step', cpu: 1 }, { k: 'enter', cpu: 1 });
    expect(r.count(1, V)).toBe(1);
  });

  it('a re-enable accepts fixed interrupts again; rewriting the same value runs no handler branch', () => {
    const r = new Run('fixed', m('x2apic'));
    r.do(off, { k: 'enter', cpu: 1 }, on, { k: 'enter', cpu: 1 });
    const mk = r.mark();
    r.do(on, { k: 'enter', cpu: 1 });
    expect(r.since(mk, 1)).not.toContain('vlapic_mask_lvts');
    r.do({ k: 'ipi', cpu: 0, vector: V, dest: 1 });
    expect(r.irr(1)).toEqual([V]);
    r.do({ k: 'lapic_read', cpu: 1, reg: 'svr' });
    expect(r.lastRead()).toBe(0x1ff);
  });

  it('end to end: disable, a dropped IPI, a held vector taken, re-enable: clean on every variant', () => {
    const s = scenario(m('x2apic'), [
      { k: 'cli', cpu: 1 }, { k: 'ipi', cpu: 0, vector: V, dest: 1 }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 },
      off, { k: 'enter', cpu: 1 }, { k: 'enter', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x61, dest: 1 },
      { k: 'sti', cpu: 1 }, { k: 'enter', cpu: 1 }, { k: 'eoi', cpu: 1 }, { k: 'iret', cpu: 1 }, on,
      { k: 'enter', cpu: 1 }, { k: 'lapic_read', cpu: 1, reg: 'svr' },
    ]);
    for (const v of ['prefix', 'fixed', 'main']) expect(runScenario(s, bhyve, v).divergences).toEqual([]);
  });
});

describe('bhyve: ESR writes (vlapic_esr_write_handler: lapic->esr = esr_pending, esr_pending = 0)', () => {
  it('a write latches the errors since the last one; later errors show only after the next write', () => {
    const r = new Run('fixed', m('x2apic'));
    const esr = () => { r.do({ k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'esr' }); return r.lastRead(); };
    r.do({ k: 'ipi', cpu: 0, vector: 3, dest: 1 }, { k: 'enter', cpu: 0 }, { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 });
    expect(esr()).toBe(0x20); // SEND_ILLEGAL_VECTOR, latched by the write
    r.do({ k: 'enter', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 4, dest: 1 });
    expect(esr()).toBe(0x20); // the plain read shows the latched value, esr_pending waits
    r.do({ k: 'enter', cpu: 0 }, { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, { k: 'enter', cpu: 0 }, { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 });
    expect(esr()).toBe(0);
  });

  it('end to end: the REF-ESR-1 sequence is clean on every variant', () => {
    const s = scenario(m('x2apic'), [
      { k: 'ipi', cpu: 0, vector: 3, dest: 1 }, { k: 'enter', cpu: 0 }, { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 },
      { k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'esr' }, { k: 'enter', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 4, dest: 1 },
      { k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'esr' }, { k: 'enter', cpu: 0 }, { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 },
      { k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'esr' },
    ]);
    for (const v of ['prefix', 'fixed', 'main']) expect(runScenario(s, bhyve, v).divergences).toEqual([]);
  });
});

describe('bhyve: LDR and DFR writes (vlapic_ldr_write_handler, vlapic_dfr_write_handler, vlapic_calcdest)', () => {
  it('each vlapic is matched with its own model: flat LDR bits, then cluster (LDR[31:28] cluster, [27:24] members)', () => {
    const r = new Run('fixed', m('xapic'));
    r.do({ k: 'cli', cpu: 1 }, { k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x04000000 }, { k: 'enter', cpu: 1 });
    r.do({ k: 'ipi', cpu: 0, vector: 0x61, dest: 0x30, logical: true }, { k: 'enter', cpu: 0 });
    expect(r.irr(1)).toEqual([]);
    r.do({ k: 'ipi', cpu: 0, vector: 0x62, dest: 0x34, logical: true }, { k: 'enter', cpu: 0 });
    expect(r.irr(1)).toEqual([0x62]);
    r.do({ k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x34000000 }, { k: 'enter', cpu: 1 },
      { k: 'lapic_write', cpu: 1, reg: 'dfr', value: 0x0fffffff }, { k: 'enter', cpu: 1 });
    r.do({ k: 'ipi', cpu: 0, vector: 0x71, dest: 0x2c, logical: true }, { k: 'enter', cpu: 0 });
    expect(r.irr(1)).toEqual([0x62]); // another cluster
    r.do({ k: 'ipi', cpu: 0, vector: 0x72, dest: 0x3c, logical: true }, { k: 'enter', cpu: 0 });
    expect(r.irr(1)).toEqual([0x62, 0x72]);
    r.do({ k: 'lapic_read', cpu: 1, reg: 'ldr' }, { k: 'enter', cpu: 1 }, { k: 'lapic_read', cpu: 1, reg: 'dfr' });
    expect(r.sink.reads.map((x) => x.value)).toEqual([0x34000000, 0x0fffffff]);
  });

  it('end to end: kvm-unit-tests test_logical_ipi_xapic, with the entries bhyve needs, is clean on every variant', () => {
    // Every APIC access traps (xAPIC: a nested page fault handled in vm_run): each is followed by
    // the entry path that resumes the guest.
    const ipi = (dest: number, vector: number): Event[] => [{ k: 'ipi', cpu: 0, vector, dest, logical: true }, { k: 'enter', cpu: 0 }];
    const on1 = (e: Event): Event[] => [e, { k: 'enter', cpu: 1 }];
    const s = scenario(m('xapic'), [
      ...on1({ k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x04000000 }), ...ipi(0x34, 0x61), ...ipi(0x30, 0x62),
      { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 }, ...on1({ k: 'eoi', cpu: 1 }), { k: 'iret', cpu: 1 },
      ...on1({ k: 'lapic_write', cpu: 1, reg: 'dfr', value: 0x0fffffff }), ...on1({ k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x34000000 }),
      ...ipi(0x3c, 0x71), ...ipi(0x2c, 0x72),
      { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 }, ...on1({ k: 'eoi', cpu: 1 }), { k: 'iret', cpu: 1 },
    ]);
    for (const v of ['prefix', 'fixed', 'main']) {
      const res = runScenario(s, bhyve, v);
      expect(res.divergences).toEqual([]);
      expect(res.deliveries).toBe(2);
    }
  });
});

describe('bhyve: ID writes (vlapic_id_write_handler: "We don\'t allow the ID register to be modified")', () => {
  it('the ID reads back as vcpuid << 24 and a physical IPI to the written ID reaches nobody (no vCPU 5)', () => {
    const r = new Run('main', m('xapic'));
    r.do({ k: 'lapic_write', cpu: 1, reg: 'id', value: 0x05000000 }, { k: 'enter', cpu: 1 }, { k: 'lapic_read', cpu: 1, reg: 'id' });
    expect(r.lastRead()).toBe(0x01000000);
    r.do({ k: 'ipi', cpu: 0, vector: V, dest: 5 }, { k: 'enter', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x61, dest: 1 });
    expect(r.irr(1)).toEqual([0x61]); // the old ID still routes here
    expect(r.inst.whereStuck!(1, V)).toBe('apic-id-write-ignored');
    expect(r.inst.explain!(1, 'spurious', 0x61)).toBe('apic-id-write-ignored');
  });

  it('end to end: kvm-unit-tests test_apic_id ("writeable xapic id") is the documented read:apic-id-write-ignored', () => {
    const s = scenario(m('xapic'), [
      { k: 'lapic_read', cpu: 1, reg: 'id' }, { k: 'enter', cpu: 1 }, { k: 'lapic_write', cpu: 1, reg: 'id', value: 0x02000000 },
      { k: 'enter', cpu: 1 }, { k: 'lapic_read', cpu: 1, reg: 'id' },
    ]);
    for (const v of ['prefix', 'fixed', 'main']) {
      const res = runScenario(s, bhyve, v);
      expect(res.primary?.signature).toBe(`bhyve/${v}:read:apic-id-write-ignored`);
      expect(classify([bhyve], res.primary!.signature)).toBe('known');
    }
  });
});

describe('bhyve: logical redirection entries and the TMR an LDR write leaves stale (vioapic_update_tmr)', () => {
  const mach: MachineConfig = { vcpus: 2, apic: 'xapic', ioapic: [{ pin: 0, vector: 0x40, dest: 2, trigger: 'level', masked: false, logical: true }] };

  it('a logical entry reaches the vCPU whose flat LDR matches; vioapic_read shows IOART_DESTLOG', () => {
    const r = new Run('fixed', mach);
    r.do({ k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 0 });
    expect(r.lastRead()).toBe(0x40 | 1 << 11 | 1 << 15);
    r.do({ k: 'enter', cpu: 0 }, { k: 'ioapic', pin: 0, op: 'assert' });
    expect(r.irr(1)).toEqual([0x40]);
    expect(r.irr(0)).toEqual([]);
  });

  it('an LDR write does not rerun vioapic_update_tmr: the new destination accepts the level vector with TMR clear and its EOI is lost', () => {
    const r = new Run('main', mach);
    const tmr = (cpu: number) => { r.do({ k: 'read', cpu, reg: 'tmr' }, { k: 'enter', cpu }); return r.lastRead(); };
    r.do({ k: 'lapic_write', cpu: 0, reg: 'ldr', value: 0x02000000 }, { k: 'enter', cpu: 0 },
      { k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x04000000 }, { k: 'enter', cpu: 1 });
    expect(tmr(0)).toEqual([]);
    expect(tmr(1)).toEqual([0x40]); // the old destination keeps the bit
    r.do({ k: 'ioapic', pin: 0, op: 'assert' }, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 });
    expect(r.count(0, 0x40)).toBe(1);
    const mk = r.mark();
    r.do({ k: 'eoi', cpu: 0 }, { k: 'enter', cpu: 0 });
    expect(r.since(mk, 0)).not.toContain('vioapic_process_eoi');
    expect(r.inst.whereStuck!(0, 0x40)).toBe('eoi-lost-tmr-stale-after-ldr-write');
    r.do({ k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 0 });
    expect((r.lastRead() as number) & 1 << 14).not.toBe(0); // Remote IRR still set
  });

  it('a redirection-table write that changes the entry reruns the rendezvous and the EOI is forwarded again', () => {
    const r = new Run('fixed', mach);
    r.do({ k: 'lapic_write', cpu: 0, reg: 'ldr', value: 0x02000000 }, { k: 'enter', cpu: 0 },
      { k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x04000000 }, { k: 'enter', cpu: 1 },
      // A changed destination (MDA 0x03: still vCPU0 alone) makes vioapic_write rendezvous; an identical rewrite would not.
      { k: 'ioapic_write', cpu: 0, pin: 0, vector: 0x40, dest: 3, trigger: 'level', masked: false, logical: true }, { k: 'enter', cpu: 0 },
      { k: 'ioapic', pin: 0, op: 'assert' }, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 });
    const mk = r.mark();
    r.do({ k: 'eoi', cpu: 0 });
    expect(r.since(mk, 0)).toContain('vioapic_process_eoi');
  });

  it('end to end: the corpus reproducer is the documented lost EOI on every variant, clean on bare metal', async () => {
    const { readFileSync } = await import('node:fs');
    const { findBackend } = await import('../../src/backends/registry.js');
    const f = 'corpus/bhyve/bhyve-tmr-stale-after-ldr-write.json';
    const sc = parseScenario(readFileSync(f, 'utf8'), f);
    for (const v of ['prefix', 'fixed', 'main']) {
      const res = runScenario(sc, bhyve, v);
      expect(res.primary?.signature).toBe(`bhyve/${v}:stuck:eoi-lost-tmr-stale-after-ldr-write`);
      expect(classify([bhyve], res.primary!.signature)).toBe('known');
    }
    expect(runScenario(sc, findBackend('baremetal')!, 'sdm').divergences).toEqual([]);
  });
});

// --- the APIC timer (vlapic_icrtmr_write_handler, vlapic_callout_handler, vlapic_get_ccr) ---

const lvtT = (cpu: number, vector: number, mode: 'oneshot' | 'periodic', masked = false): Event => ({ k: 'lvt_timer', cpu, vector, mode, masked });
const tmict = (cpu: number, count: number): Event => ({ k: 'timer_initial', cpu, count });
const time = (cpu: number, advance: number): Event => ({ k: 'time', cpu, advance });
const ccr = (cpu: number): Event => ({ k: 'lapic_read', cpu, reg: 'tmcct' });
const enter = (cpu: number): Event => ({ k: 'enter', cpu });
const T = 0xe1;

describe('bhyve: the APIC timer on the logical clock', () => {
  it('TMICT traps into vlapic_icrtmr_write_handler; TMCCT (vlapic_get_ccr) is the time left to timer_fire_bt', () => {
    for (const v of ['prefix', 'fixed', 'main']) {
      const r = new Run(v, m('x2apic', 1));
      r.do(lvtT(0, T, 'oneshot'), enter(0));
      const mk = r.mark();
      r.do(tmict(0, 10));
      expect(r.since(mk, 0)).toEqual(['vmexit msr', 'svm_vmexit', 'svm_update_virqinfo', 'svm_save_intinfo', 'lapic_wrmsr', 'vlapic_icrtmr_write_handler']);
      r.do(enter(0), time(0, 3), ccr(0));
      expect(r.lastRead()).toBe(7);
      // TMICT 0: callout_stop, the count reads 0.
      r.do(enter(0), tmict(0, 0), enter(0), ccr(0));
      expect(r.lastRead()).toBe(0);
    }
  });

  it('a one-shot timer fires once at expiry (vlapic_fire_timer → vlapic_set_intr_ready); a masked LVT sends nothing', () => {
    const r = new Run('fixed', m('x2apic', 1));
    r.do(lvtT(0, T, 'oneshot'), enter(0), tmict(0, 5), enter(0), time(0, 4));
    expect(r.irr(0)).toEqual([]);
    r.do(time(0, 1));
    expect(r.irr(0)).toEqual([T]);
    r.do({ k: 'pirq', cpu: 0 }, enter(0), { k: 'eoi', cpu: 0 }, enter(0), { k: 'iret', cpu: 0 }, time(0, 50));
    expect(r.count(0, T)).toBe(1);
    const q = new Run('main', m('x2apic', 1));
    q.do(lvtT(0, T, 'oneshot', true), enter(0), tmict(0, 5), enter(0), time(0, 5), enter(0));
    expect(q.irr(0)).toEqual([]);
    expect(q.count(0, T)).toBe(0);
  });

  it('main: the callout runs on the vCPU\'s host CPU (callout_reset_sbt_curcpu): #VMEXIT(INTR), the thread yields, the callout runs, the vector is injected', () => {
    const r = new Run('main', m('x2apic', 1));
    r.do(lvtT(0, T, 'oneshot'), enter(0), tmict(0, 5), enter(0));
    let mk = r.mark();
    r.do(time(0, 5));
    expect(r.since(mk, 0)).toEqual(['vmexit extintr', 'svm_vmexit', 'svm_update_virqinfo', 'svm_save_intinfo', 'hardclock']);
    expect(r.inst.where(0)).toBe('hv'); // no guest instruction runs before the injection
    mk = r.mark();
    r.do(enter(0));
    const path = r.since(mk, 0);
    expect(path.slice(0, 5)).toEqual(['disable_gintr', 'vcpu_should_yield', 'vm_exit_astpending', 'vlapic_callout_handler', 'vlapic_fire_timer']);
    expect(path).toContain(`deliver ${T}`);
    expect(r.count(0, T)).toBe(1);
  });

  it('main: an expiry under GIF = 0 is held until VMRUN, which exits at once; svm_inj_interrupts is then no due point', () => {
    const r = new Run('main', m('x2apic', 1));
    r.do(lvtT(0, T, 'oneshot'), enter(0), tmict(0, 5), { k: 'enter_step', cpu: 0 }, { k: 'enter_step', cpu: 0 }, time(0, 5));
    expect(r.irr(0)).toEqual([]); // the softclock has not run
    const mk = r.mark();
    r.do({ k: 'enter_step', cpu: 0 }, { k: 'enter_step', cpu: 0 });
    expect(r.since(mk, 0)).toEqual(expect.arrayContaining(['svm_launch', 'vmexit extintr', 'hardclock']));
    r.do(enter(0));
    expect(r.count(0, T)).toBe(1);
  });

  it('end to end: one-shot and periodic expiries while the guest runs are clean on main', () => {
    const s = scenario(m('x2apic', 1), [
      lvtT(0, T, 'periodic'), enter(0), tmict(0, 4), enter(0), { k: 'step', cpu: 0 }, time(0, 4), { k: 'step', cpu: 0 },
      enter(0), { k: 'eoi', cpu: 0 }, enter(0), { k: 'iret', cpu: 0 }, time(0, 3), ccr(0), enter(0), time(0, 1), enter(0),
      { k: 'eoi', cpu: 0 }, enter(0), { k: 'iret', cpu: 0 }, lvtT(0, T, 'oneshot'), enter(0), time(0, 4), { k: 'step', cpu: 0 },
    ]);
    expect(runScenario(s, bhyve, 'main').divergences).toEqual([]);
  });

  it('2018 trees: the callout runs on the default callout CPU and notifies by IPI; the guest runs on until it arrives', () => {
    const evs: Event[] = [lvtT(0, T, 'oneshot'), enter(0), tmict(0, 5), enter(0), time(0, 5)];
    for (const v of ['prefix', 'fixed']) {
      const r = new Run(v, m('x2apic', 1));
      r.do(...evs);
      expect(r.irr(0)).toEqual([T]);
      expect(r.inst.where(0)).toBe('guest');
      expect(r.inst.physPending(0)).toBe(true); // vcpu_notify_event → ipi_cpu(hostcpu, vmm_ipinum)
      const late = runScenario(scenario(m('x2apic', 1), [...evs, { k: 'step', cpu: 0 }]), bhyve, v);
      expect(late.primary?.signature).toBe(`bhyve/${v}:stuck:timer-callout-on-other-cpu`);
      expect(classify([bhyve], late.primary!.signature)).toBe('known');
      // The IPI arrives before the next instruction: clean.
      expect(runScenario(scenario(m('x2apic', 1), [...evs, { k: 'pirq', cpu: 0 }, enter(0), { k: 'step', cpu: 0 }]), bhyve, v).divergences).toEqual([]);
    }
    // main: the same instruction right after the expiry is clean (the callout is on the vCPU's CPU).
    expect(runScenario(scenario(m('x2apic', 1), [...evs, { k: 'step', cpu: 0 }]), bhyve, 'main').divergences).toEqual([]);
  });

  it('a periodic callout a whole period late re-bases (timer_fire_bt = now): TMCCT leaves bare metal\'s grid', () => {
    const r = new Run('main', m('x2apic', 1));
    // Period 4 from t = 0: expiries at 4, 8, 12... One advance of 9 runs the callout at 9, five late.
    r.do(lvtT(0, T, 'periodic', true), enter(0), tmict(0, 4), enter(0), time(0, 9), enter(0), ccr(0));
    expect(r.lastRead()).toBe(4); // bare metal: 12 - 9 = 3
    const s = scenario(m('x2apic', 1), [lvtT(0, T, 'periodic', true), enter(0), tmict(0, 4), enter(0), time(0, 9), enter(0), ccr(0)]);
    for (const v of ['prefix', 'fixed', 'main']) {
      const res = runScenario(s, bhyve, v);
      expect(res.primary?.signature).toBe(`bhyve/${v}:read:timer-rebased-after-lag`);
      expect(classify([bhyve], res.primary!.signature)).toBe('known');
    }
    // Less than a period late: re-armed on the grid (rem_sbt less the lag), TMCCT as bare metal's.
    const q = new Run('fixed', m('x2apic', 1));
    q.do(lvtT(0, T, 'periodic', true), enter(0), tmict(0, 4), enter(0), time(0, 6), ccr(0));
    expect(q.lastRead()).toBe(2);
  });

  it('a software disable stops the callout (vlapic_svr_write_handler): TMCCT reads 0, bare metal\'s count runs on', () => {
    const s = scenario(m('x2apic', 1), [
      lvtT(0, T, 'oneshot'), enter(0), tmict(0, 10), enter(0), time(0, 2),
      { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0xff }, enter(0), ccr(0),
    ]);
    for (const v of ['prefix', 'fixed', 'main']) {
      const res = runScenario(s, bhyve, v);
      expect(res.primary?.signature).toBe(`bhyve/${v}:read:timer-stopped-by-sw-disable`);
      expect(classify([bhyve], res.primary!.signature)).toBe('known');
    }
  });
});

// --- LINT0/LINT1 (lapic_set_local_intr → vlapic_trigger_lvt → vlapic_fire_lvt) ---

const lvtL = (cpu: number, pin: 0 | 1, vector: number, trigger: 'edge' | 'level', extra: Partial<{ masked: boolean; nmi: boolean }> = {}): Event =>
  ({ k: 'lvt_lint', cpu, pin, vector, trigger, masked: extra.masked ?? false, ...(extra.nmi ? { nmi: true } : {}) });
const lint = (cpu: number, pin: 0 | 1, op: 'assert' | 'deassert' | 'pulse'): Event => ({ k: 'lint', cpu, pin, op });
const L = 0x68;

describe('bhyve: LINT inputs', () => {
  it('a rising edge reaches vlapic_trigger_lvt from the device\'s CPU: vIRR set, the vCPU notified by IPI; a held line raises nothing more', () => {
    const r = new Run('main', m('x2apic', 1));
    r.do(lvtL(0, 0, L, 'edge'), enter(0));
    const mk = r.mark();
    r.do(lint(0, 0, 'assert'));
    expect(r.since(mk, 0)).toEqual(['lapic_set_local_intr', 'vlapic_trigger_lvt', 'vlapic_set_intr_ready']);
    expect(r.irr(0)).toEqual([L]);
    expect(r.inst.physPending(0)).toBe(true);
    r.do({ k: 'pirq', cpu: 0 }, enter(0), { k: 'eoi', cpu: 0 }, enter(0), { k: 'iret', cpu: 0 }, lint(0, 0, 'assert'), enter(0));
    expect(r.count(0, L)).toBe(1);
    expect(runScenario(scenario(m('x2apic', 1), [lvtL(0, 0, L, 'edge'), enter(0), lint(0, 0, 'pulse'), { k: 'pirq', cpu: 0 }, enter(0), { k: 'step', cpu: 0 }]), bhyve, 'fixed').divergences).toEqual([]);
    const late = runScenario(scenario(m('x2apic', 1), [lvtL(0, 0, L, 'edge'), enter(0), lint(0, 0, 'pulse'), { k: 'step', cpu: 0 }]), bhyve, 'main');
    expect(late.primary?.signature).toBe('bhyve/main:stuck:lint-raised-on-other-cpu');
  });

  it('an NMI entry injects an NMI (vm_inject_nmi); clean once the IPI has arrived', () => {
    const s = scenario(m('x2apic', 1), [lvtL(0, 1, 0, 'edge', { nmi: true }), enter(0), lint(0, 1, 'pulse'), { k: 'pirq', cpu: 0 }, enter(0), { k: 'step', cpu: 0 }]);
    for (const v of ['prefix', 'fixed', 'main']) expect(runScenario(s, bhyve, v).divergences).toEqual([]);
  });

  it('a level entry is fired as an edge: no TMR, no Remote IRR, the EOI does not re-raise a line still high', () => {
    const lv = 0x7a;
    const r = new Run('fixed', m('x2apic', 1));
    r.do(lvtL(0, 0, lv, 'level'), enter(0), lint(0, 0, 'assert'), { k: 'pirq', cpu: 0 }, enter(0), { k: 'read', cpu: 0, reg: 'tmr' });
    expect(r.lastRead()).toEqual([]);
    r.do(enter(0), { k: 'eoi', cpu: 0 }, enter(0), { k: 'iret', cpu: 0 }, enter(0));
    expect(r.count(0, lv)).toBe(1);
    expect(r.irr(0)).toEqual([]);
    const s = scenario(m('x2apic', 1), [lvtL(0, 0, lv, 'level'), enter(0), lint(0, 0, 'assert'), { k: 'pirq', cpu: 0 }, enter(0),
      { k: 'eoi', cpu: 0 }, enter(0), { k: 'iret', cpu: 0 }, { k: 'step', cpu: 0 }]);
    for (const v of ['prefix', 'fixed', 'main']) {
      const res = runScenario(s, bhyve, v);
      expect(res.primary?.signature).toBe(`bhyve/${v}:stuck:lint-level-as-edge`);
      expect(classify([bhyve], res.primary!.signature)).toBe('known');
    }
  });

  it('software-disabled: vlapic_enabled() is false, so LINT1 is an NMI pin and LINT0 an INTR pin (vector irq_base + 7 from the 8259)', () => {
    const off: Event = { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0xff };
    const r = new Run('main', m('x2apic', 1));
    r.do(off, enter(0), lint(0, 1, 'pulse'), { k: 'pirq', cpu: 0 }, enter(0));
    expect(r.sink.delivered.filter((d) => d.nmi).length).toBe(1);
    const q = new Run('main', m('x2apic', 1));
    q.do(off, enter(0));
    const mk = q.mark();
    q.do(lint(0, 0, 'pulse'), { k: 'pirq', cpu: 0 }, enter(0));
    expect(q.since(mk, 0)).toEqual(expect.arrayContaining(['vm_inject_extint', 'vatpic_pending_intr', 'vatpic_intr_accepted', 'deliver 7']));
    for (const v of ['prefix', 'fixed', 'main']) {
      const nmi = runScenario(scenario(m('x2apic', 1), [off, enter(0), lint(0, 1, 'pulse'), { k: 'pirq', cpu: 0 }, enter(0)]), bhyve, v);
      expect(nmi.primary?.signature).toMatch(new RegExp(`^bhyve/${v}:(spurious|duplicate):lint1-nmi-while-sw-disabled$`));
      expect(classify([bhyve], nmi.primary!.signature)).toBe('known');
      const ext = runScenario(scenario(m('x2apic', 1), [off, enter(0), lint(0, 0, 'pulse'), { k: 'pirq', cpu: 0 }, enter(0)]), bhyve, v);
      expect(ext.primary?.signature).toBe(`bhyve/${v}:spurious:lint0-extint-while-sw-disabled`);
      expect(classify([bhyve], ext.primary!.signature)).toBe('known');
    }
  });
});

// --- lowest priority (vlapic_deliver_intr → vlapic_calcdest with lowprio) ---

describe('bhyve: lowest-priority MSIs and redirection entries', () => {
  class ArbSink extends RecSink {
    readonly arb: string[] = [];
    arbitrated(cpu: number): void { this.arb.push(`arbitrated ${cpu}`); this.log.push(`arbitrated ${cpu}`); }
    executed(index: number): void { super.executed(index); this.arb.push(`executed ${index}`); }
  }

  it('a logical lowest-priority MSI goes to the first matching vCPU only, reported (arbitrated) before it is executed', () => {
    const sink = new ArbSink();
    const inst = bhyve.create('main', m('xapic', 4), sink);
    // Flat LDRs 1 << vcpuid: MDA 0b0110 addresses vCPUs 1 and 2.
    inst.apply({ k: 'msi', dest: 0b0110, vector: V, logical: true, lowest: true }, 0);
    expect(sink.arb).toEqual(['arbitrated 1', 'executed 0']);
    expect(vsList(inst.snapshot(1).irr)).toEqual([V]);
    expect(vsList(inst.snapshot(2).irr)).toEqual([]);
    const s = scenario(m('xapic', 4), [{ k: 'msi', dest: 0b0110, vector: V, logical: true, lowest: true }, { k: 'pirq', cpu: 1 }, enter(1), { k: 'step', cpu: 1 }]);
    for (const v of ['prefix', 'fixed', 'main']) expect(runScenario(s, bhyve, v).divergences).toEqual([]);
  });

  it('a lowest-priority level entry: TMR only on the first match (vlapic_set_tmr_level with lowprio); vioapic_read shows IOART_DELLOPRI', () => {
    const mc: MachineConfig = { vcpus: 3, apic: 'xapic', ioapic: [{ pin: 4, vector: 0x93, dest: 0b110, trigger: 'level', masked: false, logical: true, lowest: true }] };
    const r = new Run('fixed', mc);
    r.do({ k: 'ioapic', pin: 4, op: 'assert' }, { k: 'read', cpu: 1, reg: 'tmr' });
    expect(r.lastRead()).toEqual([0x93]);
    r.do({ k: 'read', cpu: 2, reg: 'tmr' });
    expect(r.lastRead()).toEqual([]);
    expect(r.irr(1)).toEqual([0x93]);
    expect(r.irr(2)).toEqual([]);
    r.do({ k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 4 });
    expect((r.lastRead() as number) & 0x700).toBe(0x100);
    const s = scenario(mc, [{ k: 'ioapic', pin: 4, op: 'assert' }, { k: 'pirq', cpu: 1 }, enter(1), { k: 'eoi', cpu: 1 }, enter(1),
      { k: 'iret', cpu: 1 }, { k: 'ioapic', pin: 4, op: 'deassert' }]);
    for (const v of ['prefix', 'fixed', 'main']) expect(runScenario(s, bhyve, v).divergences).toEqual([]);
  });

  it('a pin assert is reported executed after vioapic_send_intr made its choice (the arbitration comes first)', () => {
    const sink = new ArbSink();
    const mc: MachineConfig = { vcpus: 3, apic: 'xapic', ioapic: [{ pin: 2, vector: 0x55, dest: 0b110, trigger: 'edge', masked: false, logical: true, lowest: true }] };
    const inst = bhyve.create('main', mc, sink);
    inst.apply({ k: 'ioapic', pin: 2, op: 'assert' }, 0);
    expect(sink.arb).toEqual(['arbitrated 1', 'executed 0']);
  });

  it('a lowest-priority broadcast (MDA 0xff) reaches every vCPU: vlapic_calcdest returns vm_active_cpus before lowprio is looked at', () => {
    const s = scenario(m('xapic', 2), [{ k: 'msi', dest: 0xff, vector: V, logical: true, lowest: true }, { k: 'pirq', cpu: 0 }, { k: 'pirq', cpu: 1 },
      enter(0), enter(1), { k: 'step', cpu: 0 }, { k: 'step', cpu: 1 }]);
    for (const v of ['prefix', 'fixed', 'main']) {
      const res = runScenario(s, bhyve, v);
      expect(res.primary?.signature).toBe(`bhyve/${v}:spurious:lowprio-broadcast-to-all`);
      expect(classify([bhyve], res.primary!.signature)).toBe('known');
    }
  });
});
