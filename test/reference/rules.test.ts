// One test per reference rule (docs/reference-rules.md), named after its id.
import { describe, expect, it } from 'vitest';
import { vsHas, vsList } from '../../src/apic/vecset.js';
import { Reference } from '../../src/reference/lapic.js';
import type { Event, MachineConfig } from '../../src/scenario/types.js';

function ref(m: Partial<MachineConfig> = {}): Reference {
  return new Reference({ vcpus: 2, apic: 'x2apic', ioapic: [], ...m });
}
/** Apply events, then let every message on the bus land (a due point on every vCPU). */
const run = (r: Reference, evs: Event[]) => { evs.forEach((e) => r.apply(e)); landAll(r); };
/** Apply events and leave what they sent on the bus. */
const send = (r: Reference, evs: Event[]) => evs.forEach((e) => r.apply(e));
const landAll = (r: Reference) => r.cpus.forEach((_, i) => r.land(i));

describe('reference rules', () => {
  it('REF-VEC-1: illegal vectors are never queued; SIV on the sender, RIV on the receiver', () => {
    const r = ref();
    run(r, [{ k: 'ipi', cpu: 0, vector: 9, dest: 1 }]);
    expect(vsList(r.cpus[1]!.irr)).toEqual([]);
    expect(r.cpus[0]!.esr & 0x20).toBe(0x20);
    expect(r.cpus[1]!.esr & 0x40).toBe(0x40);
  });

  it('REF-ACC-1: acceptance sets IRR and TMR by trigger; EOI leaves TMR alone', () => {
    const r = ref({ ioapic: [{ pin: 0, vector: 0x5f, dest: 0, trigger: 'level', masked: false }] });
    run(r, [{ k: 'ioapic', pin: 0, op: 'assert' }]);
    expect(vsHas(r.cpus[0]!.irr, 0x5f) && vsHas(r.cpus[0]!.tmr, 0x5f)).toBe(true);
    expect(r.deliver(0, 0x5f, false)).toBeNull();
    run(r, [{ k: 'ioapic', pin: 0, op: 'deassert' }, { k: 'eoi', cpu: 0 }]);
    expect(vsHas(r.cpus[0]!.tmr, 0x5f)).toBe(true);
    run(r, [{ k: 'msi', dest: 0, vector: 0x41 }]);
    expect(vsHas(r.cpus[0]!.tmr, 0x41)).toBe(false);
  });

  it('REF-ACC-2: a second interrupt collapses into a pending IRR bit but not into an ISR bit', () => {
    const r = ref();
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }, { k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }]);
    expect(r.deliver(1, 0x41, false)).toBeNull();
    // The collapsed one may have been in flight (REF-ACC-3) — but a third send after the
    // take is a fresh, definite acceptance:
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }]);
    expect(vsHas(r.cpus[1]!.irr, 0x41) && vsHas(r.cpus[1]!.isr, 0x41)).toBe(true);
  });

  it('REF-ACC-3: a message in flight while its vector was pending and taken may be delivered once more, not twice', () => {
    const r = ref();
    send(r, [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }, { k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }]);
    expect(r.deliver(1, 0x41, false)).toBeNull(); // the first lands as it is taken
    landAll(r); // the second landed before the take (collapsed) or after it (pending): either
    run(r, [{ k: 'eoi', cpu: 1 }, { k: 'iret', cpu: 1 }]);
    expect(r.deliver(1, 0x41, false)).toBeNull();
    run(r, [{ k: 'eoi', cpu: 1 }, { k: 'iret', cpu: 1 }]);
    expect(r.deliver(1, 0x41, false)).toBe('not-pending');
    // Both landed while the first was still pending: one instance, for good.
    const r2 = ref();
    run(r2, [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }, { k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }]);
    expect(r2.deliver(1, 0x41, false)).toBeNull();
    run(r2, [{ k: 'eoi', cpu: 1 }, { k: 'iret', cpu: 1 }]);
    expect(r2.deliver(1, 0x41, false)).toBe('not-pending');
  });

  it('REF-LAT-1: a message to another CPU is in flight until it lands; in flight it is not pending', () => {
    const r = ref();
    send(r, [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }]);
    expect(vsHas(r.cpus[1]!.irr, 0x41)).toBe(false);
    expect(r.cpus[1]!.anyInflight()).toBe(true);
    r.land(1);
    expect(vsHas(r.cpus[1]!.irr, 0x41)).toBe(true);
    expect(r.cpus[1]!.anyInflight()).toBe(false);
  });

  it('REF-LAT-2: a self-IPI never leaves the local APIC: it lands at once and a second one collapses for good', () => {
    const r = ref();
    send(r, [{ k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }]);
    expect(vsHas(r.cpus[0]!.irr, 0x41)).toBe(true);
    expect(r.cpus[0]!.anyInflight()).toBe(false);
    expect(r.deliver(0, 0x41, false)).toBeNull();
    run(r, [{ k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 }]);
    expect(r.deliver(0, 0x41, false)).toBe('not-pending');
  });

  it('REF-NMI-1: while NMIs are blocked one NMI is latched; further ones collapse into it', () => {
    const r = ref();
    run(r, [{ k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true }]);
    expect(r.deliver(1, 2, true)).toBeNull();
    run(r, [{ k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true }, { k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true }]);
    run(r, [{ k: 'iret', cpu: 1 }]);
    expect(r.deliver(1, 2, true)).toBeNull();
    run(r, [{ k: 'iret', cpu: 1 }]);
    expect(r.deliver(1, 2, true)).toBe('not-pending');
  });

  it('REF-DISP-4: a pending NMI goes before a pending maskable interrupt', () => {
    const r = ref();
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }, { k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true }]);
    expect(r.takeNow(1)).toBe(2);
    expect(r.deliver(1, 2, true)).toBeNull();
    expect(r.takeNow(1)).toBe(-1); // in the NMI handler IF = 0
  });

  it('REF-PPR-1: PPR from TPR and the highest in-service vector', () => {
    const r = ref();
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x51, shorthand: 'self' }]);
    r.deliver(0, 0x51, false);
    run(r, [{ k: 'tpr', cpu: 0, value: 0x43, via: 'mmio' }]);
    expect(r.cpus[0]!.ppr()).toBe(0x50);
    run(r, [{ k: 'tpr', cpu: 0, value: 0x53, via: 'mmio' }]);
    expect(r.cpus[0]!.ppr()).toBe(0x53);
    run(r, [{ k: 'tpr', cpu: 0, value: 0x63, via: 'mmio' }]);
    expect(r.cpus[0]!.ppr()).toBe(0x63);
  });

  it('REF-DISP-1: only a pending vector above PPR can be taken; same class waits for EOI', () => {
    const r = ref();
    run(r, [{ k: 'ipi', cpu: 0, vector: 0x51, shorthand: 'self' }, { k: 'ipi', cpu: 0, vector: 0x5a, shorthand: 'self' }]);
    expect(r.deliver(0, 0x51, false)).toBeNull();
    run(r, [{ k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }]);
    expect(r.deliver(0, 0x5a, false)).toBe('masked-ppr');
    expect(r.deliver(1, 0x33, false)).toBe('not-pending');
  });

  it('REF-DISP-2: IF = 0 and the STI shadow block maskable interrupts; STI with IF = 1 opens no shadow', () => {
    const r = ref();
    run(r, [{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x40, shorthand: 'self' }]);
    expect(r.deliver(0, 0x40, false)).toBe('masked-if');
    const r2 = ref();
    run(r2, [{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x40, shorthand: 'self' }, { k: 'sti', cpu: 0 }]);
    expect(r2.deliver(0, 0x40, false)).toBe('masked-shadow');
    const r3 = ref();
    run(r3, [{ k: 'ipi', cpu: 0, vector: 0x40, shorthand: 'self' }, { k: 'sti', cpu: 0 }]);
    expect(r3.deliver(0, 0x40, false)).toBeNull();
  });

  it('REF-DISP-3: NMI ignores IF, is blocked until IRET, one is latched', () => {
    const r = ref();
    run(r, [{ k: 'cli', cpu: 1 }, { k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true }]);
    expect(r.deliver(1, 2, true)).toBeNull();
    run(r, [{ k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true }]);
    expect(r.deliver(1, 2, true)).toBe('nmi-blocked');
    const r2 = ref();
    run(r2, [{ k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true }]);
    r2.deliver(1, 2, true);
    run(r2, [{ k: 'ipi', cpu: 0, vector: 0, dest: 1, nmi: true }, { k: 'iret', cpu: 1 }]);
    expect(r2.deliver(1, 2, true)).toBeNull();
  });

  it('REF-EOI-1: EOI clears the highest in-service vector; with ISR empty it is a no-op', () => {
    const r = ref();
    run(r, [{ k: 'eoi', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x31, shorthand: 'self' }]);
    r.deliver(0, 0x31, false);
    run(r, [{ k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x61, shorthand: 'self' }]);
    r.deliver(0, 0x61, false);
    run(r, [{ k: 'eoi', cpu: 0 }]);
    expect(vsList(r.cpus[0]!.isr)).toEqual([0x31]);
  });

  it('REF-EOI-2: a level EOI clears remote IRR and re-sends while the line is asserted', () => {
    const r = ref({ ioapic: [{ pin: 3, vector: 0x6f, dest: 1, trigger: 'level', masked: false }] });
    run(r, [{ k: 'ioapic', pin: 3, op: 'assert' }]);
    r.deliver(1, 0x6f, false);
    expect(r.pins.get(3)!.remoteIrr).toBe(true);
    run(r, [{ k: 'eoi', cpu: 1 }]);
    expect(vsHas(r.cpus[1]!.irr, 0x6f)).toBe(true);
    r.deliver(1, 0x6f, false);
    run(r, [{ k: 'ioapic', pin: 3, op: 'deassert' }, { k: 'eoi', cpu: 1 }]);
    expect(r.pins.get(3)!.remoteIrr).toBe(false);
    expect(vsHas(r.cpus[1]!.irr, 0x6f)).toBe(false);
  });

  it('REF-IOA-1: edges on a masked pin are ignored, not held', () => {
    const r = ref({ ioapic: [{ pin: 0, vector: 0x44, dest: 0, trigger: 'edge', masked: true }] });
    run(r, [{ k: 'ioapic', pin: 0, op: 'pulse' }, { k: 'ioapic', pin: 0, op: 'unmask' }]);
    expect(vsList(r.cpus[0]!.irr)).toEqual([]);
    run(r, [{ k: 'ioapic', pin: 0, op: 'pulse' }]);
    expect(vsList(r.cpus[0]!.irr)).toEqual([0x44]);
  });

  it('REF-IOA-2: a level pin with remote IRR set coalesces further assertions', () => {
    const r = ref({ ioapic: [{ pin: 0, vector: 0x4f, dest: 0, trigger: 'level', masked: false }] });
    run(r, [{ k: 'ioapic', pin: 0, op: 'assert' }]);
    r.deliver(0, 0x4f, false);
    run(r, [{ k: 'ioapic', pin: 0, op: 'deassert' }, { k: 'ioapic', pin: 0, op: 'assert' }]);
    expect(vsHas(r.cpus[0]!.irr, 0x4f)).toBe(false);
  });

  it('REF-IOA-3: unmasking an asserted level pin sends', () => {
    const r = ref({ ioapic: [{ pin: 0, vector: 0x4f, dest: 1, trigger: 'level', masked: true }] });
    run(r, [{ k: 'ioapic', pin: 0, op: 'assert' }]);
    expect(vsHas(r.cpus[1]!.irr, 0x4f)).toBe(false);
    run(r, [{ k: 'ioapic', pin: 0, op: 'unmask' }]);
    expect(vsHas(r.cpus[1]!.irr, 0x4f)).toBe(true);
  });

  it('REF-IOA-4: a level vector has one level source; edge sources may share it (validation)', async () => {
    const { validateScenario } = await import('../../src/scenario/schema.js');
    const machine = { vcpus: 1, apic: 'x2apic', ioapic: [{ pin: 0, vector: 0x4f, dest: 0, trigger: 'level', masked: false }, { pin: 1, vector: 0x50, dest: 0, trigger: 'edge', masked: false }] };
    expect(validateScenario({ irqdiff: 1, machine, events: [{ k: 'msi', dest: 0, vector: 0x4f }] }, 'x.json').events).toHaveLength(1);
    expect(() => validateScenario({
      irqdiff: 1, machine, events: [{ k: 'ioapic_write', cpu: 0, pin: 1, vector: 0x4f, dest: 0, trigger: 'level', masked: false }],
    }, 'x.json')).toThrow(/x\.json: \$\.events\[0\]\.vector: .*level-triggered pin 0/);
  });

  it('REF-ACC-4: edge acceptance clears TMR, so the EOI is not broadcast and the level pin\'s Remote IRR stays set', () => {
    const r = ref({ ioapic: [{ pin: 0, vector: 0x4f, dest: 0, trigger: 'level', masked: false }] });
    const a = r.cpus[0]!;
    const pin = r.pins.get(0)!;
    run(r, [{ k: 'ioapic', pin: 0, op: 'assert' }]);
    expect(vsHas(a.tmr, 0x4f)).toBe(true);
    expect(r.deliver(0, 0x4f, false)).toBeNull(); // the level instance in service
    run(r, [{ k: 'ipi', cpu: 1, vector: 0x4f, dest: 0 }, { k: 'ioapic', pin: 0, op: 'deassert' }]);
    // The IPI was sent after the level message was accepted: it is accepted last, edge.
    expect(vsHas(a.irr, 0x4f) && !vsHas(a.tmr, 0x4f) && !vsHas(a.tmrMaybe, 0x4f)).toBe(true);
    run(r, [{ k: 'eoi', cpu: 0 }]);
    expect([pin.remoteIrr, pin.remoteIrrOpen]).toEqual([true, false]); // not broadcast: Remote IRR stays set
    run(r, [{ k: 'iret', cpu: 0 }]);
    expect(r.deliver(0, 0x4f, false)).toBeNull();
    run(r, [{ k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'ioapic', pin: 0, op: 'assert' }]);
    expect([pin.remoteIrr, vsList(a.irr)]).toEqual([true, []]); // the line is held: nothing is sent
    expect(r.readIoapic('redir-lo', 0) & (1 << 14)).toBe(1 << 14);
    // The converse: a level message accepted after an edge one sets TMR and its EOI broadcasts.
    const r2 = ref({ ioapic: [{ pin: 0, vector: 0x4f, dest: 0, trigger: 'level', masked: false }] });
    run(r2, [{ k: 'msi', dest: 0, vector: 0x4f }]);
    expect(r2.deliver(0, 0x4f, false)).toBeNull();
    run(r2, [{ k: 'ioapic', pin: 0, op: 'assert' }]);
    expect(vsHas(r2.cpus[0]!.tmr, 0x4f)).toBe(true);
    run(r2, [{ k: 'ioapic', pin: 0, op: 'deassert' }, { k: 'eoi', cpu: 0 }]);
    expect(r2.pins.get(0)!.remoteIrr).toBe(false); // the edge instance's EOI found TMR set: broadcast
  });

  it('REF-ACC-4: an edge and a level message of one vector on the bus together leave TMR open until one lands alone', () => {
    const r = ref({ ioapic: [{ pin: 0, vector: 0x4f, dest: 0, trigger: 'level', masked: false }] });
    const a = r.cpus[0]!;
    send(r, [{ k: 'msi', dest: 0, vector: 0x4f }, { k: 'ioapic', pin: 0, op: 'pulse' }]);
    r.land(0);
    expect(vsHas(a.tmrMaybe, 0x4f)).toBe(true);
    r.confirmExtra(0, 0x4f); // seeing the vector pending settles nothing: both were accepted
    expect(vsHas(a.tmrMaybe, 0x4f)).toBe(true);
    expect(r.deliver(0, 0x4f, false)).toBeNull();
    run(r, [{ k: 'msi', dest: 0, vector: 0x4f }]); // alone on the bus: accepted last, for sure
    expect([vsHas(a.tmr, 0x4f), vsHas(a.tmrMaybe, 0x4f)]).toEqual([false, false]);
    // A local edge message (SELF_IPI) that lands while the level message is on the bus: either order.
    const r2 = ref({ ioapic: [{ pin: 0, vector: 0x4f, dest: 0, trigger: 'level', masked: false }] });
    send(r2, [{ k: 'ioapic', pin: 0, op: 'pulse' }, { k: 'self_ipi', cpu: 0, vector: 0x4f }]);
    expect(vsHas(r2.cpus[0]!.tmrMaybe, 0x4f)).toBe(true);
    r2.land(0);
    expect(vsHas(r2.cpus[0]!.tmrMaybe, 0x4f)).toBe(true);
    // An edge message that collapses into a pending level instance: whether a collapsed message
    // still sets TMR the SDM does not say, so TMR is open until a message lands alone.
    const rc = ref({ ioapic: [{ pin: 0, vector: 0x4f, dest: 0, trigger: 'level', masked: false }] });
    run(rc, [{ k: 'ioapic', pin: 0, op: 'pulse' }]);
    expect(vsHas(rc.cpus[0]!.tmrMaybe, 0x4f)).toBe(false);
    run(rc, [{ k: 'ipi', cpu: 1, vector: 0x4f, dest: 0 }]);
    expect([vsList(rc.cpus[0]!.irr), vsHas(rc.cpus[0]!.tmrMaybe, 0x4f)]).toEqual([[0x4f], true]);
    // Messages of one trigger mode only never open it.
    const r3 = ref({ ioapic: [{ pin: 0, vector: 0x4f, dest: 0, trigger: 'level', masked: false }] });
    send(r3, [{ k: 'msi', dest: 0, vector: 0x4f }, { k: 'ipi', cpu: 1, vector: 0x4f, dest: 0 }]);
    r3.land(0);
    expect(vsHas(r3.cpus[0]!.tmrMaybe, 0x4f)).toBe(false);
  });

  it('REF-EOI-4: an EOI whose broadcast is open leaves Remote IRR either way, or an optional message with the line high', () => {
    const m = { ioapic: [{ pin: 0, vector: 0x4f, dest: 0, trigger: 'level' as const, masked: false }] };
    // TMR open (REF-ACC-4), line lowered before the EOI: Remote IRR is open, the next assert sends optionally.
    const r = ref(m);
    const pin = r.pins.get(0)!;
    send(r, [{ k: 'msi', dest: 0, vector: 0x4f }, { k: 'ioapic', pin: 0, op: 'pulse' }]);
    r.land(0);
    expect(r.deliver(0, 0x4f, false)).toBeNull();
    run(r, [{ k: 'eoi', cpu: 0 }]);
    expect([pin.remoteIrr, pin.remoteIrrOpen]).toEqual([true, true]);
    run(r, [{ k: 'iret', cpu: 0 }, { k: 'ioapic', pin: 0, op: 'assert' }]);
    expect([pin.remoteIrr, pin.remoteIrrOpen, r.cpus[0]!.extra.count(0x4f), vsHas(r.cpus[0]!.irr, 0x4f)]).toEqual([true, false, 1, false]);
    // A determined EOI (TMR set for sure) clears Remote IRR in both outcomes.
    expect(r.deliver(0, 0x4f, false)).toBeNull(); // the optional instance, taken: it was sent
    run(r, [{ k: 'ioapic', pin: 0, op: 'deassert' }, { k: 'eoi', cpu: 0 }]);
    expect([pin.remoteIrr, pin.remoteIrrOpen]).toEqual([false, false]);
    // Line still high at the open EOI: the cleared pin sends again at once, so Remote IRR is set
    // in both outcomes and the message is optional.
    const r2 = ref(m);
    const pin2 = r2.pins.get(0)!;
    send(r2, [{ k: 'msi', dest: 0, vector: 0x4f }, { k: 'ioapic', pin: 0, op: 'assert' }]);
    r2.land(0);
    expect(r2.deliver(0, 0x4f, false)).toBeNull();
    run(r2, [{ k: 'eoi', cpu: 0 }]);
    expect([pin2.remoteIrr, pin2.remoteIrrOpen, r2.cpus[0]!.extra.count(0x4f)]).toEqual([true, false, 1]);
    // A level message still on the bus at the EOI of an edge instance (TMR clear): it may land
    // before the EOI (broadcast) or after (not).
    const r3 = ref(m);
    run(r3, [{ k: 'msi', dest: 0, vector: 0x4f }]);
    expect(r3.deliver(0, 0x4f, false)).toBeNull();
    send(r3, [{ k: 'ioapic', pin: 0, op: 'pulse' }, { k: 'eoi', cpu: 0 }]);
    expect(r3.pins.get(0)!.remoteIrrOpen).toBe(true);
  });

  it('REF-IPI-1: shorthands, physical, broadcast and logical destinations', () => {
    const r = new Reference({ vcpus: 4, apic: 'xapic', ioapic: [] });
    const sent = (e: Event) => { const x = new Reference(r.machine); run(x, [e]); return x.cpus.map((c) => vsHas(c.irr, 0x40)); };
    expect(sent({ k: 'ipi', cpu: 1, vector: 0x40, shorthand: 'others' })).toEqual([true, false, true, true]);
    expect(sent({ k: 'ipi', cpu: 1, vector: 0x40, shorthand: 'all', dest: 2 })).toEqual([true, true, true, true]);
    expect(sent({ k: 'ipi', cpu: 1, vector: 0x40, dest: 0xff })).toEqual([true, true, true, true]);
    expect(sent({ k: 'ipi', cpu: 1, vector: 0x40, dest: 2 })).toEqual([false, false, true, false]);
    expect(sent({ k: 'ipi', cpu: 1, vector: 0x40, logical: true, dest: 0b1001 })).toEqual([true, false, false, true]);
  });

  it('REF-IPI-2: IPIs are accepted edge-triggered', () => {
    const r = ref({ ioapic: [{ pin: 0, vector: 0x5e, dest: 0, trigger: 'level', masked: false }] });
    run(r, [{ k: 'ipi', cpu: 1, vector: 0x41, dest: 0 }]);
    expect(vsHas(r.cpus[0]!.tmr, 0x41)).toBe(false);
  });

  it('REF-TPR-1: CR8 sets TPR[7:4] only; MMIO sets the byte', () => {
    const r = ref();
    run(r, [{ k: 'tpr', cpu: 0, value: 0x50, via: 'cr8' }]);
    expect(r.read(0, 'tpr')).toBe(0x50);
    run(r, [{ k: 'tpr', cpu: 0, value: 0x57, via: 'mmio' }]);
    expect(r.read(0, 'tpr')).toBe(0x57);
  });

  it('REF-TPR-2: lowering TPR makes a blocked pending vector deliverable', () => {
    const r = ref();
    run(r, [{ k: 'tpr', cpu: 0, value: 0x50, via: 'cr8' }, { k: 'ipi', cpu: 0, vector: 0x45, shorthand: 'self' }]);
    expect(r.wouldDeliver(0)).toBe(-1);
    run(r, [{ k: 'tpr', cpu: 0, value: 0, via: 'cr8' }]);
    expect(r.wouldDeliver(0)).toBe(0x45);
  });

  it('REF-HLT-1: a halted guest wakes for a deliverable interrupt, not with IF = 0', () => {
    const r = ref();
    run(r, [{ k: 'hlt', cpu: 0 }, { k: 'ipi', cpu: 1, vector: 0x45, dest: 0 }]);
    expect(r.wouldDeliver(0)).toBe(0x45);
    expect(r.deliver(0, 0x45, false)).toBeNull();
    expect(r.cpus[0]!.guest.halted).toBe(false);
    const r2 = ref();
    run(r2, [{ k: 'cli', cpu: 0 }, { k: 'hlt', cpu: 0 }, { k: 'ipi', cpu: 1, vector: 0x45, dest: 0 }]);
    expect(r2.wouldDeliver(0)).toBe(-1);
  });
});
