// Issue 8: whether a scenario shares a level I/O APIC pin's vector with an edge source (REF-ACC-4,
// REF-EOI-4), the property GenOptions.sharedVectors draws. Used by the event-mix bench and the tests.
import type { Scenario } from '../scenario/types.js';

/** Whether some edge source of the scenario uses a vector a level I/O APIC entry uses. */
export function sharesLevelVector(s: Scenario): boolean {
  const level = new Set<number>();
  for (const p of s.machine.ioapic) if (p.trigger === 'level') level.add(p.vector);
  for (const e of s.events) if (e.k === 'ioapic_write' && e.trigger === 'level') level.add(e.vector);
  if (level.size === 0) return false;
  for (const p of s.machine.ioapic) if (p.trigger === 'edge' && level.has(p.vector)) return true;
  for (const e of s.events) {
    if (((e.k === 'ipi' && !e.nmi) || e.k === 'msi' || e.k === 'self_ipi' || e.k === 'lvt_timer') && level.has(e.vector)) return true;
    if (e.k === 'lvt_lint' && e.trigger === 'edge' && !e.nmi && level.has(e.vector)) return true;
    if (e.k === 'ioapic_write' && e.trigger === 'edge' && level.has(e.vector)) return true;
  }
  return false;
}
