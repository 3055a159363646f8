// The judge on hand-written observation logs: legal latency is accepted, what no timing
// allows is flagged.
import { describe, expect, it } from 'vitest';
import { compileScenario } from '../../src/real/compile.js';
import { judgeScenario } from '../../src/real/judge.js';
import type { CpuLog, ObsRecord } from '../../src/real/qemu.js';
import { validateScenario } from '../../src/scenario/schema.js';
import type { Event } from '../../src/scenario/types.js';

const EMPTY = [0, 0, 0, 0, 0, 0, 0, 0];
const set = (...v: number[]) => { const w = [...EMPTY]; for (const x of v) w[x >> 5] = (w[x >> 5]! | (1 << (x & 31))) >>> 0; return w; };

function judge(events: Event[], logs: ObsRecord[][], vcpus = 2) {
  const s = validateScenario({ irqdiff: 1, machine: { vcpus, apic: 'x2apic', ioapic: [] }, events });
  const c = compileScenario(s, { accel: 'kvm', x2apicAvailable: true, noIret: false });
  const cpus: CpuLog[] = logs.map((records, cpu) => ({ cpu, err: 0, spurious: 0, records }));
  return judgeScenario(c, { index: 0, cpus }, { variant: 'test' });
}
const tail = (pos: number, isr = EMPTY): ObsRecord[] => [{ t: 'end', pos, depth: 0 }, { t: 'drain-isr', isr }];

describe('judge', () => {
  // vCPU 0 sends 0x41 to vCPU 1, then hands over; vCPU 1 reads IRR, steps, and returns.
  const ev: Event[] = [
    { k: 'ipi', cpu: 0, vector: 0x41, dest: 1 },
    { k: 'work', cpu: 0, flag: 0 },
    { k: 'wait', cpu: 1, flag: 0 },
    { k: 'read', cpu: 1, reg: 'irr' },
    { k: 'step', cpu: 1 },
    { k: 'iret', cpu: 1 },
  ];

  it('accepts an IPI that is still in flight when the receiver reads IRR (latency)', () => {
    const r = judge(ev, [tail(2), [
      { t: 'read', reg: 'irr', pos: 1, value: EMPTY },
      { t: 'deliver', vector: 0x41, pos: 2, nmi: false },
      ...tail(4, set(0x41)),
    ]]);
    expect(r.status).toBe('clean');
  });

  it('accepts the same IPI landing before the read, or only in the drain', () => {
    expect(judge(ev, [tail(2), [
      { t: 'read', reg: 'irr', pos: 1, value: set(0x41) },
      { t: 'deliver', vector: 0x41, pos: 2, nmi: false },
      ...tail(4, set(0x41)),
    ]]).status).toBe('clean');
    expect(judge(ev, [tail(2), [
      { t: 'read', reg: 'irr', pos: 1, value: EMPTY },
      ...tail(4),
      { t: 'drain-deliver', vector: 0x41, nmi: false },
    ]]).status).toBe('clean');
  });

  it('flags a delivery with IF = 0', () => {
    const r = judge([{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x50, shorthand: 'self' }, { k: 'step', cpu: 0 }], [
      [{ t: 'deliver', vector: 0x50, pos: 2, nmi: false }, ...tail(3, set(0x50))],
      tail(0),
    ]);
    expect(r.status).toBe('divergent');
    expect(r.divergences[0]).toMatchObject({ kind: 'masked-if', cause: 'masked-if:self-ipi', cpu: 0 });
  });

  it('flags a delivery inside the STI shadow and one below PPR', () => {
    const shadow = judge([{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x50, shorthand: 'self' }, { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }], [
      [{ t: 'deliver', vector: 0x50, pos: 3, nmi: false }, ...tail(4, set(0x50))], tail(0),
    ]);
    expect(shadow.divergences[0]?.kind).toBe('masked-shadow');
    const ppr = judge([{ k: 'tpr', cpu: 0, value: 0x50, via: 'mmio' }, { k: 'ipi', cpu: 0, vector: 0x50, shorthand: 'self' }, { k: 'step', cpu: 0 }], [
      [{ t: 'deliver', vector: 0x50, pos: 2, nmi: false }, ...tail(3, set(0x50))], tail(0),
    ]);
    expect(ppr.divergences[0]?.kind).toBe('masked-ppr');
  });

  it('flags a vector that was never sent, a read no timing explains, and a lost interrupt', () => {
    expect(judge([{ k: 'step', cpu: 0 }], [[{ t: 'deliver', vector: 0x77, pos: 1, nmi: false }, ...tail(1, set(0x77))], tail(0)]).divergences[0]?.kind).toBe('spurious');
    const read = judge(ev, [tail(2), [{ t: 'read', reg: 'irr', pos: 1, value: set(0x42) }, ...tail(4)]]);
    expect(read.divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-irr:timing' });
    const lost = judge(ev, [tail(2), [{ t: 'read', reg: 'irr', pos: 1, value: set(0x41) }, ...tail(4)]]);
    expect(lost.divergences[0]).toMatchObject({ kind: 'lost', cause: 'lost:ipi' });
  });

  it('flags an ISR that lacks a delivered vector', () => {
    const r = judge([{ k: 'ipi', cpu: 0, vector: 0x50, shorthand: 'self' }, { k: 'step', cpu: 0 }, { k: 'read', cpu: 0, reg: 'isr' }], [
      [{ t: 'deliver', vector: 0x50, pos: 1, nmi: false }, { t: 'read', reg: 'isr', pos: 2, value: EMPTY }, ...tail(3, set(0x50))], tail(0),
    ]);
    expect(r.divergences[0]).toMatchObject({ kind: 'read-mismatch', cause: 'read-mismatch:read-isr:exact' });
  });

  it('accepts either order when two senders race, and flags a priority inversion', () => {
    const race: Event[] = [{ k: 'cli', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' }, { k: 'ipi', cpu: 0, vector: 0x81, shorthand: 'self' }, { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }];
    // 0x41 first is legal only if 0x81 had not arrived yet (self-IPIs through the ICR have latency).
    expect(judge(race, [[
      { t: 'deliver', vector: 0x41, pos: 5, nmi: false }, ...tail(6, set(0x41)), { t: 'drain-deliver', vector: 0x81, nmi: false },
    ], tail(0)]).status).toBe('clean');
    // ...but not once IRR was seen to hold both.
    const inv = judge([...race.slice(0, 3), { k: 'read', cpu: 0, reg: 'irr' }, ...race.slice(3)], [[
      { t: 'read', reg: 'irr', pos: 3, value: set(0x41, 0x81) }, { t: 'deliver', vector: 0x41, pos: 6, nmi: false }, ...tail(7, set(0x41)), { t: 'drain-deliver', vector: 0x81, nmi: false },
    ], tail(0)]);
    expect(inv.divergences[0]?.kind).toBe('priority-inversion');
  });

  it('reports harness errors instead of judging', () => {
    const r = judge(ev, [[{ t: 'error', code: 1, extra: 13 }, ...tail(0)], tail(0)]);
    expect(r.status).toBe('error');
  });
});
