// The oracle judges the programmable-APIC events: a backend that routes a lowest-priority
// message outside its destinations, or shows a redirection entry bare metal cannot, is
// caught. Planted bugs in baremetal through a sink that falsifies what it reports.
import { describe, expect, it } from 'vitest';
import type { Backend, ObsSink } from '../../src/backends/api.js';
import { baremetal } from '../../src/backends/baremetal/index.js';
import { runScenario } from '../../src/engine/session.js';
import type { Event, MachineConfig, Scenario } from '../../src/scenario/types.js';

function planted(edit: (sink: ObsSink) => Partial<ObsSink>): Backend {
  return {
    ...baremetal,
    create(variant: string, machine: MachineConfig, sink: ObsSink) {
      const own: ObsSink = {
        executed: (i) => sink.executed(i), deliver: (c, v, n, via) => sink.deliver(c, v, n, via),
        readValue: (c, r, v) => sink.readValue(c, r, v), evaluate: (c) => sink.evaluate(c),
        vmexit: (c, r) => sink.vmexit(c, r), step: (c, n) => sink.step(c, n), crash: (c, w, m) => sink.crash(c, w, m),
        l1Exit: (c, r, v, x) => sink.l1Exit(c, r, v, x), l2Deliver: (c, v) => sink.l2Deliver(c, v),
        arbitrated: (c) => sink.arbitrated?.(c),
      };
      return baremetal.create(variant, machine, { ...own, ...edit(sink) });
    },
  };
}
const scenario = (machine: MachineConfig, events: Event[]): Scenario => ({ irqdiff: 1, machine, events });
const M: MachineConfig = { vcpus: 3, apic: 'xapic', ioapic: [{ pin: 0, vector: 0x5f, dest: 0, trigger: 'level', masked: false }] };

describe('oracle on programmable-APIC events', () => {
  it('REF-LP-1: a lowest-priority choice outside the destinations is a spurious delivery', () => {
    const s = scenario(M, [{ k: 'ipi', cpu: 0, vector: 0x41, logical: true, dest: 0x02, lowest: true }, { k: 'pirq', cpu: 1 }]);
    expect(runScenario(s, baremetal, 'sdm').primary).toBeUndefined();
    const bad = planted((sink) => ({ arbitrated: () => sink.arbitrated?.(2) }));
    expect(runScenario(s, bad, 'sdm').primary?.signature).toBe('baremetal/sdm:spurious:lowest-priority-outside-destinations');
  });

  it('REF-IOA-6: Remote IRR missing from a redirection-entry read', () => {
    const s = scenario(M, [{ k: 'cli', cpu: 0 }, { k: 'ioapic', pin: 0, op: 'assert' }, { k: 'pirq', cpu: 0 }, { k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 0 }]);
    expect(runScenario(s, baremetal, 'sdm').primary).toBeUndefined();
    const bad = planted((sink) => ({ readValue: (c, r, v) => sink.readValue(c, r, r === 'redir-lo' ? (v as number) & ~(1 << 14) : v) }));
    expect(runScenario(s, bad, 'sdm').primary?.signature).toBe('baremetal/sdm:read:redir-remote-irr-missing');
  });

  it('REF-IOA-7: an I/O APIC ID write that is ignored, keeps reserved bits, or leaves the arbitration register behind is caught', () => {
    const m: MachineConfig = { vcpus: 1, apic: 'xapic', ioapic: [] };
    // kvm-unit-tests ioapic_reg_id and ioapic_arbitration_id.
    const s = scenario(m, [{ k: 'ioapic_read', cpu: 0, reg: 'id' }, { k: 'ioapic_reg_write', cpu: 0, reg: 'id', value: 0xffffffff },
      { k: 'ioapic_read', cpu: 0, reg: 'id' }, { k: 'ioapic_reg_write', cpu: 0, reg: 'arb', value: 0 }, { k: 'ioapic_read', cpu: 0, reg: 'arb' }]);
    expect(runScenario(s, baremetal, 'sdm').primary).toBeUndefined();
    const fake = (reg: string, value: (v: number) => number) => planted((sink) => ({ readValue: (c, r, v) => sink.readValue(c, r, r === reg ? value(v as number) : v) }));
    expect(runScenario(s, fake('ioapic-id', () => 0), 'sdm').primary?.signature).toBe('baremetal/sdm:read:ioapic-id-mismatch');
    expect(runScenario(s, fake('ioapic-id', () => 0xff000000), 'sdm').primary?.signature).toBe('baremetal/sdm:read:ioapic-id-reserved-bits');
    expect(runScenario(s, fake('ioapic-arb', () => 0), 'sdm').primary?.signature).toBe('baremetal/sdm:read:ioapic-arb-mismatch');
    // The platform's ID is whatever the first read shows, and then stays so until written.
    const twice = scenario(m, [{ k: 'ioapic_read', cpu: 0, reg: 'id' }, { k: 'ioapic_read', cpu: 0, reg: 'id' }]);
    let n = 0;
    expect(runScenario(twice, fake('ioapic-id', () => (n++ === 0 ? 0x02000000 : 0x03000000)), 'sdm').primary?.signature).toBe('baremetal/sdm:read:ioapic-id-mismatch');
  });

  it('REF-IOA-7: a version register that a write changes is caught (kvm-unit-tests ioapic_reg_version)', () => {
    const s = scenario(M, [{ k: 'ioapic_read', cpu: 0, reg: 'version' }, { k: 'ioapic_reg_write', cpu: 0, reg: 'version', value: 0xffe8ffee },
      { k: 'ioapic_read', cpu: 0, reg: 'version' }]);
    expect(runScenario(s, baremetal, 'sdm').primary).toBeUndefined();
    let n = 0;
    const bad = planted((sink) => ({ readValue: (c, r, v) => sink.readValue(c, r, r === 'ioapic-version' && n++ > 0 ? 0x00170020 : v) }));
    expect(runScenario(s, bad, 'sdm').primary?.signature).toBe('baremetal/sdm:read:ioapic-version-changed');
  });

  it('REF-SVR-1: an APIC that accepts a fixed IPI while software-disabled is caught', () => {
    const s = scenario(M, [{ k: 'lapic_write', cpu: 1, reg: 'svr', value: 0xff }, { k: 'ipi', cpu: 0, vector: 0x41, dest: 1 },
      { k: 'pirq', cpu: 1 }, { k: 'lapic_write', cpu: 1, reg: 'svr', value: 0x1ff }, { k: 'step', cpu: 1 }]);
    expect(runScenario(s, baremetal, 'sdm').primary).toBeUndefined();
    // Planted: the discarded IPI is delivered after the re-enable.
    const bad = planted((sink) => ({ executed: (i) => { sink.executed(i); if (i === 3) sink.deliver(1, 0x41, false); } }));
    expect(runScenario(s, bad, 'sdm').primary?.signature).toMatch(/^baremetal\/sdm:(duplicate|spurious):/);
  });
});
