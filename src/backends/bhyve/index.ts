// bhyve (FreeBSD vmm) on AMD SVM, before and after the 2018 switch from V_IRQ posting to
// event injection for LAPIC interrupts, and today's main.
import type { Backend, BackendInstance, ObsSink } from '../api.js';
import type { MachineConfig } from '../../scenario/types.js';
import { BhyveInstance } from './machine.js';
import { VARIANTS, type BhyveVariant } from './variants.js';
import { withRates } from '../rates.js';
import { RATES, RATES_SAMPLE } from './rates.js';

export const bhyve: Backend = {
  name: 'bhyve',
  description: 'FreeBSD bhyve (vmm.ko) on AMD SVM: software vlapic, V_IRQ posting (prefix) vs EVENTINJ (fixed: 2018; main: today)',
  variants: withRates(VARIANTS, RATES, RATES_SAMPLE),
  // Scenario features modeled (src/scenario/features.ts): redirection-table writes and I/O APIC
  // reads (vioapic_write with its vioapic_update_tmr rendezvous, vioapic_read). Not yet: vlapic.c's
  // ID/LDR/DFR/SVR/ESR writes, logical/lowest-priority entries (vlapic_calcdest), the timer, LINTs;
  // scenarios using them are refused as unsupported by this backend.
  features: ['ioapic_write', 'ioapic_read'],
  supports(machine: MachineConfig): string | null {
    if (machine.nested) return 'bhyve on SVM runs no nested guests (no nested SVM in vmm.ko)';
    if (machine.hyperv?.apicAssist) return 'bhyve offers no Hyper-V enlightenments';
    return null;
  },
  create(variant: string, machine: MachineConfig, sink: ObsSink): BackendInstance {
    if (variant !== 'prefix' && variant !== 'fixed' && variant !== 'main') {
      throw new Error(`bhyve: unknown variant '${variant}' (expected ${VARIANTS.map((v) => v.name).join(', ')})`);
    }
    const why = bhyve.supports(machine);
    if (why) throw new Error(`bhyve: ${why}`);
    return new BhyveInstance(variant as BhyveVariant, machine, sink);
  },
};

export default bhyve;
