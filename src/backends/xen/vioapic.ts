// Xen's virtual I/O APIC (xen/arch/x86/hvm/vioapic.c) and the line bookkeeping in front of
// it (hvm/irq.c): a device line is a bit (pci_intx / isa_irq) plus gsi_assert_count; the
// 0 → 1 change of the count is a positive edge. vioapic_irq_positive_edge sends an edge pin's
// message if unmasked and a level pin's only with Remote IRR clear (then sets it);
// vioapic_update_EOI clears Remote IRR and re-sends a level pin whose line is still asserted;
// a redirection-entry write that unmasks a level pin with the line asserted and Remote IRR
// clear sends (vioapic_write_redirent). vioapic_deliver sends dest_Fixed to every vCPU
// vlapic_match_dest matches, physical or logical (bit 11), dest_LowestPrio to the one
// vlapic_lowest_prio picks; the matching is the machine's.
// A guest rewrite of an entry (ioapic_write) is two vioapic_write_redirent calls, top word
// first (Linux __ioapic_write_entry order). Scenario pins stand for GSIs other than 0: GSI 0
// (the 8259 cascade) takes vioapic_write_redirent's vlapic_adjust_i8259_target branch, which
// neither sends nor clears Remote IRR, and no device sits there in an HVM guest.
import { MAX_IOAPIC_PINS, type IoapicPin, type IoapicReadReg, type IoapicRegWriteReg } from '../../scenario/types.js';
import type { RedirEntry } from '../../apic/ioapic.js';
import { vecSet, vsAdd, vsDel } from '../../apic/vecset.js';

/** vioapic_read_indirect(VIOAPIC_REG_VERSION): entries = VIOAPIC_NUM_PINS - 1 = 47, version VIOAPIC_VERSION_ID 0x11. */
export const XEN_VIOAPIC_VERSION = (47 << 16) | 0x11;

export interface XenPin {
  vector: number;
  dest: number;
  /** dest_mode (bit 11): logical. */
  logical: boolean;
  /** delivery_mode (bits 10:8) dest_LowestPrio; else dest_Fixed. */
  lowest: boolean;
  level: boolean;
  masked: boolean;
  remoteIrr: boolean;
  /** hvm_irq->gsi_assert_count[gsi] (one device per pin here). */
  assertCount: number;
  /** The device's own line bit (__test_and_set_bit on pci_intx.i / isa_irq.i). */
  deviceAsserted: boolean;
  /**
   * Diagnostics: the EOI that last cleared Remote IRR was one bare metal does not broadcast (kept: a TMR bit an edge
   * acceptance left, before 12a50030; late: an avoided edge EOI emulated after a level message set TMR), until the
   * pin's next message: that message is the EOI's consequence even if a redirection write changed the vector since.
   */
  eoiKeptTmr?: boolean;
  eoiLateTmr?: boolean;
}

/**
 * vioapic_deliver: dest_Fixed (for_each_vcpu, vlapic_match_dest) or dest_LowestPrio
 * (vlapic_lowest_prio), then ioapic_inj_irq → vlapic_set_irq; `from` is the context that caused it.
 */
export type InjIrq = (dest: number, logical: boolean, lowest: boolean, vector: number, level: boolean, from: number) => void;

/** Tag (session 9): an avoided edge EOI emulated after a level message of its vector set TMR, broadcast to the vIOAPIC. */
export const AVOIDED_EDGE_EOI_LATE_TMR = 'avoided-edge-eoi-broadcast-by-later-level-tmr';

/** Tag (session 9, random soak): an avoided level EOI emulated after an edge message of its vector cleared TMR: no broadcast. */
export const AVOIDED_LEVEL_EOI_LATE_EDGE = 'avoided-level-eoi-dropped-by-later-edge-tmr';

export class XenVioapic {
  readonly redirtbl: (XenPin | null)[] = [];
  /** vioapic->id: 4 bits, 0 after vioapic_reset (a domU; only the hardware domain takes mp_ioapics' ID). */
  id = 0;

  constructor(pins: readonly IoapicPin[], private readonly inj: InjIrq) {
    for (let i = 0; i < MAX_IOAPIC_PINS; i++) this.redirtbl.push(null);
    for (const p of pins) {
      this.redirtbl[p.pin] = { vector: p.vector, dest: p.dest, logical: p.logical ?? false, lowest: p.lowest ?? false, level: p.trigger === 'level', masked: p.masked, remoteIrr: false, assertCount: 0, deviceAsserted: false };
    }
  }

  /** vioapic_deliver. */
  private deliver(p: XenPin, from: number): void {
    vsDel(this.lowAtAvoidedEoi, p.vector);
    if (p.level && p.eoiKeptTmr) vsAdd(this.eoiByKeptTmr, p.vector);
    if (p.level && p.eoiLateTmr) vsAdd(this.eoiByLateLevelTmr, p.vector);
    p.eoiKeptTmr = false;
    p.eoiLateTmr = false;
    this.inj(p.dest, p.logical, p.lowest, p.vector, p.level, from);
  }

  /** vioapic_irq_positive_edge. */
  private positiveEdge(p: XenPin, from: number): void {
    if (p.masked) return;
    if (!p.level) { this.deliver(p, from); return; }
    if (!p.remoteIrr) {
      p.remoteIrr = true;
      this.deliver(p, from);
    }
  }

  /** hvm_pci_intx_assert / hvm_isa_irq_assert: only the device's own 0 → 1 change counts. */
  assert(pin: number, from: number): void {
    const p = this.redirtbl[pin];
    if (!p || p.deviceAsserted) return;
    p.deviceAsserted = true;
    if (p.assertCount++ === 0) this.positiveEdge(p, from);
  }

  /** hvm_pci_intx_deassert / hvm_isa_irq_deassert. */
  deassert(pin: number): void {
    const p = this.redirtbl[pin];
    if (!p || !p.deviceAsserted) return;
    p.deviceAsserted = false;
    p.assertCount--;
  }

  /** An ISA-style pulse; a line the device already holds high shows no edge (a level line ends low). */
  pulse(pin: number, from: number): void {
    const p = this.redirtbl[pin];
    if (!p) return;
    if (p.deviceAsserted) {
      if (p.level) this.deassert(pin);
      return;
    }
    this.assert(pin, from);
    this.deassert(pin);
  }

  /** vioapic_write_redirent, lower word, changing only the mask bit. */
  setMask(pin: number, masked: boolean, from: number): void {
    const p = this.redirtbl[pin];
    if (!p) return;
    p.masked = masked;
    if (!p.level) { p.remoteIrr = false; return; }
    if (!p.masked && !p.remoteIrr && p.assertCount > 0) {
      p.remoteIrr = true;
      this.deliver(p, from);
    }
  }

  /**
   * vioapic_write_indirect of both words of an entry: vioapic_write_redirent(top_word = 1), then
   * (top_word = 0). Remote IRR and delivery status are read-only in the low word.
   */
  write(pin: number, w: RedirEntry, from: number): void {
    const p = this.redirtbl[pin];
    if (!p) return;
    p.dest = w.dest & 0xff; // "Contains only the dest_id."
    this.afterRedirent(p, from);
    p.vector = w.vector;
    p.logical = w.logical ?? false;
    p.lowest = w.lowest ?? false;
    p.level = w.trigger === 'level';
    p.masked = w.masked;
    this.afterRedirent(p, from);
  }

  /** The tail of vioapic_write_redirent for a GSI other than 0. */
  private afterRedirent(p: XenPin, from: number): void {
    if (!p.level) { p.remoteIrr = false; return; }
    if (!p.masked && !p.remoteIrr && p.assertCount > 0) {
      p.remoteIrr = true;
      this.deliver(p, from);
    }
  }

  /**
   * vioapic_write_indirect: VIOAPIC_REG_VERSION and VIOAPIC_REG_ARB_ID writes are ignored; VIOAPIC_REG_APIC_ID
   * stores `((union IO_APIC_reg_02){ .raw = val }).bits.arbitration`, bits 27:24 (io_apic.h: reserved 24 bits,
   * arbitration 4, reserved 4). [hvm/vioapic.c vioapic_write_indirect, vioapic_reset @ 10a674b4, 48a933ee, 66bf4ef0 and RELEASE-4.22.0 d45d5687]
   */
  writeReg(reg: IoapicRegWriteReg, val: number): void {
    if (reg === 'id') this.id = (val >>> 24) & 0xf;
  }

  /**
   * vioapic_read_indirect. Until the guest writes it, the ID register reads 0: vioapic_reset zeroes the ID and hvmloader's
   * ioapic_write(0x00, IOAPIC_ID) writes 0x01 unshifted, which the (val >> 24) & 0xf decoding
   * (and later IO_APIC_reg_02.arbitration) drops.
   */
  read(reg: IoapicReadReg, pin: number): number {
    // VIOAPIC_REG_APIC_ID and VIOAPIC_REG_ARB_ID share one case: IO_APIC_reg_02 with .arbitration = vioapic->id (bits 27:24).
    if (reg === 'id' || reg === 'arb') return ((this.id & 0xf) << 24) >>> 0;
    if (reg === 'version') return XEN_VIOAPIC_VERSION;
    const p = this.redirtbl[pin];
    if (!p) return 0;
    if (reg === 'redir-hi') return (p.dest << 24) >>> 0;
    return p.vector | (p.lowest ? 1 << 8 : 0) | (p.logical ? 1 << 11 : 0) | (p.remoteIrr ? 1 << 14 : 0) | (p.level ? 1 << 15 : 0) | (p.masked ? 1 << 16 : 0);
  }

  /** vioapic_update_EOI: every pin with this vector; a level pin still asserted is re-sent. */
  updateEOI(vector: number, from: number, avoided = false, keptTmr = false, phantom = false, lateTmr = false): void {
    vsDel(this.resentAfterAvoidedEoi, vector);
    if (phantom) vsAdd(this.eoiByPhantom, vector);
    if (lateTmr) vsAdd(this.eoiByLateLevelTmr, vector);
    // Sticky (like the ACRN vIOAPIC's send causes): the extra instance can surface after a later,
    // ordinary EOI of the vector.
    if (keptTmr) vsAdd(this.eoiByKeptTmr, vector);
    for (let i = 0; i < MAX_IOAPIC_PINS; i++) {
      const p = this.redirtbl[i];
      if (!p || p.vector !== vector) continue;
      // Diagnostics: a level pin whose Remote IRR this EOI clears where bare metal keeps it set.
      if (p.level && p.remoteIrr) { p.eoiKeptTmr = keptTmr; p.eoiLateTmr = lateTmr; }
      p.remoteIrr = false;
      // Diagnostics: the line went low before Xen noticed the avoided EOI; bare metal's EOI came while it was high.
      if (avoided && p.level && !p.masked && p.assertCount === 0) vsAdd(this.lowAtAvoidedEoi, vector);
      if (p.level && !p.masked && p.assertCount > 0) {
        p.remoteIrr = true;
        if (avoided) vsAdd(this.resentAfterAvoidedEoi, vector);
        this.deliver(p, from);
      }
    }
  }

  /**
   * Diagnostics: the emulated (avoided) EOI of a level instance found TMR clear — an edge message of the vector
   * accepted after the guest skipped the EOI cleared it (vlapic_set_irq since 12a50030) — so vlapic_handle_EOI made
   * no vioapic_update_EOI: a level pin of the vector keeps Remote IRR where bare metal's EOI cleared it.
   */
  noteLevelEoiNotBroadcast(vector: number): void {
    for (let i = 0; i < MAX_IOAPIC_PINS; i++) {
      const p = this.redirtbl[i];
      if (p && p.vector === vector && p.level && p.remoteIrr) vsAdd(this.eoiLostByLateEdgeTmr, vector);
    }
  }

  /**
   * Diagnostics: a level EOI (TMR set) is broadcast on a vCPU that missed an edge message of the vector bare metal sent it
   * (misrouted): bare metal's TMR is clear there and its EOI leaves the pin's Remote IRR set. Per vector, why the message
   * was missed; sticky, as eoiByKeptTmr.
   */
  noteEoiAfterMisroute(vector: number, why: string): void {
    for (let i = 0; i < MAX_IOAPIC_PINS; i++) {
      const p = this.redirtbl[i];
      if (p && p.vector === vector && p.level && p.remoteIrr) this.eoiAfterMisroute[vector] = why;
    }
  }

  readonly eoiAfterMisroute: string[] = new Array<string>(256).fill('');

  /** Diagnostics: vectors noteLevelEoiNotBroadcast found a level pin's Remote IRR left set for. Sticky. */
  readonly eoiLostByLateEdgeTmr = vecSet();

  /**
   * Diagnostics: level vectors re-sent by the vioapic_update_EOI of an EOI the guest avoided
   * through the APIC assist — late, with the entry as it is by then (its destination rewritten,
   * say), not as it was when the guest EOIed.
   */
  readonly resentAfterAvoidedEoi = vecSet();
  /** Diagnostics: level vectors whose late (avoided) EOI found the line already low: no re-send where bare metal made one. */
  readonly lowAtAvoidedEoi = vecSet();

  /**
   * Diagnostics: vectors a vioapic_update_EOI was called for by an EOI that saw TMR set only
   * because an edge acceptance left it (before 12a50030): bare metal broadcasts no EOI there.
   */
  readonly eoiByKeptTmr = vecSet();

  /**
   * Diagnostics: vectors a vioapic_update_EOI was called for by an avoided EOI of an edge instance (TMR clear when the
   * guest skipped it) that Xen emulated after a level message of the vector had set TMR (vlapic_EOI_set's missed EOI →
   * vlapic_handle_EOI tests TMR then): bare metal broadcasts nothing. Sticky, as eoiByKeptTmr.
   */
  readonly eoiByLateLevelTmr = vecSet();

  /**
   * Diagnostics: level vectors a phantom EOI (an assist completed after a VP assist MSR write cleared the page, never
   * avoided by the guest) reached vioapic_update_EOI with: Remote IRR cleared while the guest still handles the
   * interrupt, so the line may be sent again — to whichever vCPU the entry names by then. Sticky.
   */
  readonly eoiByPhantom = vecSet();

  /**
   * Diagnostics: a level pin of this vector still waits for its EOI (Remote IRR set), so a
   * line held high is not re-sent and a new assertion is not sent at all.
   */
  heldByRemoteIrr(vector: number): boolean {
    for (const p of this.redirtbl) if (p && p.level && p.vector === vector && p.remoteIrr && !p.masked) return true;
    return false;
  }
}
