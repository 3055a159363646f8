// One test per rule of the programmable local APIC and I/O APIC (docs/reference-rules.md,
// REF-ADDR, REF-LP, REF-SVR, REF-ESR, REF-SELF, REF-IOA-5/6/7), named after its id.
import { describe, expect, it } from 'vitest';
import { vsHas, vsList } from '../../src/apic/vecset.js';
import { IOAPIC_VERSION } from '../../src/apic/ioapic.js';
import { Reference } from '../../src/reference/lapic.js';
import type { Event, MachineConfig } from '../../src/scenario/types.js';

function ref(m: Partial<MachineConfig> = {}): Reference {
  return new Reference({ vcpus: 2, apic: 'xapic', ioapic: [], ...m });
}
const landAll = (r: Reference) => r.cpus.forEach((_, i) => r.land(i));
const run = (r: Reference, evs: Event[]) => { evs.forEach((e) => r.apply(e)); landAll(r); };
const pending = (r: Reference, cpu: number) => vsList(r.cpus[cpu]!.irr);

describe('programmable APIC rules', () => {
  it('REF-ADDR-1: physical destinations follow a written xAPIC ID', () => {
    const r = ref();
    run(r, [{ k: 'lapic_write', cpu: 1, reg: 'id', value: 0x07000000 }, { k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }]);
    expect(pending(r, 1)).toEqual([]); // ID 1 is nobody now
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 7 }]);
    expect(pending(r, 1)).toEqual([0x41]);
    expect(r.read(1, 'id')).toBe(0x07000000);
  });

  it('REF-ADDR-1: xAPIC flat and cluster logical models (SDM 10.6.2.2)', () => {
    const r = ref();
    // Flat: LDR 0x20 on vCPU1; MDA 0x21 reaches it, 0x40 does not.
    run(r, [{ k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x20000000 }, { k: 'ipi', cpu: 0, vector: 0x41, logical: true, dest: 0x40 }]);
    expect(pending(r, 1)).toEqual([]);
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x42, logical: true, dest: 0x21 }]);
    expect(pending(r, 1)).toEqual([0x42]);
    expect(pending(r, 0)).toEqual([0x42]); // vCPU0 keeps LDR bit 0
    // Cluster: cluster 3, member bit 2; MDA 0x34 matches, 0x24 (cluster 2) does not.
    const c = ref();
    run(c, [{ k: 'lapic_write', cpu: 1, reg: 'dfr', value: 0x0fffffff }, { k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x34000000 },
      { k: 'ipi', cpu: 0, vector: 0x41, logical: true, dest: 0x24 }]);
    expect(pending(c, 1)).toEqual([]);
    run(c, [{ k: 'ipi', cpu: 0, vector: 0x43, logical: true, dest: 0x3c }]);
    expect(pending(c, 1)).toEqual([0x43]);
    expect(c.read(1, 'dfr')).toBe(0x0fffffff);
  });

  it('REF-ADDR-1: x2APIC 32-bit destinations — clusters other than 0, 0xFFFFFFFF broadcast (SDM 10.12.10)', () => {
    const r = ref({ apic: 'x2apic', apicIds: [0, 0x21] }); // vCPU1: cluster 2, bit 1
    expect(r.read(1, 'ldr')).toBe(0x00020002);
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x41, logical: true, dest: 0x00000002 }]);
    expect(pending(r, 1)).toEqual([]); // cluster 0
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x42, logical: true, dest: 0x00020002 }]);
    expect(pending(r, 1)).toEqual([0x42]);
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x43, dest: 0x21 }]);
    expect(pending(r, 1)).toEqual([0x42, 0x43]);
    run(r, [{ k: 'ipi', cpu: 1, vector: 0x44, dest: 0xffffffff }]);
    expect(pending(r, 0)).toEqual([0x44]);
    expect(vsHas(r.cpus[1]!.irr, 0x44)).toBe(true);
  });

  it('REF-LP-1: a lowest-priority message goes to one addressed vCPU, whichever the model chose', () => {
    const r = ref();
    const bad: number[] = [];
    r.misroutes = { misrouted: (cpu) => bad.push(cpu) };
    r.lowestChoices.push(1);
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x41, logical: true, dest: 0x03, lowest: true }]);
    expect([pending(r, 0), pending(r, 1)]).toEqual([[], [0x41]]);
    // No report: the lowest-numbered addressed vCPU.
    r.lowestChoices.length = 0; r.lowestNext = 0;
    run(r, [{ k: 'msi', vector: 0x42, logical: true, dest: 0x03, lowest: true }]);
    expect(pending(r, 0)).toEqual([0x42]);
    // A choice outside the destination set is a divergence.
    r.lowestChoices.length = 0; r.lowestNext = 0; r.lowestChoices.push(1);
    run(r, [{ k: 'msi', vector: 0x43, logical: true, dest: 0x01, lowest: true }]);
    expect(bad).toEqual([1]);
  });

  it('REF-SVR-1: a software-disabled APIC discards fixed messages but takes NMIs (SDM 10.4.7.2)', () => {
    const r = ref();
    run(r, [{ k: 'lapic_write', cpu: 1, reg: 'svr', value: 0xff }, { k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }, { k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true }]);
    expect(pending(r, 1)).toEqual([]);
    expect(r.cpus[1]!.nmiPending).toBe(true);
    run(r, [{ k: 'lapic_write', cpu: 1, reg: 'svr', value: 0x1ff }, { k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }]);
    expect(pending(r, 1)).toEqual([0x41]);
    expect(r.read(1, 'svr')).toBe(0x1ff);
  });

  it('REF-SVR-2: what is pending when the APIC is disabled is held, and due again once enabled', () => {
    const r = ref();
    run(r, [{ k: 'cli', cpu: 1 }, { k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }]); // landed
    run(r, [{ k: 'lapic_write', cpu: 1, reg: 'svr', value: 0xff }, { k: 'sti', cpu: 1 }, { k: 'step', cpu: 1 }]);
    expect(pending(r, 1)).toEqual([0x41]);
    expect(r.takeNow(1)).toBe(-1); // held: not due
    expect(r.wouldDeliver(1)).toBe(-1);
    run(r, [{ k: 'lapic_write', cpu: 1, reg: 'svr', value: 0x1ff }]);
    expect(r.takeNow(1)).toBe(0x41);
  });

  it('REF-SVR-3: a message on the bus at an SVR write may land on either side of it', () => {
    const r = ref();
    r.apply({ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 });
    run(r, [{ k: 'lapic_write', cpu: 1, reg: 'svr', value: 0xff }]);
    expect(pending(r, 1)).toEqual([]);
    expect(r.cpus[1]!.extra.count(0x41)).toBe(1); // landed before the write (held), or discarded
    run(r, [{ k: 'lapic_write', cpu: 1, reg: 'svr', value: 0x1ff }]);
    expect(r.deliver(1, 0x41, false)).toBeNull(); // taken: it had landed
  });

  it('REF-SVR-3: a level message that crossed the SVR write leaves TMR open until the vector lands for sure', () => {
    // Found by the guided soak of bare metal: the crossing message may have been discarded while
    // the APIC was disabled, so TMR may still be clear although the optional instance set it.
    const r = ref({ ioapic: [{ pin: 0, vector: 0x20, dest: 1, trigger: 'level', masked: false }] });
    run(r, [{ k: 'lapic_write', cpu: 1, reg: 'svr', value: 0xff }]);
    r.apply({ k: 'ioapic', pin: 0, op: 'assert' });
    run(r, [{ k: 'lapic_write', cpu: 1, reg: 'svr', value: 0x1ff }]);
    const a = r.cpus[1]!;
    expect(vsHas(a.tmrMaybe, 0x20)).toBe(true);
    r.dropExtra(1, 0x20); // not taken at the next boundary: it had collapsed or been discarded
    expect(vsHas(a.tmrMaybe, 0x20)).toBe(true);
    r.apply({ k: 'ipi', cpu: 0, vector: 0x20, dest: 1 }); // an edge message that surely lands decides it
    landAll(r);
    expect(vsHas(a.tmrMaybe, 0x20)).toBe(false);
    expect(vsHas(a.tmr, 0x20)).toBe(false);
  });

  it('REF-ESR-1: an ESR write latches the errors since the last write; reads do not clear (SDM 10.5.3)', () => {
    const r = ref();
    run(r, [{ k: 'ipi', cpu: 0, vector: 3, dest: 1 }, { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }]);
    expect(r.read(0, 'esr')).toBe(0x20);
    run(r, [{ k: 'read', cpu: 0, reg: 'esr' }]);
    expect(r.read(0, 'esr')).toBe(0x20);
    run(r, [{ k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }]);
    expect(r.read(0, 'esr')).toBe(0);
    // Base-language shortcut without writes: a read returns and clears.
    expect(r.read(1, 'esr')).toBe(0x40);
    run(r, [{ k: 'read', cpu: 1, reg: 'esr' }]);
    expect(r.read(1, 'esr')).toBe(0);
  });

  it('REF-SELF-1: the x2APIC SELF_IPI register sends a fixed edge self-IPI that lands at once (SDM 10.12.11)', () => {
    const r = ref({ apic: 'x2apic' });
    r.apply({ k: 'self_ipi', cpu: 1, vector: 0x51 });
    expect(pending(r, 1)).toEqual([0x51]);
    expect(vsHas(r.cpus[1]!.tmr, 0x51)).toBe(false);
  });

  it('REF-IOA-5: a redirection write keeps Remote IRR; the EOI must carry the new vector; level→edge clears it', () => {
    const pin = { pin: 0, vector: 0x5f, dest: 0, trigger: 'level' as const, masked: false };
    const r = ref({ ioapic: [pin] });
    run(r, [{ k: 'ioapic', pin: 0, op: 'assert' }]);
    expect(r.deliver(0, 0x5f, false)).toBeNull();
    run(r, [{ k: 'ioapic_write', cpu: 0, pin: 0, vector: 0x6f, dest: 1, trigger: 'level', masked: false }, { k: 'eoi', cpu: 0 }]);
    expect(r.pins.get(0)!.remoteIrr).toBe(true); // the EOI of 0x5f is not the entry's vector now
    expect(pending(r, 1)).toEqual([]);
    run(r, [{ k: 'ioapic_write', cpu: 0, pin: 0, vector: 0x6f, dest: 1, trigger: 'edge', masked: false }]);
    expect(r.pins.get(0)!.remoteIrr).toBe(false);
    // Back to level with the line high: sends at once to the new destination.
    run(r, [{ k: 'ioapic_write', cpu: 0, pin: 0, vector: 0x6f, dest: 1, trigger: 'level', masked: false }]);
    expect(pending(r, 1)).toEqual([0x6f]);
    expect(vsHas(r.cpus[1]!.tmr, 0x6f)).toBe(true);
  });

  it('REF-IOA-5: logical and lowest-priority redirection entries', () => {
    const r = ref({ ioapic: [{ pin: 2, vector: 0x5d, dest: 0x03, trigger: 'edge', masked: false, logical: true }] });
    run(r, [{ k: 'ioapic', pin: 2, op: 'pulse' }]);
    expect([pending(r, 0), pending(r, 1)]).toEqual([[0x5d], [0x5d]]);
    r.lowestChoices.push(1);
    run(r, [{ k: 'ioapic_write', cpu: 0, pin: 2, vector: 0x6d, dest: 0x03, trigger: 'edge', masked: false, logical: true, lowest: true }, { k: 'ioapic', pin: 2, op: 'pulse' }]);
    expect([pending(r, 0), pending(r, 1)]).toEqual([[0x5d], [0x5d, 0x6d]]);
  });

  it('REF-IOA-6: version and redirection-entry reads (82093AA 3.2)', () => {
    const r = ref({ ioapic: [{ pin: 3, vector: 0x5c, dest: 1, trigger: 'level', masked: true, logical: true }] });
    expect(r.readIoapic('version', -1)).toBe(IOAPIC_VERSION);
    expect(r.readIoapic('redir-lo', 3)).toBe(0x5c | 1 << 11 | 1 << 15 | 1 << 16);
    expect(r.readIoapic('redir-hi', 3)).toBe(0x01000000);
    run(r, [{ k: 'ioapic_write', cpu: 0, pin: 3, vector: 0x5c, dest: 1, trigger: 'level', masked: false }, { k: 'ioapic', pin: 3, op: 'assert' }]);
    expect(r.readIoapic('redir-lo', 3)).toBe(0x5c | 1 << 14 | 1 << 15);
  });

  it('REF-IOA-7: an ID write keeps bits 27:24 and loads the arbitration register; version and arbitration are read-only (82093AA 3.2.1-3.2.3)', () => {
    const r = ref();
    // Before any write both are the platform's: unknown (-1), any bits-27:24 value is accepted by the oracle.
    expect([r.ioapicId, r.ioapicArb]).toEqual([-1, -1]);
    // kvm-unit-tests ioapic_reg_id: ~0 written, only bits 27:24 stick.
    run(r, [{ k: 'ioapic_reg_write', cpu: 0, reg: 'id', value: 0xffffffff }]);
    expect([r.readIoapic('id', -1), r.readIoapic('arb', -1)]).toEqual([0x0f000000, 0x0f000000]);
    // ioapic_arbitration_id: a write to the arbitration register (and one to the version register) changes nothing.
    run(r, [{ k: 'ioapic_reg_write', cpu: 0, reg: 'id', value: 0x05000000 }, { k: 'ioapic_reg_write', cpu: 0, reg: 'arb', value: 0 },
      { k: 'ioapic_reg_write', cpu: 0, reg: 'version', value: 0xffe8ffee }]);
    expect([r.readIoapic('id', -1), r.readIoapic('arb', -1), r.readIoapic('version', -1)]).toEqual([0x05000000, 0x05000000, IOAPIC_VERSION]);
    // A message on the APIC bus rotates the arbitration IDs (3.2.3): the register is open again, the ID is not.
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }]);
    expect([r.ioapicId, r.ioapicArb]).toEqual([0x05000000, -1]);
  });

  it('REF-TMR-1: one-shot fires once at the count; TMCCT counts down and stays 0 (SDM 10.5.4)', () => {
    const r = ref();
    run(r, [{ k: 'lvt_timer', cpu: 0, vector: 0xee, mode: 'oneshot', masked: false }, { k: 'timer_initial', cpu: 0, count: 16 }, { k: 'time', cpu: 0, advance: 15 }]);
    expect([pending(r, 0), r.read(0, 'tmcct')]).toEqual([[], 1]);
    run(r, [{ k: 'time', cpu: 0, advance: 1 }]);
    expect([pending(r, 0), r.read(0, 'tmcct')]).toEqual([[0xee], 0]);
    expect(r.deliver(0, 0xee, false)).toBeNull();
    run(r, [{ k: 'eoi', cpu: 0 }, { k: 'time', cpu: 0, advance: 1000 }]);
    expect(pending(r, 0)).toEqual([]);
    expect(vsHas(r.cpus[0]!.tmr, 0xee)).toBe(false); // edge
  });

  it('REF-TMR-1: periodic reloads; a mode change between count modes keeps the count; masked expiries send nothing', () => {
    const r = ref();
    run(r, [{ k: 'lvt_timer', cpu: 0, vector: 0xee, mode: 'oneshot', masked: false }, { k: 'timer_initial', cpu: 0, count: 16 }, { k: 'time', cpu: 0, advance: 8 },
      { k: 'lvt_timer', cpu: 0, vector: 0xee, mode: 'periodic', masked: false }]);
    expect(r.read(0, 'tmcct')).toBe(8);
    run(r, [{ k: 'time', cpu: 0, advance: 8 }]);
    expect([pending(r, 0), r.read(0, 'tmcct')]).toEqual([[0xee], 16]);
    run(r, [{ k: 'lvt_timer', cpu: 0, vector: 0xee, mode: 'periodic', masked: true }, { k: 'time', cpu: 0, advance: 40 }]);
    expect(r.read(0, 'tmcct')).toBe(8); // still counting: 16 - (40 mod 16)
    expect(r.deliver(0, 0xee, false)).toBeNull();
    run(r, [{ k: 'eoi', cpu: 0 }, { k: 'time', cpu: 0, advance: 32 }]);
    expect(pending(r, 0)).toEqual([]);
  });

  it('REF-TMR-2: several expiries in one advance collapse into one IRR bit; a software-disabled APIC masks the LVT', () => {
    const r = ref();
    run(r, [{ k: 'lvt_timer', cpu: 0, vector: 0xee, mode: 'periodic', masked: false }, { k: 'timer_initial', cpu: 0, count: 2 }, { k: 'time', cpu: 0, advance: 10 }]);
    expect(pending(r, 0)).toEqual([0xee]);
    expect(r.deliver(0, 0xee, false)).toBeNull();
    run(r, [{ k: 'eoi', cpu: 0 }, { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0xff }, { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0x1ff }, { k: 'time', cpu: 0, advance: 10 }]);
    expect(pending(r, 0)).toEqual([]); // the mask bit stays set after re-enable
    run(r, [{ k: 'lvt_timer', cpu: 0, vector: 0xee, mode: 'periodic', masked: false }, { k: 'time', cpu: 0, advance: 2 }]);
    expect(pending(r, 0)).toEqual([0xee]);
  });

  it('REF-TMR-3: a TSC deadline at or before now fires at once and disarms; writes outside TSC-deadline mode are ignored', () => {
    const r = ref();
    run(r, [{ k: 'tsc_deadline', cpu: 0, deadline: 1 }, { k: 'time', cpu: 0, advance: 5 }]);
    expect(pending(r, 0)).toEqual([]); // one-shot mode: ignored
    run(r, [{ k: 'lvt_timer', cpu: 0, vector: 0xef, mode: 'tsc-deadline', masked: false }, { k: 'tsc_deadline', cpu: 0, deadline: 3 }]);
    expect(pending(r, 0)).toEqual([0xef]);
    expect(r.cpus[0]!.timer.deadline).toBe(0);
    expect(r.deliver(0, 0xef, false)).toBeNull();
    run(r, [{ k: 'eoi', cpu: 0 }, { k: 'tsc_deadline', cpu: 0, deadline: 9 }, { k: 'time', cpu: 0, advance: 3 }]);
    expect(pending(r, 0)).toEqual([]);
    run(r, [{ k: 'time', cpu: 0, advance: 1 }]);
    expect(pending(r, 0)).toEqual([0xef]);
  });

  it('REF-SWI-1: INT n enters a handler without touching the APIC; IRET leaves it; nothing is owed to EOI', () => {
    const r = ref();
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }]);
    expect(r.deliver(0, 0x41, false)).toBeNull();
    run(r, [{ k: 'iret', cpu: 0 }]); // handler returned without its EOI: 0x41 stays in service
    run(r, [{ k: 'int', cpu: 0, vector: 0x80 }]);
    const g = r.cpus[0]!.guest;
    expect([g.IF, g.top()?.vector, g.top()?.eoied, vsList(r.cpus[0]!.isr)]).toEqual([false, 0x80, true, [0x41]]);
    run(r, [{ k: 'eoi', cpu: 0 }]); // the EOI retires 0x41, not the software frame
    expect(vsList(r.cpus[0]!.isr)).toEqual([]);
    run(r, [{ k: 'iret', cpu: 0 }]);
    expect([g.IF, g.frames.length]).toEqual([true, 0]);
  });

  it('REF-LINT-1: LINT edge, level with the LVT Remote IRR cleared by its EOI, and NMI (SDM 10.5.1)', () => {
    const r = ref();
    run(r, [{ k: 'lvt_lint', cpu: 0, pin: 0, vector: 0x58, trigger: 'level', masked: false }, { k: 'lint', cpu: 0, pin: 0, op: 'assert' }]);
    expect([pending(r, 0), vsHas(r.cpus[0]!.tmr, 0x58), r.cpus[0]!.lint[0].remoteIrr]).toEqual([[0x58], true, true]);
    expect(r.deliver(0, 0x58, false)).toBeNull();
    run(r, [{ k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 }]); // line still high: raises again
    expect(pending(r, 0)).toEqual([0x58]);
    expect(r.deliver(0, 0x58, false)).toBeNull();
    run(r, [{ k: 'lint', cpu: 0, pin: 0, op: 'deassert' }, { k: 'eoi', cpu: 0 }]);
    expect([pending(r, 0), r.cpus[0]!.lint[0].remoteIrr]).toEqual([[], false]);
    // Edge: one per rising edge; masked: none.
    run(r, [{ k: 'lvt_lint', cpu: 1, pin: 0, vector: 0x47, trigger: 'edge', masked: false }, { k: 'lint', cpu: 1, pin: 0, op: 'assert' }, { k: 'lint', cpu: 1, pin: 0, op: 'assert' }]);
    expect([pending(r, 1), vsHas(r.cpus[1]!.tmr, 0x47)]).toEqual([[0x47], false]);
    // NMI on LINT1.
    run(r, [{ k: 'lvt_lint', cpu: 1, pin: 1, vector: 0, trigger: 'edge', masked: false, nmi: true }, { k: 'lint', cpu: 1, pin: 1, op: 'pulse' }]);
    expect(r.cpus[1]!.nmiPending).toBe(true);
  });
});
