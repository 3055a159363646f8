// Register values the architecture leaves to the implementation (REF-ADDR-1, REF-IOA-6): the
// local APIC and I/O APIC version registers and the I/O APIC ID. Shared by the oracle (model
// backends) and the real-replay judge (QEMU, KVM), so both accept exactly the same range.
// Each returns null when the value is one some implementation may give, else what is allowed.

/** An integrated local APIC: version 0x10-0x15, 4 to 7 LVT entries, EOI-broadcast suppression (bit 24) optional. */
export function lapicVersionImpossible(got: number): string | null {
  const ver = got & 0xff, lvt = (got >>> 16) & 0xff;
  return ver < 0x10 || ver > 0x15 || lvt < 3 || lvt > 6 || (got & ~0x01ff00ff) !== 0 ? 'version 0x10-0x15, max LVT 3-6' : null;
}

/** An 82093AA-family I/O APIC (0x11) up to the EOI-register version 0x20, with an entry for every pin used. */
export function ioapicVersionImpossible(got: number, maxPin: number): string | null {
  const ver = got & 0xff, maxEntry = (got >>> 16) & 0xff;
  return ver < 0x11 || ver > 0x20 || maxEntry < maxPin || (got & ~0x00ff80ff) !== 0 ? `version 0x11-0x20 with at least ${maxPin + 1} entries` : null;
}

/** The I/O APIC ID is set by the platform: bits 27:24 only. */
export function ioapicIdImpossible(got: number): string | null {
  return (got & ~0x0f000000) !== 0 ? 'an ID in bits 27:24 only (set by the platform)' : null;
}
