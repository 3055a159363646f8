// kvm backend, issue 8: xAPIC ID writes and machine.apicIds (the physical APIC map by ID; v6.12's run-time APICv
// inhibit APICV_INHIBIT_REASON_APIC_ID_MODIFIED / PHYSICAL_ID_ALIASED and the per-vCPU switch at
// KVM_REQ_APICV_UPDATE), and lowest-priority redirection entries (their choice reported before `executed`).
// Each trace follows the real code path (Linux 6.12.19: lapic.c kvm_lapic_reg_write APIC_ID,
// kvm_recalculate_apic_map; x86.c __kvm_set_or_clear_apicv_inhibit, __kvm_vcpu_update_apicv; ioapic.c ioapic_service).
import { describe, expect, it } from 'vitest';
import { kvm } from '../../src/backends/kvm/index.js';
import { runScenario } from '../../src/engine/run.js';
import { readScenarioFile } from '../../src/store/files.js';
import type { Event, MachineConfig, Scenario } from '../../src/scenario/types.js';
import { makeKvm } from './kvm-recorder.js';

const V = 0x51;
const XA: MachineConfig = { vcpus: 2, apic: 'xapic', ioapic: [] };
const sigs = (s: Scenario, v: string) => runScenario(s, kvm, v).divergences.map((d) => d.signature);

describe('xAPIC ID write on v6.12: APICv inhibited at run time, each vCPU switching at its next entry', () => {
  it('the write exits, KVM_REQ_APICV_UPDATE goes to every vCPU; the writer injects in software from its next entry, while a vCPU that has not handled the request still runs with APICv', () => {
    const { b, r, run } = makeKvm('v6.12', XA);
    run({ k: 'lapic_write', cpu: 1, reg: 'id', value: 0x02000000 });
    expect(r.of('vmexit', 1).map((e) => e.a)).toEqual(['apic-access']);
    // vCPU0 was IN_GUEST_MODE: the request's IPI is in flight to its pCPU; it keeps APICv until it handles it.
    expect(b.physPending(0)).toBe(true);
    run({ k: 'enter', cpu: 1 });
    expect(r.steps(1)).toContain('vmx_refresh_apicv_exec_ctrl(off)');
    // vCPU0, still APICv: its ICR write is a trap-like APIC-write exit; the target (no APICv any more) gets the vector
    // in its software IRR, KVM_REQ_EVENT and a kick, not a posting.
    const m = r.mark();
    run({ k: 'ipi', cpu: 0, vector: V, dest: 2 });
    expect(r.since(m, 'vmexit', 0).map((e) => e.a)).toEqual(['apic-write']);
    expect(b.snapshot(1).extra).toContain('pir={}');
    expect(r.deliveries(1)).toEqual([]);
    run({ k: 'pirq', cpu: 1 }); // the kick: an external-interrupt exit
    run({ k: 'enter', cpu: 1 });
    expect(r.steps(1)).toContain('vmx_inject_irq');
    expect(r.deliveries(1)).toEqual([V]);
    // vCPU0 handles its request at its own next entry.
    const m0 = r.mark();
    run({ k: 'pirq', cpu: 0 });
    run({ k: 'enter', cpu: 0 });
    expect(r.since(m0, 'step', 0).map((e) => e.a)).toContain('vmx_refresh_apicv_exec_ctrl(off)');
  });

  it('routes by the new ID: an IPI to the old ID reaches nobody, one to the new ID the writer (clean against bare metal)', () => {
    const s: Scenario = {
      irqdiff: 1, machine: XA, events: [
        { k: 'lapic_write', cpu: 1, reg: 'id', value: 0x05000000 }, { k: 'enter', cpu: 1 },
        { k: 'ipi', cpu: 0, vector: V, dest: 1 }, { k: 'enter', cpu: 0 },
        { k: 'ipi', cpu: 0, vector: V + 1, dest: 5 }, { k: 'enter', cpu: 0 }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 },
        { k: 'lapic_read', cpu: 1, reg: 'id' }, { k: 'enter', cpu: 1 },
      ],
    };
    for (const v of ['v6.12', 'v6.12-vtd', 'v6.12-noapicv', 'v4.16']) expect(sigs(s, v)).toEqual([]);
    const { r, run } = makeKvm('v6.12', XA);
    s.events.forEach((e) => run(e));
    expect(r.deliveries(1)).toEqual([V + 1]);
    expect(r.of('read', 1).map((e) => e.b)).toEqual([0x05000000]);
  });

  it('writing the vCPU id back clears the inhibit: APICv comes back at the next entry, without SVI (6.12.19: a software-injected vector in service is not retired by the virtualized EOI)', () => {
    // Found by the fuzzer (seed kid:1789, minimized): vCPU1 aliases ID 0, takes vCPU0's MSI through the slow path and
    // KVM's injection, writes ID 1 back; its EOI after re-activation clears VISR[SVI = 0].
    const s: Scenario = {
      irqdiff: 1, machine: XA, events: [
        { k: 'lapic_write', cpu: 1, reg: 'id', value: 0 }, { k: 'msi', dest: 0, vector: 0x20 }, { k: 'enter', cpu: 1 },
        { k: 'lapic_write', cpu: 1, reg: 'id', value: 0x01000000 }, { k: 'enter', cpu: 1 }, { k: 'eoi', cpu: 1 },
        { k: 'read', cpu: 1, reg: 'isr' },
      ],
    };
    expect(sigs(s, 'v6.12')).toEqual(['kvm/v6.12:eoi:svi-stale-after-apicv-activation']);
    // Without APICv every EOI exits and apic_set_eoi retires ISR's highest vector: clean.
    expect(sigs(s, 'v6.12-noapicv')).toEqual([]);
    const { b, r, run } = makeKvm('v6.12', XA);
    s.events.forEach((e) => run(e));
    expect(r.steps(1)).toContain('vmx_refresh_apicv_exec_ctrl(on)');
    expect(r.of('read', 1).at(-1)!.b).toEqual([0x20]);
    expect(b.snapshot(1).isr).toBeDefined();
  });

  it('an EOI-exit bitmap computed while APICv is inhibited never reaches vmcs01: the re-activation comes after KVM_REQ_LOAD_EOI_EXITMAP in the same requests phase', () => {
    const s = readScenarioFile('corpus/kvm/kvm-eoi-exitmap-not-loaded-after-apicv-reactivation.json');
    expect(sigs(s, 'v6.12')).toEqual(['kvm/v6.12:stuck:eoi-exitmap-not-loaded-while-apicv-inhibited']);
    expect(sigs(s, 'v6.12-noapicv')).toEqual([]);
    const { r, run } = makeKvm('v6.12', s.machine);
    s.events.forEach((e) => run(e));
    // vCPU1's last entry: the scan and the load run before the update re-activates APICv.
    const steps = r.steps(1);
    const last = steps.lastIndexOf('vmx_refresh_apicv_exec_ctrl(on)');
    expect(last).toBeGreaterThan(steps.lastIndexOf('vmx_load_eoi_exitmap(vmcs01)'));
    // The EOI of 0x74 is virtualized without an exit (no eoi-induced exit on vCPU1).
    expect(r.of('vmexit', 1).map((e) => e.a)).not.toContain('eoi-induced');
  });

  it('two vCPUs sharing an xAPIC ID: v6.12 drops the map and both accept (slow path); v4.x sends to the first only', () => {
    const s: Scenario = {
      irqdiff: 1, machine: XA, events: [
        { k: 'lapic_write', cpu: 1, reg: 'id', value: 0 }, { k: 'enter', cpu: 1 },
        { k: 'msi', dest: 0, vector: V }, { k: 'pirq', cpu: 0 }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 0 }, { k: 'enter', cpu: 1 },
        { k: 'step', cpu: 0 }, { k: 'step', cpu: 1 },
      ],
    };
    expect(sigs(s, 'v6.12')).toEqual([]);
    expect(sigs(s, 'v4.16')).toEqual(['kvm/v4.16:stuck:apic-map-physical-id-aliased']);
    const { r, run } = makeKvm('v6.12', XA);
    s.events.forEach((e) => run(e));
    expect(r.deliveries(0)).toEqual([V]);
    expect(r.deliveries(1)).toEqual([V]);
  });
});

describe('machine.apicIds: vcpu_id is the APIC ID (as QEMU creates vCPUs), so APICv stays on', () => {
  it('x2APIC IDs in other clusters: physical and logical destinations reach the vCPU by its ID, the ID reads back, no inhibit', () => {
    const m: MachineConfig = { vcpus: 2, apic: 'x2apic', ioapic: [], apicIds: [16, 33] };
    const s: Scenario = {
      irqdiff: 1, machine: m, events: [
        { k: 'ipi', cpu: 0, vector: V, dest: 33 }, { k: 'enter', cpu: 0 }, { k: 'pirq', cpu: 1 },
        { k: 'ipi', cpu: 1, vector: V + 2, dest: (1 << 16) | 1, logical: true }, { k: 'enter', cpu: 1 }, { k: 'pirq', cpu: 0 },
        { k: 'lapic_read', cpu: 1, reg: 'id' }, { k: 'step', cpu: 0 },
      ],
    };
    for (const v of ['v6.12', 'v6.12-vtd', 'v4.16']) expect(sigs(s, v)).toEqual([]);
    const { r, run } = makeKvm('v6.12', m);
    s.events.forEach((e) => run(e));
    expect(r.deliveries(1)).toEqual([V]);
    expect(r.deliveries(0)).toEqual([V + 2]);
    expect(r.of('read', 1).map((e) => e.b)).toEqual([33]);
    expect(r.steps(0).concat(r.steps(1))).not.toContain('kvm_vcpu_update_apicv');
  });
});

describe('ioapic.lowest: the choice made in the exit handling is reported before the instruction', () => {
  const pin = { pin: 3, vector: 0x63, dest: 0x03, trigger: 'level' as const, masked: false, logical: true, lowest: true };
  const m: MachineConfig = { vcpus: 2, apic: 'xapic', ioapic: [pin] };

  it('a level pin: kvm_vector_to_index over the flat MDA 0x03 picks vCPU 0x63 % 2 = 1, at the assert and again at the EOI re-send', () => {
    const { r, run } = makeKvm('v6.12', m);
    const evs: Event[] = [{ k: 'ioapic', pin: 3, op: 'assert' }, { k: 'pirq', cpu: 1 }, { k: 'step', cpu: 1 }, { k: 'eoi', cpu: 1 }];
    evs.forEach((e) => run(e));
    const order = r.log.filter((e) => e.k === 'arbitrated' || e.k === 'executed').map((e) => `${e.k}:${String(e.a)}`);
    // assert (event 0): choice then executed; the EOI (event 3) exits (EOI-exit bitmap), kvm_ioapic_update_eoi
    // re-services the still-high line: its choice comes before the EOI's executed.
    expect(order).toEqual(['arbitrated:1', 'executed:0', 'executed:2', 'arbitrated:1', 'executed:3']);
    expect(r.deliveries(1)).toEqual([0x63]);
  });

  it('clean against bare metal on every v6.12 variant, and the redirection read shows delivery mode 001', () => {
    const s: Scenario = {
      irqdiff: 1, machine: m, events: [
        { k: 'ioapic', pin: 3, op: 'assert' }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 }, { k: 'step', cpu: 1 },
        { k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 3 }, { k: 'enter', cpu: 0 },
        { k: 'ioapic', pin: 3, op: 'deassert' }, { k: 'eoi', cpu: 1 }, { k: 'enter', cpu: 1 },
        { k: 'ioapic_write', cpu: 0, pin: 3, vector: 0x74, dest: 0x03, trigger: 'level', masked: false, logical: true, lowest: true },
        { k: 'enter', cpu: 0 }, { k: 'ioapic', pin: 3, op: 'assert' }, { k: 'pirq', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'eoi', cpu: 0 },
      ],
    };
    for (const v of ['v6.12', 'v6.12-vtd', 'v6.12-noapicv']) expect(sigs(s, v)).toEqual([]);
    const { r, run } = makeKvm('v6.12', m);
    s.events.forEach((e) => run(e));
    expect(r.of('read', 0)[0]!.b).toBe(0x63 | 1 << 8 | 1 << 11 | 1 << 14 | 1 << 15);
    // 0x74 % 2 = 0: vCPU0 takes the rewritten entry's message.
    expect(r.deliveries(0)).toEqual([0x74]);
  });
});
