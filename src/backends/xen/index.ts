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
  // reads (vioapic_write_redirent, vioapic_read_indirect), ID/version/arbitration writes
  // (vioapic_write_indirect: a 4-bit ID, read back by both ID and ARB), logical entries included
  // (vioapic_deliver → vlapic_match_dest); INT n (not intercepted); local APIC reads
  // (vlapic_read_aligned: ID = 2 x vcpu_id, TMCCT from vlapic_get_tmcct); SELF_IPI
  // (guest_wrmsr_x2apic → vlapic_ipi); SVR, ESR, ID, LDR and DFR writes (vlapic_reg_write: Xen
  // stores an ID write and matches the new ID); 32-bit x2APIC ICR destinations (vlapic_ipi →
  // vlapic_match_dest); lowest-priority IPIs, MSIs and entries (vlapic_lowest_prio, its round
  // robin, reported through ObsSink.arbitrated). Not: machine.apicIds (Xen's IDs are fixed
  // at 2 x vcpu_id; the model renumbers the scenario's IDs, see machine.ts xenApicId), and
  // LINT (lvt_lint, which also brings the `lint` line): Xen HVM has no device that drives a
  // vCPU's LINT0/LINT1 through its LVT — the vPIC's output reaches the vCPU as ExtINT only
  // (vlapic_accept_pic_intr: LVT0 unmasked in ExtINT mode, or pin 0 of the vIOAPIC, or the
  // vlapic hardware-disabled; hvm_vcpu_has_pending_irq's hvm_intsrc_pic with the vPIC's own
  // vector), a fixed or NMI LVT0/LVT1 entry is stored and never fires, and NMIs arrive only as
  // nmi_pending (IPIs, XEN_DOMCTL_sendtrigger). Scenarios using them are refused as unsupported.
  features: [
    'ioapic_write', 'ioapic_read', 'ioapic_reg_write', 'ioapic.logical', 'ioapic.lowest', 'int', 'self_ipi', 'ipi.dest32', 'ipi.lowest', 'msi.lowest',
    'lapic_write.svr', 'lapic_write.esr', 'lapic_write.id', 'lapic_write.ldr', 'lapic_write.dfr',
    'lapic_read.id', 'lapic_read.ldr', 'lapic_read.dfr', 'lapic_read.svr', 'lapic_read.version', 'lapic_read.tmcct',
    // The APIC timer: vlapic_reg_write(APIC_LVTT/APIC_TMICT) → vlapic_update_timer (2016: its own
    // cases) → create_periodic_time; vlapic_tdt_msr_set; the vpt machinery (pt_timer_fn on the
    // vCPU's pCPU, pt_update_irq in svm_intr_assist, pt_intr_post) on the logical clock;
    // vlapic_get_tmcct. src/backends/xen/vpt.ts, vlapic-timer.ts.
    'lvt_timer', 'tsc_deadline', 'time',
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
