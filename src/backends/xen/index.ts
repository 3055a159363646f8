// Xen HVM on AMD SVM: the software vlapic with event injection, and the Viridian APIC assist
// from its first version (2016) through the 2018 rework to today's viridian/synic.c.
import type { MachineConfig } from '../../scenario/types.js';
import type { Backend, BackendInstance, ObsSink } from '../api.js';
import { isXenVariant } from './code.js';
import { XenInstance } from './machine.js';
import { VARIANTS } from './variants.js';
import { withRates } from '../rates.js';
import { RATES, RATES_SAMPLE } from './rates.js';

export const xen: Backend = {
  name: 'xen',
  description: 'Xen HVM on AMD SVM: vlapic + svm_intr_assist event injection, Viridian APIC assist (2016 → 4.22)',
  variants: withRates(VARIANTS, RATES, RATES_SAMPLE),
  // Scenario features modeled (src/scenario/features.ts): redirection-table writes and I/O APIC
  // reads (vioapic_write_redirent, vioapic_read_indirect), logical entries included
  // (vioapic_deliver → vlapic_match_dest); INT n (not intercepted); local APIC reads
  // (vlapic_read_aligned: ID = 2 x vcpu_id, TMCCT 0 with no timer feature); SELF_IPI
  // (guest_wrmsr_x2apic → vlapic_ipi); SVR, ESR, ID, LDR and DFR writes (vlapic_reg_write: Xen
  // stores an ID write and matches the new ID); 32-bit x2APIC ICR destinations (vlapic_ipi →
  // vlapic_match_dest); lowest-priority IPIs, MSIs and entries (vlapic_lowest_prio, its round
  // robin, reported through ObsSink.arbitrated). Not yet: machine.apicIds (Xen's IDs are fixed
  // at 2 x vcpu_id; the model renumbers the scenario's IDs, see machine.ts xenApicId), the
  // timer, LINTs; scenarios using them are refused as unsupported.
  features: [
    'ioapic_write', 'ioapic_read', 'ioapic.logical', 'ioapic.lowest', 'int', 'self_ipi', 'ipi.dest32', 'ipi.lowest', 'msi.lowest',
    'lapic_write.svr', 'lapic_write.esr', 'lapic_write.id', 'lapic_write.ldr', 'lapic_write.dfr',
    'lapic_read.id', 'lapic_read.ldr', 'lapic_read.dfr', 'lapic_read.svr', 'lapic_read.version', 'lapic_read.tmcct',
  ],
  supports(machine: MachineConfig): string | null {
    if (machine.nested) return 'nested HVM (nestedsvm) is not modelled for Xen';
    return null;
  },
  create(variant: string, machine: MachineConfig, sink: ObsSink): BackendInstance {
    if (!isXenVariant(variant)) {
      throw new Error(`xen: unknown variant '${variant}' (expected ${VARIANTS.map((v) => v.name).join(', ')})`);
    }
    const why = xen.supports(machine);
    if (why) throw new Error(`xen: ${why}`);
    return new XenInstance(variant, machine, sink);
  },
};

export default xen;
