// The local-APIC programming events on the Xen model (issue 8), each against the real code
// of the trees modelled: INT n is not intercepted (construct_vmcb), lapic_read goes through
// vlapic_read_aligned (APIC ID = vcpu_id * 2, x2APIC LDR per 90309854fd), SELF_IPI through
// guest_wrmsr_x2apic → vlapic_ipi, SVR and ESR writes through vlapic_reg_write (and the
// MSI/vIOAPIC acceptance on a software-disabled vlapic that f1d7aac1e3 removed).
import { describe, expect, it } from 'vitest';
import type { BackendInstance, ObsSink } from '../../src/backends/api.js';
import { xen } from '../../src/backends/xen/index.js';
import { vsList, type VecSet } from '../../src/apic/vecset.js';
import { runScenario } from '../../src/engine/session.js';
import { classify } from '../../src/fuzz/classify.js';
import { supportsScenario } from '../../src/backends/features.js';
import type { Event, MachineConfig, Reg, Scenario } from '../../src/scenario/types.js';

class Sink implements ObsSink {
  readonly log: string[] = [];
  readonly delivered: number[] = [];
  readonly reads: { cpu: number; reg: Reg; value: number | number[] }[] = [];
  executed(index: number): void { this.log.push(`executed ${index}`); }
  deliver(cpu: number, vector: number, nmi: boolean): void { this.delivered.push(nmi ? 2 : vector); this.log.push(`${cpu} deliver ${vector.toString(16)}`); }
  readValue(cpu: number, reg: Reg, value: VecSet | number): void { this.reads.push({ cpu, reg, value: typeof value === 'number' ? value : vsList(value) }); }
  evaluate(): void { /* not needed */ }
  vmexit(cpu: number, reason: string): void { this.log.push(`${cpu} vmexit ${reason}`); }
  step(cpu: number, name: string): void { this.log.push(`${cpu} ${name}`); }
  crash(): void { throw new Error('no crash expected'); }
  l1Exit(): void { throw new Error('no nested guests'); }
  l2Deliver(): void { throw new Error('no nested guests'); }
  readonly arb: number[] = [];
  arbitrated(cpu: number): void { this.arb.push(cpu); this.log.push(`arbitrated ${cpu}`); }
}

const X2: MachineConfig = { vcpus: 2, apic: 'x2apic', ioapic: [] };
const XA: MachineConfig = { vcpus: 2, apic: 'xapic', ioapic: [] };

class Run {
  readonly sink = new Sink();
  readonly inst: BackendInstance;
  private n = 0;
  constructor(variant: string, m: MachineConfig = X2) { this.inst = xen.create(variant, m, this.sink); }
  do(...evs: Event[]): this { for (const e of evs) this.inst.apply(e, this.n++); return this; }
  irr(cpu = 0): number[] { return vsList(this.inst.snapshot(cpu).irr); }
  isr(cpu = 0): number[] { return vsList(this.inst.snapshot(cpu).isr); }
  read(cpu: number, reg: 'id' | 'ldr' | 'dfr' | 'svr' | 'version' | 'tmcct'): number {
    this.do({ k: 'enter', cpu }, { k: 'lapic_read', cpu, reg }, { k: 'enter', cpu });
    return this.sink.reads[this.sink.reads.length - 1]!.value as number;
  }
}

const A = 0x41;
const B = 0x51;
const VARIANTS = ['first', 'pre-fix', 'rework', '4.22'] as const;

function judge(variant: string, machine: MachineConfig, events: Event[]): string[] {
  const s: Scenario = { irqdiff: 1, machine, events };
  expect(supportsScenario(xen, s)).toBeNull();
  const r = runScenario(s, xen, variant);
  return r.divergences.map((d) => `${d.cause}:${classify([xen], d.signature)}`);
}

describe('xen: INT n (no SWINT intercept in construct_vmcb)', () => {
  it.each(VARIANTS)('%s: the INT runs in the guest without an exit; its frame (IF = 0) holds an injection until IRET', (variant) => {
    const r = new Run(variant);
    r.do({ k: 'int', cpu: 0, vector: 0x80 });
    expect(r.sink.log).toEqual(['executed 0']); // no #VMEXIT of any kind
    expect(r.inst.guest(0).IF).toBe(false);
    // An MSI while the INT handler runs: svm_intr_assist sees RFLAGS.IF = 0 (hvm_intblk_rflags_ie)
    // and opens a VINTR window instead of injecting.
    r.do({ k: 'msi', dest: 0, vector: A }, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 });
    expect(r.sink.delivered).toEqual([]);
    expect(r.irr()).toEqual([A]);
    expect(r.inst.snapshot(0).extra).toContain('vintr');
    // The handler's IRET restores IF = 1: the CPU takes the V_IRQ (#VMEXIT(VINTR)), Xen injects A.
    r.do({ k: 'iret', cpu: 0 });
    expect(r.sink.log).toContain('0 vmexit vintr');
    r.do({ k: 'enter', cpu: 0 });
    expect(r.sink.delivered).toEqual([A]);
    expect(r.isr()).toEqual([A]);
  });

  it('the same interleaving is clean against the reference on every tree', () => {
    for (const variant of VARIANTS) {
      expect(judge(variant, X2, [
        { k: 'int', cpu: 0, vector: 0x80 }, { k: 'msi', dest: 0, vector: A }, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 },
        { k: 'hlt', cpu: 1 }, { k: 'iret', cpu: 0 }, { k: 'enter', cpu: 0 }, { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 },
      ])).toEqual([]);
    }
  });
});

describe('xen: lapic_read (vlapic_read_aligned)', () => {
  it('APIC ID is vcpu_id * 2 (vlapic_reset, set_x2apic_id) in every tree', () => {
    for (const variant of VARIANTS) {
      expect(new Run(variant).read(1, 'id')).toBe(2);
      expect(new Run(variant, XA).read(1, 'id')).toBe(0x02000000);
      expect(new Run(variant).read(0, 'id')).toBe(0);
    }
  });

  it('x2APIC LDR: from vcpu_id before 90309854fd, from the APIC ID (2 x vcpu_id) in 4.22', () => {
    expect(new Run('first').read(1, 'ldr')).toBe(0x2);
    expect(new Run('rework').read(1, 'ldr')).toBe(0x2);
    expect(new Run('4.22').read(1, 'ldr')).toBe(0x4);
    // xAPIC: the flat LDR the OS wrote at boot (val & APIC_LDR_MASK), DFR flat.
    expect(new Run('4.22', XA).read(1, 'ldr')).toBe(0x02000000);
    expect(new Run('4.22', XA).read(1, 'dfr')).toBe(0xffffffff);
  });

  it('version is VLAPIC_VERSION 0x00050014; TMCCT reads 0 (TMICT never written)', () => {
    for (const variant of VARIANTS) {
      expect(new Run(variant).read(0, 'version')).toBe(0x00050014);
      expect(new Run(variant).read(0, 'tmcct')).toBe(0);
    }
  });

  it('the ID read is the documented deviation read:apic-id-twice-vcpu-id; vCPU 0 and the version are clean', () => {
    for (const variant of VARIANTS) {
      expect(judge(variant, X2, [{ k: 'lapic_read', cpu: 1, reg: 'id' }])).toEqual(['read:apic-id-twice-vcpu-id:known']);
      expect(judge(variant, XA, [{ k: 'lapic_read', cpu: 0, reg: 'id' }, { k: 'lapic_read', cpu: 0, reg: 'version' }, { k: 'lapic_read', cpu: 1, reg: 'ldr' }])).toEqual([]);
    }
    // The x2APIC LDR of vCPU 1 differs only where it is derived from the ID.
    expect(judge('rework', X2, [{ k: 'lapic_read', cpu: 1, reg: 'ldr' }])).toEqual([]);
    expect(judge('4.22', X2, [{ k: 'lapic_read', cpu: 1, reg: 'ldr' }])).toEqual(['read:apic-id-twice-vcpu-id:known']);
  });
});

describe('xen: SELF_IPI (guest_wrmsr_x2apic → vlapic_reg_write(APIC_ICR) → vlapic_ipi)', () => {
  it.each(VARIANTS)('%s: the MSR write exits and the vector lands in the writer\'s IRR before VMRUN', (variant) => {
    const r = new Run(variant);
    r.do({ k: 'self_ipi', cpu: 0, vector: A });
    expect(r.sink.log.slice(0, 6)).toEqual(['0 vmexit msr', '0 svm_vmexit_handler', '0 guest_wrmsr_x2apic(APIC_SELF_IPI)', '0 vlapic_ipi', 'executed 0', '0 vlapic_set_irq']);
    expect(r.irr()).toEqual([A]);
    expect(r.irr(1)).toEqual([]);
    r.do({ k: 'enter', cpu: 0 });
    expect(r.sink.delivered).toEqual([A]);
  });

  it('an illegal vector sets SENDILL in the sender only (vlapic_ipi breaks before any receiver): read:riv-skipped-by-sendill-break', () => {
    const r = new Run('4.22');
    r.do({ k: 'self_ipi', cpu: 0, vector: 3 }, { k: 'enter', cpu: 0 }, { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, { k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'esr' });
    expect(r.sink.reads[0]).toEqual({ cpu: 0, reg: 'esr', value: 0x20 });
    expect(judge('4.22', X2, [{ k: 'self_ipi', cpu: 0, vector: 3 }, { k: 'enter', cpu: 0 }, { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, { k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'esr' }]))
      .toEqual(['read:riv-skipped-by-sendill-break:known']);
  });
});

describe('xen: SVR software disable (vlapic_reg_write(APIC_SPIV))', () => {
  const off: Event = { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0xff };
  const on: Event = { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0x1ff };

  it.each(VARIANTS)('%s: a fixed IPI to a disabled vlapic is dropped in vlapic_accept_irq; what was pending is held, then injected', (variant) => {
    const r = new Run(variant);
    r.do({ k: 'cli', cpu: 0 }, { k: 'msi', dest: 0, vector: A }, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 }, off, { k: 'enter', cpu: 0 }, { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 });
    expect(r.read(0, 'svr')).toBe(0xff);
    r.do({ k: 'ipi', cpu: 1, vector: B, dest: 0 }, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 });
    // vlapic_has_pending_irq returns -1 while disabled: A stays in IRR, B never got there.
    expect(r.irr()).toEqual([A]);
    expect(r.sink.delivered).toEqual([]);
    r.do(on, { k: 'enter', cpu: 0 });
    expect(r.sink.delivered).toEqual([A]);
  });

  it('an MSI to a disabled vlapic: kept in IRR and injected after re-enabling before f1d7aac1e3, dropped in 4.22', () => {
    for (const variant of VARIANTS) {
      const r = new Run(variant);
      r.do(off, { k: 'enter', cpu: 0 }, { k: 'msi', dest: 0, vector: A });
      expect(r.irr()).toEqual(variant === '4.22' ? [] : [A]);
      r.do({ k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 });
      expect(r.sink.delivered).toEqual([]);
      r.do(on, { k: 'enter', cpu: 0 });
      expect(r.sink.delivered).toEqual(variant === '4.22' ? [] : [A]);
    }
    const ev: Event[] = [off, { k: 'enter', cpu: 0 }, { k: 'msi', dest: 0, vector: A }, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 }, on, { k: 'enter', cpu: 0 }];
    expect(judge('rework', X2, ev)).toEqual(['duplicate:fixed-irq-accepted-while-sw-disabled:known']);
    expect(judge('4.22', X2, ev)).toEqual([]);
  });

  it('a vIOAPIC level entry to a disabled vlapic sets Remote IRR in every tree; only the older ones put the vector in IRR and TMR', () => {
    const m: MachineConfig = { vcpus: 1, apic: 'x2apic', ioapic: [{ pin: 1, vector: 0x61, dest: 0, trigger: 'level', masked: false }] };
    for (const variant of VARIANTS) {
      const r = new Run(variant, m);
      r.do(off, { k: 'enter', cpu: 0 }, { k: 'ioapic', pin: 1, op: 'assert' });
      expect(r.irr()).toEqual(variant === '4.22' ? [] : [0x61]);
      r.do({ k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 1 });
      expect(((r.sink.reads[0]!.value as number) >> 14) & 1).toBe(1);
    }
  });

  it('before f1d7aac1e3 the level vector accepted while disabled is injected after re-enabling and its EOI clears Remote IRR: one cause', () => {
    const m: MachineConfig = { vcpus: 1, apic: 'x2apic', ioapic: [{ pin: 1, vector: 0x61, dest: 0, trigger: 'level', masked: false }] };
    const ev: Event[] = [
      // The pulse lands while disabled (the exit's svm_intr_assist is a boundary): not an
      // optional instance crossing the SVR write (REF-SVR-3).
      off, { k: 'enter', cpu: 0 }, { k: 'ioapic', pin: 1, op: 'pulse' }, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 }, on, { k: 'enter', cpu: 0 },
      { k: 'eoi', cpu: 0 }, { k: 'enter', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'ioapic', pin: 1, op: 'pulse' }, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 },
    ];
    const r = new Run('rework', m);
    r.do(...ev);
    // Injected twice: after re-enabling, and again once vioapic_update_EOI cleared Remote IRR.
    expect(r.sink.delivered).toEqual([0x61, 0x61]);
    for (const variant of ['first', 'pre-fix', 'rework']) {
      const causes = judge(variant, m, ev);
      expect(causes[0]).toBe('ioapic:fixed-irq-accepted-while-sw-disabled:known');
      expect(causes.every((c) => c.endsWith(':known'))).toBe(true);
    }
    expect(judge('4.22', m, ev)).toEqual([]);
  });

  it('the vector is the evidence: a phantom-EOI flag on the vCPU does not rename it (guided soak, rework)', () => {
    const m: MachineConfig = { vcpus: 2, apic: 'x2apic', ioapic: [], hyperv: { apicAssist: true } };
    const causes = judge('rework', m, [
      { k: 'ipi', cpu: 0, vector: 0x20, dest: 1 }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 },
      { k: 'lapic_write', cpu: 1, reg: 'svr', value: 0xff }, { k: 'msi', dest: 1, vector: 0x20 }, { k: 'enter', cpu: 1 },
      { k: 'assist', cpu: 1, on: true },
    ]);
    expect(causes).toEqual(['read:fixed-irq-accepted-while-sw-disabled:known']);
  });

  it('EOI still retires ISR while disabled (vlapic_EOI_set does not look at SVR)', () => {
    const r = new Run('4.22');
    r.do({ k: 'msi', dest: 0, vector: A }, { k: 'pirq', cpu: 0 }, { k: 'enter', cpu: 0 });
    expect(r.isr()).toEqual([A]);
    r.do(off, { k: 'enter', cpu: 0 }, { k: 'eoi', cpu: 0 });
    expect(r.isr()).toEqual([]);
  });
});

describe('xen: ESR writes (vlapic_reg_write(APIC_ESR))', () => {
  const ev: Event[] = [
    { k: 'ipi', cpu: 0, vector: 5, dest: 1 }, { k: 'enter', cpu: 0 },
    { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, { k: 'enter', cpu: 0 },
    { k: 'read', cpu: 0, reg: 'esr' }, { k: 'enter', cpu: 0 },
    { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, { k: 'enter', cpu: 0 },
    { k: 'read', cpu: 0, reg: 'esr' },
  ];
  it('4.22 (b28b590d): a write publishes pending_esr and clears it; reads after a write do not write', () => {
    const r = new Run('4.22');
    r.do(...ev);
    expect(r.sink.reads.map((x) => x.value)).toEqual([0x20, 0]);
    expect(judge('4.22', X2, ev)).toEqual([]);
  });
  it('before b28b590d the write is ignored and the error stays: read:esr-plain-read-write-register', () => {
    const r = new Run('rework');
    r.do(...ev);
    expect(r.sink.reads.map((x) => x.value)).toEqual([0x20, 0x20]);
    expect(judge('rework', X2, ev)).toEqual(['read:esr-plain-read-write-register:known']);
  });
});

// ------------------------------------------------------------------ issue 8, part 2: addressing
// vlapic_reg_write(APIC_ID/APIC_LDR/APIC_DFR), vlapic_match_dest / vlapic_match_logical_addr, and
// the callers that route through them: vlapic_ipi, vmsi_deliver, vioapic_deliver (identical in
// 10a674b4, 48a933ee, 66bf4ef0 and RELEASE-4.22.0; vlapic_match_logical_addr unchanged at c447b7308b).
const XA4: MachineConfig = { vcpus: 4, apic: 'xapic', ioapic: [] };
const X24: MachineConfig = { vcpus: 4, apic: 'x2apic', ioapic: [] };
const ent = (cpu: number): Event => ({ k: 'enter', cpu });

describe('xen: APIC ID writes (vlapic_reg_write(APIC_ID) stores the value; VLAPIC_ID follows it)', () => {
  it.each(VARIANTS)('%s: a physical IPI reaches the vCPU by its new ID, not by its old one', (variant) => {
    const r = new Run(variant, XA4);
    // vCPU 1 takes the scenario's ID 5 (Xen's renumbered 10: vlapic_reg_write stores it as written).
    r.do({ k: 'lapic_write', cpu: 1, reg: 'id', value: 0x05000000 }, ent(1));
    expect(r.sink.log).toContain('1 vlapic_reg_write(APIC_ID)');
    expect(r.read(1, 'id')).toBe(0x0a000000);
    r.do({ k: 'ipi', cpu: 0, vector: A, dest: 5 }, ent(0), { k: 'ipi', cpu: 0, vector: B, dest: 1 }, ent(0));
    expect(r.irr(1)).toEqual([A]);
    expect(r.irr(2)).toEqual([]);
    expect(r.irr(3)).toEqual([]);
    // Two vCPUs sharing an ID both accept (for_each_vcpu with vlapic_match_dest).
    r.do({ k: 'lapic_write', cpu: 3, reg: 'id', value: 0x05000000 }, ent(3), { k: 'ipi', cpu: 0, vector: B, dest: 5 }, ent(0));
    expect(r.irr(1)).toEqual([A, B]);
    expect(r.irr(3)).toEqual([B]);
  });

  it('the same interleaving is clean against the reference, an MSI and a redirection entry follow the new ID too; only the ID read shows the numbering', () => {
    const m: MachineConfig = { vcpus: 4, apic: 'xapic', ioapic: [{ pin: 2, vector: 0x62, dest: 7, trigger: 'edge', masked: false }] };
    const ev: Event[] = [
      { k: 'lapic_write', cpu: 2, reg: 'id', value: 0x07000000 }, ent(2),
      { k: 'ipi', cpu: 0, vector: A, dest: 7 }, ent(0), { k: 'msi', dest: 7, vector: B }, { k: 'ioapic', pin: 2, op: 'pulse' },
      { k: 'ipi', cpu: 0, vector: 0x71, dest: 2 }, ent(0),
      { k: 'pirq', cpu: 2 }, ent(2), { k: 'eoi', cpu: 2 }, ent(2), { k: 'iret', cpu: 2 }, ent(2), { k: 'eoi', cpu: 2 }, ent(2), { k: 'iret', cpu: 2 },
      ent(2), { k: 'eoi', cpu: 2 }, ent(2), { k: 'iret', cpu: 2 },
    ];
    for (const variant of VARIANTS) {
      const r = new Run(variant, m);
      r.do(...ev);
      expect(r.sink.delivered).toEqual([0x62, B, A]);
      expect(judge(variant, m, ev)).toEqual([]);
      expect(judge(variant, m, [...ev, ent(2), { k: 'lapic_read', cpu: 2, reg: 'id' }])).toEqual(['read:apic-id-twice-vcpu-id:known']);
    }
  });
});

describe('xen: LDR and DFR writes (vlapic_reg_write: LDR & APIC_LDR_MASK, DFR | 0x0FFFFFFF)', () => {
  it('read back as Xen stores them', () => {
    const r = new Run('4.22', XA);
    r.do({ k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x21000000 }, ent(1), { k: 'lapic_write', cpu: 1, reg: 'dfr', value: 0x0fffffff }, ent(1));
    expect(r.read(1, 'ldr')).toBe(0x21000000);
    expect(r.read(1, 'dfr')).toBe(0x0fffffff);
  });

  it.each(VARIANTS)('%s: vlapic_match_logical_addr matches each vlapic by its own DFR model', (variant) => {
    const r = new Run(variant, XA4);
    // vCPU 1: cluster 2, member 1; vCPU 2: flat, logical ID 0x20 (bit 5).
    r.do({ k: 'lapic_write', cpu: 1, reg: 'dfr', value: 0x0fffffff }, ent(1), { k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x21000000 }, ent(1),
      { k: 'lapic_write', cpu: 2, reg: 'ldr', value: 0x20000000 }, ent(2));
    r.do({ k: 'ipi', cpu: 0, vector: A, logical: true, dest: 0x21 }, ent(0));
    expect([r.irr(1), r.irr(2), r.irr(3)]).toEqual([[A], [A], []]); // cluster 2 member 1; flat 0x20 & 0x21
    r.do({ k: 'ipi', cpu: 0, vector: B, logical: true, dest: 0x11 }, ent(0));
    expect([r.irr(0), r.irr(1), r.irr(2)]).toEqual([[B], [A], [A]]); // flat vCPU 0 (bit 0); cluster 1 is not vCPU 1's
  });

  it('generated-style interleavings of these writes and logical IPIs are clean on every tree', () => {
    const ev: Event[] = [
      { k: 'lapic_write', cpu: 1, reg: 'dfr', value: 0x0fffffff }, ent(1), { k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x21000000 }, ent(1),
      { k: 'lapic_write', cpu: 3, reg: 'ldr', value: 0x20000000 }, ent(3),
      { k: 'ipi', cpu: 0, vector: A, logical: true, dest: 0x21 }, ent(0), { k: 'ipi', cpu: 0, vector: B, logical: true, dest: 0x12 }, ent(0),
      { k: 'pirq', cpu: 1 }, ent(1), { k: 'pirq', cpu: 3 }, ent(3), { k: 'read', cpu: 2, reg: 'irr' },
    ];
    for (const variant of VARIANTS) expect(judge(variant, XA4, ev)).toEqual([]);
  });
});

describe('xen: logical redirection entries (vioapic_deliver → vlapic_match_dest; TMR set by vlapic_set_irq)', () => {
  const L = 0x6a;
  const m: MachineConfig = { vcpus: 4, apic: 'xapic', ioapic: [{ pin: 3, vector: L, dest: 0x04, trigger: 'level', masked: false, logical: true }] };

  it.each(VARIANTS)('%s: a level entry to logical 0x04 goes to vCPU 2; TMR is set where it is accepted, so an LDR write before the EOI loses nothing', (variant) => {
    const r = new Run(variant, m);
    r.do({ k: 'ioapic', pin: 3, op: 'assert' }, { k: 'pirq', cpu: 2 }, ent(2));
    expect(r.sink.delivered).toEqual([L]);
    expect(r.inst.snapshot(2).extra).toContain(`tmr={0x${L.toString(16)}}`);
    // The guest moves vCPU 2 out of the entry's logical destination before EOIing: unlike bhyve's
    // vioapic_update_tmr (docs/findings/bhyve-tmr-stale-after-ldr-write.md), Xen's TMR bit is the
    // acceptance's, and vlapic_handle_EOI → vioapic_update_EOI clears Remote IRR.
    r.do({ k: 'ioapic', pin: 3, op: 'deassert' }, { k: 'lapic_write', cpu: 2, reg: 'ldr', value: 0x40000000 }, ent(2),
      { k: 'eoi', cpu: 2 }, ent(2), { k: 'iret', cpu: 2 }, { k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 3 });
    expect(r.sink.reads.at(-1)!.value).toBe(L | 1 << 11 | 1 << 15); // logical, level, Remote IRR clear
    // The next assertion is sent by the entry's MDA, which now matches no LDR.
    r.do({ k: 'ioapic', pin: 3, op: 'assert' });
    expect([0, 1, 2, 3].map((c) => r.irr(c))).toEqual([[], [], [], []]);
  });

  it('the same interleaving, and a rewrite of the entry to logical 0x08, are clean against the reference', () => {
    const ev: Event[] = [
      { k: 'ioapic', pin: 3, op: 'assert' }, { k: 'pirq', cpu: 2 }, ent(2), { k: 'ioapic', pin: 3, op: 'deassert' },
      { k: 'lapic_write', cpu: 2, reg: 'ldr', value: 0x40000000 }, ent(2), { k: 'eoi', cpu: 2 }, ent(2), { k: 'iret', cpu: 2 },
      { k: 'ioapic_write', cpu: 0, pin: 3, vector: L, dest: 0x08, trigger: 'level', masked: false, logical: true }, ent(0),
      { k: 'ioapic', pin: 3, op: 'assert' }, { k: 'pirq', cpu: 3 }, ent(3), { k: 'eoi', cpu: 3 }, ent(3), { k: 'iret', cpu: 3 },
      { k: 'ioapic', pin: 3, op: 'deassert' },
    ];
    for (const variant of VARIANTS) {
      const r = new Run(variant, m);
      r.do(...ev);
      expect(r.sink.delivered).toEqual([L, L]);
      expect(judge(variant, m, ev)).toEqual([]);
    }
  });
});

describe('xen: 32-bit x2APIC destinations (vlapic_ipi: dest = _VLAPIC_ID(vlapic, icr_high))', () => {
  it.each(VARIANTS)('%s: physical 0xFFFFFFFF is the broadcast (_VLAPIC_ID(target, 0xffffffff)); a physical ID above 255 reaches nobody', (variant) => {
    const r = new Run(variant, X24);
    r.do({ k: 'ipi', cpu: 0, vector: A, dest: 0xffffffff }, ent(0), { k: 'ipi', cpu: 0, vector: B, dest: 0x102 }, ent(0));
    // vCPU 0 (the sender) took its copy at the VMRUN after the ICR write.
    expect([0, 1, 2, 3].map((c) => [...r.isr(c), ...r.irr(c)])).toEqual([[A], [A], [A], [A]]);
  });

  it('a logical cluster-0 MDA reaches the vCPUs of its bits on every tree (4.22 derives the LDR from 2 x vcpu_id: the guest builds its MDA from it)', () => {
    const ev: Event[] = [{ k: 'ipi', cpu: 0, vector: A, logical: true, dest: 0x0000000a }, ent(0), { k: 'pirq', cpu: 1 }, ent(1), { k: 'pirq', cpu: 3 }, ent(3)];
    for (const variant of VARIANTS) {
      const r = new Run(variant, X24);
      r.do(...ev);
      expect([0, 1, 2, 3].map((c) => r.irr(c).length + r.isr(c).length)).toEqual([0, 1, 0, 1]);
      expect(judge(variant, X24, ev)).toEqual([]);
      // Another cluster addresses nobody, on Xen as on bare metal.
      expect(judge(variant, X24, [{ k: 'ipi', cpu: 0, vector: A, logical: true, dest: 0x00010003 }, ent(0)])).toEqual([]);
    }
  });

  it.each(VARIANTS)('%s: logical 0xFFFFFFFF reaches nobody — vlapic_match_logical_addr has no broadcast case (SDM 10.12.9): stuck:logical-broadcast-not-matched', (variant) => {
    const r = new Run(variant, X24);
    r.do({ k: 'ipi', cpu: 0, vector: A, logical: true, dest: 0xffffffff }, ent(0));
    expect([0, 1, 2, 3].map((c) => r.irr(c))).toEqual([[], [], [], []]);
    const causes = judge(variant, X24, [{ k: 'ipi', cpu: 0, vector: A, logical: true, dest: 0xffffffff }, ent(0), { k: 'pirq', cpu: 1 }, ent(1)]);
    expect(causes[0]).toBe('stuck:logical-broadcast-not-matched:known');
    expect(causes.every((c) => c.endsWith(':known'))).toBe(true);
  });

  it('the owed copy keeps its cause when a later IPI of the same vector is in IRR (rates seed, minimized; was stuck:irr)', () => {
    const ev: Event[] = [
      { k: 'ipi', cpu: 1, vector: 0x20, shorthand: 'all' }, ent(1), { k: 'sti', cpu: 1 },
      { k: 'ipi', cpu: 1, vector: 0x30, logical: true, dest: 0xffffffff }, ent(1),
      { k: 'ipi', cpu: 0, vector: 0x30, shorthand: 'others' }, { k: 'cli', cpu: 1 },
    ];
    const causes = judge('first', X2, ev);
    expect(causes[0]).toBe('stuck:logical-broadcast-not-matched:known');
    expect(causes.every((c) => c.endsWith(':known') || c.endsWith(':expected'))).toBe(true);
  });

  it('xAPIC: logical 0xFF misses a flat vCPU whose LDR is 0 and every cluster-model vCPU outside cluster 15', () => {
    const r = new Run('4.22', XA4);
    r.do({ k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0 }, ent(1),
      { k: 'lapic_write', cpu: 2, reg: 'dfr', value: 0x0fffffff }, ent(2), { k: 'lapic_write', cpu: 2, reg: 'ldr', value: 0x11000000 }, ent(2),
      { k: 'lapic_write', cpu: 3, reg: 'dfr', value: 0x0fffffff }, ent(3), { k: 'lapic_write', cpu: 3, reg: 'ldr', value: 0xf2000000 }, ent(3),
      { k: 'ipi', cpu: 0, vector: A, logical: true, dest: 0xff }, ent(0));
    expect([0, 1, 2, 3].map((c) => [...r.isr(c), ...r.irr(c)])).toEqual([[A], [], [], [A]]);
  });
});

describe('xen: lowest priority (vlapic_lowest_prio: lowest vlapic_get_ppr, round robin from round_robin_prev_vcpu)', () => {
  const tpr = (cpu: number, value: number): Event => ({ k: 'tpr', cpu, value, via: 'mmio' });

  it.each(VARIANTS)('%s: the enabled, matching vCPU with the lowest PPR wins; ties go round-robin after the last choice', (variant) => {
    const r = new Run(variant, X24);
    // PPRs: vCPU 0 0x30, vCPU 1 0x50, vCPU 2 0x20, vCPU 3 0x20 (TASKPRI through the MSR write).
    r.do(tpr(0, 0x30), ent(0), tpr(1, 0x50), ent(1), tpr(2, 0x20), ent(2), tpr(3, 0x20), ent(3));
    // round_robin_prev_vcpu starts at 0: the scan is 1, 2, 3, 0; strict < keeps vCPU 2 over 3.
    r.do({ k: 'msi', dest: 0x0f, vector: A, logical: true, lowest: true });
    expect(r.sink.arb).toEqual([2]);
    expect(r.irr(2)).toEqual([A]);
    // Now the scan starts after 2: 3 first, so the tie goes to vCPU 3.
    r.do({ k: 'msi', dest: 0x0f, vector: B, logical: true, lowest: true });
    expect(r.sink.arb).toEqual([2, 3]);
    expect(r.irr(3)).toEqual([B]);
    // Only the addressed vCPUs compete: logical 0x3 is vCPUs 0 and 1.
    r.do({ k: 'msi', dest: 0x03, vector: 0x61, logical: true, lowest: true });
    expect(r.sink.arb).toEqual([2, 3, 0]);
    // The choice is reported before the event is (the reference mirrors it at `executed`).
    const i = r.sink.log.lastIndexOf('arbitrated 0');
    expect(r.sink.log.indexOf('executed 10', i)).toBeGreaterThan(i);
  });

  it('a software-disabled vlapic is never chosen (vlapic_enabled); an IPI with an illegal vector moves the round robin and sets SENDILL', () => {
    const r = new Run('4.22', X24);
    r.do({ k: 'lapic_write', cpu: 1, reg: 'svr', value: 0xff }, ent(1));
    r.do({ k: 'ipi', cpu: 0, vector: 5, logical: true, dest: 0x0e, lowest: true }, ent(0));
    expect(r.sink.arb).toEqual([2]); // the scan after 0: 1 (disabled), 2 (first with the lowest PPR)
    expect([1, 2, 3].map((c) => r.irr(c))).toEqual([[], [], []]);
    r.do({ k: 'ipi', cpu: 0, vector: A, logical: true, dest: 0x0e, lowest: true }, ent(0));
    expect(r.sink.arb).toEqual([2, 3]);
    expect(r.irr(3)).toEqual([A]);
  });

  it('an illegal-vector lowest-priority IPI: SENDILL in the sender only, as for FIXED (read:riv-skipped-by-sendill-break on the chosen vCPU)', () => {
    const ev: Event[] = [
      { k: 'ipi', cpu: 0, vector: 5, logical: true, dest: 3, lowest: true }, ent(0), { k: 'pirq', cpu: 1 }, ent(1),
      { k: 'lapic_write', cpu: 1, reg: 'esr', value: 0 }, ent(1), { k: 'read', cpu: 1, reg: 'esr' },
    ];
    for (const variant of VARIANTS) expect(judge(variant, X2, ev)).toEqual(['read:riv-skipped-by-sendill-break:known']);
  });

  it('interleavings with lowest-priority IPIs, MSIs and a lowest-priority level entry are clean against the reference on every tree', () => {
    const m: MachineConfig = { vcpus: 4, apic: 'xapic', ioapic: [{ pin: 5, vector: 0x75, dest: 0x0c, trigger: 'level', masked: false, logical: true, lowest: true }] };
    const ev: Event[] = [
      tpr(2, 0x40), ent(2),
      { k: 'ioapic', pin: 5, op: 'assert' }, { k: 'pirq', cpu: 3 }, ent(3),
      { k: 'msi', dest: 0x06, vector: A, logical: true, lowest: true }, { k: 'pirq', cpu: 1 }, ent(1),
      { k: 'ipi', cpu: 0, vector: B, logical: true, dest: 0x0f, lowest: true }, ent(0), { k: 'pirq', cpu: 2 }, ent(2),
      { k: 'ioapic', pin: 5, op: 'deassert' }, { k: 'eoi', cpu: 3 }, ent(3), { k: 'iret', cpu: 3 },
      { k: 'ioapic', pin: 5, op: 'assert' }, { k: 'pirq', cpu: 3 }, ent(3), { k: 'pirq', cpu: 2 }, ent(2),
    ];
    for (const variant of VARIANTS) {
      const r = new Run(variant, m);
      r.do(...ev);
      expect(r.sink.arb.length).toBe(4);
      expect(judge(variant, m, ev)).toEqual([]);
    }
  });
});
