// Validation of the programmable-APIC events: each impossible write or read is refused with
// the field named and the architectural reason; a backend that does not model an event
// refuses the scenario explicitly ("unsupported by this backend").
import { describe, expect, it } from 'vitest';
import { supportsScenario } from '../../src/backends/features.js';
import { BACKENDS } from '../../src/backends/registry.js';
import { runScenario } from '../../src/engine/session.js';
import { scenarioFeatures, type Feature } from '../../src/scenario/features.js';
import { parseScenario, ScenarioError } from '../../src/scenario/schema.js';
import type { Scenario } from '../../src/scenario/types.js';

const x2 = { vcpus: 2, apic: 'x2apic', ioapic: [{ pin: 0, vector: 0x5f, dest: 0, trigger: 'level', masked: false }] };
const xa = { ...x2, apic: 'xapic' };
const parse = (machine: unknown, events: unknown[]) => parseScenario(JSON.stringify({ irqdiff: 1, machine, events }), 'kut.json');
function error(machine: unknown, events: unknown[]): ScenarioError {
  try { parse(machine, events); } catch (e) { return e as ScenarioError; }
  throw new Error('expected an error');
}

describe('programmable-APIC events: validation', () => {
  it('accepts each new event in a mode where it exists', () => {
    expect(parse(xa, [
      { k: 'lapic_write', cpu: 1, reg: 'id', value: 0x05000000 }, { k: 'lapic_write', cpu: 1, reg: 'ldr', value: 0x34000000 },
      { k: 'lapic_write', cpu: 1, reg: 'dfr', value: 0x0fffffff }, { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0xff },
      { k: 'lapic_read', cpu: 0, reg: 'dfr' }, { k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 0 },
      { k: 'ioapic_write', cpu: 0, pin: 0, vector: 0x5f, dest: 3, trigger: 'level', masked: false, logical: true, lowest: true },
    ]).events).toHaveLength(7);
    expect(parse(x2, [{ k: 'self_ipi', cpu: 0, vector: 0x41 }, { k: 'ipi', cpu: 0, vector: 0x41, dest: 0xffffffff }]).events).toHaveLength(2);
  });

  it('x2APIC ID, LDR and DFR are not writable (SDM 10.12.1.2)', () => {
    const e = error(x2, [{ k: 'lapic_write', cpu: 0, reg: 'ldr', value: 0x01000000 }]);
    expect([e.path, e.detail]).toEqual(['$.events[0].reg', expect.stringMatching(/read-only or absent/)]);
    expect(error(x2, [{ k: 'lapic_read', cpu: 0, reg: 'dfr' }]).detail).toMatch(/no DFR/);
  });

  it('reserved register bits are named', () => {
    expect(error(xa, [{ k: 'lapic_write', cpu: 0, reg: 'id', value: 5 }]).detail).toMatch(/bits 23:0 .* reserved/);
    expect(error(xa, [{ k: 'lapic_write', cpu: 0, reg: 'dfr', value: 0 }]).detail).toMatch(/0xFFFFFFFF \(flat model\) or 0x0FFFFFFF/);
    expect(error(xa, [{ k: 'lapic_write', cpu: 0, reg: 'svr', value: 0x11ff }]).detail).toMatch(/bits 8:0 only/);
    expect(error(x2, [{ k: 'lapic_write', cpu: 0, reg: 'esr', value: 1 }]).detail).toMatch(/only 0 may be written/);
  });

  it('SELF_IPI needs x2APIC; xAPIC destinations are 8 bits; lowest priority takes no shorthand', () => {
    expect(error(xa, [{ k: 'self_ipi', cpu: 0, vector: 0x41 }]).path).toBe('$.events[0].k');
    expect(error(xa, [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 0x100 }]).detail).toMatch(/8 bits/);
    expect(error(x2, [{ k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'all', lowest: true }]).path).toBe('$.events[0].shorthand');
  });

  it('I/O APIC events name their pin', () => {
    expect(error(x2, [{ k: 'ioapic_write', cpu: 0, pin: 5, vector: 0x61, dest: 0, trigger: 'edge', masked: false }]).path).toBe('$.events[0].pin');
    expect(error(x2, [{ k: 'ioapic_read', cpu: 0, reg: 'redir-hi' }]).detail).toMatch(/needs the pin/);
    expect(error(x2, [{ k: 'ioapic_read', cpu: 0, reg: 'version', pin: 0 }]).detail).toMatch(/expected no pin/);
  });

  it('I/O APIC ID, version and arbitration writes: any 32-bit value (reserved bits are ignored, REF-IOA-7); other registers are refused', () => {
    expect(parse(xa, [{ k: 'ioapic_reg_write', cpu: 0, reg: 'id', value: 0xffffffff }, { k: 'ioapic_reg_write', cpu: 1, reg: 'arb', value: 0 },
      { k: 'ioapic_reg_write', cpu: 0, reg: 'version', value: 0xffe8ffee }, { k: 'ioapic_read', cpu: 0, reg: 'arb' }]).events).toHaveLength(4);
    const reg = error(xa, [{ k: 'ioapic_reg_write', cpu: 0, reg: 'redir-lo', value: 0 }]);
    expect([reg.file, reg.path, reg.detail]).toEqual(['kut.json', '$.events[0].reg', expect.stringMatching(/'id'.*'version'.*'arb'/)]);
    expect(error(xa, [{ k: 'ioapic_reg_write', cpu: 0, reg: 'id', value: 2 ** 32 }]).path).toBe('$.events[0].value');
    expect(error(xa, [{ k: 'ioapic_reg_write', cpu: 0, reg: 'id' }]).path).toBe('$.events[0].value');
    expect(error(xa, [{ k: 'ioapic_read', cpu: 0, reg: 'arb', pin: 0 }]).detail).toMatch(/expected no pin/);
    expect(scenarioFeatures({ vcpus: 1, apic: 'xapic', ioapic: [] }, [{ k: 'ioapic_reg_write', cpu: 0, reg: 'id', value: 0 }])).toEqual(['ioapic_reg_write']);
  });

  it('REF-IOA-4 covers rewrites: a level vector has one level source; edge sources may share a pin\'s', () => {
    // Another pin's level entry, written at run time, takes pin 0's level vector: refused, naming both.
    const m2 = { ...x2, ioapic: [...x2.ioapic, { pin: 1, vector: 0x41, dest: 0, trigger: 'edge', masked: true }] };
    const e = error(m2, [{ k: 'ioapic_write', cpu: 0, pin: 1, vector: 0x5f, dest: 0, trigger: 'level', masked: false }]);
    expect([e.path, e.detail]).toEqual(['$.events[0].vector', expect.stringMatching(/level-triggered pin 0 \(\$\.machine\.ioapic\[0\]\.vector\)/)]);
    // A level LINT entry and a pin's level entry cannot share; nor can an edge source share a level LINT vector.
    expect(error(x2, [{ k: 'lvt_lint', cpu: 0, pin: 0, vector: 0x5f, trigger: 'level', masked: false }]).detail).toMatch(/level-triggered pin 0/);
    expect(error({ ...x2, ioapic: [] }, [{ k: 'lvt_lint', cpu: 0, pin: 0, vector: 0x66, trigger: 'level', masked: false }, { k: 'msi', dest: 0, vector: 0x66 }]).detail)
      .toMatch(/level LINT entry \(\$\.events\[0\]\.vector\)/);
    // Edge sources of pin 0's level vector: an IPI, an MSI, the same pin rewritten to edge (KUT test_ioapic_edge_tmr), another pin's edge entry.
    expect(parse(m2, [
      { k: 'ipi', cpu: 1, vector: 0x5f, dest: 0 }, { k: 'msi', dest: 0, vector: 0x5f },
      { k: 'ioapic_write', cpu: 0, pin: 0, vector: 0x5f, dest: 0, trigger: 'edge', masked: false },
      { k: 'ioapic_write', cpu: 0, pin: 1, vector: 0x5f, dest: 1, trigger: 'edge', masked: false },
    ]).events).toHaveLength(4);
    // The same pin rewritten with its own level vector is fine.
    expect(parse(x2, [{ k: 'ioapic_write', cpu: 0, pin: 0, vector: 0x5f, dest: 1, trigger: 'level', masked: true }]).events).toHaveLength(1);
  });

  it('APIC IDs: one per vCPU, unique, not the broadcast ID', () => {
    expect(error({ ...x2, apicIds: [1] }, []).detail).toMatch(/one APIC ID per vCPU/);
    expect(error({ ...x2, apicIds: [3, 3] }, []).path).toBe('$.machine.apicIds[1]');
    expect(error({ ...xa, apicIds: [0, 0xff] }, []).detail).toMatch(/0 to 254/);
  });
});

describe('programmable-APIC events: backends', () => {
  const s: Scenario = parse(x2, [{ k: 'ioapic_write', cpu: 0, pin: 0, vector: 0x5f, dest: 1, trigger: 'level', masked: false }, { k: 'self_ipi', cpu: 1, vector: 0x41 }]);

  it('a backend that does not model an event refuses the scenario, naming the features', () => {
    expect(scenarioFeatures(s.machine, s.events)).toEqual(['ioapic_write', 'self_ipi']);
    for (const b of BACKENDS) {
      if (b.name === 'baremetal') continue;
      // Names exactly the features this backend does not declare (one that declares both runs it).
      const missing = ['ioapic_write', 'self_ipi'].filter((f) => !(b.features as readonly string[] | undefined)?.includes(f)).join(', ');
      if (missing === '') continue;
      const why = supportsScenario(b, s);
      expect(why, b.name).toMatch(new RegExp(`nested|xAPIC|unsupported by this backend: ${missing}(?!,)`));
      expect(() => runScenario(s, b, b.variants[0]!.name)).toThrow(/cannot run this machine/);
    }
  });

  it('baremetal models them all and stays clean', () => {
    const bm = BACKENDS.find((b) => b.name === 'baremetal')!;
    expect(supportsScenario(bm, s)).toBeNull();
    expect(runScenario(s, bm, 'sdm').primary).toBeUndefined();
  });
});

describe('timer events: validation', () => {
  it('names the field and the bound', () => {
    expect(error(x2, [{ k: 'time', cpu: 0, advance: 0 }]).path).toBe('$.events[0].advance');
    expect(error(x2, [{ k: 'lvt_timer', cpu: 0, vector: 0xee, mode: 'deadline', masked: false }]).detail).toMatch(/'oneshot', 'periodic', 'tsc-deadline'/);
    expect(error(x2, [{ k: 'tsc_deadline', cpu: 0, deadline: 2 ** 40 }]).detail).toMatch(/deadline from 0 to 4294967295/);
    expect(error(x2, [{ k: 'timer_initial', cpu: 5, count: 1 }]).path).toBe('$.events[0].cpu');
  });
});
