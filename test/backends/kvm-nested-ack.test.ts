// KVM's "acknowledge interrupt on exit" for L1 (machine nested.ackOnExit): nested_vmx_vmexit with
// EXIT_REASON_EXTERNAL_INTERRUPT and nested_exit_intr_ack_set → kvm_cpu_get_interrupt after vmcs01 is loaded.
import { describe, expect, it } from 'vitest';
import { vsList } from '../../src/apic/vecset.js';
import { kvmNvmx } from '../../src/backends/kvm-nvmx/index.js';
import type { MachineConfig } from '../../src/scenario/types.js';
import { makeKvm } from './kvm-recorder.js';

const V = 0x41;
function machine(ackOnExit: boolean): MachineConfig {
  return { vcpus: 2, apic: 'x2apic', ioapic: [], nested: ackOnExit ? { exitOnIntr: true, ackOnExit: true } : { exitOnIntr: true } };
}

/** vCPU0's L1 (IF = 0) runs L2; vCPU1 sends V; vCPU0's next entry path makes the nested exit. */
function exitWith(variant: string, ack: boolean) {
  const t = makeKvm(variant, machine(ack));
  t.run({ k: 'cli', cpu: 0 });
  t.run({ k: 'vmentry', cpu: 0 });
  t.run({ k: 'enter', cpu: 0 });
  t.run({ k: 'ipi', cpu: 1, vector: V, dest: 0 });
  t.run({ k: 'pirq', cpu: 0 });
  t.run({ k: 'enter', cpu: 0 });
  return t;
}

describe('kvm nested ack-on-exit', () => {
  for (const variant of ['v4.10', 'v4.16', 'v6.12', 'v6.12-noapicv']) {
    it(`${variant}: the EXTERNAL_INTERRUPT exit acknowledges the vector and reports it; L1 enters its handler`, () => {
      const t = exitWith(variant, true);
      expect(t.r.of('l1Exit', 0).map((e) => [e.a, e.b, e.d])).toEqual([['extint', false, V]]);
      expect(t.r.steps(0)).toContain('kvm_cpu_get_interrupt');
      const snap = t.b.snapshot(0);
      expect(vsList(snap.irr)).toEqual([]);
      expect(vsList(snap.isr)).toEqual([V]);
      expect(snap.ppr).toBe(V & 0xf0);
      // The abstract L1's handler frame, entered although L1 ran L2 with IF = 0; no IDT delivery is reported.
      expect(t.b.guest(0).frames.length).toBe(1);
      expect(t.r.deliveries(0)).toEqual([]);
    });
  }

  it('v6.12 with APICv: SVI names the acknowledged vector, so L1\'s virtualized EOI retires it', () => {
    const t = exitWith('v6.12', true);
    expect(t.b.snapshot(0).extra).toContain('svi=0x41');
    t.run({ k: 'eoi', cpu: 0 });
    t.run({ k: 'enter', cpu: 0 });
    expect(vsList(t.b.snapshot(0).isr)).toEqual([]);
  });

  it('without the control the exit reports nothing and the vector waits in IRR for L1\'s IF', () => {
    const t = exitWith('v6.12', false);
    expect(t.r.of('l1Exit', 0).map((e) => [e.a, e.d])).toEqual([['extint', -1]]);
    expect(vsList(t.b.snapshot(0).irr)).toEqual([V]);
    expect(t.b.guest(0).frames.length).toBe(0);
  });

  it('kvm-nvmx refuses the machine: the 2011 nested_vmx_setup_ctls_msrs does not offer the control', () => {
    expect(kvmNvmx.supports(machine(true))).toMatch(/VM_EXIT_ACK_INTR_ON_EXIT/);
    expect(kvmNvmx.supports(machine(false))).toBeNull();
  });
});
