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
  // reads (vioapic_write_redirent, vioapic_read_indirect). Not yet: vlapic_reg_write for
  // ID/LDR/DFR/SVR/ESR, logical/lowest-priority entries, the timer, LINTs; scenarios using them
  // are refused as unsupported by this backend.
  features: ['ioapic_write', 'ioapic_read'],
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
