// The scenario → guest-program compiler: ops per vCPU, mapped and skipped events named.
import { describe, expect, it } from 'vitest';
import { OP, REG_CODE, compileScenario, encodeBatch } from '../../src/real/compile.js';
import { validateScenario } from '../../src/scenario/schema.js';
import type { Event } from '../../src/scenario/types.js';

const scn = validateScenario({
  irqdiff: 1,
  machine: { vcpus: 2, apic: 'x2apic', ioapic: [{ pin: 3, vector: 0x55, dest: 1, trigger: 'level', masked: false }] },
  events: [
    { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' },
    { k: 'tpr', cpu: 0, value: 0x20, via: 'cr8' },
    { k: 'work', cpu: 0, flag: 1 },
    { k: 'wait', cpu: 1, flag: 1 },
    { k: 'read', cpu: 1, reg: 'isr' },
    { k: 'ioapic', pin: 3, op: 'pulse' },
    { k: 'msi', dest: 1, vector: 0x61 },
    { k: 'exit', cpu: 1, reason: 'timer' },
    { k: 'pirq', cpu: 0 },
    { k: 'ipi', cpu: 1, vector: 0, nmi: true, dest: 0 },
    { k: 'eoi', cpu: 1 },
    { k: 'iret', cpu: 1 },
  ],
});

describe('compileScenario', () => {
  it('turns guest events into per-vCPU ops, executes exits as trapping instructions, and names what it skips', () => {
    const c = compileScenario(scn, { accel: 'kvm', x2apicAvailable: true, noIret: false });
    expect(c.machine.apic).toBe('x2apic');
    const p0 = c.programs[0]!, p1 = c.programs[1]!;
    expect(p0.map((o) => o.code)).toEqual([OP.IPI, OP.CR8, OP.WORK, OP.PIN, OP.PIN]);
    expect(p0[0]!.data).toBe(0x41 | 0x4000 | 0x40000);           // fixed, assert, self shorthand
    expect(p0[1]!.data).toBe(2);                                   // MOV CR8 with 2: TPR 0x20
    expect(p1.map((o) => o.code)).toEqual([OP.WAIT, OP.READ, OP.MSI, OP.CPUID, OP.IPI, OP.EOI, OP.IRET]);
    expect(p1[2]!.data).toBe(1 << 12);                             // MSI address: destination 1
    expect(p1[4]!.data & 0x700).toBe(0x400);                       // NMI delivery mode
    const skipped = c.notes.filter((n) => n.action === 'skipped').map((n) => `${n.index}:${n.key}`);
    expect(skipped).toEqual(['8:pirq']);
    const mapped = c.notes.filter((n) => n.action === 'mapped').map((n) => `${n.index}:${n.key}`);
    expect(mapped).toEqual(['5:ioapic', '6:msi', '7:exit:timer']);   // a timer exit becomes CPUID
    expect(c.pins).toEqual([{ pin: 3, line: 3, vector: 0x55, dest: 1, rteDest: 1, level: true, masked: false }]);
  });

  it('maps x2APIC to xAPIC where the accelerator lacks it, and skips NMIs without IRET', () => {
    const c = compileScenario(scn, { accel: 'tcg', x2apicAvailable: false, noIret: true });
    expect(c.machine.apic).toBe('xapic');
    expect(c.notes.some((n) => n.index === -1 && /x2apic → xapic/.test(n.reason))).toBe(true);
    expect(c.notes.find((n) => n.index === 9)).toMatchObject({ action: 'skipped', k: 'ipi' });
    expect(c.programs[1]!.map((o) => o.code)).toEqual([OP.WAIT, OP.READ, OP.MSI, OP.CPUID, OP.EOI, OP.IRET]);
  });

  it('skips an MSI to APIC ID 0 under KVM (the write would hit the APIC page)', () => {
    const s = validateScenario({ irqdiff: 1, machine: { vcpus: 2, apic: 'xapic', ioapic: [] }, events: [{ k: 'msi', dest: 0, vector: 0x40 }] });
    expect(compileScenario(s, { accel: 'kvm', x2apicAvailable: true, noIret: false }).notes[0]).toMatchObject({ action: 'skipped' });
    expect(compileScenario(s, { accel: 'tcg', x2apicAvailable: false, noIret: false }).programs[0]!.length).toBe(1);
  });

  it('executes every kind of exit the guest can cause, and merges VM entries into them', () => {
    const s = validateScenario({ irqdiff: 1, machine: { vcpus: 1, apic: 'xapic', ioapic: [] }, events: [
      { k: 'exit', cpu: 0, reason: 'io' }, { k: 'exit', cpu: 0, reason: 'cpuid' }, { k: 'exit', cpu: 0, reason: 'pause' },
      { k: 'exit', cpu: 0, reason: 'npf' }, { k: 'enter_step', cpu: 0 }, { k: 'enter', cpu: 0 }, { k: 'fault', cpu: 0 },
    ] });
    const c = compileScenario(s, { accel: 'tcg', x2apicAvailable: false, noIret: false });
    expect(c.programs[0]!.map((o) => o.code)).toEqual([OP.OUT, OP.CPUID, OP.PAUSE, OP.NPF]);
    expect(c.notes.map((n) => `${n.key}:${n.action}`)).toEqual(['exit:pause:mapped', 'exit:npf:mapped', 'enter_step:merged', 'enter:merged', 'fault:skipped']);
  });

  it('encodes a batch the guest can parse', () => {
    const c = compileScenario(scn, { accel: 'kvm', x2apicAvailable: true, noIret: false });
    const t = { graceUs: 1, waitTimeoutUs: 2, drainUs: 3, settleUs: 4, quietUs: 5 };
    const b = encodeBatch([c], { ...t, x2apic: true, ncpus: 3, noIret: false });
    expect(b.readUInt32LE(0)).toBe(0x42515249);
    expect(b.readUInt32LE(4)).toBe(2);                             // BATCH_VERSION
    expect(b.readUInt32LE(8)).toBe(1);
    expect(b.readUInt32LE(11 * 4)).toBe((b.length / 4) - 11);      // record size in words, after the 11-word header
    expect(() => encodeBatch([c], { ...t, x2apic: true, ncpus: 2, noIret: false })).toThrow(/needs 2 vCPUs/);
  });
});

describe('compile: programmed-register reads and SELF_IPI', () => {
  const pins = [{ pin: 9, vector: 0x51, dest: 1, trigger: 'level' as const, masked: true }];
  it('reads run as guest reads with the register code; the timer count is skipped; SELF_IPI is the ICR self shorthand on xAPIC', () => {
    const s = validateScenario({
      irqdiff: 1, machine: { vcpus: 2, apic: 'x2apic', ioapic: pins },
      events: [
        { k: 'lapic_read', cpu: 1, reg: 'ldr' },
        { k: 'ioapic', pin: 9, op: 'unmask' },
        { k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 9 },
        { k: 'lapic_read', cpu: 0, reg: 'tmcct' },
        { k: 'self_ipi', cpu: 1, vector: 0x40 },
      ],
    });
    const c = compileScenario(s, { accel: 'tcg', x2apicAvailable: false, noIret: false });
    expect(c.programs[1]!.map((o) => [o.code, o.a])).toEqual([[OP.READ, REG_CODE.ldr], [OP.SELFIPI, 0]]);
    const io = c.programs[0]!.find((o) => o.code === OP.READ)!;
    expect(io.a).toBe(REG_CODE['redir-lo']);
    expect(io.b).toBe(c.pins[0]!.line);
    // Unmasked by the program before the read: vector | level, mask clear; Remote IRR judged on vCPU 1's timeline only.
    expect(io.sem).toMatchObject({ k: 'ioread', expect: 0x8051, remoteIrrPin: 9 });
    expect(c.notes.filter((n) => n.action === 'skipped').map((n) => `${n.index}:${n.key}`)).toEqual(['3:lapic_read']);
    expect(c.programs[1]![1]!.sem).toMatchObject({ k: 'guest', ev: { k: 'ipi', shorthand: 'self', vector: 0x40 } });
  });

  it('an I/O APIC read is expressed only when one vCPU selects I/O APIC registers (IOREGSEL/IOWIN is not atomic)', () => {
    const mk = (events: Event[]) => compileScenario(validateScenario({ irqdiff: 1, machine: { vcpus: 2, apic: 'xapic', ioapic: pins }, events }), { accel: 'tcg', x2apicAvailable: false, noIret: false });
    const alone = mk([{ k: 'ioapic_read', cpu: 1, reg: 'version' }, { k: 'ioapic_read', cpu: 1, reg: 'redir-hi', pin: 9 }]);
    expect(alone.programs[1]!.map((o) => o.a)).toEqual([REG_CODE['ioapic-version'], REG_CODE['redir-hi']]);
    expect(alone.programs[1]![1]!.sem).toMatchObject({ k: 'ioread', expect: 0x01000000, care: 0xff000000 });
    const shared = mk([{ k: 'ioapic', pin: 9, op: 'unmask' }, { k: 'ioapic_read', cpu: 1, reg: 'version' }]);
    expect(shared.notes.filter((n) => n.action === 'skipped').map((n) => `${n.index}:${n.key}`)).toEqual(['1:ioapic_read']);
  });
});
