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
  // reads (vioapic_write with its vioapic_update_tmr rendezvous, vioapic_read); ID/version/arbitration writes
  // (vioapic_write keeps ID bits 31:24: a documented deviation, ioapic-id-8-bits-writable); INT n (not
  // intercepted: a guest-core step); vlapic_read of ID/version/LDR/DFR/SVR and of the timer's
  // current count (vlapic_get_ccr); the x2APIC SELF_IPI
  // (vlapic_self_ipi_handler); SVR, ESR, LDR and DFR writes (their vlapic.c handlers; vlapic_calcdest
  // matches each vlapic's own LDR/DFR); ID writes, which vlapic_id_write_handler undoes (a documented
  // deviation, apic-id-write-ignored). Not yet: lowest-priority IPIs, APIC IDs other than
  // vcpuid, TSC-deadline mode; scenarios using them are refused as
  // unsupported.
  features: [
    'ioapic_write', 'ioapic_read', 'ioapic_reg_write', 'int', 'self_ipi',
    'lapic_read.id', 'lapic_read.version', 'lapic_read.ldr', 'lapic_read.dfr', 'lapic_read.svr', 'lapic_read.tmcct',
    'lapic_write.svr', 'lapic_write.esr', 'lapic_write.id', 'lapic_write.ldr', 'lapic_write.dfr',
    // vlapic_icrlo_write_handler takes the 32-bit x2APIC destination (icr >> 32) into vlapic_calcdest
    // with x2apic_dest: 0xFFFFFFFF broadcast, APIC ID = vcpuid, clusters dest >> 16.
    'ipi.dest32',
    // vioapic_send_intr / vioapic_update_tmr pass the entry's IOART_DESTMOD to vlapic_calcdest.
    'ioapic.logical',
    // The APIC timer: vlapic_lvt_write_handler, vlapic_icrtmr_write_handler, the callout
    // (vlapic_callout_handler) on the logical clock, vlapic_get_ccr. Not tsc_deadline:
    // x86_emulate_cpuid hides CPUID2_TSCDLT ("No TSC deadline support in the APIC yet") and no
    // MSR handler knows IA32_TSC_DEADLINE.
    'lvt_timer', 'time',
    // LINT0/LINT1: vlapic_lvt_write_handler, lapic_set_local_intr → vlapic_trigger_lvt.
    'lvt_lint',
    // Lowest-priority MSIs and redirection entries: vlapic_deliver_intr → vlapic_calcdest(lowprio),
    // the first logical match (reported with sink.arbitrated). Not ipi.lowest: vlapic_icrlo_write_handler
    // returns 1 for APIC_DELMODE_LOWPRIO ("return to userland"), which bhyve(8) does not emulate.
    'msi.lowest', 'ioapic.lowest',
  ],
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
