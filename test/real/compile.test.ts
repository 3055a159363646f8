// The scenario → guest-program compiler: ops per vCPU, mapped and skipped events named.
import { describe, expect, it } from 'vitest';
import { OP, REG_CODE, compileScenario, encodeBatch } from '../../src/real/compile.js';
import { validateScenario } from '../../src/scenario/schema.js';
import type { Event, IoapicPin } from '../../src/scenario/types.js';

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
    expect(c.pins).toEqual([{ pin: 3, line: 3, vector: 0x55, dest: 1, rteDest: 1, level: true, masked: false, judgeCpu: 1 }]);
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
  it('reads run as guest reads with the register code (the timer count of a timer the scenario never arms too); SELF_IPI is the ICR self shorthand on xAPIC', () => {
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
    expect(c.notes.filter((n) => n.action === 'skipped')).toEqual([]);
    expect(c.programs[0]!.map((o) => [o.code, o.a])).toContainEqual([OP.READ, REG_CODE.tmcct]);
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

describe('compile: run-time programming (issue 8: lapic_write, ioapic_write, lvt_lint)', () => {
  const tcg = { accel: 'tcg' as const, x2apicAvailable: false, noIret: false };
  const kvm = { accel: 'kvm' as const, x2apicAvailable: true, noIret: false };

  it('a local APIC write is one OP_LAPICW with the register offset >> 4 (xAPIC MMIO offset, x2APIC MSR 0x800 + a) and the value as written', () => {
    const s = validateScenario({ irqdiff: 1, machine: { vcpus: 2, apic: 'xapic', ioapic: [] }, events: [
      { k: 'lapic_write', cpu: 1, reg: 'id', value: 0x02000000 },
      { k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x04000000 },
      { k: 'lapic_write', cpu: 1, reg: 'dfr', value: 0x0fffffff },
      { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0xff },
      { k: 'read', cpu: 0, reg: 'esr' },
      { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 },
      { k: 'read', cpu: 0, reg: 'esr' },
      { k: 'hlt', cpu: 1 },
    ] });
    const c = compileScenario(s, tcg);
    expect(c.programs[1]!.map((o) => [o.code, o.a, o.data >>> 0])).toEqual([
      [OP.LAPICW, 0x2, 0x02000000], [OP.LAPICW, 0xd, 0x04000000], [OP.LAPICW, 0xe, 0x0fffffff],
      [OP.HLT, 1, 0],   // an ID write in the scenario: the emulated HLT, which the watchdog ends without an NMI to an APIC ID
    ]);
    // ESR: the harness's write-then-read until the vCPU writes ESR itself, then a plain read of what that write latched (REF-ESR-1).
    expect(c.programs[0]!.map((o) => [o.code, o.a])).toEqual([[OP.LAPICW, 0xf], [OP.READ, REG_CODE.esr], [OP.LAPICW, 0x28], [OP.READ, REG_CODE['esr-plain']]]);
    expect(c.notes.map((n) => `${n.index}:${n.key}:${n.action}`)).toEqual(['7:hlt:mapped']);
  });

  it('x2APIC: SVR and ESR are WRMSRs; an APIC ID write in a scenario with I/O APIC pins is skipped with its reason', () => {
    const x2 = validateScenario({ irqdiff: 1, machine: { vcpus: 1, apic: 'x2apic', ioapic: [] }, events: [
      { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0x1ff }, { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, { k: 'hlt', cpu: 0 },
    ] });
    const c = compileScenario(x2, kvm);
    expect(c.programs[0]!.map((o) => [o.code, o.a])).toEqual([[OP.LAPICW, 0xf], [OP.LAPICW, 0x28], [OP.HLT, 0]]);
    const withPins = validateScenario({ irqdiff: 1, machine: { vcpus: 2, apic: 'xapic', ioapic: [{ pin: 1, vector: 0x50, dest: 1, trigger: 'edge', masked: false }] }, events: [
      { k: 'lapic_write', cpu: 1, reg: 'id', value: 0x03000000 }, { k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x08000000 },
    ] });
    const p = compileScenario(withPins, tcg);
    expect(p.programs[1]!.map((o) => o.a)).toEqual([0xd]);
    expect(p.notes[0]).toMatchObject({ index: 0, action: 'skipped', reason: expect.stringMatching(/I\/O APIC pins/) });
  });

  it('an LVT LINT write is executed (vector, NMI, trigger, mask bits); a LINT line event is skipped: a guest cannot drive LINT under QEMU', () => {
    const s = validateScenario({ irqdiff: 1, machine: { vcpus: 1, apic: 'xapic', ioapic: [] }, events: [
      { k: 'lvt_lint', cpu: 0, pin: 0, vector: 0x61, trigger: 'level', masked: false },
      { k: 'lvt_lint', cpu: 0, pin: 1, vector: 0x62, trigger: 'edge', masked: true, nmi: true },
      { k: 'lint', cpu: 0, pin: 0, op: 'assert' },
    ] });
    const c = compileScenario(s, tcg);
    expect(c.programs[0]!.map((o) => [o.code, o.a, o.data])).toEqual([[OP.LAPICW, 0x35, 0x8061], [OP.LAPICW, 0x36, 0x10462]]);
    expect(c.notes).toEqual([expect.objectContaining({ index: 2, key: 'lint', action: 'skipped', reason: expect.stringMatching(/8259/) })]);
  });

  const pin = (over: Partial<IoapicPin> = {}): IoapicPin => ({ pin: 7, vector: 0x51, dest: 0, trigger: 'level', masked: true, ...over });
  const io = (events: Event[], pins: IoapicPin[] = [pin()], vcpus = 2) =>
    compileScenario(validateScenario({ irqdiff: 1, machine: { vcpus, apic: 'xapic', ioapic: pins }, events }), tcg);

  it('a redirection-entry write is one OP_IOAPICW (line, destination for the high dword, low dword); the pin is judged where its messages can go', () => {
    const c = io([
      { k: 'ioapic_write', cpu: 0, pin: 7, vector: 0x52, dest: 1, trigger: 'level', masked: false },
      { k: 'ioapic', pin: 7, op: 'assert' },
      { k: 'ioapic', pin: 7, op: 'mask' },
      { k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 7 },
      { k: 'ioapic_read', cpu: 0, reg: 'redir-hi', pin: 7 },
    ]);
    const line = c.pins[0]!.line;
    const p0 = c.programs[0]!;
    expect(p0.map((o) => o.code)).toEqual([OP.IOAPICW, OP.PIN, OP.PINMASK, OP.READ, OP.READ]);
    expect([p0[0]!.a, p0[0]!.b, p0[0]!.data]).toEqual([line, 1, 0x8052]);
    expect(p0[0]!.sem).toEqual({ k: 'iowrite', pin: 7, entry: { vector: 0x52, dest: 1, level: true, masked: false } });
    expect(p0[2]!.data).toBe(0x8052);                                   // mask rewrites the entry as the write left it
    expect(p0[3]!.sem).toMatchObject({ k: 'ioread', expect: 0x18052 }); // masked, level, the new vector
    expect(p0[4]!.sem).toMatchObject({ k: 'ioread', expect: 0x01000000 });
    // The initial entry (masked, line low) never sends to vCPU 0: the judge follows the pin on vCPU 1.
    expect(c.pins[0]!.judgeCpu).toBe(1);
  });

  it('a write is skipped, with its reason, where the pin could send to two vCPUs, or where another vCPU writes', () => {
    // The line is high and the entry unmasked across the write: messages go to vCPU 0 before it, to vCPU 1 after.
    const two = io([
      { k: 'ioapic_write', cpu: 0, pin: 7, vector: 0x51, dest: 0, trigger: 'level', masked: false },
      { k: 'ioapic', pin: 7, op: 'assert' },
      { k: 'ioapic_write', cpu: 0, pin: 7, vector: 0x51, dest: 1, trigger: 'level', masked: false },
    ]);
    expect(two.notes.filter((n) => n.action === 'skipped').map((n) => n.index)).toEqual([0, 2]);
    expect(two.notes.find((n) => n.index === 2)!.reason).toMatch(/more than one vCPU/);
    expect(two.pins[0]!.judgeCpu).toBe(0);
    const other = io([
      { k: 'ioapic_write', cpu: 1, pin: 7, vector: 0x51, dest: 1, trigger: 'level', masked: false },
      { k: 'ioapic_write', cpu: 0, pin: 7, vector: 0x51, dest: 1, trigger: 'level', masked: false },
    ]);
    expect(other.programs[1]!.map((o) => o.code)).toEqual([OP.IOAPICW]);
    expect(other.notes).toEqual([expect.objectContaining({ index: 1, action: 'skipped', reason: expect.stringMatching(/written and the pins driven by vCPU 1/) })]);
  });

  it('the timer events stay skipped, with the reason; a TMCCT read after a skipped arming reads the stopped timer (mapped)', () => {
    const s = validateScenario({ irqdiff: 1, machine: { vcpus: 1, apic: 'xapic', ioapic: [] }, events: [
      { k: 'lvt_timer', cpu: 0, vector: 0x40, mode: 'oneshot', masked: false }, { k: 'timer_initial', cpu: 0, count: 10 },
      { k: 'time', cpu: 0, advance: 10 }, { k: 'lapic_read', cpu: 0, reg: 'tmcct' },
    ] });
    const c = compileScenario(s, tcg);
    expect(c.programs[0]!.map((o) => [o.code, o.a])).toEqual([[OP.READ, REG_CODE.tmcct]]);
    expect(c.notes.map((n) => `${n.key}:${n.action}`)).toEqual(['lvt_timer:skipped', 'timer_initial:skipped', 'time:skipped', 'lapic_read:mapped']);
  });
});

describe('real-fuzz generator: run-time programming', () => {
  it('draws lapic_write, ioapic_write and lvt_lint only with programming, every scenario valid; without it none', async () => {
    const { generateScenario } = await import('../../src/real/fuzz.js');
    const seedrandom = (await import('seedrandom')).default;
    const kinds = (programming: boolean) => {
      const rng = seedrandom('gen-programming');
      const seen = new Map<string, number>();
      for (let i = 0; i < 300; i++) {
        for (const e of generateScenario(rng, `g${i}`, { allowNmi: true, programming }).events) seen.set(e.k, (seen.get(e.k) ?? 0) + 1);
      }
      return seen;
    };
    const on = kinds(true), off = kinds(false);
    for (const k of ['lapic_write', 'ioapic_write', 'lvt_lint']) { expect(on.get(k) ?? 0).toBeGreaterThan(0); expect(off.get(k)).toBeUndefined(); }
  });
});
