// The scenario → guest-program compiler: ops per vCPU, mapped and skipped events named.
import { describe, expect, it } from 'vitest';
import { OP, compileScenario, encodeBatch } from '../../src/real/compile.js';
import { validateScenario } from '../../src/scenario/schema.js';

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
  it('turns guest events into per-vCPU ops and names what it skips', () => {
    const c = compileScenario(scn, { accel: 'kvm', x2apicAvailable: true, noIret: false });
    expect(c.machine.apic).toBe('x2apic');
    const p0 = c.programs[0]!, p1 = c.programs[1]!;
    expect(p0.map((o) => o.code)).toEqual([OP.IPI, OP.TPR, OP.WORK, OP.PIN, OP.PIN]);
    expect(p0[0]!.data).toBe(0x41 | 0x4000 | 0x40000);           // fixed, assert, self shorthand
    expect(p0[1]!.data).toBe(0x20);                                // CR8 2 → TPR 0x20
    expect(p1.map((o) => o.code)).toEqual([OP.WAIT, OP.READ, OP.MSI, OP.IPI, OP.EOI, OP.IRET]);
    expect(p1[2]!.data).toBe(1 << 12);                             // MSI address: destination 1
    expect(p1[3]!.data & 0x700).toBe(0x400);                       // NMI delivery mode
    const skipped = c.notes.filter((n) => n.action === 'skipped').map((n) => `${n.index}:${n.k}`);
    expect(skipped).toEqual(['7:exit', '8:pirq']);
    const mapped = c.notes.filter((n) => n.action === 'mapped').map((n) => n.index);
    expect(mapped).toEqual([1, 5, 6]);
    expect(c.pins).toEqual([{ pin: 3, line: 3, vector: 0x55, dest: 1, rteDest: 1, level: true, masked: false }]);
  });

  it('maps x2APIC to xAPIC where the accelerator lacks it, and skips NMIs without IRET', () => {
    const c = compileScenario(scn, { accel: 'tcg', x2apicAvailable: false, noIret: true });
    expect(c.machine.apic).toBe('xapic');
    expect(c.notes.some((n) => n.index === -1 && /x2apic → xapic/.test(n.reason))).toBe(true);
    expect(c.notes.find((n) => n.index === 9)).toMatchObject({ action: 'skipped', k: 'ipi' });
    expect(c.programs[1]!.map((o) => o.code)).toEqual([OP.WAIT, OP.READ, OP.MSI, OP.EOI, OP.IRET]);
  });

  it('skips an MSI to APIC ID 0 under KVM (the write would hit the APIC page)', () => {
    const s = validateScenario({ irqdiff: 1, machine: { vcpus: 2, apic: 'xapic', ioapic: [] }, events: [{ k: 'msi', dest: 0, vector: 0x40 }] });
    expect(compileScenario(s, { accel: 'kvm', x2apicAvailable: true, noIret: false }).notes[0]).toMatchObject({ action: 'skipped' });
    expect(compileScenario(s, { accel: 'tcg', x2apicAvailable: false, noIret: false }).programs[0]!.length).toBe(1);
  });

  it('encodes a batch the guest can parse', () => {
    const c = compileScenario(scn, { accel: 'kvm', x2apicAvailable: true, noIret: false });
    const b = encodeBatch([c], { x2apic: true, ncpus: 3, hltTimeoutUs: 1, waitTimeoutUs: 2, drainUs: 3, noIret: false });
    expect(b.readUInt32LE(0)).toBe(0x42515249);
    expect(b.readUInt32LE(8)).toBe(1);
    expect(b.readUInt32LE(9 * 4)).toBe((b.length / 4) - 9);        // record size in words
    expect(() => encodeBatch([c], { x2apic: true, ncpus: 2, hltTimeoutUs: 1, waitTimeoutUs: 2, drainUs: 3, noIret: false })).toThrow(/needs 2 vCPUs/);
  });
});
