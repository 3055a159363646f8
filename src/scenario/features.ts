// Scenario features beyond the base language: the events and fields that programme the local
// APIC and the I/O APIC at run time (docs/scenario-language.md). A backend declares which of
// them it models (Backend.features); a scenario that uses one it does not declare is refused
// with an explicit "unsupported by this backend" outcome before anything runs — never run with
// the event ignored, and never judged as a divergence.
import type { Event, MachineConfig } from './types.js';

export const FEATURES = [
  'lapic_write.id', 'lapic_write.ldr', 'lapic_write.dfr', 'lapic_write.svr', 'lapic_write.esr',
  'lapic_read.id', 'lapic_read.ldr', 'lapic_read.dfr', 'lapic_read.svr', 'lapic_read.version', 'lapic_read.tmcct',
  /** The local APIC timer: LVT timer and TMICT writes, TSC-deadline writes, the logical clock. */
  'lvt_timer', 'tsc_deadline', 'time',
  /** LINT0/LINT1 LVT entries and input lines (edge, level, NMI). */
  'lvt_lint',
  /** Software interrupts (INT n). */
  'int',
  'self_ipi', 'ioapic_write', 'ioapic_read',
  /** Writes of the I/O APIC ID, version and arbitration registers (ioapic_reg_write). */
  'ioapic_reg_write',
  /** Lowest-priority delivery mode of an IPI, an MSI, a redirection entry. */
  'ipi.lowest', 'msi.lowest', 'ioapic.lowest',
  /** A redirection entry in logical destination mode. */
  'ioapic.logical',
  /** An ICR destination above 255 (x2APIC 32-bit destinations, clusters, 0xFFFFFFFF). */
  'ipi.dest32',
  /** APIC IDs other than vCPU i = ID i. */
  'machine.apicIds',
] as const;
export type Feature = typeof FEATURES[number];

/** The features one event needs, appended to `out` (nothing for the base language). */
export function eventFeatures(e: Event, out: Feature[]): void {
  switch (e.k) {
    case 'ipi':
      if (e.lowest) out.push('ipi.lowest');
      if (e.dest !== undefined && e.dest > 0xff) out.push('ipi.dest32');
      return;
    case 'msi': if (e.lowest) out.push('msi.lowest'); return;
    case 'lapic_write': out.push(`lapic_write.${e.reg}`); return;
    case 'lapic_read': out.push(`lapic_read.${e.reg}`); return;
    case 'self_ipi': out.push('self_ipi'); return;
    case 'ioapic_write':
      out.push('ioapic_write');
      if (e.logical) out.push('ioapic.logical');
      if (e.lowest) out.push('ioapic.lowest');
      return;
    case 'ioapic_read': out.push('ioapic_read'); return;
    case 'ioapic_reg_write': out.push('ioapic_reg_write'); return;
    case 'lvt_timer': case 'timer_initial': out.push('lvt_timer'); return;
    case 'tsc_deadline': out.push('tsc_deadline'); return;
    case 'time': out.push('time'); return;
    case 'int': out.push('int'); return;
    case 'lvt_lint': case 'lint': out.push('lvt_lint'); return;
    default: return;
  }
}

/** Every feature a machine and its events use, sorted, each once. */
export function scenarioFeatures(machine: MachineConfig, events: readonly Event[]): Feature[] {
  const out: Feature[] = [];
  if (machine.apicIds) out.push('machine.apicIds');
  for (const p of machine.ioapic) {
    if (p.logical) out.push('ioapic.logical');
    if (p.lowest) out.push('ioapic.lowest');
  }
  for (const e of events) eventFeatures(e, out);
  return [...new Set(out)].sort();
}
