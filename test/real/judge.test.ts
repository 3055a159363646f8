// The judge on observation logs of the kind the guest kernel writes. Legal latency (within
// the assumptions of docs/real-replay.md) is accepted; every case below that bare metal
// cannot produce is flagged. The "broken guest" logs are what a hypervisor that behaves as
// described would make our guest record.
import { describe, expect, it } from 'vitest';
import { compileScenario } from '../../src/real/compile.js';
import { judgeScenario } from '../../src/real/judge.js';
import type { CpuLog, ObsRecord } from '../../src/real/qemu.js';
import { validateScenario } from '../../src/scenario/schema.js';
import type { Event, IoapicPin } from '../../src/scenario/types.js';

const EMPTY = [0, 0, 0, 0, 0, 0, 0, 0];
const set = (...v: number[]) => { const w = [...EMPTY]; for (const x of v) w[x >> 5] = (w[x >> 5]! | (1 << (x & 31))) >>> 0; return w; };

function judge(events: Event[], logs: ObsRecord[][], vcpus = 2, ioapic: IoapicPin[] = []) {
  const s = validateScenario({ irqdiff: 1, machine: { vcpus, apic: 'x2apic', ioapic }, events });
  const c = compileScenario(s, { accel: 'kvm', x2apicAvailable: true, noIret: false });
  const cpus: CpuLog[] = logs.map((records, cpu) => ({ cpu, err: 0, spurious: 0, records }));
  return judgeScenario(c, { index: 0, cpus }, { variant: 'test' });
}
/** The end of a vCPU's log: program over at pos, ISR at the drain, what the drain delivered, IRR left. */
const tail = (pos: number, isr = EMPTY, drained: number[] = [], left = EMPTY): ObsRecord[] => [
  { t: 'end', pos, depth: 0 }, { t: 'drain-isr', isr },
  ...drained.map((v): ObsRecord => ({ t: 'drain-deliver', vector: v, nmi: v === 2 })),
  { t: 'drain-end', irr: left },
];
const dl = (vector: number, pos: number): ObsRecord => ({ t: 'deliver', vector, pos, nmi: false });
const nmi = (pos: number): ObsRecord => ({ t: 'deliver', vector: 2, pos, nmi: true });
const idle = tail(0);

describe('judge: legal latency is accepted', () => {
  // vCPU 0 sends 0x41 to vCPU 1; vCPU 1 reads IRR, steps, and returns.
  const unordered: Event[] = [
    { k: 'ipi', cpu: 0, vector: 0x41, dest: 1 },
    { k: 'read', cpu: 1, reg: 'irr' },
    { k: 'step', cpu: 1 },
    { k: 'iret', cpu: 1 },
  ];

  it('an IPI nothing orders may still be in flight when the receiver reads IRR, or land only in the drain', () => {
    expect(judge(unordered, [tail(1), [{ t: 'read', reg: 'irr', pos: 0, value: EMPTY }, dl(0x41, 1), ...tail(3, set(0x41))]]).status).toBe('clean');
    expect(judge(unordered, [tail(1), [{ t: 'read', reg: 'irr', pos: 0, value: EMPTY }, ...tail(3, EMPTY, [0x41])]]).status).toBe('clean');
  });

  it('a self-IPI may be taken up to two boundaries after the ICR write (A1 + A2), not later', () => {
    const ev: Event[] = [{ k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }];
    for (const pos of [1, 2, 3]) expect(judge(ev, [[dl(0x41, pos), ...tail(4, set(0x41))], idle]).status).toBe('clean');
    const late = judge(ev, [[dl(0x41, 4), ...tail(4, set(0x41))], idle]);
    expect(late.divergences[0]).toMatchObject({ kind: 'late', cause: 'late:self-ipi@boundary' });
  });

  it('a HLT that nothing could wake is stuck legally; so is one whose waker sent after no wait saw it', () => {
    const r = judge([{ k: 'hlt', cpu: 0 }], [[{ t: 'hlt-stuck', pos: 0, irr: EMPTY, ppr: 0 }, ...tail(0)], idle]);
    expect(r.status).toBe('clean');
    const later = judge([{ k: 'hlt', cpu: 0 }, { k: 'ipi', cpu: 1, vector: 0x51, dest: 0 }], [
      [{ t: 'hlt-stuck', pos: 0, irr: EMPTY, ppr: 0 }, ...tail(0, EMPTY, [0x51])], tail(1),
    ]);
    expect(later.status).toBe('clean');
  });

  it('an edge I/O APIC pin pulsed twice delivers twice; a level pin re-sends after EOI while asserted', () => {
    const edge: IoapicPin[] = [{ pin: 1, vector: 0x55, dest: 0, trigger: 'edge', masked: false }];
    const ev: Event[] = [{ k: 'ioapic', pin: 1, op: 'pulse' }, { k: 'step', cpu: 0 }, { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'ioapic', pin: 1, op: 'pulse' }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }];
    // ops of vCPU 0: assert 0, deassert 1, step 2, eoi 3, iret 4, assert 5, deassert 6, step 7, step 8
    expect(judge(ev, [[dl(0x55, 2), dl(0x55, 7), ...tail(9, set(0x55))], idle], 2, edge).status).toBe('clean');
    const level: IoapicPin[] = [{ pin: 1, vector: 0x55, dest: 0, trigger: 'level', masked: false }];
    const lv: Event[] = [{ k: 'ioapic', pin: 1, op: 'assert' }, { k: 'step', cpu: 0 }, { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }];
    expect(judge(lv, [[dl(0x55, 1), dl(0x55, 4), ...tail(6, set(0x55))], idle], 2, level).status).toBe('clean');
  });

  it('an NMI taken at the boundary after it became due, and again in the drain', () => {
    const ev: Event[] = [{ k: 'ipi', cpu: 0, vector: 0, nmi: true, dest: 0 }, { k: 'step', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'step', cpu: 0 }];
    expect(judge(ev, [[nmi(2), ...tail(4)], idle]).status).toBe('clean');
    const two: Event[] = [{ k: 'ipi', cpu: 0, vector: 0, nmi: true, dest: 0 }, { k: 'ipi', cpu: 0, vector: 0, nmi: true, dest: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }];
    // The second NMI arrives while the first is being handled (NMIs blocked): it waits for the drain's IRET.
    expect(judge(two, [[nmi(1), ...tail(4, EMPTY, [2])], idle]).status).toBe('clean');
  });
});

describe('judge: what bare metal cannot produce', () => {
  it('an IPI that a work/wait order proves arrived must show in IRR (A1)', () => {
    const ordered: Event[] = [
      { k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }, { k: 'work', cpu: 0, flag: 0 },
      { k: 'wait', cpu: 1, flag: 0 }, { k: 'cli', cpu: 1 }, { k: 'read', cpu: 1, reg: 'irr' }, { k: 'sti', cpu: 1 }, { k: 'step', cpu: 1 }, { k: 'step', cpu: 1 },
    ];
    const r = judge(ordered, [tail(2), [{ t: 'read', reg: 'irr', pos: 2, value: EMPTY }, dl(0x41, 5), ...tail(6, set(0x41))]]);
    expect(r.divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-irr:timing' });
  });

  it('flags a delivery with IF = 0, inside the STI shadow, and below PPR', () => {
    const r = judge([{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x50, shorthand: 'self' }, { k: 'step', cpu: 0 }], [
      [dl(0x50, 2), ...tail(3, set(0x50))], idle,
    ]);
    expect(r.divergences[0]).toMatchObject({ kind: 'masked-if', cause: 'masked-if:self-ipi', cpu: 0 });
    const shadow = judge([{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x50, shorthand: 'self' }, { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }], [
      [dl(0x50, 3), ...tail(4, set(0x50))], idle,
    ]);
    expect(shadow.divergences[0]?.kind).toBe('masked-shadow');
    const ppr = judge([{ k: 'tpr', cpu: 0, value: 0x50, via: 'mmio' }, { k: 'ipi', cpu: 0, vector: 0x50, shorthand: 'self' }, { k: 'step', cpu: 0 }], [
      [dl(0x50, 2), ...tail(3, set(0x50))], idle,
    ]);
    expect(ppr.divergences[0]?.kind).toBe('masked-ppr');
  });

  it('late in sti; step; cli: a pending vector not taken after the STI shadow', () => {
    // ops: cli 0, self-IPI 1, sti 2 (fused with 3), step 3, cli 4, step 5
    const ev: Event[] = [{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x61, shorthand: 'self' }, { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'cli', cpu: 0 }, { k: 'step', cpu: 0 }];
    expect(judge(ev, [[dl(0x61, 4), ...tail(6, set(0x61))], idle]).status).toBe('clean');
    const r = judge(ev, [[...tail(6, EMPTY, [0x61])], idle]);
    expect(r.divergences[0]).toMatchObject({ kind: 'late', cause: 'late:self-ipi@sti' });
  });

  it('late in sti; hlt: a HLT given up with a deliverable vector in IRR, or woken by the watchdog and not taken', () => {
    const ev: Event[] = [{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x61, shorthand: 'self' }, { k: 'sti', cpu: 0 }, { k: 'hlt', cpu: 0 }, { k: 'step', cpu: 0 }];
    expect(judge(ev, [[dl(0x61, 4), ...tail(5, set(0x61))], idle]).status).toBe('clean');
    const stuck = judge(ev, [[{ t: 'hlt-stuck', pos: 3, irr: set(0x61), ppr: 0 }, ...tail(3, EMPTY, [0x61])], idle]);
    expect(stuck.divergences[0]).toMatchObject({ kind: 'late', cause: 'late:self-ipi@hlt' });
    const never = judge(ev, [[{ t: 'hlt-stuck', pos: 3, irr: set(0x61), ppr: 0 }, ...tail(3, EMPTY, [], set(0x61))], idle]);
    expect(never.divergences[0]).toMatchObject({ kind: 'lost', cause: 'lost:self-ipi@hlt' });
    const woke = judge(ev, [[{ t: 'wd-wake', pos: 4 }, ...tail(5, EMPTY, [0x61])], idle]);
    expect(woke.divergences[0]).toMatchObject({ kind: 'late', cause: 'late:self-ipi@hlt' });
  });

  it('a stuck HLT whose PPR reads low although a vector is in service: the message names the PPR the reference has', () => {
    // What KVM-PVM records (real-fuzz seed rk1 #1): 0xe1 taken, the handler halts with IF = 0 and the
    // stuck HLT reads IRR {} and PPR 0 (no ISR bit was set). IRR agrees with the reference; PPR 0xe0 does not.
    const ev: Event[] = [{ k: 'ipi', cpu: 0, vector: 0xe1, shorthand: 'self' }, { k: 'step', cpu: 0 }, { k: 'hlt', cpu: 0 }];
    const ok = judge(ev, [[dl(0xe1, 1), { t: 'hlt-stuck', pos: 2, irr: EMPTY, ppr: 0xe0 }, ...tail(2, set(0xe1))], idle]);
    expect(ok.status).toBe('clean');
    const r = judge(ev, [[dl(0xe1, 1), { t: 'hlt-stuck', pos: 2, irr: EMPTY, ppr: 0 }, ...tail(2, EMPTY)], idle]);
    expect(r.divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-irr:hlt' });
    expect(r.divergences[0]!.message).toMatch(/\(PPR 0x0\); no legal timing gives that \(e\.g\. \{\} with PPR 0xe0\)/);
  });

  it('late at the EOI that unmasks a pending vector', () => {
    // ops: self 0x61 0, step 1 (0x61 taken at 1), self 0x51 2, sti 3 (fused), eoi 4, step 5, step 6, iret 7
    const ev: Event[] = [
      { k: 'ipi', cpu: 0, vector: 0x61, shorthand: 'self' }, { k: 'step', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x51, shorthand: 'self' },
      { k: 'sti', cpu: 0 }, { k: 'eoi', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'iret', cpu: 0 },
    ];
    expect(judge(ev, [[dl(0x61, 1), dl(0x51, 5), ...tail(8, set(0x51))], idle]).status).toBe('clean');
    const r = judge(ev, [[dl(0x61, 1), ...tail(8, EMPTY, [0x51])], idle]);
    expect(r.divergences[0]).toMatchObject({ kind: 'late', cause: 'late:self-ipi@eoi' });
  });

  it('late at the TPR write (MMIO or CR8) that unmasks a pending vector', () => {
    for (const via of ['mmio', 'cr8'] as const) {
      const ev: Event[] = [{ k: 'tpr', cpu: 0, value: 0x50, via }, { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'step', cpu: 0 }, { k: 'tpr', cpu: 0, value: 0, via }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }];
      expect(judge(ev, [[dl(0x41, 4), ...tail(6, set(0x41))], idle]).status).toBe('clean');
      const r = judge(ev, [[...tail(6, EMPTY, [0x41])], idle]);
      expect(r.divergences[0]).toMatchObject({ kind: 'late', cause: 'late:self-ipi@tpr' });
    }
  });

  it('an NMI taken after a fixed interrupt that was pending with it', () => {
    // ops: cli 0, self 0x41 1, NMI to self 2, sti 3 (fused), step 4, step 5
    const ev: Event[] = [{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'ipi', cpu: 0, vector: 0, nmi: true, dest: 0 }, { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }];
    expect(judge(ev, [[nmi(3), dl(0x41, 5), ...tail(6, set(0x41))], idle]).status).toBe('clean');
    const r = judge(ev, [[dl(0x41, 5), nmi(5), ...tail(6, set(0x41))], idle]);
    expect(r.divergences[0]).toMatchObject({ kind: 'priority-inversion', cause: 'priority-inversion:nmi-over-fixed' });
    const lateNmi = judge(ev, [[...tail(6, EMPTY, [2, 0x41])], idle]);
    expect(lateNmi.divergences[0]).toMatchObject({ kind: 'late', cause: 'late:nmi@sti' }); // due once the STI shadow (which may block NMIs) ended
  });

  it('a wrong priority order with no IRR read: both self-IPIs had arrived (A1)', () => {
    const race: Event[] = [{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'ipi', cpu: 0, vector: 0x81, shorthand: 'self' }, { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }];
    expect(judge(race, [[dl(0x81, 5), ...tail(6, set(0x81), [0x41])], idle]).status).toBe('clean');
    const inv = judge(race, [[dl(0x41, 5), ...tail(6, set(0x41), [0x81])], idle]);
    expect(inv.divergences[0]?.kind).toBe('priority-inversion');
    // Two senders on other vCPUs with no order between them: either order is legal.
    const two: Event[] = [
      { k: 'cli', cpu: 0 }, { k: 'work', cpu: 0, flag: 0 }, { k: 'wait', cpu: 1, flag: 0 }, { k: 'ipi', cpu: 1, vector: 0x41, dest: 0 },
      { k: 'wait', cpu: 2, flag: 0 }, { k: 'ipi', cpu: 2, vector: 0x81, dest: 0 }, { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 },
    ];
    expect(judge(two, [[dl(0x41, 4), ...tail(4, set(0x41), [0x81])], tail(2), tail(2)], 3).status).toBe('clean');
    expect(judge(two, [[dl(0x81, 4), ...tail(4, set(0x81), [0x41])], tail(2), tail(2)], 3).status).toBe('clean');
  });

  it('a missing IRR collapse: one vector sent twice while pending is delivered once', () => {
    // ops: cli 0, self 0x41 1, self 0x41 2, step 3, sti 4 (fused), step 5, eoi 6, iret 7, step 8, step 9
    const ev: Event[] = [
      { k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'step', cpu: 0 },
      { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 },
    ];
    expect(judge(ev, [[dl(0x41, 6), ...tail(10)], idle]).status).toBe('clean');
    const r = judge(ev, [[dl(0x41, 6), dl(0x41, 8), ...tail(10, set(0x41))], idle]);
    expect(r.divergences[0]).toMatchObject({ kind: 'duplicate', cause: 'duplicate:self-ipi' });
  });

  it('a level pin that fires again after deassert + EOI', () => {
    const level: IoapicPin[] = [{ pin: 1, vector: 0x55, dest: 0, trigger: 'level', masked: false }];
    // ops of vCPU 0: assert 0, step 1, deassert 2, eoi 3, iret 4, step 5, step 6
    const ev: Event[] = [{ k: 'ioapic', pin: 1, op: 'assert' }, { k: 'step', cpu: 0 }, { k: 'ioapic', pin: 1, op: 'deassert' }, { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }];
    expect(judge(ev, [[dl(0x55, 1), ...tail(7)], idle], 2, level).status).toBe('clean');
    const r = judge(ev, [[dl(0x55, 1), dl(0x55, 5), ...tail(7, set(0x55))], idle], 2, level);
    expect(r.divergences[0]).toMatchObject({ kind: 'duplicate', cause: 'duplicate:ioapic-level' });
  });

  it('a spurious-vector entry where no TPR write masked a presented vector', () => {
    const ev: Event[] = [{ k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }];
    const r = judge(ev, [[{ t: 'spurious', pos: 1 }, ...tail(2)], idle]);
    expect(r.divergences[0]).toMatchObject({ kind: 'spurious', cause: 'spurious:spurious-vector' });
    const legal = judge([{ k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'tpr', cpu: 0, value: 0xf0, via: 'mmio' }, { k: 'step', cpu: 0 }],
      [[{ t: 'spurious', pos: 2 }, ...tail(3, EMPTY, [0x41])], idle]);
    expect(legal.status).toBe('clean');
  });

  it('a guest exception is a crash and counts as a disagreement; harness trouble is an error', () => {
    const crash = judge([{ k: 'step', cpu: 0 }], [[{ t: 'error', code: 1, extra: 13 }, ...tail(0)], idle]);
    expect(crash.status).toBe('divergent');
    expect(crash.divergences[0]).toMatchObject({ kind: 'crash', cause: 'crash:guest-exception' });
    const barrier = judge([{ k: 'step', cpu: 0 }], [[{ t: 'error', code: 3, extra: 1 }, ...tail(1)], idle]);
    expect(barrier.status).toBe('error');
  });

  it('a vector never sent, a duplicate, a read no timing explains, a vector lost in the drain, and an ISR that lacks a delivery', () => {
    expect(judge([{ k: 'step', cpu: 0 }], [[dl(0x77, 1), ...tail(1, set(0x77))], idle]).divergences[0]?.kind).toBe('spurious');
    const once: Event[] = [{ k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'step', cpu: 0 }, { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'step', cpu: 0 }];
    expect(judge(once, [[dl(0x41, 1), dl(0x41, 4), ...tail(5, set(0x41))], idle]).divergences[0]).toMatchObject({ kind: 'duplicate', cause: 'duplicate:self-ipi' });
    const read = judge([{ k: 'ipi', cpu: 1, vector: 0x41, dest: 0 }, { k: 'read', cpu: 0, reg: 'irr' }], [[{ t: 'read', reg: 'irr', pos: 0, value: set(0x42) }, ...tail(1, EMPTY, [0x41])], tail(1)]);
    expect(read.divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-irr:timing' });
    const lost = judge([{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'step', cpu: 0 }], [[...tail(3, EMPTY, [], set(0x41))], idle]);
    expect(lost.divergences[0]).toMatchObject({ kind: 'lost', cause: 'lost:self-ipi' });
    const isr = judge([{ k: 'ipi', cpu: 0, vector: 0x50, shorthand: 'self' }, { k: 'step', cpu: 0 }, { k: 'read', cpu: 0, reg: 'isr' }], [
      [dl(0x50, 1), { t: 'read', reg: 'isr', pos: 2, value: EMPTY }, ...tail(3, set(0x50))], idle,
    ]);
    expect(isr.divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-isr:exact' });
    const drainIsr = judge([{ k: 'ipi', cpu: 0, vector: 0x50, shorthand: 'self' }, { k: 'step', cpu: 0 }], [[dl(0x50, 1), ...tail(2, EMPTY)], idle]);
    expect(drainIsr.divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-isr:drain' });
  });
});

describe('judge: programmed registers read by the real guest (lapic_read, ioapic_read)', () => {
  const rd = (reg: Extract<ObsRecord, { t: 'read' }>['reg'], pos: number, value: number): ObsRecord => ({ t: 'read', reg, pos, value });

  it('the APIC ID and LDR are the reading vCPU\'s own; a wrong one is a read-mismatch', () => {
    const ev: Event[] = [{ k: 'lapic_read', cpu: 1, reg: 'id' }, { k: 'lapic_read', cpu: 1, reg: 'ldr' }];
    // x2APIC: ID 1, logical ID cluster 0 bit 1 (SDM 10.12.10.2).
    expect(judge(ev, [idle, [rd('id', 0, 1), rd('ldr', 1, 2), ...tail(2)]]).status).toBe('clean');
    expect(judge(ev, [idle, [rd('id', 0, 0), rd('ldr', 1, 2), ...tail(2)]]).divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-id:programmed' });
  });

  it('the version register is the implementation\'s within the SDM\'s range (integrated APIC 0x10-0x15)', () => {
    const ev: Event[] = [{ k: 'lapic_read', cpu: 0, reg: 'version' }];
    expect(judge(ev, [[rd('version', 0, 0x00050014), ...tail(1)], idle]).status).toBe('clean');
    expect(judge(ev, [[rd('version', 0, 0x00060015), ...tail(1)], idle]).status).toBe('clean');
    expect(judge(ev, [[rd('version', 0, 0x00050003), ...tail(1)], idle]).divergences[0]).toMatchObject({ cause: 'read-mismatch:read-version:programmed' });
  });

  it('I/O APIC ID, arbitration and version registers (REF-IOA-7): an ID write keeps bits 27:24 and loads the arbitration ID; version is read-only', () => {
    const ev: Event[] = [
      { k: 'ioapic_read', cpu: 0, reg: 'version' }, { k: 'ioapic_reg_write', cpu: 0, reg: 'version', value: 0xffe8ffee },
      { k: 'ioapic_read', cpu: 0, reg: 'version' }, { k: 'ioapic_reg_write', cpu: 0, reg: 'id', value: 0xffffffff },
      { k: 'ioapic_read', cpu: 0, reg: 'id' }, { k: 'ioapic_reg_write', cpu: 0, reg: 'arb', value: 0 }, { k: 'ioapic_read', cpu: 0, reg: 'arb' },
    ];
    // ops of vCPU 0: 0 read, 1 write, 2 read, 3 write, 4 read, 5 write, 6 read (QEMU's ioapic.c: ID and ARB both read s->id << 24).
    const log = (ver2: number, id: number, arb: number): ObsRecord[] => [rd('ioapic-version', 0, 0x00170011), rd('ioapic-version', 2, ver2),
      rd('ioapic-id', 4, id), rd('ioapic-arb', 6, arb), ...tail(7)];
    expect(judge(ev, [log(0x00170011, 0x0f000000, 0x0f000000), idle]).status).toBe('clean');
    expect(judge(ev, [log(0x00170020, 0x0f000000, 0x0f000000), idle]).divergences[0]).toMatchObject({ cause: 'read-mismatch:read-ioapic-version:programmed' });
    expect(judge(ev, [log(0x00170011, 0, 0x0f000000), idle]).divergences[0]).toMatchObject({ cause: 'read-mismatch:read-ioapic-id:programmed' });
    expect(judge(ev, [log(0x00170011, 0xff000000, 0x0f000000), idle]).divergences[0]).toMatchObject({ cause: 'read-mismatch:read-ioapic-id:programmed' });
    expect(judge(ev, [log(0x00170011, 0x0f000000, 0), idle]).divergences[0]).toMatchObject({ cause: 'read-mismatch:read-ioapic-arb:programmed' });
  });

  it('a redirection entry reads back as programmed; Remote IRR follows acceptance and EOI on its destination vCPU', () => {
    const pins: IoapicPin[] = [{ pin: 3, vector: 0x64, dest: 0, trigger: 'level', masked: false }];
    const ev: Event[] = [
      { k: 'ioapic', pin: 3, op: 'assert' },
      { k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 3 },
      { k: 'ioapic', pin: 3, op: 'deassert' },
      { k: 'eoi', cpu: 0 },
      { k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 3 },
      { k: 'iret', cpu: 0 },
    ];
    // ops of vCPU 0: 0 assert, 1 read, 2 deassert, 3 eoi, 4 read, 5 iret; 0x64 taken before op 1.
    // (Had the EOI come before the deassert, the still-high line would be sent again, Remote IRR set again.)
    const ok = [dl(0x64, 1), rd('redir-lo', 1, 0xc064), rd('redir-lo', 4, 0x8064), ...tail(6)];
    expect(judge(ev, [ok, idle], 2, pins).status).toBe('clean');
    // An I/O APIC that never sets Remote IRR, and one whose EOI did not clear it.
    const missing = [dl(0x64, 1), rd('redir-lo', 1, 0x8064), rd('redir-lo', 4, 0x8064), ...tail(6)];
    expect(judge(ev, [missing, idle], 2, pins).divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-redir-lo:remote-irr-missing' });
    const stale = [dl(0x64, 1), rd('redir-lo', 1, 0xc064), rd('redir-lo', 4, 0xc064), ...tail(6)];
    expect(judge(ev, [stale, idle], 2, pins).divergences[0]).toMatchObject({ cause: 'read-mismatch:read-redir-lo:remote-irr-stale' });
    // The programmed bits are exact (here: trigger mode lost).
    const edge = [dl(0x64, 1), rd('redir-lo', 1, 0x4064), rd('redir-lo', 4, 0x8064), ...tail(6)];
    expect(judge(ev, [edge, idle], 2, pins).divergences[0]).toMatchObject({ cause: 'read-mismatch:read-redir-lo:programmed' });
  });
});

describe('judge: INT n on the real guest', () => {
  const ev: Event[] = [{ k: 'int', cpu: 0, vector: 0x80 }, { k: 'step', cpu: 0 }, { k: 'iret', cpu: 0 }];
  it('the handler entry right after the INT is the software interrupt (no IRR, no ISR, no EOI)', () => {
    expect(judge(ev, [[dl(0x80, 1), ...tail(3)], idle]).status).toBe('clean');
  });
  it('an INT whose handler never ran is a lost instruction; an entry of another vector there is spurious', () => {
    expect(judge(ev, [[...tail(3)], idle]).divergences[0]).toMatchObject({ kind: 'lost', cause: 'lost:int-handler-not-entered' });
    expect(judge(ev, [[dl(0x81, 1), ...tail(3)], idle]).status).toBe('divergent');
  });
});

describe('judge: run-time programming (issue 8: lapic_write, ioapic_write)', () => {
  function judgeX(events: Event[], logs: ObsRecord[][], vcpus = 2, ioapic: IoapicPin[] = []) {
    const s = validateScenario({ irqdiff: 1, machine: { vcpus, apic: 'xapic', ioapic }, events });
    const c = compileScenario(s, { accel: 'tcg', x2apicAvailable: false, noIret: false });
    const cpus: CpuLog[] = logs.map((records, cpu) => ({ cpu, err: 0, spurious: 0, records }));
    return judgeScenario(c, { index: 0, cpus }, { variant: 'test' });
  }

  it('an IPI sent after a work/wait order proves the target rewrote its APIC ID: the new ID accepts it, the old one no longer does (REF-ADDR-1)', () => {
    // vCPU 1: ID 1 → 2, work, step, step (ops 0-3); vCPU 0: wait, IPI 0x41 to 2, IPI 0x42 to 1 (ops 0-2).
    const ev: Event[] = [
      { k: 'lapic_write', cpu: 1, reg: 'id', value: 0x02000000 }, { k: 'work', cpu: 1, flag: 0 },
      { k: 'wait', cpu: 0, flag: 0 }, { k: 'ipi', cpu: 0, vector: 0x41, dest: 2 }, { k: 'ipi', cpu: 0, vector: 0x42, dest: 1 },
      { k: 'step', cpu: 1 }, { k: 'step', cpu: 1 },
    ];
    expect(judgeX(ev, [tail(3), tail(4, EMPTY, [0x41])]).status).toBe('clean');
    const old = judgeX(ev, [tail(3), tail(4, EMPTY, [0x41, 0x42])]);
    expect(old.divergences[0]).toMatchObject({ kind: 'spurious', cause: 'spurious:ipi', cpu: 1 });
    const lost = judgeX(ev, [tail(3), tail(4)]);
    expect(lost.divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-irr:drain', cpu: 1 });
  });

  it('without an order, an IPI to the old ID may land before the ID write, or never', () => {
    const ev: Event[] = [{ k: 'lapic_write', cpu: 1, reg: 'id', value: 0x02000000 }, { k: 'ipi', cpu: 0, vector: 0x42, dest: 1 }, { k: 'step', cpu: 1 }, { k: 'step', cpu: 1 }];
    expect(judgeX(ev, [tail(1), [dl(0x42, 0), ...tail(3, set(0x42))]]).status).toBe('clean');
    expect(judgeX(ev, [tail(1), tail(3)]).status).toBe('clean');
  });

  it('logical destinations match the LDR and DFR model the target has when the message lands', () => {
    // vCPU 1 switches to the cluster model with cluster 1, member bit 1 (LDR 0x12); after the order 0x12 reaches it, 0x02 (flat bit 1) no longer does.
    const ev: Event[] = [
      { k: 'lapic_write', cpu: 1, reg: 'dfr', value: 0x0fffffff }, { k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x12000000 }, { k: 'work', cpu: 1, flag: 0 },
      { k: 'wait', cpu: 0, flag: 0 }, { k: 'ipi', cpu: 0, vector: 0x41, logical: true, dest: 0x12 }, { k: 'ipi', cpu: 0, vector: 0x42, logical: true, dest: 0x02 },
      { k: 'step', cpu: 1 },
    ];
    expect(judgeX(ev, [tail(3), tail(4, EMPTY, [0x41])]).status).toBe('clean');
    expect(judgeX(ev, [tail(3), tail(4, EMPTY, [0x41, 0x42])]).divergences[0]).toMatchObject({ kind: 'spurious', cpu: 1 });
  });

  it('a software-disabled APIC discards fixed messages that land after the SVR write and holds IRR through the drain (REF-SVR-1/2)', () => {
    // ops: cli 0, self 0x41 1, step 2, SVR = 0xff (disabled) 3, self 0x42 4, step 5, step 6
    const ev: Event[] = [
      { k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'step', cpu: 0 },
      { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0xff }, { k: 'ipi', cpu: 0, vector: 0x42, shorthand: 'self' }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 },
    ];
    expect(judgeX(ev, [tail(7, EMPTY, [], set(0x41)), idle]).status).toBe('clean');
    expect(judgeX(ev, [tail(7, EMPTY, [], set(0x41, 0x42)), idle]).divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-irr:drain' });
    expect(judgeX(ev, [tail(7, EMPTY, [], EMPTY), idle]).divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-irr:drain' });
  });

  it('a redirection-entry write moves a pin: its messages go to the new destination with the new vector (REF-IOA-5)', () => {
    const pins: IoapicPin[] = [{ pin: 1, vector: 0x55, dest: 0, trigger: 'level', masked: true }];
    // vCPU 0: write (0x56 → vCPU 1, unmasked) 0, assert 1, deassert 2; vCPU 1: step 0, eoi 1, iret 2.
    const ev: Event[] = [
      { k: 'ioapic_write', cpu: 0, pin: 1, vector: 0x56, dest: 1, trigger: 'level', masked: false },
      { k: 'ioapic', pin: 1, op: 'assert' }, { k: 'ioapic', pin: 1, op: 'deassert' },
      { k: 'step', cpu: 1 }, { k: 'eoi', cpu: 1 }, { k: 'iret', cpu: 1 },
    ];
    expect(judgeX(ev, [tail(3), tail(3, EMPTY, [0x56])], 2, pins).status).toBe('clean');
    expect(judgeX(ev, [tail(3), [dl(0x56, 0), ...tail(3)]], 2, pins).status).toBe('clean');
    expect(judgeX(ev, [tail(3), tail(3, EMPTY, [0x55])], 2, pins).divergences[0]).toMatchObject({ kind: 'spurious', cpu: 1 });
    expect(judgeX(ev, [tail(3), tail(3)], 2, pins).divergences[0]).toMatchObject({ cpu: 1 });
  });

  it('an EOI of the old vector after an entry write does not clear Remote IRR: no re-send under the new vector (REF-IOA-5)', () => {
    const pins: IoapicPin[] = [{ pin: 1, vector: 0x55, dest: 0, trigger: 'level', masked: false }];
    // vCPU 0: assert 0, step 1, write (0x57, still vCPU 0) 2, eoi 3, iret 4, step 5, step 6; the line stays high.
    const ev: Event[] = [
      { k: 'ioapic', pin: 1, op: 'assert' }, { k: 'step', cpu: 0 },
      { k: 'ioapic_write', cpu: 0, pin: 1, vector: 0x57, dest: 0, trigger: 'level', masked: false },
      { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 },
    ];
    expect(judgeX(ev, [[dl(0x55, 1), ...tail(7)], idle], 2, pins).status).toBe('clean');
    const resent = judgeX(ev, [[dl(0x55, 1), dl(0x57, 5), ...tail(7, set(0x57))], idle], 2, pins);
    expect(resent.divergences[0]).toMatchObject({ kind: 'spurious', cpu: 0 });
  });
});

describe('judge: the timer count of a stopped timer', () => {
  it('TMCCT reads 0 where no timer is armed (the harness stops it; timer events are skipped); another count is flagged', () => {
    const s = validateScenario({ irqdiff: 1, machine: { vcpus: 1, apic: 'xapic', ioapic: [] }, events: [{ k: 'lapic_read', cpu: 0, reg: 'tmcct' }, { k: 'step', cpu: 0 }] });
    const c = compileScenario(s, { accel: 'tcg', x2apicAvailable: false, noIret: false });
    const run = (value: number) => judgeScenario(c, { index: 0, cpus: [{ cpu: 0, err: 0, spurious: 0, records: [{ t: 'read', reg: 'tmcct', pos: 0, value }, ...tail(2)] }] }, { variant: 'test' });
    expect(run(0).status).toBe('clean');
    expect(run(12).divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-tmcct:programmed' });
  });
});
