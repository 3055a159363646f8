// bhyve's virtual I/O APIC (sys/amd64/vmm/io/vioapic.c). A pin is a counter of asserts
// minus deasserts (acnt), not a line level: only the 0 → 1 transition sends. Remote IRR is
// set when a level-triggered pin sends and cleared by the EOI broadcast; a new assertion
// does not look at it. The vlapic TMR follows the redirection table (vioapic_update_tmr),
// not the trigger mode of accepted interrupts.
// A guest rewrite of an entry (ioapic_write) is two vioapic_write calls, high dword first, as
// Linux's __ioapic_write_entry writes them: each one rendezvouses every vCPU to recompute TMR
// when a field other than mask/polarity changed, then sends when Remote IRR is clear and the
// assertion count positive, whatever the trigger mode (the sender checks only the mask).
import { MAX_IOAPIC_PINS, type IoapicPin, type IoapicReadReg, type IoapicRegWriteReg } from '../../scenario/types.js';
import type { RedirEntry } from '../../apic/ioapic.js';
import { vlapicCalcdest, type Vlapic } from './vlapic.js';

/** vioapic_read(IOAPIC_VER): ((REDIR_ENTRIES - 1) << MAXREDIRSHIFT) | 0x11, REDIR_ENTRIES = 32. */
export const VIOAPIC_VERSION = (31 << 16) | 0x11;
const IOART_REM_IRR = 1 << 14;
/** x86/include/apicreg.h APIC_ID_MASK, which vioapic_write applies to the I/O APIC ID. */
const APIC_ID_MASK = 0xff000000;
const IOART_DESTLOG = 1 << 11;
const IOART_DELLOPRI = 1 << 8;

export interface RtblEntry {
  vector: number;
  /** Destination (bits 63:56): an APIC ID, or the logical MDA when `phys` is false. */
  dest: number;
  /** IOART_DESTMOD: physical (bit 11 clear) or logical. */
  phys: boolean;
  /** IOART_DELMOD: lowest priority (IOART_DELLOPRI) rather than fixed. */
  lowprio: boolean;
  level: boolean;
  masked: boolean;
  remIrr: boolean;
  /** Sum of pin asserts (+1) and deasserts (-1). */
  acnt: number;
  /**
   * The device's own view of its line (bhyve's device models, e.g. pci_lintr_assert /
   * pci_lintr_deassert, call into the vIOAPIC only when their line changes).
   */
  deviceAsserted: boolean;
  /** Diagnostics (explain): the path of this pin's last message, when it is one bare metal would not send. */
  lastSendWhy: string;
  /** Diagnostics: the count went 0 → 1 while the entry was masked (the edge was dropped). */
  risenWhileMasked: boolean;
  /**
   * Diagnostics: the EOI this level pin's Remote IRR waits for came, but the vlapic did not
   * forward it because a rendezvous had reset that vector's TMR bit (see Vlapic.tmrReset).
   */
  eoiLost: boolean;
  /** Diagnostics: which path left that vector's TMR bit clear (the tag heldWhy / remoteIrrWhy name). */
  eoiLostWhy: string;
  /**
   * Diagnostics: the entry's vector when that EOI was lost, the vector of the message bare metal's broadcast
   * re-sent then. A later write (edge, masked, another vector) keeps Remote IRR (RTBL_RO_BITS), so the pin still
   * holds that message: heldWhy names it by this, not by the entry's vector or trigger mode now. -1: none.
   */
  eoiLostVector: number;
  /** Diagnostics: the vector of the message that set Remote IRR (a later write may change the entry's). */
  remIrrVector: number;
  /**
   * Diagnostics: the last EOI that cleared Remote IRR retired a copy bare metal would not have sent
   * (its cause); the pin's next message, legal for bhyve, is one bare metal holds back, and keeps it.
   */
  eoiOfWhy: string;
  /**
   * Diagnostics: Remote IRR survived a write that made this entry edge (RTBL_RO_BITS keeps it). Bare
   * metal's entry (REF-IOA-5) has it clear, so a level message it sends once the entry is level again
   * is held here until an EOI of the vector (REMOTE_IRR_KEPT_ON_EDGE).
   */
  remIrrKeptOnEdge: boolean;
  /**
   * Diagnostics: the vector of the first level message that kept Remote IRR held back (a write or unmask of
   * the level entry with its line high): bare metal, its bit clear, sent it and set its own, so later
   * writes are held on bare metal too. A later rewrite of the entry's vector, or the EOI that clears the
   * kept bit with the line low, leaves that message owed under REMOTE_IRR_KEPT_ON_EDGE. -1: none.
   */
  keptHeldVector: number;
  /**
   * Diagnostics: the EOI that last cleared Remote IRR was broadcast only because TMR is the table's
   * (EOI_BY_TABLE_TMR): bare metal's TMR was clear (an edge message of the vector accepted last), so its
   * Remote IRR is still set. Until the pin sends again.
   */
  eoiBroadcastWhy: string;
}

/** Tag: an EOI broadcast because TMR is the table's where bare metal's edge acceptance cleared it. */
export const EOI_BY_TABLE_TMR = 'eoi-of-edge-instance-broadcast-by-table-tmr';

/** Tag: Remote IRR kept by vioapic_write across an edge entry (RTBL_RO_BITS) holds the pin's next level message. */
export const REMOTE_IRR_KEPT_ON_EDGE = 'remote-irr-kept-on-edge-entry';

/** vlapic_deliver_intr, as the vIOAPIC calls it. */
export type DeliverIntr = (level: boolean, dest: number, phys: boolean, vector: number, lowprio: boolean) => void;

export class Vioapic {
  readonly rtbl: (RtblEntry | null)[] = [];
  /** vioapic->id (zeroed by vioapic_init): the register as written, bits 31:24 (APIC_ID_MASK). */
  id = 0;
  /** Diagnostics: why the message being sent now is one the 82093AA would not send ('' if it would). */
  lastWhy = '';
  /**
   * Diagnostics, per vector: an EOI of it was lost (eoiLostWhy) while Remote IRR was set, or that Remote
   * IRR was kept across an edge entry (REMOTE_IRR_KEPT_ON_EDGE), and a later EOI cleared it — the sends
   * held back in between are lost for good.
   */
  private readonly eoiLostBefore: string[] = new Array<string>(256).fill('');

  constructor(pins: readonly IoapicPin[], private readonly deliver: DeliverIntr) {
    for (let i = 0; i < MAX_IOAPIC_PINS; i++) this.rtbl.push(null);
    for (const p of pins) {
      this.rtbl[p.pin] = { vector: p.vector, dest: p.dest, phys: !(p.logical ?? false), lowprio: p.lowest ?? false, level: p.trigger === 'level', masked: p.masked, remIrr: false, acnt: 0, deviceAsserted: false, lastSendWhy: '', risenWhileMasked: false, eoiLost: false, eoiLostWhy: '', eoiLostVector: -1, remIrrVector: -1, eoiOfWhy: '', remIrrKeptOnEdge: false, keptHeldVector: -1, eoiBroadcastWhy: '' };
    }
  }

  /**
   * Diagnostics (whereStuck): a vector held in the vIOAPIC — a level pin whose Remote IRR
   * is still set (it sends nothing until an EOI broadcast clears it), or an asserted pin
   * that is masked.
   */
  /** Diagnostics: some level entry carries this vector (vioapic_update_tmr sets TMR for it). */
  isLevelVector(vector: number): boolean {
    for (const e of this.rtbl) if (e && e.level && e.vector === vector) return true;
    return false;
  }

  /** Diagnostics: a level entry of this vector waits under a Remote IRR whose EOI bhyve lost (its tag). */
  eoiLostWhyOf(vector: number): string | undefined {
    for (const e of this.rtbl) if (e && e.remIrr && e.eoiLost && ((e.vector === vector && e.level) || e.eoiLostVector === vector)) return e.eoiLostWhy;
    return undefined;
  }

  heldWhy(vector: number): string | undefined {
    // The message bare metal sent at the EOI bhyve lost: the pin's Remote IRR, kept by every later write
    // (RTBL_RO_BITS in vioapic_write, freebsd-src@0907f0c79b36 vioapic.c; even one that made the entry edge or masked
    // it), still holds it.
    for (const e of this.rtbl) if (e && e.remIrr && e.eoiLost && e.eoiLostVector === vector) return e.eoiLostWhy;
    for (const e of this.rtbl) {
      if (!e || e.vector !== vector) continue;
      if (e.level && e.remIrr) return e.eoiLost ? e.eoiLostWhy : e.remIrrKeptOnEdge ? REMOTE_IRR_KEPT_ON_EDGE : 'ioapic-remote-irr-set';
      if (e.masked && e.acnt > 0) return 'ioapic-pin-masked';
    }
    // The message the kept Remote IRR held back, its entry rewritten to another vector since.
    for (const e of this.rtbl) if (e && e.remIrr && e.remIrrKeptOnEdge && e.keptHeldVector === vector) return REMOTE_IRR_KEPT_ON_EDGE;
    // The line of a pin rewritten since: its Remote IRR, set by a message of this vector, still holds it.
    for (const e of this.rtbl) {
      if (e && e.level && e.remIrr && e.remIrrVector === vector) return e.eoiLost ? e.eoiLostWhy : 'ioapic-remote-irr-set';
    }
    return this.eoiLostBefore[vector] || undefined;
  }

  /**
   * Diagnostics: a level pin of this vector whose Remote IRR is still set and whose last message
   * was one bare metal would not send (a resend on reassert): a copy of the vector in the vIRR is
   * that extra message, and the instance bare metal has is held by the Remote IRR (its EOI lost).
   */
  heldBehindExtraCopy(vector: number): string | undefined {
    for (const e of this.rtbl) {
      if (!e || !e.level || !e.remIrr || e.vector !== vector || e.lastSendWhy === '') continue;
      return e.eoiLost ? e.eoiLostWhy : 'ioapic-remote-irr-set';
    }
    return undefined;
  }

  /** vioapic_send_intr. `why` names, for diagnostics, a message the 82093AA would not send. */
  private sendIntr(e: RtblEntry, why: string): void {
    if (e.masked) return;
    if (why === '') why = e.eoiOfWhy;
    e.lastSendWhy = why;
    this.lastWhy = why;
    if (e.level) {
      // A resend under a Remote IRR whose EOI was lost, after the entry got another vector: the
      // old vector's hold keeps its cause once remIrrVector moves on.
      if (e.remIrr && e.eoiLost && e.remIrrVector >= 0 && e.remIrrVector !== e.vector) this.eoiLostBefore[e.remIrrVector] = e.eoiLostWhy;
      e.remIrr = true;
      e.remIrrVector = e.vector;
      e.remIrrKeptOnEdge = false; // set by this message, not kept from before
      e.keptHeldVector = -1;
      e.eoiBroadcastWhy = '';
    }
    this.deliver(e.level, e.dest, e.phys, e.vector, e.lowprio);
  }

  /** vioapic_set_pinstate. */
  private setPinstate(e: RtblEntry, newstate: boolean): void {
    const oldcnt = e.acnt;
    e.acnt += newstate ? 1 : -1;
    if (oldcnt === 0 && e.acnt === 1) {
      if (e.masked) e.risenWhileMasked = true;
      // Remote IRR is not consulted: a level line reasserted before the EOI sends again.
      this.sendIntr(e, e.level && e.remIrr ? 'level-resent-on-reassert' : '');
    }
  }



  /** The device raises its line: vioapic_assert_irq on a 0 → 1 change of the device's line only. */
  assert(pin: number): void {
    const e = this.rtbl[pin];
    if (!e || e.deviceAsserted) return;
    e.deviceAsserted = true;
    this.setPinstate(e, true);
  }

  /** The device lowers its line: vioapic_deassert_irq. */
  deassert(pin: number): void {
    const e = this.rtbl[pin];
    if (!e || !e.deviceAsserted) return;
    e.deviceAsserted = false;
    this.setPinstate(e, false);
  }

  /**
   * vioapic_pulse_irq (ISA-style edge). A device never pulses a line it holds high; for the
   * scenario's sake the pulse then only lowers a level line (its edge cannot be seen).
   */
  pulse(pin: number): void {
    const e = this.rtbl[pin];
    if (!e) return;
    if (e.deviceAsserted) {
      if (e.level) this.deassert(pin);
      return;
    }
    this.setPinstate(e, true);
    this.setPinstate(e, false);
  }

  /**
   * vioapic_write of the mask bit. Only the mask changes, so no TMR rendezvous; afterwards
   * an unmasked pin whose previous interrupt was EOIed and whose count is positive sends,
   * whatever its trigger mode.
   */
  setMask(pin: number, masked: boolean): void {
    const e = this.rtbl[pin];
    if (!e) return;
    e.masked = masked;
    this.noteKeptHold(e);
    if (!e.masked && !e.remIrr && e.acnt > 0) {
      // Sent whatever the trigger mode: for an edge pin this is no edge at all.
      const why = e.level ? '' : e.risenWhileMasked ? 'edge-raised-while-masked-sent' : 'edge-resent-on-unmask';
      e.risenWhileMasked = false;
      this.sendIntr(e, why);
    }
  }

  /**
   * A guest rewrite of the whole entry: vioapic_write of the high dword (destination), then of
   * the low dword. `rendezvous` runs vioapic_update_tmr on every vCPU (vm_smp_rendezvous).
   */
  write(pin: number, w: RedirEntry, rendezvous: () => void): void {
    const e = this.rtbl[pin];
    if (!e) return;
    // High dword: only the destination (bits 63:56) is modelled.
    const dest = w.dest & 0xff;
    const hiChanged = dest !== e.dest;
    e.dest = dest;
    this.afterWrite(e, hiChanged, rendezvous);
    // Low dword: Remote IRR and delivery status are RTBL_RO_BITS, kept whatever the new trigger mode.
    const level = w.trigger === 'level';
    const phys = !(w.logical ?? false);
    const lowprio = w.lowest ?? false;
    // Any change outside IOART_INTMASK | IOART_INTPOL: vector, trigger, destination and delivery mode.
    const loChanged = w.vector !== e.vector || level !== e.level || phys !== e.phys || lowprio !== e.lowprio;
    e.vector = w.vector;
    e.level = level;
    e.phys = phys;
    e.lowprio = lowprio;
    e.masked = w.masked;
    // Diagnostics: an edge entry keeps the Remote IRR of the level one it replaced.
    if (!level && e.remIrr) e.remIrrKeptOnEdge = true;
    this.afterWrite(e, loChanged, rendezvous);
  }

  /** The tail of vioapic_write: TMR rendezvous if a field other than mask/polarity changed, then the send check. */
  private afterWrite(e: RtblEntry, changed: boolean, rendezvous: () => void): void {
    if (changed) rendezvous();
    this.noteKeptHold(e);
    if (!e.remIrr && e.acnt > 0) {
      // "asserted at rtbl write": sent whatever the trigger mode, on every dword written.
      const why = e.level ? '' : e.risenWhileMasked ? 'edge-raised-while-masked-sent' : 'edge-resent-on-rtbl-write';
      if (!e.masked) e.risenWhileMasked = false;
      this.sendIntr(e, why);
    }
  }

  /**
   * Diagnostics: the send test of vioapic_write fails on a Remote IRR kept across an edge entry where bare
   * metal's (clear, REF-IOA-5) lets a level entry with its line high and unmasked send: the first such
   * message is the one owed (keptHeldVector).
   */
  private noteKeptHold(e: RtblEntry): void {
    if (e.level && e.remIrr && e.remIrrKeptOnEdge && !e.masked && e.acnt > 0 && e.keptHeldVector < 0) e.keptHeldVector = e.vector;
  }

  /**
   * vioapic_write of IOAPIC_ID: `vioapic->id = data & APIC_ID_MASK`, APIC_ID_MASK = 0xff000000 (x86/include/apicreg.h,
   * the local APIC's 8-bit ID mask): bits 31:24 stick where the 82093AA keeps bits 27:24. IOAPIC_VER and IOAPIC_ARB:
   * "readonly". [io/vioapic.c vioapic_write @ freebsd 10.4 and freebsd-src 0907f0c79b36]
   */
  writeReg(reg: IoapicRegWriteReg, data: number): void {
    if (reg === 'id') this.id = (data & APIC_ID_MASK) >>> 0;
  }

  /** vioapic_read of IOWIN: IOAPIC_ID/ARB return vioapic->id, IOAPIC_VER the constant, entries the register. */
  read(reg: IoapicReadReg, pin: number): number {
    if (reg === 'id' || reg === 'arb') return this.id;
    if (reg === 'version') return VIOAPIC_VERSION;
    const e = this.rtbl[pin];
    if (!e) return 0;
    if (reg === 'redir-hi') return (e.dest << 24) >>> 0;
    // Polarity active high; delivery status never set.
    return e.vector | (e.lowprio ? IOART_DELLOPRI : 0) | (e.phys ? 0 : IOART_DESTLOG) | (e.remIrr ? IOART_REM_IRR : 0) | (e.level ? 1 << 15 : 0) | (e.masked ? 1 << 16 : 0);
  }

  /**
   * Diagnostics: the vlapic did not forward the EOI of `vector` (its TMR bit had been reset by a
   * rendezvous after the vector was sent as level): the level pins of that vector keep Remote IRR.
   */
  noteEoiLost(vector: number, why: string): void {
    for (const e of this.rtbl) {
      if (e && e.level && e.remIrr && (e.vector === vector || e.remIrrVector === vector)) {
        if (!e.eoiLost) e.eoiLostVector = e.vector; // the first lost EOI's: bare metal's re-send then is the one owed
        e.eoiLost = true;
        e.eoiLostWhy = why;
      }
    }
  }

  /** Diagnostics (explain): why the Remote IRR bit of the pin with this vector reads clear where bare metal's is set. */
  remoteIrrClearedWhy(vector: number): string | undefined {
    for (const e of this.rtbl) if (e && e.vector === vector && e.level && !e.remIrr && e.eoiBroadcastWhy) return e.eoiBroadcastWhy;
    return undefined;
  }

  /** Diagnostics (explain): why the Remote IRR bit of the pin with this vector reads as it does. */
  remoteIrrWhy(vector: number): string | undefined {
    for (const e of this.rtbl) {
      if (!e || e.vector !== vector || !e.remIrr) continue;
      if (!e.level) return REMOTE_IRR_KEPT_ON_EDGE;
      if (e.eoiLost) return e.eoiLostWhy;
      // Level again, the bit still the one the edge entry kept.
      if (e.remIrrKeptOnEdge) return REMOTE_IRR_KEPT_ON_EDGE;
      // Otherwise the same place heldWhy names: no EOI of this vector has reached vioapic_process_eoi.
      return 'ioapic-remote-irr-set';
    }
    return undefined;
  }

  /**
   * vioapic_process_eoi: every level pin with this vector and remote IRR set. `why` (diagnostics):
   * why bare metal would not have broadcast this EOI at all ('' if it would).
   */
  processEoi(vector: number, why = ''): void {
    for (let pin = 0; pin < MAX_IOAPIC_PINS; pin++) {
      const e = this.rtbl[pin];
      if (!e || !e.remIrr || e.vector !== vector) continue;
      e.remIrr = false;
      if (e.eoiLost) {
        this.eoiLostBefore[vector] = e.eoiLostWhy;
        // Rewritten to another vector since (this EOI is the new one's): the message of the old one stays owed.
        if (e.eoiLostVector >= 0) this.eoiLostBefore[e.eoiLostVector] = e.eoiLostWhy;
      } else if (e.remIrrKeptOnEdge) this.eoiLostBefore[vector] = REMOTE_IRR_KEPT_ON_EDGE;
      // The message the kept bit held back, of a vector the entry no longer has: no EOI re-sends it.
      if (e.remIrrKeptOnEdge && e.keptHeldVector >= 0) this.eoiLostBefore[e.keptHeldVector] = REMOTE_IRR_KEPT_ON_EDGE;
      e.eoiLost = false;
      e.eoiLostVector = -1;
      e.remIrrKeptOnEdge = false;
      e.keptHeldVector = -1;
      // Diagnostics: a send after the EOI of a copy bare metal would not have sent (the pin's last
      // message) is a consequence of that copy: it keeps its cause (see sendIntr).
      // So is one after an EOI bare metal would not have broadcast.
      e.eoiOfWhy = e.lastSendWhy || why;
      e.eoiBroadcastWhy = why;
      if (e.acnt > 0) this.sendIntr(e, '');
    }
  }

  /** vioapic_update_tmr for one vCPU (run by the rendezvous after a redirection-table write). */
  updateTmr(vlapic: Vlapic, vlapics: readonly Vlapic[]): void {
    vlapic.resetTmr();
    // (vlapic.resetTmr keeps, for diagnostics, the bits it cleared; setTmr below takes back the re-set ones.)
    for (let pin = 0; pin < MAX_IOAPIC_PINS; pin++) {
      const e = this.rtbl[pin];
      if (!e || !e.level) continue;
      // vlapic_set_tmr_level: the entry's delivery mode (lowprio) and destination mode, legacy 8-bit
      // MDA, each vlapic's LDR/DFR as they are now (an LDR/DFR write later does not run this again).
      const dmask = vlapicCalcdest(vlapics, e.dest, e.phys, false, e.lowprio);
      if ((dmask & (1 << vlapic.vcpuid)) !== 0) vlapic.setTmr(e.vector, true);
    }
  }
}
