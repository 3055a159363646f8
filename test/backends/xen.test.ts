// The Xen (HVM on SVM, Viridian APIC assist) model on the traces that define its history:
// seed 004's crash on the 2016 and 2017 code and its absence after the 2018 rework, the
// rework's missed-EOI paths (the notes' T-nest, T-lazy, T-lower-pending), the svm_intr_assist
// steps every version shares, and the real bugs the fuzzer found in today's code.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseScenario } from '../../src/scenario/schema.js';
import type { BackendInstance, ObsSink } from '../../src/backends/api.js';
import { xen } from '../../src/backends/xen/index.js';
import { vsList, type VecSet } from '../../src/apic/vecset.js';
import { runScenario } from '../../src/engine/session.js';
import { generateAndRun } from '../../src/gen/generator.js';
import { classify } from '../../src/fuzz/classify.js';
import type { Event, MachineConfig, Reg, Scenario } from '../../src/scenario/types.js';

interface Delivery { cpu: number; vector: number; nmi: boolean; irr: number[]; isr: number[] }

/** Records what the model reports, and the vlapic state at the moment of each delivery. */
class RecSink implements ObsSink {
  inst: BackendInstance | undefined;
  readonly log: string[] = [];
  readonly deliveries: Delivery[] = [];
  readonly crashes: string[] = [];
  readonly reads: { cpu: number; reg: Reg; value: number | number[] }[] = [];
  executed(index: number): void { this.log.push(`executed ${index}`); }
  deliver(cpu: number, vector: number, nmi: boolean): void {
    const s = this.inst!.snapshot(cpu);
    this.deliveries.push({ cpu, vector, nmi, irr: vsList(s.irr), isr: vsList(s.isr) });
    this.log.push(`${cpu} deliver ${nmi ? 'nmi' : vector.toString(16)}`);
  }
  readValue(cpu: number, reg: Reg, value: VecSet | number): void {
    this.reads.push({ cpu, reg, value: typeof value === 'number' ? value : vsList(value) });
  }
  evaluate(cpu: number): void { this.log.push(`${cpu} evaluate`); }
  vmexit(cpu: number, reason: string): void { this.log.push(`${cpu} vmexit ${reason}`); }
  step(cpu: number, name: string): void { this.log.push(`${cpu} ${name}`); }
  crash(cpu: number, where: string): void { this.crashes.push(where); this.log.push(`${cpu} CRASH ${where}`); }
  l1Exit(): void { throw new Error('no nested guests'); }
  l2Deliver(): void { throw new Error('no nested guests'); }
  since(mark: number, cpu: number): string[] {
    return this.log.slice(mark).filter((l) => l.startsWith(`${cpu} `)).map((l) => l.slice(2));
  }
}

const HV: MachineConfig = { vcpus: 2, apic: 'x2apic', ioapic: [], hyperv: { apicAssist: true } };

class Run {
  readonly sink = new RecSink();
  readonly inst: BackendInstance;
  private n = 0;
  constructor(variant: string, m: MachineConfig = HV) {
    this.inst = xen.create(variant, m, this.sink);
    this.sink.inst = this.inst;
  }
  do(...evs: Event[]): this {
    for (const e of evs) this.inst.apply(e, this.n++);
    return this;
  }
  mark(): number { return this.sink.log.length; }
  irr(cpu = 0): number[] { return vsList(this.inst.snapshot(cpu).irr); }
  isr(cpu = 0): number[] { return vsList(this.inst.snapshot(cpu).isr); }
  /** The assist part of the trace line: "bit=1 pending=1", "bit=1 vector=0x41". */
  assist(cpu = 0): string {
    const m = /assist\[msr=\d mapped=\d (bit=\d (?:pending=\d|vector=[-0-9a-fx]+))\]/.exec(this.inst.snapshot(cpu).extra ?? '');
    return m ? m[1]! : '';
  }
  delivered(vector: number, cpu = 0): number {
    return this.sink.deliveries.filter((d) => d.cpu === cpu && d.vector === vector && !d.nmi).length;
  }
}

const A = 0x41;
const B = 0x51;
const msi = (vector: number, dest = 0): Event => ({ k: 'msi', dest, vector });
const enter = (cpu = 0): Event => ({ k: 'enter', cpu });
const pirq = (cpu = 0): Event => ({ k: 'pirq', cpu });
const eoi = (cpu = 0, assist = false): Event => (assist ? { k: 'eoi', cpu, assist } : { k: 'eoi', cpu });

describe('xen: seed 004, a guest that ignores "No EOI required" (66bf4ef0)', () => {
  it('pre-fix (48a933ee): the normal EOI leaves bit 0 set and A latched; the next ack crashes the domain', () => {
    const r = new Run('pre-fix');
    r.do(msi(A));
    expect(r.inst.physPending(0)).toBe(true); // vcpu_kick: VCPU_KICK_SOFTIRQ and the event-check IPI
    let m = r.mark();
    r.do(pirq(), enter());
    expect(r.sink.since(m, 0)).toEqual([
      'vmexit intr', 'event_check_interrupt', 'svm_vmexit_handler',
      'svm_intr_assist', 'evaluate', 'vlapic_ack_pending_irq', 'viridian_start_apic_assist', 'svm_inject_extint', 'deliver 41',
      // The kick's softirq is still pending at the CLGI check: one more round of svm_intr_assist.
      'CLGI', 'do_softirq', 'svm_intr_assist', 'evaluate', 'CLGI', 'VMRUN',
    ]);
    // IRR → ISR before VMRUN; the assist is latched and the bit set in guest memory.
    expect(r.sink.deliveries[0]).toEqual({ cpu: 0, vector: A, nmi: false, irr: [], isr: [A] });
    expect(r.assist()).toBe('bit=1 vector=0x41');

    // The guest ignores the bit and EOIs: vlapic_EOI_set has no viridian code.
    m = r.mark();
    r.do(eoi());
    expect(r.sink.since(m, 0)).toEqual(['vmexit msr', 'svm_vmexit_handler', 'guest_wrmsr_x2apic', 'vlapic_EOI_set']);
    expect(r.isr()).toEqual([]);
    expect(r.assist()).toBe('bit=1 vector=0x41');

    // The handler returns; B arrives; vlapic_has_pending_irq finds the bit set (not completed)
    // and ISR empty (no abort); vlapic_ack_pending_irq starts an assist on top of the latch.
    r.do(enter(), { k: 'iret', cpu: 0 }, msi(B), pirq());
    m = r.mark();
    r.do(enter());
    expect(r.sink.since(m, 0).slice(0, 5)).toEqual(['svm_intr_assist', 'evaluate', 'vlapic_ack_pending_irq', 'viridian_start_apic_assist', 'CRASH viridian_start_apic_assist']);
    expect(r.sink.crashes).toEqual(['viridian_start_apic_assist']);
    expect(r.inst.where(0)).toBe('blocked');
  });

  it('first (10a674b4): the same sequence reaches the same domain_crash', () => {
    const r = new Run('first');
    r.do(msi(A), pirq(), enter(), eoi(), enter(), { k: 'iret', cpu: 0 }, msi(B), pirq(), enter());
    expect(r.sink.crashes).toEqual(['viridian_start_apic_assist']);
  });

  it('rework (66bf4ef0): the normal EOI clears bit 0 and pending; B gets an assist of its own', () => {
    const r = new Run('rework');
    r.do(msi(A), pirq(), enter());
    expect(r.assist()).toBe('bit=1 pending=1');
    const m = r.mark();
    r.do(eoi());
    expect(r.sink.since(m, 0)).toContain('vlapic_EOI_set');
    expect(r.assist()).toBe('bit=0 pending=0'); // "the guest chose to EOI anyway then we need to clean up state"
    r.do(enter(), { k: 'iret', cpu: 0 }, msi(B), pirq(), enter());
    expect(r.sink.crashes).toEqual([]);
    expect(r.delivered(B)).toBe(1);
    expect(r.assist()).toBe('bit=1 pending=1');
  });

  it('the corpus reproducer: crash on first and pre-fix, clean on rework and 4.22', () => {
    const s: Scenario = { irqdiff: 1, machine: { ...HV, vcpus: 1 }, events: [msi(A), pirq(), enter(), eoi(), msi(B), enter()] };
    expect(runScenario(s, xen, 'first').primary?.signature).toBe('xen/first:crash:viridian_start_apic_assist');
    expect(runScenario(s, xen, 'pre-fix').primary?.signature).toBe('xen/pre-fix:crash:viridian_start_apic_assist');
    expect(runScenario(s, xen, 'rework').divergences).toEqual([]);
    expect(runScenario(s, xen, '4.22').divergences).toEqual([]);
  });
});

describe('xen: the rework\'s missed-EOI paths (notes B.8)', () => {
  it('T-nest: a higher vector nests under the assist; the guest skips its EOI; the real EOI retires both, highest first', () => {
    const r = new Run('rework');
    r.do(msi(A), pirq(), enter(), { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, msi(B), pirq(), enter());
    expect(r.isr()).toEqual([A, B]);
    expect(r.assist()).toBe('bit=1 pending=1'); // kept: B is of higher priority
    r.do(eoi(0, true)); // B's handler: bit set → cleared, no exit
    expect(r.inst.where(0)).toBe('guest');
    expect(r.isr()).toEqual([A, B]); // not seen yet
    r.do({ k: 'iret', cpu: 0 });
    const m = r.mark();
    r.do(eoi(0, true)); // A's handler: bit clear → HV_X64_MSR_EOI
    expect(r.sink.since(m, 0)).toEqual([
      'vmexit msr', 'svm_vmexit_handler', 'viridian_wrmsr(HV_X64_MSR_EOI)', 'vlapic_EOI_set', 'viridian_apic_assist_completed',
    ]);
    expect(r.isr()).toEqual([]);
  });

  it('T-lazy: an avoided EOI is emulated in full by vlapic_has_pending_irq when the next vector arrives', () => {
    const r = new Run('rework');
    r.do(msi(A), pirq(), enter(), eoi(0, true), { k: 'iret', cpu: 0 });
    expect(r.isr()).toEqual([A]); // stale until Xen looks
    const m = r.mark();
    r.do(msi(A), pirq(), enter());
    expect(r.sink.since(m, 0)).toContain('viridian_apic_assist_completed');
    expect(r.delivered(A)).toBe(2);
    expect(r.isr()).toEqual([A]);
  });

  it('T-lower-pending: the second vlapic_has_pending_irq clears the bit before entry, so the EOI exits', () => {
    const r = new Run('rework');
    r.do({ k: 'exit', cpu: 0, reason: 'timer' }, msi(0x31), msi(A), enter());
    expect(r.delivered(A)).toBe(1);
    expect(r.irr()).toEqual([0x31]);
    expect(r.assist()).toBe('bit=0 pending=0');
    r.do(eoi(0, true));
    expect(r.inst.where(0)).toBe('hv');
    r.do(enter(), { k: 'iret', cpu: 0 }, enter());
    expect(r.delivered(0x31)).toBe(1);
  });

  it('pre-fix (4361e80d): any vector in service aborts the assist, so a nested interrupt\'s EOI always exits', () => {
    const r = new Run('pre-fix');
    r.do(msi(A), pirq(), enter(), { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, msi(B), pirq(), enter());
    expect(r.isr()).toEqual([A, B]);
    expect(r.assist()).toBe('bit=0 vector=0x00');
    r.do(eoi(0, true));
    expect(r.inst.where(0)).toBe('hv');
  });
});

describe('xen: svm_intr_assist and the entry path (every version)', () => {
  it('a pending vector behind IF = 0 opens a VINTR window; the exit comes when the guest sets IF', () => {
    const r = new Run('4.22', { vcpus: 1, apic: 'x2apic', ioapic: [] });
    r.do({ k: 'cli', cpu: 0 }, msi(A), pirq(), enter());
    expect(r.delivered(A)).toBe(0);
    expect(r.inst.snapshot(0).extra).toContain('v_irq(prio=4) vintr');
    const m = r.mark();
    r.do({ k: 'sti', cpu: 0 });
    expect(r.inst.where(0)).toBe('guest'); // the STI shadow covers the next instruction
    r.do({ k: 'step', cpu: 0 });
    expect(r.sink.since(m, 0)).toContain('vmexit vintr');
    r.do(enter());
    expect(r.delivered(A)).toBe(1);
  });

  it('a faulting delivery is re-injected from EXITINTINFO without a second ack', () => {
    const r = new Run('4.22', { vcpus: 1, apic: 'x2apic', ioapic: [] });
    r.do(msi(A), pirq(), { k: 'fault', cpu: 0 }, enter());
    expect(r.inst.where(0)).toBe('hv');
    expect(r.inst.guest(0).frames.length).toBe(0);
    const m = r.mark();
    r.do(enter());
    expect(r.sink.since(m, 0)).not.toContain('vlapic_ack_pending_irq');
    expect(r.inst.guest(0).top()?.vector).toBe(A);
    expect(r.delivered(A)).toBe(1);
  });

  it('HLT blocks; a kick for a deliverable vector wakes it; a kick for a masked one ends the HLT with nothing injected', () => {
    const r = new Run('4.22', { vcpus: 1, apic: 'x2apic', ioapic: [] });
    r.do({ k: 'hlt', cpu: 0 });
    expect(r.inst.where(0)).toBe('blocked');
    r.do(msi(A));
    expect(r.inst.where(0)).toBe('hv');
    r.do(enter());
    expect(r.delivered(A)).toBe(1);
    // In A's handler (IF = 0 is irrelevant to the HLT check here: STI first), B of the same class.
    r.do({ k: 'sti', cpu: 0 }, { k: 'hlt', cpu: 0 }, msi(0x42), enter());
    expect(r.delivered(0x42)).toBe(0);
    expect(r.inst.guest(0).halted).toBe(false); // hvm_hlt does not loop
    expect(r.inst.explain!(0, 'ran-while-halted', -1)).toBe('hlt-ended-by-kick-for-undeliverable-irq');
  });

  it('vIOAPIC: Remote IRR holds a level line; the EOI re-sends it while asserted (TMR kept only since 12a50030)', () => {
    const pins = [{ pin: 0, vector: 0x60, dest: 0, trigger: 'level' as const, masked: false }];
    for (const [variant, tmrAfterEoi] of [['rework', []], ['4.22', [0x60]]] as const) {
      const r = new Run(variant, { vcpus: 1, apic: 'x2apic', ioapic: pins });
      r.do({ k: 'ioapic', pin: 0, op: 'assert' }, pirq(), enter());
      expect(r.delivered(0x60)).toBe(1);
      r.do({ k: 'ioapic', pin: 0, op: 'pulse' }); // deasserted, no message: Remote IRR is set
      r.do({ k: 'ioapic', pin: 0, op: 'assert' }, eoi());
      expect(r.irr()).toEqual([0x60]); // vioapic_update_EOI re-sent the asserted line
      r.do({ k: 'ioapic', pin: 0, op: 'deassert' }, enter(), { k: 'iret', cpu: 0 }, enter(), eoi(), enter(), { k: 'read', cpu: 0, reg: 'tmr' });
      expect(r.sink.reads.at(-1)?.value).toEqual(tmrAfterEoi);
    }
  });
});

describe('xen: what the fuzzer found in today\'s code (4.22)', () => {
  it('a VP-assist MSR write under a pending assist clears the page: Xen emulates an EOI the guest never avoided', () => {
    const r = new Run('4.22', { ...HV, vcpus: 1 });
    r.do(msi(A), pirq(), enter());
    expect(r.assist()).toBe('bit=1 pending=1');
    r.do({ k: 'assist', cpu: 0, on: true }); // viridian_synic_wrmsr: unmap, map (clear_page)
    expect(r.assist()).toBe('bit=0 pending=1');
    r.do(msi(A), enter());
    expect(r.isr()).toEqual([]); // A retired while its handler runs
    expect(r.inst.guest(0).top()?.vector).toBe(A);
  });

  it('an avoided EOI is never retired once the guest disables its VP assist page', () => {
    const r = new Run('4.22', { ...HV, vcpus: 1 });
    r.do(msi(A), pirq(), enter(), eoi(0, true), { k: 'assist', cpu: 0, on: false }, enter(), { k: 'iret', cpu: 0 });
    r.do(msi(0x31), pirq(), enter());
    expect(r.isr()).toEqual([A]);
    expect(r.delivered(0x31)).toBe(0);
    expect(r.inst.whereStuck!(0, 0x31)).toBe('avoided-eoi-lost-on-vp-assist-unmap');
  });

  it('an NMI pending when the guest executes CLI; HLT is lost: hvm_hlt takes the vCPU down', () => {
    const s: Scenario = {
      irqdiff: 1, machine: { vcpus: 2, apic: 'x2apic', ioapic: [] },
      events: [{ k: 'ipi', cpu: 1, vector: 0, dest: 0, nmi: true }, { k: 'cli', cpu: 0 }, { k: 'hlt', cpu: 0 }],
    };
    const res = runScenario(s, xen, '4.22');
    expect(res.primary?.signature).toBe('xen/4.22:stuck:nmi-pending-vcpu-down');
    expect(res.primary?.symptoms).toContain('lost:nmi');
  });
});

describe('xen: generated interleavings', () => {
  // Every divergence on a generated scenario must be the variant's subject (expectedBugs) or
  // a declared real deviation (knownDeviations); the clean variants have no expected bugs.
  for (const info of xen.variants) {
    it(`${info.name}: nothing outside expectedBugs and knownDeviations over 2000 seeds`, () => {
      const unexplained: string[] = [];
      let expectedHits = 0;
      for (let i = 0; i < 2000; i++) {
        const r = generateAndRun(`xen-${i}`, xen, info.name).result;
        for (const d of r.divergences) {
          const c = classify([xen], d.signature);
          if (c === 'expected') expectedHits++;
          else if (c !== 'known') unexplained.push(`xen-${i}: ${d.signature}`);
        }
      }
      expect(unexplained).toEqual([]);
      if (info.status === 'buggy') expect(expectedHits).toBeGreaterThan(0);
      else expect(expectedHits).toBe(0);
    });
  }
});

describe('xen: redirection-table writes and vIOAPIC reads (vioapic_write_redirent, vioapic_read_indirect)', () => {
  const W = 0x2f;
  const m2 = (dest: number, masked = false): MachineConfig => ({ vcpus: 2, apic: 'x2apic', ioapic: [{ pin: 0, vector: W, dest, trigger: 'level', masked }] });
  const write = (cpu: number, dest: number, masked = false): Event => ({ k: 'ioapic_write', cpu, pin: 0, vector: W, dest, trigger: 'level', masked });

  it('declares exactly the programming it models (the timer since issue 8, I/O APIC ID/version/arbitration writes since session 10; no LINTs, no machine.apicIds)', () => {
    expect([...xen.features ?? []].sort()).toEqual([
      'int', 'ioapic.logical', 'ioapic.lowest', 'ioapic_read', 'ioapic_reg_write', 'ioapic_write', 'ipi.dest32', 'ipi.lowest', 'lapic_read.dfr', 'lapic_read.id', 'lapic_read.ldr', 'lapic_read.svr',
      'lapic_read.tmcct', 'lapic_read.version', 'lapic_write.dfr', 'lapic_write.esr', 'lapic_write.id', 'lapic_write.ldr', 'lapic_write.svr', 'lvt_timer', 'msi.lowest', 'self_ipi',
      'time', 'tsc_deadline',
    ]);
  });

  it('moving an in-service level pin keeps Remote IRR; the EOI (TMR latched at acceptance) clears it and re-sends to the new destination', () => {
    for (const variant of ['first', 'pre-fix', 'rework', '4.22']) {
      const r = new Run(variant, m2(1));
      r.do({ k: 'ioapic', pin: 0, op: 'assert' }, pirq(1), enter(1));
      expect(r.delivered(W, 1)).toBe(1);
      r.do(write(0, 0), enter(0), { k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 0 });
      expect(r.sink.reads.at(-1)!.value).toBe(W | 1 << 14 | 1 << 15);
      r.do(eoi(1));
      expect(r.irr(0)).toEqual([W]);
    }
  });

  it('unmasking a level pin whose line is high sends once (low word), the top word never sends', () => {
    const r = new Run('4.22', m2(1, true));
    r.do({ k: 'ioapic', pin: 0, op: 'assert' });
    expect(r.irr(0)).toEqual([]);
    r.do(write(0, 0));
    expect(r.irr(0)).toEqual([W]);
    expect(r.irr(1)).toEqual([]);
  });

  it('vioapic_read_indirect: ID 0 (hvmloader writes 0x01 unshifted), version 0x11 with 48 entries', () => {
    const r = new Run('4.22', m2(1));
    r.do({ k: 'ioapic_read', cpu: 0, reg: 'id' }, enter(0), { k: 'ioapic_read', cpu: 0, reg: 'version' },
      enter(0), { k: 'ioapic_read', cpu: 0, reg: 'redir-hi', pin: 0 });
    expect(r.sink.reads.map((x) => x.value)).toEqual([0, 0x002f0011, 0x01000000]);
  });

  it('the bhyve reproducer of the lost EOI is clean on every Xen version', () => {
    const f = 'corpus/xen/xen-rtbl-write-move-in-service-clean.json';
    const s = parseScenario(readFileSync(f, 'utf8'), f);
    for (const v of ['first', 'pre-fix', 'rework', '4.22']) expect(runScenario(s, xen, v).divergences).toEqual([]);
  });
});
