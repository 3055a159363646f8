// ACRN x2APIC guests (2019+ trees): the MSR paths of vlapic_x2apic_write / vlapic_x2apic_read behind
// the MSR bitmap of update_msr_bitmap_x2apic_apicv (basic mode: every x2APIC MSR but TPR traps;
// advanced mode: writes trap except EOI, SELF_IPI and TPR, reads are virtualized except TMCCT), the
// ICR as one 64-bit MSR with a 32-bit destination (vlapic_icrlo_write_handler / vlapic_write_icrlo:
// is_broadcast = dest == 0xffffffff), the read-only x2APIC ID and LDR of vlapic_build_x2apic_id and
// the x2APIC branch of is_dest_field_matched. [guest/vlapic.c, guest/vmsr.c @ ea849177a, 0397cb717^, 9a6e94084]
import { describe, expect, it } from 'vitest';
import { acrn } from '../../src/backends/acrn/index.js';
import { AcrnRun } from './acrn-recorder.js';
import { vsList } from '../../src/apic/vecset.js';
import { supportsScenario } from '../../src/backends/features.js';
import { runScenario } from '../../src/engine/session.js';
import { smallMachine } from '../../src/explore/explore.js';
import { guardBackend } from '../../src/fuzz/guard.js';
import { machinesFor } from '../../src/gen/bytes.js';
import { generateAndRun } from '../../src/gen/generator.js';
import type { Event, MachineConfig } from '../../src/scenario/types.js';

const x2 = (vcpus: number, apicIds?: number[]): MachineConfig => (apicIds ? { vcpus, apic: 'x2apic', ioapic: [], apicIds } : { vcpus, apic: 'x2apic', ioapic: [] });


const BASIC = ['3374-basic', 'pre-4937-basic', 'pre-8507-basic', 'v3.3-basic'];
const ADVANCED = ['3374-adv', 'pre-4937-adv', 'pre-8507-adv', 'v3.3-adv'];
const TREES_2019 = [...BASIC, ...ADVANCED];

describe('acrn x2APIC: which trees run x2APIC guests', () => {
  it('the 2018 trees refuse an x2APIC machine (no x2APIC in cpuid.c / vlapic.c @ 7f2b9a1c7); the 2019+ trees run it', () => {
    const s = { irqdiff: 1, machine: x2(1), events: [{ k: 'self_ipi', cpu: 0, vector: 0x40 } as Event] };
    for (const v of ['2018-basic', 'pre-1443-vid', '1443-vid']) {
      expect(supportsScenario(acrn, s, v)).toMatch(/2018 tree offers no x2APIC/);
      expect(() => runScenario(s, acrn, v)).toThrow(/2018 tree offers no x2APIC/);
    }
    for (const v of TREES_2019) expect(runScenario(s, acrn, v).primary).toBeUndefined();
  });

  it('the generator draws x2APIC machines for the 2019+ variants only, and the campaign guard keeps the per-variant refusal', () => {
    const modes = (v: string): Set<string> => new Set(Array.from({ length: 200 }, (_, i) => generateAndRun(`x2:${i}`, acrn, v, { maxEvents: 4 }).scenario.machine.apic));
    expect([...modes('2018-basic')]).toEqual(['xapic']);
    expect([...modes('1443-vid')]).toEqual(['xapic']);
    expect([...modes('v3.3-adv')].sort()).toEqual(['x2apic', 'xapic']);
    const g = guardBackend(acrn);
    expect(g.supportsVariant?.('pre-1443-vid', x2(2))).toMatch(/2018 tree offers no x2APIC/);
    expect(g.supportsVariant?.('3374-basic', x2(2))).toBeNull();
    // explore's and the byte fuzzer's machines too.
    expect(smallMachine(acrn, 2, false, false, '2018-basic')?.apic).toBe('xapic');
    expect(smallMachine(acrn, 2, false, false, 'v3.3-basic')?.apic).toBe('x2apic');
    expect(machinesFor(acrn, '1443-vid').map((m) => m.apic)).toEqual(['xapic', 'xapic']);
  });
});

describe('acrn x2APIC: SELF_IPI (0x83F)', () => {
  it('advanced mode: the write is not intercepted, self-IPI virtualization delivers it with no VM exit', () => {
    for (const v of ADVANCED) {
      const r = new AcrnRun(v, x2(1));
      r.do({ k: 'self_ipi', cpu: 0, vector: 0x41 });
      expect(r.sink.exits, v).toEqual([]);
      expect(r.sink.log, v).toContain('0 self-IPI virtualization');
      // Taken at the boundary after the WRMSR, with no entry path run.
      expect(r.sink.log.indexOf('0 deliver 65'), v).toBeGreaterThan(r.sink.log.indexOf('executed 0'));
      expect(r.receivers(0x41), v).toEqual([0]);
      expect(r.inst.where(0), v).toBe('guest');
    }
  });

  it('basic mode: a WRMSR exit, vlapic_x2apic_write → vlapic_x2apic_self_ipi_handler → vlapic_set_intr, injected at the entry', () => {
    for (const v of BASIC) {
      const r = new AcrnRun(v, x2(1));
      r.do({ k: 'self_ipi', cpu: 0, vector: 0x41 });
      expect(r.sink.exits, v).toEqual(['0 wrmsr']);
      expect(r.sink.log, v).toContain('0 vlapic_x2apic_write');
      expect(r.sink.log, v).toContain('0 vlapic_x2apic_self_ipi_handler');
      expect(r.receivers(0x41), v).toEqual([]);
      r.settle();
      expect(r.receivers(0x41), v).toEqual([0]);
    }
  });

  it('a vector below 16 is not sent and sets Send Illegal Vector (0x20) in ESR: an APIC-write exit in advanced mode, the WRMSR exit in basic mode', () => {
    for (const v of TREES_2019) {
      const r = new AcrnRun(v, x2(1));
      r.do({ k: 'self_ipi', cpu: 0, vector: 7 });
      expect(r.sink.exits, v).toEqual([v.endsWith('-adv') ? '0 apic-write' : '0 wrmsr']);
      r.settle();
      expect(r.sink.deliveries, v).toEqual([]);
      expect(r.read({ k: 'read', cpu: 0, reg: 'esr' }), v).toBe(0x20);
    }
  });

  it('advanced mode: a software-disabled vLAPIC still takes its own SELF_IPI (the processor does not test SVR); basic mode drops it in vlapic_accept_intr', () => {
    for (const v of TREES_2019) {
      const r = new AcrnRun(v, x2(1));
      r.do({ k: 'lapic_write', cpu: 0, reg: 'svr', value: 0xff }).settle();
      r.do({ k: 'self_ipi', cpu: 0, vector: 0x41 }).settle();
      expect(r.receivers(0x41), v).toEqual(v.endsWith('-adv') ? [0] : []);
    }
    // The oracle names the documented cause.
    const s = { irqdiff: 1, machine: x2(1), events: [
      { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0xff }, { k: 'enter', cpu: 0 }, { k: 'self_ipi', cpu: 0, vector: 0x41 },
    ] as Event[] };
    for (const v of ADVANCED) expect(runScenario(s, acrn, v).primary?.signature, v).toMatch(new RegExp(`^acrn/${v}:(spurious|duplicate):self-ipi-virtualized-while-sw-disabled$`));
    for (const v of BASIC) expect(runScenario(s, acrn, v).primary, v).toBeUndefined();
  });
});

describe('acrn x2APIC: the ICR as one 64-bit MSR', () => {
  it('an ICR write exits as WRMSR in both modes (the advanced MSR bitmap keeps the ICR write intercept), not as an APIC-write exit', () => {
    for (const v of TREES_2019) {
      const r = new AcrnRun(v, x2(2));
      r.do({ k: 'ipi', cpu: 0, vector: 0x50, dest: 1 });
      expect(r.sink.exits[0], v).toBe('0 wrmsr');
      r.settle();
      expect(r.receivers(0x50), v).toEqual([1]);
    }
  });

  it('an x2APIC cluster IPI reaches exactly the vCPUs of the cluster whose logical bits it names (LDR = cluster << 16 | 1 << (ID & 0xF))', () => {
    // IDs 0 (cluster 0, bit 0), 17 (cluster 1, bit 1), 18 (cluster 1, bit 2), 33 (cluster 2, bit 1).
    const ids = [0, 17, 18, 33];
    for (const v of TREES_2019) {
      const cases: [number, number[]][] = [[0x10006, [1, 2]], [0x10002, [1]], [0x20002, [3]], [0x00001, [0]], [0x00006, []], [0x30002, []]];
      for (const [dest, want] of cases) {
        const r = new AcrnRun(v, x2(4, ids));
        r.do({ k: 'ipi', cpu: 0, vector: 0x60, logical: true, dest }).settle();
        expect(r.receivers(0x60), `${v} MDA ${dest.toString(16)}`).toEqual(want);
      }
    }
  });

  it('physical: the whole 32-bit ID is matched; 0xFFFFFFFF is the broadcast (sender included), 0xFF is no broadcast in x2APIC mode', () => {
    // One run per message: a receiver stays in its handler (IF = 0) after a delivery.
    const cases: [number, number, boolean, number[]][] = [[0, 300, false, [2]], [1, 0xffffffff, false, [0, 1, 2]], [1, 0xff, false, []], [0, 0xffffffff, true, [0, 1, 2]]];
    for (const v of TREES_2019) {
      for (const [from, dest, logical, want] of cases) {
        const r = new AcrnRun(v, x2(3, [0, 17, 300]));
        r.do({ k: 'ipi', cpu: from, vector: 0x61, dest, logical }).settle();
        expect(r.receivers(0x61), `${v} ${logical ? 'logical' : 'physical'} ${dest.toString(16)}`).toEqual(want);
      }
    }
  });
});

describe('acrn x2APIC: registers', () => {
  it('the ID register holds the whole ID and the LDR is derived from it (vlapic_build_x2apic_id); reads trap in basic mode (RDMSR) and are virtualized in advanced mode', () => {
    for (const v of TREES_2019) {
      const r = new AcrnRun(v, x2(2, [5, 0x123]));
      // (A trapped read leaves the vCPU at its entry path: enter before the next instruction.)
      expect(r.read({ k: 'lapic_read', cpu: 1, reg: 'id' }), v).toBe(0x123);
      r.do({ k: 'enter', cpu: 1 });
      expect(r.read({ k: 'lapic_read', cpu: 1, reg: 'ldr' }), v).toBe((0x12 << 16) | (1 << 3));
      expect(r.read({ k: 'lapic_read', cpu: 0, reg: 'ldr' }), v).toBe(1 << 5);
      expect(r.sink.exits, v).toEqual(v.endsWith('-adv') ? [] : ['1 rdmsr', '1 rdmsr', '0 rdmsr']);
    }
  });

  it('TMCCT keeps its read intercept in advanced mode (MSR_IA32_EXT_APIC_CUR_COUNT, INTERCEPT_READ)', () => {
    for (const v of ADVANCED) {
      const r = new AcrnRun(v, x2(1));
      r.read({ k: 'lapic_read', cpu: 0, reg: 'tmcct' });
      expect(r.sink.exits, v).toEqual(['0 rdmsr']);
    }
  });

  it('EOI: virtualized in advanced mode (no exit for an edge vector), a WRMSR exit to vlapic_process_eoi in basic mode', () => {
    for (const v of TREES_2019) {
      const r = new AcrnRun(v, x2(1));
      r.do({ k: 'self_ipi', cpu: 0, vector: 0x41 }).settle();
      expect(r.receivers(0x41), v).toEqual([0]);
      const before = r.sink.exits.length;
      r.do({ k: 'eoi', cpu: 0 });
      expect(r.sink.exits.slice(before), v).toEqual(v.endsWith('-adv') ? [] : ['0 wrmsr']);
      expect(vsList(r.inst.snapshot(0).isr), v).toEqual([]);
    }
  });
});
