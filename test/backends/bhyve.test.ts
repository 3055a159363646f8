// The bhyve (AMD SVM) model on the traces that define its history: the lost IPI of seed 000
// on both variants, EXITINTINFO re-injection, HLT wake-up, IOAPIC level re-delivery, and
// the real deviations the variants declare; today's main (PPR left stale by vlapic_intr_accepted).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { BackendInstance, ObsSink } from '../../src/backends/api.js';
import { bhyve } from '../../src/backends/bhyve/index.js';
import { findBackend } from '../../src/backends/registry.js';
import { vsList, type VecSet } from '../../src/apic/vecset.js';
import { runScenario } from '../../src/engine/session.js';
import { generateAndRun } from '../../src/gen/generator.js';
import { classify } from '../../src/fuzz/classify.js';
import { parseScenario } from '../../src/scenario/schema.js';
import type { Event, MachineConfig, Reg } from '../../src/scenario/types.js';

interface Delivery { cpu: number; vector: number; nmi: boolean; irr: number[]; isr: number[] }

/** Records what the model reports, and the vlapic state at the moment of each delivery. */
class RecSink implements ObsSink {
  inst: BackendInstance | undefined;
  readonly log: string[] = [];
  readonly deliveries: Delivery[] = [];
  readonly reads: { cpu: number; reg: Reg; value: number | number[] }[] = [];
  executed(index: number): void { this.log.push(`executed ${index}`); }
  deliver(cpu: number, vector: number, nmi: boolean): void {
    const s = this.inst!.snapshot(cpu);
    this.deliveries.push({ cpu, vector, nmi, irr: vsList(s.irr), isr: vsList(s.isr) });
    this.log.push(`${cpu} deliver ${nmi ? 'nmi' : vector}`);
  }
  readValue(cpu: number, reg: Reg, value: VecSet | number): void {
    this.reads.push({ cpu, reg, value: typeof value === 'number' ? value : vsList(value) });
  }
  evaluate(cpu: number): void { this.log.push(`${cpu} evaluate`); }
  vmexit(cpu: number, reason: string): void { this.log.push(`${cpu} vmexit ${reason}`); }
  step(cpu: number, name: string): void { this.log.push(`${cpu} ${name}`); }
  crash(cpu: number, where: string, message: string): void { this.log.push(`${cpu} CRASH ${where}: ${message}`); }
  l1Exit(): void { throw new Error('no nested guests'); }
  l2Deliver(): void { throw new Error('no nested guests'); }
  /** Log lines since `mark` for one vCPU (without the "cpu " prefix). */
  since(mark: number, cpu: number): string[] {
    return this.log.slice(mark).filter((l) => l.startsWith(`${cpu} `)).map((l) => l.slice(2));
  }
}

function machine(vcpus = 2, extra: Partial<MachineConfig> = {}): MachineConfig {
  return { vcpus, apic: 'x2apic', ioapic: [], ...extra };
}

class Run {
  readonly sink = new RecSink();
  readonly inst: BackendInstance;
  private n = 0;
  constructor(variant: string, m: MachineConfig = machine()) {
    this.inst = bhyve.create(variant, m, this.sink);
    this.sink.inst = this.inst;
  }
  do(...evs: Event[]): this {
    for (const e of evs) this.inst.apply(e, this.n++);
    return this;
  }
  mark(): number { return this.sink.log.length; }
  irr(cpu: number): number[] { return vsList(this.inst.snapshot(cpu).irr); }
  isr(cpu: number): number[] { return vsList(this.inst.snapshot(cpu).isr); }
  delivered(cpu: number, vector: number): number {
    return this.sink.deliveries.filter((d) => d.cpu === cpu && d.vector === vector && !d.nmi).length;
  }
}

const V = 0x41;
const ipi = (cpu: number, dest: number, vector = V): Event => ({ k: 'ipi', cpu, vector, dest });

describe('bhyve: seed 000, the lost IPI (vmm/svm: post LAPIC interrupts using event injection)', () => {
  it('prefix: the handler runs with V still in IRR; the second IPI collapses into it and runs nothing', () => {
    const r = new Run('prefix');
    r.do(ipi(0, 1));
    // The sender's ICR write trapped (x2APIC MSR intercept) and a host IPI is latched for vCPU1.
    expect(r.irr(1)).toEqual([V]);
    expect(r.inst.physPending(1)).toBe(true);
    expect(r.inst.where(0)).toBe('hv');

    let m = r.mark();
    r.do({ k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 });
    expect(r.sink.since(m, 1)).toEqual([
      'vmexit extintr', 'justreturn', 'svm_vmexit', 'svm_update_virqinfo', 'svm_save_intinfo',
      'disable_gintr', 'svm_inj_interrupts', 'evaluate', 'V_IRQ', 'svm_launch',
      'V_IRQ taken', 'deliver 65',
    ]);
    // The guest's handler has started, but bhyve's vlapic does not know: IRR={V}, ISR={}.
    expect(r.sink.deliveries).toEqual([{ cpu: 1, vector: V, nmi: false, irr: [V], isr: [] }]);
    expect(r.inst.where(1)).toBe('guest');

    // The handler acknowledges through memory; vCPU0 sees it and sends V again: no exit on vCPU1.
    r.do({ k: 'work', cpu: 1, flag: 0 }, { k: 'enter', cpu: 0 }, { k: 'wait', cpu: 0, flag: 0 });
    m = r.mark();
    r.do(ipi(0, 1));
    expect(r.sink.since(m, 1)).toEqual(['vlapic_set_intr_ready']);
    expect(r.irr(1)).toEqual([V]); // collapsed: one bit for two requests
    expect(r.inst.physPending(1)).toBe(true);

    // The first #VMEXIT accepts the vector that was taken: IRR={} ISR={V}; the second IPI is gone.
    m = r.mark();
    r.do({ k: 'pirq', cpu: 1 });
    expect(r.sink.since(m, 1)).toEqual(['vmexit extintr', 'justreturn', 'svm_vmexit', 'svm_update_virqinfo',
      'vlapic_intr_accepted', 'svm_save_intinfo']);
    expect(r.irr(1)).toEqual([]);
    expect(r.isr(1)).toEqual([V]);
    expect(r.inst.whereStuck!(1, V)).toBe('collapsed-into-taken-v_irq');

    r.do({ k: 'enter', cpu: 1 }, { k: 'eoi', cpu: 1 }, { k: 'enter', cpu: 1 }, { k: 'iret', cpu: 1 },
      { k: 'enter', cpu: 1 }, { k: 'exit', cpu: 1, reason: 'timer' }, { k: 'enter', cpu: 1 });
    expect(r.isr(1)).toEqual([]);
    expect(r.irr(1)).toEqual([]);
    expect(r.delivered(1, V)).toBe(1);
  });

  it('fixed: V is accepted before VMRUN, the second IPI stays pending and runs the handler again after EOI', () => {
    const r = new Run('fixed');
    r.do(ipi(0, 1));
    let m = r.mark();
    r.do({ k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 });
    expect(r.sink.since(m, 1)).toEqual([
      'vmexit extintr', 'justreturn', 'svm_vmexit', 'svm_update_virqinfo', 'svm_save_intinfo',
      'disable_gintr', 'svm_inj_interrupts', 'evaluate', 'vlapic_intr_accepted', 'deliver 65',
      'enable_intr_window_exiting', 'svm_launch',
    ]);
    // IRR→ISR happened before the handler starts, as on bare metal.
    expect(r.sink.deliveries[0]).toEqual({ cpu: 1, vector: V, nmi: false, irr: [], isr: [V] });

    r.do({ k: 'work', cpu: 1, flag: 0 }, { k: 'enter', cpu: 0 }, { k: 'wait', cpu: 0, flag: 0 }, ipi(0, 1));
    expect(r.irr(1)).toEqual([V]); // a fresh IRR bit, no collapse
    expect(r.isr(1)).toEqual([V]);

    // The kick makes vCPU1 exit, but V is not above PPR (V is in service): nothing is injected.
    m = r.mark();
    r.do({ k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 });
    expect(r.sink.since(m, 1)).not.toContain('deliver 65');
    expect(r.inst.where(1)).toBe('guest');

    // EOI traps; V is now deliverable but IF=0 in the handler: a VINTR window is armed.
    r.do({ k: 'eoi', cpu: 1 }, { k: 'enter', cpu: 1 });
    expect(r.delivered(1, V)).toBe(1);
    m = r.mark();
    r.do({ k: 'iret', cpu: 1 }); // IF=1: the window exit is taken at once
    expect(r.sink.since(m, 1)).toContain('vmexit vintr');
    r.do({ k: 'enter', cpu: 1 });
    expect(r.delivered(1, V)).toBe(2);
    expect(r.sink.deliveries[1]).toEqual({ cpu: 1, vector: V, nmi: false, irr: [], isr: [V] });
  });

  it('the variants differ only in svm_inj_interrupts / svm_update_virqinfo: same exits for a lone IPI', () => {
    const exits = (variant: string) => {
      const r = new Run(variant);
      r.do(ipi(0, 1), { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 }, { k: 'eoi', cpu: 1 },
        { k: 'enter', cpu: 1 }, { k: 'iret', cpu: 1 });
      return { exits: r.sink.log.filter((l) => l.includes('vmexit')), delivered: r.delivered(1, V), isr: r.isr(1) };
    };
    const p = exits('prefix');
    const f = exits('fixed');
    expect(p.delivered).toBe(1);
    expect(f.delivered).toBe(1);
    expect(p.isr).toEqual([]);
    expect(f.isr).toEqual([]);
    // The window armed after the injection is disarmed at the EOI exit's entry: same exits.
    expect(f.exits).toEqual(p.exits);
  });
});

describe('bhyve: EXITINTINFO re-injection', () => {
  for (const variant of ['prefix', 'fixed']) {
    it(`${variant}: a delivery that faults is re-injected through EVENTINJ, with no second acceptance`, () => {
      const r = new Run(variant);
      r.do({ k: 'fault', cpu: 1 }, ipi(0, 1), { k: 'pirq', cpu: 1 });
      const m = r.mark();
      r.do({ k: 'enter', cpu: 1 });
      const log = r.sink.since(m, 1);
      // The delivery started (committed once) and took #VMEXIT(NPF) with EXITINTINFO.
      expect(log).toContain('vmexit nptfault');
      expect(log.filter((l) => l === 'deliver 65')).toHaveLength(1);
      expect(r.inst.where(1)).toBe('hv');
      expect(r.inst.snapshot(1).extra).toContain('exitintinfo=0x41');
      expect(r.isr(1)).toEqual([V]);
      expect(r.irr(1)).toEqual([]);

      const m2 = r.mark();
      r.do({ k: 'enter', cpu: 1 });
      const log2 = r.sink.since(m2, 1);
      expect(log2).toContain('svm_inj_intinfo');
      expect(log2).not.toContain('vlapic_intr_accepted');
      expect(log2.some((l) => l.startsWith('deliver'))).toBe(false);
      expect(r.inst.where(1)).toBe('guest');
      expect(r.sink.log.filter((l) => l === '1 vlapic_intr_accepted')).toHaveLength(1);
      expect(r.isr(1)).toEqual([V]);
      expect(r.inst.snapshot(1).extra).toContain('stk=[0x41]');
      // The guest core took it once: one frame.
      expect(r.inst.guest(1).frames.map((f) => f.vector)).toEqual([V]);
    });
  }
});

describe('bhyve: HLT', () => {
  for (const variant of ['prefix', 'fixed']) {
    it(`${variant}: vm_handle_hlt sleeps, vcpu_notify_event wakes it, the entry delivers`, () => {
      const r = new Run(variant);
      r.do({ k: 'hlt', cpu: 1 });
      expect(r.inst.where(1)).toBe('blocked');
      expect(r.inst.snapshot(1).extra).toContain('SLEEPING');
      r.do({ k: 'enter', cpu: 1 }); // nothing woke it: still asleep
      expect(r.inst.where(1)).toBe('blocked');

      r.do(ipi(0, 1));
      expect(r.inst.physPending(1)).toBe(false); // SLEEPING: wakeup_one, no IPI
      expect(r.inst.where(1)).toBe('hv');
      r.do({ k: 'enter', cpu: 1 });
      expect(r.delivered(1, V)).toBe(1);
      expect(r.inst.where(1)).toBe('guest');
      expect(r.inst.guest(1).halted).toBe(false);
    });
  }

  it('a wake-up for a vector blocked by PPR goes back to sleep', () => {
    const r = new Run('fixed');
    r.do({ k: 'tpr', cpu: 1, value: 0x50, via: 'mmio' }, { k: 'enter', cpu: 1 }, { k: 'hlt', cpu: 1 }, ipi(0, 1));
    expect(r.inst.where(1)).toBe('hv'); // woken (the notification is unconditional)
    r.do({ k: 'enter', cpu: 1 });
    expect(r.inst.where(1)).toBe('blocked');
    expect(r.delivered(1, V)).toBe(0);
  });

  it('HLT with IF=0 wakes only for an NMI', () => {
    const r = new Run('fixed');
    r.do({ k: 'cli', cpu: 1 }, { k: 'hlt', cpu: 1 }, ipi(0, 1), { k: 'enter', cpu: 1 });
    expect(r.inst.where(1)).toBe('blocked');
    r.do({ k: 'enter', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true }, { k: 'enter', cpu: 1 });
    expect(r.sink.deliveries.map((d) => d.nmi)).toEqual([true]);
    expect(r.inst.where(1)).toBe('guest');
  });
});

describe('bhyve: vIOAPIC', () => {
  const LV = 0x6e;
  const pins = (trigger: 'edge' | 'level') => machine(2, { ioapic: [{ pin: 3, vector: LV, dest: 1, trigger, masked: false }] });

  for (const variant of ['prefix', 'fixed']) {
    it(`${variant}: level EOI with the line still asserted re-delivers; after deassert it does not`, () => {
      const r = new Run(variant, pins('level'));
      // TMR follows the redirection table (vioapic_update_tmr), before any interrupt.
      expect(r.inst.snapshot(1).extra).toBeDefined();
      r.do({ k: 'read', cpu: 1, reg: 'tmr' }, { k: 'enter', cpu: 1 });
      expect(r.sink.reads[0]).toEqual({ cpu: 1, reg: 'tmr', value: [LV] });

      r.do({ k: 'ioapic', pin: 3, op: 'assert' }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 });
      expect(r.delivered(1, LV)).toBe(1);
      // A second assertion while the line is held sends nothing.
      const m0 = r.mark();
      r.do({ k: 'ioapic', pin: 3, op: 'assert' });
      expect(r.sink.since(m0, 1)).toEqual([]);

      const m = r.mark();
      r.do({ k: 'eoi', cpu: 1 }); // TMR set: vioapic_process_eoi clears Remote IRR and re-sends
      expect(r.sink.since(m, 1)).toEqual(expect.arrayContaining(['vioapic_process_eoi', 'vlapic_set_intr_ready']));
      expect(r.irr(1)).toEqual([LV]);
      r.do({ k: 'enter', cpu: 1 }, { k: 'iret', cpu: 1 }, { k: 'enter', cpu: 1 });
      expect(r.delivered(1, LV)).toBe(2);

      r.do({ k: 'ioapic', pin: 3, op: 'deassert' }, { k: 'eoi', cpu: 1 });
      expect(r.irr(1)).toEqual([]);
      r.do({ k: 'enter', cpu: 1 }, { k: 'iret', cpu: 1 }, { k: 'enter', cpu: 1 });
      expect(r.delivered(1, LV)).toBe(2);
    });
  }

  it('known deviation: a reassertion before the EOI sends again although Remote IRR is set', () => {
    const r = new Run('fixed', pins('level'));
    r.do({ k: 'ioapic', pin: 3, op: 'assert' }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 });
    r.do({ k: 'ioapic', pin: 3, op: 'deassert' }, { k: 'ioapic', pin: 3, op: 'assert' });
    expect(r.irr(1)).toEqual([LV]); // bare metal would hold it behind Remote IRR
  });

  it('known deviation: unmasking an edge pin whose line is high sends it', () => {
    const r = new Run('fixed', pins('edge'));
    r.do({ k: 'ioapic', pin: 3, op: 'mask' }, { k: 'ioapic', pin: 3, op: 'assert' });
    expect(r.irr(1)).toEqual([]);
    r.do({ k: 'ioapic', pin: 3, op: 'unmask' });
    expect(r.irr(1)).toEqual([LV]);
  });
});

describe('bhyve: the deviations the variants declare are real and reachable', () => {
  it('prefix: NMI window leaves the VINTR intercept on under a real V_IRQ vector: exit storm (notes A.7)', () => {
    const storm = (variant: string) => {
      const r = new Run(variant);
      const nmi: Event = { k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true };
      r.do(nmi, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 }, { k: 'enter', cpu: 0 }); // NMI 1 injected
      r.do(nmi, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 }, { k: 'enter', cpu: 0 }); // NMI 2 blocked
      r.do(ipi(0, 1), { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 }, { k: 'enter', cpu: 0 });
      r.do({ k: 'iret', cpu: 1 }, { k: 'enter', cpu: 1 }); // IRET exit; NMI 2 in the forced shadow: window
      r.do({ k: 'enter', cpu: 1 }); // after the VINTR exit: NMI 2 injected, V posted
      r.do({ k: 'iret', cpu: 1 });
      const m = r.mark();
      for (let i = 0; i < 6; i++) r.do({ k: 'enter', cpu: 1 });
      return { delivered: r.delivered(1, V), vintr: r.sink.since(m, 1).filter((l) => l === 'vmexit vintr').length };
    };
    const p = storm('prefix');
    expect(p.delivered).toBe(0);
    expect(p.vintr).toBeGreaterThanOrEqual(6);
    const f = storm('fixed');
    expect(f.delivered).toBe(1);
  });

  for (const variant of ['prefix', 'fixed', 'main']) {
    it(`${variant}: a TPR lowered through CR8 is noticed only at the next exit`, () => {
      const r = new Run(variant, machine(1));
      r.do({ k: 'tpr', cpu: 0, value: 0x50, via: 'cr8' }, { k: 'ipi', cpu: 0, vector: V, shorthand: 'self' },
        { k: 'enter', cpu: 0 }, { k: 'tpr', cpu: 0, value: 0, via: 'cr8' }, { k: 'step', cpu: 0 });
      expect(r.delivered(0, V)).toBe(0);
      expect(r.inst.whereStuck!(0, V)).toBe('tpr-cr8-unnoticed');
      r.do({ k: 'exit', cpu: 0, reason: 'timer' }, { k: 'enter', cpu: 0 });
      expect(r.delivered(0, V)).toBe(1);
    });
  }

  it('TPR[3:0] written through the APIC register is lost at the next exit', () => {
    const r = new Run('fixed', machine(1));
    r.do({ k: 'tpr', cpu: 0, value: 0x25, via: 'mmio' }, { k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'tpr' });
    expect(r.sink.reads).toEqual([{ cpu: 0, reg: 'tpr', value: 0x20 }]);
  });

  it('an illegal IPI vector sets SEND_ILLEGAL in the sender only', () => {
    const r = new Run('fixed');
    r.do(ipi(0, 1, 5), { k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'esr' }, { k: 'read', cpu: 1, reg: 'esr' });
    expect(r.sink.reads).toEqual([{ cpu: 0, reg: 'esr', value: 0x20 }, { cpu: 1, reg: 'esr', value: 0 }]);
  });
});

describe('bhyve/main: vlapic_intr_accepted no longer recomputes PPR (vlapic.c @0162500b7d2d)', () => {
  // Self-IPI 0x41, injected on the way back in; the handler reads PPR at once, then again.
  const handlerReadsPpr = (variant: string) => {
    const r = new Run(variant, machine(1));
    r.do({ k: 'ipi', cpu: 0, vector: V, shorthand: 'self' }, { k: 'enter', cpu: 0 });
    expect(r.delivered(0, V)).toBe(1);
    expect(r.isr(0)).toEqual([V]);
    return r;
  };

  it('main: the first PPR read in the handler returns the PPR from before the acceptance (SDM: PPR = 0x40)', () => {
    const r = handlerReadsPpr('main');
    expect(r.inst.snapshot(0).ppr).toBe(0x00);
    expect(r.inst.explain!(0, 'ppr-mismatch', V)).toBe('ppr-stale-after-accept');
    r.do({ k: 'read', cpu: 0, reg: 'ppr' });
    expect(r.sink.reads).toEqual([{ cpu: 0, reg: 'ppr', value: 0x00 }]);
  });

  it('main: the next vlapic_pending_intr (the following entry) recomputes it; fixed was right all along', () => {
    const r = handlerReadsPpr('main');
    const m = r.mark();
    r.do({ k: 'read', cpu: 0, reg: 'ppr' }, { k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'ppr' });
    expect(r.sink.since(m, 0)).toContain('vlapic_pending_intr: vlapic_update_ppr');
    expect(r.sink.reads.map((x) => x.value)).toEqual([0x00, 0x40]);
    expect(r.inst.explain!(0, 'ppr-mismatch', V)).toBeUndefined();

    const f = handlerReadsPpr('fixed');
    expect(f.inst.snapshot(0).ppr).toBe(0x40);
    expect(f.inst.explain!(0, 'ppr-mismatch', V)).toBeUndefined();
    f.do({ k: 'read', cpu: 0, reg: 'ppr' }, { k: 'enter', cpu: 0 }, { k: 'read', cpu: 0, reg: 'ppr' });
    expect(f.sink.reads.map((x) => x.value)).toEqual([0x40, 0x40]);
  });

  it('main: the stale PPR is never used to inject — a lower vector waits behind the one in service', () => {
    const r = handlerReadsPpr('main');
    r.do({ k: 'ipi', cpu: 0, vector: 0x31, shorthand: 'self' }, { k: 'enter', cpu: 0 }, { k: 'step', cpu: 0 });
    expect(r.delivered(0, 0x31)).toBe(0);
    expect(r.irr(0)).toEqual([0x31]);
    // EOI, then IRET opens the VINTR window and the next entry injects it.
    r.do({ k: 'eoi', cpu: 0 }, { k: 'enter', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'enter', cpu: 0 });
    expect(r.delivered(0, 0x31)).toBe(1);
  });

  it('end to end: the corpus reproducer is main\'s documented finding, clean on the 2018 code', () => {
    const f = 'corpus/bhyve/bhyve-ppr-stale-after-accept.json';
    const s = parseScenario(readFileSync(f, 'utf8'), f);
    const m = runScenario(s, bhyve, 'main');
    expect(m.divergences.map((d) => d.signature)).toEqual(['bhyve/main:read:ppr-stale-after-accept']);
    expect(m.primary?.symptoms).toContain('read-mismatch:ppr');
    expect(classify([bhyve], m.primary!.signature)).toBe('expected');
    expect(runScenario(s, bhyve, 'fixed').divergences).toEqual([]);
    expect(runScenario(s, bhyve, 'prefix').divergences).toEqual([]);
  });
});

describe('bhyve: registry and variants', () => {
  it('is registered and cites the fix', () => {
    expect(findBackend('bhyve')).toBe(bhyve);
    expect(bhyve.variants.map((v) => v.name)).toEqual(['prefix', 'fixed', 'main']);
    const by = (n: string) => bhyve.variants.find((v) => v.name === n)!;
    for (const n of ['prefix', 'fixed']) expect(by(n).source).toMatch(/r328622/);
    // fixed is the 2018 code, not today's main; main cites the trees read.
    expect(by('fixed').source).not.toMatch(/later refactors only/);
    expect(by('main').source).toMatch(/0162500b7d2d/);
    expect(by('main').source).toMatch(/001345683da7/);
    expect(bhyve.supports(machine(2, { nested: { exitOnIntr: true } }))).not.toBeNull();
  });
});

describe('bhyve: end to end (engine, reference, oracle)', () => {
  const s = parseScenario(readFileSync('corpus/bhyve/bhyve-svm-lost-ipi.json', 'utf8'), 'corpus/bhyve/bhyve-svm-lost-ipi.json');

  it('prefix: the lost IPI is one root cause, seen late and then lost', () => {
    const r = runScenario(s, bhyve, 'prefix');
    expect(r.divergences.map((d) => d.signature)).toEqual(['bhyve/prefix:stuck:collapsed-into-taken-v_irq']);
    expect(r.primary?.symptoms).toContain('lost:ipi');
    expect(classify([bhyve], r.primary!.signature)).toBe('expected');
  });

  it('fixed: clean, and the handler ran twice', () => {
    const r = runScenario(s, bhyve, 'fixed');
    expect(r.divergences).toEqual([]);
    expect(r.deliveries).toBe(2);
  });
});

describe('bhyve: generated interleavings', () => {
  // Every divergence on a generated scenario must be the variant's subject (expectedBugs) or
  // a declared real deviation (knownDeviations); fixed has no expected bugs at all.
  for (const info of bhyve.variants) {
    it(`${info.name}: nothing outside expectedBugs and knownDeviations over 2000 seeds`, () => {
      const unexplained: string[] = [];
      let expectedHits = 0;
      for (let i = 0; i < 2000; i++) {
        const r = generateAndRun(`bhyve-${i}`, bhyve, info.name).result;
        for (const d of r.divergences) {
          const c = classify([bhyve], d.signature);
          if (c === 'expected') expectedHits++;
          else if (c !== 'known') unexplained.push(`bhyve-${i}: ${d.signature}`);
        }
      }
      expect(unexplained).toEqual([]);
      if (info.status === 'buggy') expect(expectedHits).toBeGreaterThan(0);
      else expect(expectedHits).toBe(0);
    });
  }
});

describe('bhyve: redirection-table writes and vIOAPIC reads (vioapic_write, vioapic_read @0907f0c)', () => {
  const W = 0x2f;
  const level = (dest: number, masked = false): MachineConfig => machine(2, { ioapic: [{ pin: 0, vector: W, dest, trigger: 'level', masked }] });
  const write = (cpu: number, dest: number, vector = W, trigger: 'edge' | 'level' = 'level', masked = false): Event =>
    ({ k: 'ioapic_write', cpu, pin: 0, vector, dest, trigger, masked });

  it('declares exactly the I/O APIC programming it models (the local-APIC features: bhyve-lapic.test.ts)', () => {
    expect(bhyve.features.filter((f) => f === 'ioapic_write' || f === 'ioapic_read')).toEqual(['ioapic_write', 'ioapic_read']);
  });

  it('a destination change rendezvouses vioapic_update_tmr: TMR moves from the old destination to the new one', () => {
    const r = new Run('main', level(1));
    const tmr = (cpu: number) => { r.do({ k: 'read', cpu, reg: 'tmr' }); return r.sink.reads.at(-1)!.value; };
    expect(tmr(0)).toEqual([]);
    expect(tmr(1)).toEqual([W]); // set from the table, before any message (read:tmr-programmed-from-rtbl)
    r.do({ k: 'enter', cpu: 0 }, { k: 'enter', cpu: 1 });
    const m = r.mark();
    r.do(write(0, 0));
    expect(r.sink.since(m, 0)).toContain('vm_smp_rendezvous(vioapic_update_tmr)');
    r.do({ k: 'enter', cpu: 0 });
    expect(tmr(0)).toEqual([W]);
    r.do({ k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 });
    expect(tmr(1)).toEqual([]);
  });

  it('a rewrite that changes only the mask runs no rendezvous', () => {
    const r = new Run('main', level(1));
    const m = r.mark();
    r.do(write(0, 1, W, 'level', true));
    expect(r.sink.since(m, 0)).not.toContain('vm_smp_rendezvous(vioapic_update_tmr)');
  });

  it('the EOI of a vector whose TMR bit a rendezvous reset is not forwarded: Remote IRR stays set, the line is never re-sent', () => {
    const r = new Run('main', level(1));
    r.do({ k: 'ioapic', pin: 0, op: 'assert' }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 });
    expect(r.isr(1)).toEqual([W]);
    r.do(write(0, 0), { k: 'enter', cpu: 0 });
    const m = r.mark();
    r.do({ k: 'eoi', cpu: 1 });
    expect(r.sink.since(m, 1)).not.toContain('vioapic_process_eoi');
    r.do({ k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 0 });
    expect(r.sink.reads.at(-1)).toEqual({ cpu: 0, reg: 'redir-lo', value: W | 1 << 14 | 1 << 15 });
    r.do({ k: 'enter', cpu: 0 }, { k: 'enter', cpu: 1 }, { k: 'exit', cpu: 0, reason: 'timer' }, { k: 'enter', cpu: 0 });
    expect(r.irr(0)).toEqual([]);
    expect(r.delivered(0, W)).toBe(0);
    expect(r.inst.whereStuck!(0, W)).toBe('eoi-lost-tmr-reset-by-rtbl-write');
  });

  it('without the move the EOI is forwarded and the still-asserted line is sent again', () => {
    const r = new Run('main', level(1));
    r.do({ k: 'ioapic', pin: 0, op: 'assert' }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 });
    const m = r.mark();
    r.do({ k: 'eoi', cpu: 1 });
    expect(r.sink.since(m, 1)).toContain('vioapic_process_eoi');
    expect(r.irr(1)).toEqual([W]);
  });

  it('an edge pin whose line is high sends on each dword written (vioapic_write ignores the trigger mode)', () => {
    const r = new Run('fixed', machine(2, { ioapic: [{ pin: 0, vector: 0x31, dest: 1, trigger: 'edge', masked: false }] }));
    r.do({ k: 'ioapic', pin: 0, op: 'assert' }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 }, { k: 'eoi', cpu: 1 }, { k: 'enter', cpu: 1 });
    expect(r.delivered(1, 0x31)).toBe(1);
    // Move it to vCPU0 with a new vector: the high-dword write sends the old vector to the new
    // destination, the low-dword write the new one.
    r.do({ k: 'ioapic_write', cpu: 1, pin: 0, vector: 0x42, dest: 0, trigger: 'edge', masked: false });
    expect(r.irr(0)).toEqual([0x31, 0x42]);
    expect(r.inst.explain!(0, 'spurious', 0x31)).toBe('edge-resent-on-rtbl-write');
  });

  it('vioapic_read: ID 0, version 0x11 with 32 entries, the entry as written', () => {
    const r = new Run('main', level(1, true));
    r.do({ k: 'ioapic_read', cpu: 0, reg: 'id' }, { k: 'enter', cpu: 0 }, { k: 'ioapic_read', cpu: 0, reg: 'version' },
      { k: 'enter', cpu: 0 }, { k: 'ioapic_read', cpu: 0, reg: 'redir-hi', pin: 0 }, { k: 'enter', cpu: 0 },
      { k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 0 });
    expect(r.sink.reads.map((x) => x.value)).toEqual([0, 0x001f0011, 0x01000000, W | 1 << 15 | 1 << 16]);
  });

  it('a rendezvous ends the HLT of a sleeping vCPU with nothing to deliver', () => {
    const r = new Run('main', level(1));
    r.do({ k: 'hlt', cpu: 1 });
    expect(r.inst.where(1)).toBe('blocked');
    r.do(write(0, 0), { k: 'enter', cpu: 1 });
    expect(r.inst.where(1)).toBe('guest');
    expect(r.inst.explain!(1, 'ran-while-halted', -1)).toBe('hlt-ended-by-rendezvous');
  });

  it('end to end: the corpus reproducer is the documented lost EOI on every variant, clean on bare metal', () => {
    const f = 'corpus/bhyve/bhyve-eoi-lost-after-rtbl-write.json';
    const s = parseScenario(readFileSync(f, 'utf8'), f);
    for (const v of ['prefix', 'fixed', 'main']) {
      const res = runScenario(s, bhyve, v);
      expect(res.primary?.signature).toBe(`bhyve/${v}:stuck:eoi-lost-tmr-reset-by-rtbl-write`);
      expect(classify([bhyve], res.primary!.signature)).toBe('known');
    }
    expect(runScenario(s, findBackend('baremetal')!, 'sdm').divergences).toEqual([]);
  });
});
