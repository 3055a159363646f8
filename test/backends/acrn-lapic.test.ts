// The ACRN vLAPIC under the local-APIC programming events it declares: INT n (not intercepted:
// VMX_EXCEPTION_BITMAP = #MC, +#AC/#GP in v3.3), the vlapic_read registers (trapped in basic
// mode, virtualized reads of the virtual-APIC page in advanced mode), the SVR software-disable
// as vlapic_accept_intr / vlapic_receive_intr test it, and the ESR write (vlapic_write_esr).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { acrn } from '../../src/backends/acrn/index.js';
import { AcrnRun } from './acrn-recorder.js';
import { runScenario } from '../../src/engine/session.js';
import { classify } from '../../src/fuzz/classify.js';
import type { Event, LapicReadReg, MachineConfig } from '../../src/scenario/types.js';

const machine = (vcpus = 2): MachineConfig => ({ vcpus, apic: 'xapic', ioapic: [] });

/** The driver with a 2-vCPU xAPIC machine by default. */
class Run extends AcrnRun {
  constructor(variant: string, m: MachineConfig = machine()) { super(variant, m); }
}

const enter = (cpu: number): Event => ({ k: 'enter', cpu });
const selfIpi = (cpu: number, vector: number): Event => ({ k: 'ipi', cpu, vector, shorthand: 'self' });
const ipi = (cpu: number, dest: number, vector: number): Event => ({ k: 'ipi', cpu, vector, dest });
const svr = (cpu: number, value: number): Event => ({ k: 'lapic_write', cpu, reg: 'svr', value });
const lread = (cpu: number, reg: LapicReadReg): Event => ({ k: 'lapic_read', cpu, reg });
const ALL = acrn.variants.map((v) => v.name);
const ADVANCED = ['pre-1443-vid', '1443-vid', '3374-adv', 'pre-4937-adv', 'pre-8507-adv', 'v3.3-adv'];

describe('acrn: INT n is a guest-core step (no exception-bitmap exit)', () => {
  it('no VM exit; the software-interrupt frame (IF = 0) holds a self-IPI until its IRET, in both APICv modes', () => {
    for (const variant of ['2018-basic', 'v3.3-basic', '1443-vid', 'v3.3-adv']) {
      const r = new Run(variant, machine(1));
      r.do({ k: 'int', cpu: 0, vector: 0x80 });
      expect(r.sink.exits).toEqual([]);
      expect(r.inst.guest(0).IF).toBe(false);
      r.do(selfIpi(0, 0x40));
      // v3.3-adv: apicv_advanced_inject_intr's self-notification lands at the pirq.
      for (let i = 0; i < 4; i++) r.do(enter(0), { k: 'pirq', cpu: 0 });
      // Basic mode: is_guest_irq_enabled is false, the injection waits behind the interrupt
      // window; advanced mode: RVI is set but the guest is not interruptible.
      expect(r.delivered(0, 0x40)).toBe(0);
      r.do({ k: 'iret', cpu: 0 });
      for (let i = 0; i < 4; i++) r.do(enter(0));
      expect(r.delivered(0, 0x40)).toBe(1);
    }
  });

  it('end to end: INT n inside a handler and HLT wake-ups stay clean on the clean variants', () => {
    const events: Event[] = [
      { k: 'int', cpu: 0, vector: 0x81 }, ipi(1, 0, 0x50), enter(1), enter(1), enter(1), { k: 'pirq', cpu: 0 }, enter(0),
      { k: 'iret', cpu: 0 }, enter(0), { k: 'eoi', cpu: 0 }, enter(0), { k: 'iret', cpu: 0 }, { k: 'int', cpu: 0, vector: 0x82 },
      { k: 'iret', cpu: 0 },
    ];
    for (const v of acrn.variants.filter((x) => x.status === 'clean')) {
      const res = runScenario({ irqdiff: 1, name: 'int', machine: machine(), events }, acrn, v.name);
      expect(res.divergences.map((d) => d.signature)).toEqual([]);
    }
  });
});

describe('acrn: vlapic_read registers', () => {
  it('ID = vCPU << 24, version 0x00060010 (VLAPIC_VERSION 16, max LVT APIC_LVT_CMCI = 6), flat LDR, DFR, SVR 0x1FF', () => {
    for (const variant of ALL) {
      const r = new Run(variant);
      const got = (cpu: number, reg: LapicReadReg): number => {
        const v = r.read(lread(cpu, reg)) as number;
        r.do(enter(cpu));
        return v;
      };
      expect(got(1, 'id')).toBe(0x01000000);
      expect(got(0, 'version')).toBe(0x00060010);
      expect(got(1, 'ldr')).toBe(0x02000000);
      expect(got(0, 'dfr')).toBe(0xffffffff);
      expect(got(0, 'svr')).toBe(0x1ff);
    }
  });

  it('basic mode traps the read (APIC-access exit, vlapic_read); advanced mode reads the virtual-APIC page without an exit', () => {
    const b = new Run('v3.3-basic');
    b.read(lread(0, 'version'));
    expect(b.sink.exits).toEqual(['0 apic-access']);
    expect(b.sink.log).toContain('0 vlapic_read');
    for (const variant of ADVANCED) {
      const a = new Run(variant);
      a.read(lread(0, 'version'));
      expect(a.sink.exits).toEqual([]);
    }
  });

  it('end to end: the oracle accepts ACRN\'s version (an integrated APIC, 7 LVT entries): every variant clean', () => {
    const events: Event[] = [lread(0, 'version'), enter(0), lread(1, 'id'), enter(1), lread(0, 'ldr'), enter(0), lread(1, 'dfr'), enter(1), lread(0, 'svr')];
    for (const v of ALL) {
      const res = runScenario({ irqdiff: 1, name: 'lapic-read', machine: machine(), events }, acrn, v);
      expect(res.divergences.map((d) => d.signature)).toEqual([]);
    }
  });
});

describe('acrn: SVR software disable (vlapic_write_svr; the SVR tests of vlapic_accept_intr and vlapic_receive_intr)', () => {
  it('a fixed IPI to a software-disabled vLAPIC is ignored by vlapic_accept_intr: no IRR bit, no request; accepted again once enabled', () => {
    for (const variant of ALL) {
      const r = new Run(variant);
      r.do(svr(0, 0xff));
      expect(r.sink.exits).toEqual([variant.includes('basic') ? '0 apic-access' : '0 apic-write']);
      r.do(enter(0), ipi(1, 0, 0x40), enter(1), enter(1));
      expect(r.sink.log.some((l) => l.includes('vlapic_accept_intr(vcpu0, 64): software disabled'))).toBe(true);
      expect(r.irr(0)).toEqual([]);
      expect(r.inst.snapshot(0).extra).toContain('req=-');
      r.do(svr(0, 0x1ff), enter(0), ipi(1, 0, 0x41), enter(1), enter(1), { k: 'pirq', cpu: 0 }, enter(0));
      expect(r.delivered(0, 0x41)).toBe(1);
      expect(r.delivered(0, 0x40)).toBe(0);
    }
  });

  it('an MSI to a disabled vLAPIC is skipped by vlapic_receive_intr before vlapic_set_intr: not even Receive Illegal Vector is flagged', () => {
    const r = new Run('v3.3-basic', machine(1));
    r.do({ k: 'msi', dest: 0, vector: 5 }, { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, enter(0));
    expect(r.read({ k: 'read', cpu: 0, reg: 'esr' })).toBe(0x40);
    r.do(enter(0), svr(0, 0xff), enter(0), { k: 'msi', dest: 0, vector: 5 }, { k: 'msi', dest: 0, vector: 0x40 });
    r.do({ k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, enter(0));
    expect(r.read({ k: 'read', cpu: 0, reg: 'esr' })).toBe(0);
    expect(r.irr(0)).toEqual([]);
    // The reference flags RIV before it looks at SVR: a documented deviation with its own tag.
    const events: Event[] = [svr(0, 0xff), enter(0), { k: 'msi', dest: 0, vector: 5 }, { k: 'read', cpu: 0, reg: 'esr' }];
    for (const v of ['3374-basic', 'v3.3-basic', 'v3.3-adv']) {
      const res = runScenario({ irqdiff: 1, name: 'riv-disabled', machine: machine(1), events }, acrn, v);
      expect(res.divergences.map((d) => d.cause)).toEqual(['read:riv-skipped-while-software-disabled']);
      for (const d of res.divergences) expect(classify([acrn], d.signature)).toBe('known');
    }
  });

  it('what is pending stays pending and is still injected: no injection path tests SVR (REF-SVR-2 allows it)', () => {
    const events: Event[] = [
      { k: 'cli', cpu: 0 }, ipi(1, 0, 0x40), enter(1), enter(1), enter(1), { k: 'pirq', cpu: 0 }, enter(0), svr(0, 0xff), enter(0),
      { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, enter(0), { k: 'pirq', cpu: 0 }, enter(0), { k: 'step', cpu: 0 },
    ];
    for (const v of ['v3.3-basic', 'v3.3-adv', '3374-basic', '1443-vid']) {
      const r = new Run(v);
      r.do(...events);
      expect(r.delivered(0, 0x40)).toBe(1);
      const res = runScenario({ irqdiff: 1, name: 'svr-held', machine: machine(), events }, acrn, v);
      expect(res.divergences.map((d) => d.signature)).toEqual([]);
    }
  });

  it('one SVR test per message: with signal_event before the accept (pre-8507) a disable between the two steps does not stop the accept', () => {
    const r = new Run('pre-8507-basic');
    r.do(ipi(1, 0, 0x40), { k: 'enter_step', cpu: 1 });
    expect(r.sink.log).toContain('1 signal_event(vcpu0)');
    r.do(svr(0, 0xff), { k: 'enter_step', cpu: 1 });
    expect(r.irr(0)).toEqual([0x40]);
    // v3.3 tests SVR in the accept step, the first one: the same disable drops the message.
    const v = new Run('v3.3-basic');
    v.do(ipi(1, 0, 0x40), svr(0, 0xff), { k: 'enter_step', cpu: 1 }, { k: 'enter_step', cpu: 1 });
    expect(v.irr(0)).toEqual([]);
  });

  it('NMIs are not tested against SVR (vcpu_inject_nmi): delivered to a disabled vLAPIC', () => {
    const r = new Run('v3.3-basic');
    r.do(svr(0, 0xff), enter(0), { k: 'ipi', cpu: 1, vector: 2, nmi: true, dest: 0 }, enter(1), enter(1), { k: 'pirq', cpu: 0 }, enter(0));
    expect(r.sink.log).toContain('0 deliver 2');
  });
});

describe('acrn: ESR write (vlapic_write_esr: esr = esr_pending, esr_pending = 0)', () => {
  it('latches the errors since the last write; later reads are plain reads of lapic->esr and do not clear it', () => {
    for (const variant of ['2018-basic', 'v3.3-basic', 'v3.3-adv']) {
      const r = new Run(variant, machine(1));
      r.do(ipi(0, 0, 5), enter(0), { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, enter(0));
      expect(r.read({ k: 'read', cpu: 0, reg: 'esr' })).toBe(0x20);
      r.do(enter(0));
      expect(r.read({ k: 'read', cpu: 0, reg: 'esr' })).toBe(0x20);
      r.do(enter(0), { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, enter(0));
      expect(r.read({ k: 'read', cpu: 0, reg: 'esr' })).toBe(0);
    }
  });

  it('end to end: ESR writes and reads, SVR disable and enable around IPIs are clean on every clean variant', () => {
    const events: Event[] = [
      ipi(0, 1, 7), enter(0), { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 }, enter(0), { k: 'read', cpu: 0, reg: 'esr' }, enter(0),
      svr(1, 0xff), enter(1), ipi(0, 1, 0x40), enter(0), enter(0), lread(1, 'svr'), enter(1), svr(1, 0x1ff), enter(1),
      ipi(0, 1, 0x41), enter(0), enter(0), { k: 'pirq', cpu: 1 }, enter(1), { k: 'eoi', cpu: 1 }, enter(1), { k: 'iret', cpu: 1 },
      { k: 'read', cpu: 0, reg: 'esr' },
    ];
    for (const v of acrn.variants.filter((x) => x.status === 'clean')) {
      const res = runScenario({ irqdiff: 1, name: 'svr-esr', machine: machine(), events }, acrn, v.name);
      expect(res.divergences.map((d) => d.signature)).toEqual([]);
      for (const d of res.divergences) expect(classify([acrn], d.signature)).toBe('known');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Programmable addressing (issue 8): ID/LDR/DFR writes, vlapic_calc_dest, lowest priority.

const idw = (cpu: number, id: number): Event => ({ k: 'lapic_write', cpu, reg: 'id', value: (id << 24) >>> 0 });
const ldrw = (cpu: number, ldr: number): Event => ({ k: 'lapic_write', cpu, reg: 'ldr', value: (ldr << 24) >>> 0 });
const dfrw = (cpu: number, flat: boolean): Event => ({ k: 'lapic_write', cpu, reg: 'dfr', value: flat ? 0xffffffff : 0x0fffffff });
const lipi = (cpu: number, mda: number, vector: number, lowest = false): Event => ({ k: 'ipi', cpu, vector, dest: mda, logical: true, lowest });
const BASIC = ALL.filter((v) => !ADVANCED.includes(v));
const causes = (variant: string, events: Event[], m: MachineConfig = machine()): string[] => {
  const res = runScenario({ irqdiff: 1, name: 'addr', machine: m, events }, acrn, variant);
  return [...new Set(res.divergences.map((d) => d.cause))];
};
/** Run until every thread has handled what the events left it (handler steps, entries, notifications). */
const settle = (n: number): Event[] => {
  const out: Event[] = [];
  for (let k = 0; k < 4; k++) for (let c = 0; c < n; c++) out.push(enter(c), { k: 'pirq', cpu: c });
  for (let c = 0; c < n; c++) out.push(enter(c));
  return out;
};

describe('acrn: APIC ID writes ("Force APIC ID as read only") and what vm_apicid2vcpu_id matches', () => {
  // kvm-unit-tests apic.c test_apic_id, xAPIC part (corpus/kut/kut-apic-id-xapic.json), with the
  // entries into the guest that the trapped accesses need here.
  const kut: Event[] = [
    lread(1, 'id'), enter(1), idw(1, 2), enter(1), lread(1, 'id'), enter(1),
    ipi(0, 1, 0xf1), ...settle(2), ipi(0, 2, 0xf2), ...settle(2),
  ];

  it('basic mode, every tree: vlapic_write drops the write, reads and routing keep ID i (apic-id-write-ignored)', () => {
    for (const v of BASIC) {
      const r = new Run(v);
      r.do(idw(1, 2), enter(1));
      expect(r.sink.log).toContain('1 vlapic_write: APIC ID read only');
      expect(r.read(lread(1, 'id'))).toBe(1 << 24);
      r.do(enter(1), ipi(0, 2, 0xf2), ...settle(2), ipi(0, 1, 0xf1), ...settle(2));
      expect(r.delivered(1, 0xf2)).toBe(0);
      expect(r.delivered(1, 0xf1)).toBe(1);
      expect(causes(v, kut).filter((c) => !c.endsWith(':apic-id-write-ignored'))).toEqual([]);
      expect(causes(v, kut)).toContain('read:apic-id-write-ignored');
    }
  });

  it('advanced 2018/2019: the virtualized write lands in the page, which vm_apicid2vcpu_id matches: writable, clean on the kut trace', () => {
    for (const v of ['1443-vid', '3374-adv']) {
      const r = new Run(v);
      r.do(idw(1, 2), enter(1));
      expect(r.sink.log).toContain('1 apic_write_vmexit_handler: APIC ID read only');
      expect(r.read(lread(1, 'id'))).toBe(2 << 24);
      r.do(ipi(0, 2, 0xf2), ...settle(2));
      expect(r.delivered(1, 0xf2)).toBe(1);
      expect(causes(v, kut)).toEqual([]);
    }
  });

  it('advanced 2018/2019: two vCPUs with one ID — only the first in vcpu_id order is found (apic-id-shared-first-vcpu-only)', () => {
    const events = [idw(1, 0), enter(1), ipi(1, 0, 0x40), ...settle(2)];
    const r = new Run('3374-adv');
    r.do(...events);
    expect(r.delivered(0, 0x40)).toBe(1);
    expect(r.delivered(1, 0x40)).toBe(0);
    expect(causes('3374-adv', events)).toEqual(['stuck:apic-id-shared-first-vcpu-only']);
  });

  it('advanced 2020+: the guest reads back its new ID, vm_apicid2vcpu_id matches vlapic->vapic_id (apic-id-routed-by-vapic-id)', () => {
    for (const v of ['pre-4937-adv', 'pre-8507-adv', 'v3.3-adv']) {
      const r = new Run(v);
      r.do(idw(1, 2), enter(1));
      expect(r.read(lread(1, 'id'))).toBe(2 << 24);
      r.do(ipi(0, 2, 0xf2), ...settle(2), ipi(0, 1, 0xf1), ...settle(2));
      expect(r.delivered(1, 0xf2)).toBe(0);
      expect(r.delivered(1, 0xf1)).toBe(1);
      const got = causes(v, kut);
      expect(got.length).toBeGreaterThan(0);
      for (const c of got) expect(c).toMatch(/:apic-id-routed-by-vapic-id$/);
    }
  });
});

describe('acrn: LDR and DFR writes, logical destinations (is_dest_field_matched)', () => {
  it('LDR[23:0] cleared, DFR[27:0] forced to ones, in both modes (vlapic_write_ldr / vlapic_write_dfr)', () => {
    for (const v of ['2018-basic', '3374-adv', 'v3.3-basic', 'v3.3-adv']) {
      const r = new Run(v, machine(1));
      r.do({ k: 'lapic_write', cpu: 0, reg: 'ldr', value: 0x12345678 }, enter(0));
      expect(r.read(lread(0, 'ldr'))).toBe(0x12000000);
      r.do(enter(0), { k: 'lapic_write', cpu: 0, reg: 'dfr', value: 0x00000000 }, enter(0));
      expect(r.read(lread(0, 'dfr'))).toBe(0x0fffffff);
      expect(r.sink.log).toContain(v.startsWith('v3.3') ? '0 vlapic_write_ldr' : '0 vlapic_ldr_write_handler');
    }
  });

  it('flat and cluster models per vLAPIC: an IPI reaches whom the new LDR/DFR say, clean on every clean variant', () => {
    // vCPU1: flat LDR 0x10; vCPU2: cluster 1, bit 1 (LDR 0x12); MDA 0x12: flat vCPU1 (0x10 & 0x12),
    // cluster vCPU2 (cluster 1, 0x2 & 0x2); vCPU0 (flat 0x01) no.
    const events: Event[] = [
      ldrw(1, 0x10), enter(1), dfrw(2, false), enter(2), ldrw(2, 0x12), enter(2),
      lipi(0, 0x12, 0x40), ...settle(3), { k: 'eoi', cpu: 1 }, { k: 'eoi', cpu: 2 }, ...settle(3),
      { k: 'iret', cpu: 1 }, { k: 'iret', cpu: 2 },
    ];
    for (const v of ['2018-basic', '3374-basic', 'v3.3-basic', 'v3.3-adv']) {
      const r = new Run(v, machine(3));
      r.do(...events);
      expect([0, 1, 2].map((c) => r.delivered(c, 0x40))).toEqual([0, 1, 1]);
    }
    for (const v of acrn.variants.filter((x) => x.status === 'clean')) expect(causes(v.name, events, machine(3))).toEqual([]);
  });

  it('an LDR write after vlapic_calc_dest ran: the ICR is reported first, with the mask it was routed with', () => {
    // vlapic_write_icrlo decides the targets at the ICR write; vCPU1's LDR write comes before
    // the sender's handler reaches vCPU0's vLAPIC.
    const events: Event[] = [lipi(2, 0x05, 0x20), ldrw(1, 0x59), ...settle(3), { k: 'eoi', cpu: 0 }, ...settle(3), { k: 'iret', cpu: 0 }];
    const r = new Run('v3.3-basic', machine(3));
    r.do(...events);
    expect(r.sink.log.indexOf('executed 0')).toBeLessThan(r.sink.log.indexOf('1 vlapic_write_ldr'));
    expect([0, 1, 2].map((c) => r.delivered(c, 0x20))).toEqual([1, 0, 1]);
    for (const v of acrn.variants.filter((x) => x.status === 'clean')) expect(causes(v.name, events, machine(3))).toEqual([]);
  });

  it('device destination 0xFF: a broadcast in 2018 (vlapic_calcdest), matched against each LDR since 2019 (is_broadcast = false)', () => {
    // vCPU1 in the cluster model, cluster 0: MDA 0xFF is cluster 15 to is_dest_field_matched.
    const events: Event[] = [dfrw(1, false), enter(1), { k: 'msi', dest: 0xff, vector: 0x40, logical: true }, ...settle(2)];
    const old = new Run('2018-basic');
    old.do(...events);
    expect([old.delivered(0, 0x40), old.delivered(1, 0x40)]).toEqual([1, 1]);
    const now = new Run('v3.3-basic');
    now.do(...events);
    expect([now.delivered(0, 0x40), now.delivered(1, 0x40)]).toEqual([1, 0]);
    expect(causes('2018-basic', events)).toEqual([]);
    expect(causes('v3.3-basic', events)).toEqual(['stuck:device-dest-ff-not-broadcast']);
    // An IPI to 0xFF is still a broadcast (vlapic_write_icrlo: is_broadcast = dest == 0xff).
    const ipiFF: Event[] = [dfrw(1, false), enter(1), lipi(0, 0xff, 0x41), ...settle(2)];
    expect(causes('v3.3-basic', ipiFF)).toEqual([]);
  });
});

describe('acrn: lowest priority', () => {
  it('MSI: vlapic_calc_dest_noshort keeps the first vCPU with the lowest apic_page.ppr, reported before the MSI', () => {
    // Advanced mode: the page's PPR is the VPPR that TPR virtualization recomputes.
    const r = new Run('v3.3-adv');
    r.do({ k: 'msi', dest: 0x03, vector: 0x40, logical: true, lowest: true });
    expect(r.sink.arbitrations).toEqual([0]);
    expect(r.sink.log.indexOf('arbitrated 0')).toBeLessThan(r.sink.log.indexOf('executed 0'));
    r.do({ k: 'tpr', cpu: 0, value: 0x30, via: 'cr8' }, { k: 'msi', dest: 0x03, vector: 0x41, logical: true, lowest: true });
    expect(r.sink.arbitrations).toEqual([0, 1]);
    const events: Event[] = [
      { k: 'tpr', cpu: 0, value: 0x30, via: 'cr8' }, { k: 'msi', dest: 0x03, vector: 0x41, logical: true, lowest: true }, ...settle(2),
    ];
    for (const v of ['v3.3-adv', 'v3.3-basic', '3374-adv']) expect(causes(v, events)).toEqual([]);
  });

  it('redirection entries: a lowest-priority logical pin arbitrates at each message, the entry reads back DELMODE_LOPRI | DESTMODE', () => {
    const pin = { pin: 0, vector: 0x51, dest: 0x03, trigger: 'edge' as const, masked: false, logical: true, lowest: true };
    const m: MachineConfig = { vcpus: 2, apic: 'xapic', ioapic: [pin] };
    const r = new Run('v3.3-adv', m);
    r.do({ k: 'ioapic', pin: 0, op: 'pulse' });
    expect(r.sink.arbitrations).toEqual([0]);
    expect(r.sink.log.indexOf('arbitrated 0')).toBeLessThan(r.sink.log.indexOf('executed 0'));
    expect(r.read({ k: 'ioapic_read', cpu: 1, reg: 'redir-lo', pin: 0 })).toBe(0x51 | 1 << 8 | 1 << 11);
    const events: Event[] = [{ k: 'ioapic', pin: 0, op: 'pulse' }, ...settle(2), { k: 'eoi', cpu: 0 }, ...settle(2), { k: 'iret', cpu: 0 }];
    for (const v of acrn.variants.filter((x) => x.status === 'clean')) expect(causes(v.name, events, m)).toEqual([]);
  });

  it('IPI: vlapic_write_icrlo has no case for APIC_DELMODE_LOWPRIO — sent to no one, every tree (lowest-priority-ipi-unhandled)', () => {
    const events: Event[] = [lipi(0, 0x02, 0x40, true), ...settle(2)];
    for (const v of ALL) {
      const r = new Run(v);
      r.do(...events);
      expect(r.sink.log).toContain('0 vlapic_write_icrlo: Unhandled icrlo write with mode 0x100');
      expect(r.delivered(1, 0x40)).toBe(0);
      expect(r.sink.arbitrations).toEqual([]);
      expect(causes(v, events)).toEqual(['stuck:lowest-priority-ipi-unhandled']);
      const info = acrn.variants.find((x) => x.name === v)!;
      expect(info.knownDeviations!.map((d) => d.cause)).toContain('stuck:lowest-priority-ipi-unhandled');
    }
  });
});

describe('acrn: machine.apicIds — the LAPIC IDs of the pCPUs the vCPUs run on (vlapic_init: per_cpu(lapic_id, pcpu_id))', () => {
  it('the ID register, physical IPIs and MSIs use them; clean on every clean variant', () => {
    const m: MachineConfig = { vcpus: 2, apic: 'xapic', ioapic: [], apicIds: [3, 5] };
    expect(acrn.supports(m)).toBeNull();
    const events: Event[] = [
      lread(0, 'id'), enter(0), ipi(0, 5, 0x40), ...settle(2), { k: 'msi', dest: 3, vector: 0x41 }, ...settle(2),
      { k: 'eoi', cpu: 1 }, { k: 'eoi', cpu: 0 }, ...settle(2), { k: 'iret', cpu: 0 }, { k: 'iret', cpu: 1 },
    ];
    for (const v of ['2018-basic', '3374-adv', 'v3.3-basic', 'v3.3-adv']) {
      const r = new Run(v, m);
      expect(r.read(lread(1, 'id'))).toBe(5 << 24);
      const s = new Run(v, m);
      s.do(...events);
      expect([s.delivered(0, 0x41), s.delivered(1, 0x40)]).toEqual([1, 1]);
    }
    for (const v of acrn.variants.filter((x) => x.status === 'clean')) expect(causes(v.name, events, m)).toEqual([]);
  });
});

// ------------------------------------------------------------------ the APIC timer (issue 8, session 6)

const lvtt = (cpu: number, vector: number, mode: 'oneshot' | 'periodic' | 'tsc-deadline', masked = false): Event =>
  ({ k: 'lvt_timer', cpu, vector, mode, masked });
const tmict = (cpu: number, count: number): Event => ({ k: 'timer_initial', cpu, count });
const tdl = (cpu: number, deadline: number): Event => ({ k: 'tsc_deadline', cpu, deadline });
const time = (cpu: number, advance: number): Event => ({ k: 'time', cpu, advance });
const step = (cpu: number): Event => ({ k: 'step', cpu });
const m1 = machine(1);

describe('acrn: the APIC timer (vlapic_write_icrtmr, add_timer on the pCPU\'s list, TIMER_VECTOR, timer_softirq)', () => {
  it('one-shot: TMCCT counts down (vlapic_get_ccr), the expiry is vlapic_timer_expired → vlapic_set_intr, once; clean everywhere', () => {
    // kvm-unit-tests test_apic_timer_one_shot (corpus/kut/kut-apic-timer-one-shot.json).
    const events: Event[] = [lvtt(0, 0xee, 'oneshot'), ...settle(1), tmict(0, 16), ...settle(1), time(0, 15), ...settle(1),
      lread(0, 'tmcct'), ...settle(1), step(0), time(0, 1), ...settle(1), step(0), { k: 'eoi', cpu: 0 }, ...settle(1),
      { k: 'iret', cpu: 0 }, ...settle(1), time(0, 1000), ...settle(1), lread(0, 'tmcct'), ...settle(1)];
    for (const variant of ['2018-basic', '1443-vid', '3374-basic', '3374-adv', 'pre-8507-basic', 'v3.3-basic', 'v3.3-adv']) {
      const r = new Run(variant, m1);
      r.do(...events);
      expect(r.sink.reads.map((x) => x.value)).toEqual([1, 0]);
      expect(r.delivered(0, 0xee)).toBe(1);
      expect(r.sink.log).toContain('0 vlapic_timer_expired');
      expect(causes(variant, events, m1)).toEqual([]);
    }
    // The kut trace steps the guest before the entry's self-notification (apicv_advanced_inject_intr, 2020+) lands:
    // the documented self-notification latency.
    const kut = JSON.parse(readFileSync('corpus/kut/kut-apic-timer-one-shot.json', 'utf8')) as { events: Event[] };
    expect(causes('v3.3-adv', kut.events, m1)).toEqual(['stuck:pir-self-notification-in-flight']);
    expect(causes('v3.3-basic', kut.events, m1)).toEqual([]);
  });

  it('the expiry while the guest runs: an external-interrupt exit; 2020+ run timer_softirq in the interrupt path, 2018/2019 at the top of vcpu_thread', () => {
    for (const [variant, inHandler] of [['v3.3-basic', true], ['pre-4937-basic', true], ['3374-basic', false], ['2018-basic', false]] as const) {
      const r = new Run(variant, m1);
      r.do(lvtt(0, 0x50, 'oneshot'), enter(0), tmict(0, 4), enter(0));
      const at = r.sink.log.length;
      r.do(time(0, 4));
      const log = r.sink.log.slice(at);
      expect(log).toContain('0 vmexit external-interrupt');
      expect(log).toContain('0 fire_softirq(SOFTIRQ_TIMER)');
      // 'irq': do_irq → do_softirq sets the vIRR before the event returns; 'loop-top': only the next thread step does.
      expect(log.includes('0 timer_softirq')).toBe(inHandler);
      expect(r.irr(0)).toEqual(inHandler ? [0x50] : []);
      r.do(enter(0));
      expect(r.delivered(0, 0x50)).toBe(1);
    }
  });

  it('a halted vCPU asleep in wait_event (2020+): the idle thread takes the interrupt, timer_softirq signals the event and wakes it', () => {
    const r = new Run('v3.3-basic', m1);
    r.do(lvtt(0, 0x60, 'oneshot'), enter(0), tmict(0, 3), enter(0), { k: 'hlt', cpu: 0 });
    expect(r.inst.where(0)).toBe('blocked');
    r.do(time(0, 3));
    expect(r.inst.where(0)).toBe('hv'); // RUNNABLE: wake_thread
    r.do(enter(0));
    expect(r.delivered(0, 0x60)).toBe(1);
  });

  it('an expiry while host IRQs are off on the entry path waits in the pCPU\'s IRR behind the injection already chosen (timer-expiry-held-irqs-off-at-entry)', () => {
    // A self-IPI 0x30 is pending when the clock passes the timer's 0xb2 expiry between CPU_IRQ_DISABLE and the VM entry.
    // Three thread steps: the handler's accept_intr and signal_event steps, then CPU_IRQ_DISABLE.
    const events: Event[] = [lvtt(0, 0xb2, 'oneshot'), enter(0), tmict(0, 5), enter(0), selfIpi(0, 0x30), { k: 'enter_step', cpu: 0 },
      { k: 'enter_step', cpu: 0 }, { k: 'enter_step', cpu: 0 }, time(0, 5)];
    const r = new Run('v3.3-basic', m1);
    r.do(...events.slice(0, 8));
    expect(r.inst.snapshot(0).extra).toMatch(/^schedule irqs=off/);
    r.do(time(0, 5));
    expect(r.inst.snapshot(0).extra).toContain('latched=4');
    expect(r.irr(0)).toEqual([0x30]);
    r.do(enter(0));
    // run_vcpu injects 0x30, the entry exits at once for TIMER_VECTOR, timer_softirq sets 0xb2.
    expect(r.sink.deliveries.map((d) => d.vector)).toEqual([0x30]);
    expect(r.sink.log.slice(-16)).toEqual(expect.arrayContaining(['0 vmexit external-interrupt', '0 vlapic_timer_expired']));
    expect(r.irr(0)).toEqual([0xb2]); // behind the interrupt window of 0x30's handler (IF = 0)
    expect(causes('v3.3-basic', events, m1)).toContain('stuck:timer-expiry-held-irqs-off-at-entry');
  });

  it('periodic: add_timer raises the period to MIN_TIMER_PERIOD_US; the second expiry bare metal has does not come (timer-period-raised-to-minimum)', () => {
    const r = new Run('v3.3-basic', m1);
    r.do(lvtt(0, 0x70, 'periodic'), enter(0), tmict(0, 10), enter(0), time(0, 10), enter(0));
    expect(r.delivered(0, 0x70)).toBe(1);
    // timeout = 10 + 1,000,000: TMCCT is the time to it, bare metal's would be 10.
    expect(r.read(lread(0, 'tmcct'))).toBe(1_000_000);
    const events: Event[] = [lvtt(0, 0x70, 'periodic'), ...settle(1), tmict(0, 10), ...settle(1), time(0, 10), ...settle(1), step(0),
      { k: 'eoi', cpu: 0 }, ...settle(1), { k: 'iret', cpu: 0 }, ...settle(1), time(0, 10), ...settle(1), step(0)];
    for (const variant of ['2018-basic', '3374-basic', 'v3.3-basic']) expect(causes(variant, events, m1)).toEqual(['stuck:timer-period-raised-to-minimum']);
  });

  it('a one-shot ↔ periodic LVT write disarms the count (vlapic_update_lvtt: del_timer, update_timer(0, 0)); a masked LVT consumes the expiry', () => {
    const r = new Run('v3.3-basic', m1);
    r.do(lvtt(0, 0xee, 'oneshot'), enter(0), tmict(0, 16), enter(0), time(0, 8), lvtt(0, 0xee, 'periodic'), enter(0));
    expect(r.read(lread(0, 'tmcct'))).toBe(0);
    r.do(enter(0), time(0, 100), enter(0));
    expect(r.delivered(0, 0xee)).toBe(0);
    // kvm-unit-tests test_apic_change_mode reads TMCCT after the change.
    const kut = JSON.parse(readFileSync('corpus/kut/kut-apic-change-mode.json', 'utf8')) as { events: Event[] };
    expect(causes('v3.3-basic', kut.events, m1)).toEqual(['read:timer-disarmed-by-mode-change', 'stuck:timer-disarmed-by-mode-change']);
    // Masked at the expiry: vlapic_timer_expired sends nothing and the one-shot is spent, as on bare metal.
    const events: Event[] = [lvtt(0, 0x44, 'oneshot', true), ...settle(1), tmict(0, 3), ...settle(1), time(0, 3), ...settle(1),
      lvtt(0, 0x44, 'oneshot'), ...settle(1), time(0, 50), ...settle(1), lread(0, 'tmcct'), ...settle(1)];
    for (const variant of ['2018-basic', 'v3.3-basic', '3374-adv']) expect(causes(variant, events, m1)).toEqual([]);
  });

  it('TSC deadline: intercepted WRMSR → vlapic_set_tsc_deadline_msr; a passed deadline fires at once, 0 disarms, count modes ignore it', () => {
    const r = new Run('v3.3-basic', m1);
    r.do(lvtt(0, 0x90, 'tsc-deadline'), enter(0), time(0, 5));
    const at = r.sink.log.length;
    r.do(tdl(0, 5));
    expect(r.sink.log.slice(at)).toEqual(expect.arrayContaining(['0 vmexit wrmsr', '0 vlapic_set_tsc_deadline_msr', '0 timer_softirq']));
    r.do(enter(0));
    expect(r.delivered(0, 0x90)).toBe(1);
    const events: Event[] = [lvtt(0, 0x90, 'tsc-deadline'), ...settle(1), tdl(0, 20), ...settle(1), time(0, 10), ...settle(1), tdl(0, 0),
      ...settle(1), time(0, 20), ...settle(1), tdl(0, 35), ...settle(1), time(0, 5), ...settle(1), step(0), lvtt(0, 0x91, 'oneshot'), ...settle(1),
      tdl(0, 50), ...settle(1), time(0, 50), ...settle(1), lread(0, 'tmcct'), ...settle(1)];
    for (const variant of ['2018-basic', '3374-basic', '3374-adv', 'pre-8507-basic', 'v3.3-basic']) expect(causes(variant, events, m1)).toEqual([]);
  });

  it('SVR disable stops the timer, enable restarts a periodic one a full period from now (timer-stopped-by-sw-disable, timer-restarted-by-sw-enable)', () => {
    const r = new Run('v3.3-basic', m1);
    r.do(lvtt(0, 0xa0, 'oneshot'), enter(0), tmict(0, 40), enter(0), svr(0, 0xff), enter(0), time(0, 10));
    // del_timer keeps the timeout: vlapic_get_ccr still counts down.
    expect(r.read(lread(0, 'tmcct'))).toBe(30);
    r.do(enter(0), svr(0, 0x1ff), enter(0), lvtt(0, 0xa0, 'oneshot'), enter(0), time(0, 40), enter(0));
    expect(r.delivered(0, 0xa0)).toBe(0);
    const events: Event[] = [lvtt(0, 0xa0, 'oneshot'), ...settle(1), tmict(0, 40), ...settle(1), svr(0, 0xff), ...settle(1), svr(0, 0x1ff),
      ...settle(1), lvtt(0, 0xa0, 'oneshot'), ...settle(1), time(0, 40), ...settle(1), step(0)];
    expect(causes('v3.3-basic', events, m1)).toEqual(['stuck:timer-stopped-by-sw-disable']);
  });

  it('a TMICT write while disabled, then the enable\'s restart: add_timer links the node to itself, del_timer cannot stop it (timer-node-added-twice)', () => {
    const r = new Run('v3.3-basic', m1);
    r.do(svr(0, 0xff), enter(0), lvtt(0, 0xb0, 'periodic'), enter(0), tmict(0, 8), enter(0), svr(0, 0x1ff), enter(0));
    expect(r.sink.log).toContain('0 add_timer: add timer again');
    r.do(lvtt(0, 0xb0, 'periodic'), enter(0), tmict(0, 0), enter(0), time(0, 2_000_000), enter(0), enter(0));
    // TMICT 0 stops the count on bare metal; here the self-linked node stays on the list and fires.
    expect(r.delivered(0, 0xb0)).toBe(1);
    const corpus = JSON.parse(readFileSync('corpus/acrn/acrn-today-timer-node-added-twice.json', 'utf8')) as { events: Event[]; machine: MachineConfig };
    expect(causes('v3.3-basic', corpus.events, corpus.machine)).toEqual(['spurious:timer-node-added-twice']);
  });

  it('a missed expiry is named by its timer cause for every vector the LVT carried since, ahead of another message of the vector', () => {
    // The count disarmed by a one-shot → periodic write; the LVT then gets another vector: bare metal's expiry of 0x76 is still missed.
    const a: Event[] = [tmict(0, 6), ...settle(1), lvtt(0, 0x76, 'periodic'), ...settle(1), time(0, 100), ...settle(1),
      lvtt(0, 0x3c, 'tsc-deadline', true), ...settle(1), step(0)];
    expect(causes('v3.3-basic', a, m1)).toEqual(['stuck:timer-disarmed-by-mode-change']);
    // The clamped period misses bare metal's expiries of 0xe6 after the first; an MSI of 0xe6 is still on its way
    // (its kick in flight) when the guest runs with bare metal's instance due: the clamp, not the MSI's request.
    const b: Event[] = [lvtt(0, 0xe6, 'periodic'), enter(0), tmict(0, 3), time(0, 11), enter(0), { k: 'sti', cpu: 0 }, time(0, 7),
      { k: 'eoi', cpu: 0 }, enter(0), { k: 'msi', dest: 0, vector: 0xe6 }, { k: 'iret', cpu: 0 }];
    expect(causes('3374-basic', b, m1)).toEqual(['stuck:timer-period-raised-to-minimum']);
  });
});
