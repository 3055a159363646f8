// The architectural I/O APIC (82093AA): redirection entries with mask and Remote IRR, line
// levels, edge detection, the level-triggered EOI broadcast. A plain helper: the reference
// uses it, and so do backends whose hypervisor's vIOAPIC is not under study (they say so);
// a backend that models its hypervisor's own vIOAPIC (kvm, bhyve) does not use it.
import type { IoapicPin } from '../scenario/types.js';
import { vecSet, vsAdd, type VecSet } from './vecset.js';

export interface IoPin {
  readonly pin: number;
  // The redirection entry: the guest may rewrite it at run time (ioapic_write).
  vector: number;
  dest: number;
  level: boolean;
  masked: boolean;
  /** Destination mode logical (bit 11). */
  logical: boolean;
  /** Delivery mode lowest priority (bits 10:8 = 001). */
  lowest: boolean;
  /** The input line is asserted. */
  line: boolean;
  /** A level message was accepted and its EOI has not come back yet. */
  remoteIrr: boolean;
  /**
   * REF-EOI-4 (the reference only): an EOI of the pin's vector came while TMR was open, so
   * whether it was broadcast is open too: Remote IRR is set (remoteIrr) or clear, either.
   */
  remoteIrrOpen: boolean;
  /** Diagnostics for the oracle: a rising edge arrived while masked (and was dropped). */
  edgeWhileMasked: boolean;
  /** Diagnostics for the oracle: an unmask (a redirection-entry write) came while the line was high. */
  unmaskedHigh: boolean;
  /**
   * Diagnostics: the first event since this level pin's last message that a hypervisor's
   * vIOAPIC might wrongly answer with another message while Remote IRR is set: the line going
   * 0 → 1 again ('reassert'), or a redirection-entry write with the line high ('rewrite').
   */
  levelAnomaly: '' | 'reassert' | 'rewrite';
  /**
   * Diagnostics: the vectors earlier redirection-entry writes replaced. An extra message a
   * hypervisor sent with one of them, seen only after a later rewrite (in an IRR read, say), is
   * still this pin's (the oracle names it after the pin's anomaly, not as an unexplained read).
   */
  readonly replaced: VecSet;
}

export type IoOp = 'assert' | 'deassert' | 'pulse' | 'mask' | 'unmask';

/** 82093AA ID and arbitration registers: a 4-bit ID in bits 27:24, the rest reserved (3.2.1, 3.2.3). */
export const IOAPIC_ID_BITS = 0x0f000000;
/** 82093AA version register: version 0x11, maximum redirection entry 23. */
export const IOAPIC_VERSION = 0x00170011;
/** Redirection entry bit 12, delivery status: set while a message waits to be sent (timing). */
export const REDIR_DELIVERY_STATUS = 1 << 12;
export const REDIR_REMOTE_IRR = 1 << 14;

/** A redirection entry as the guest writes it (ioapic_write). */
export interface RedirEntry { vector: number; dest: number; trigger: 'edge' | 'level'; masked: boolean; logical?: boolean; lowest?: boolean }

export class Ioapic {
  readonly pins = new Map<number, IoPin>();

  /**
   * `send` delivers one message of a pin to its destination; `sendMaybe` one that bare metal
   * sends in one outcome of an open EOI broadcast and not in the other (REF-EOI-4).
   */
  constructor(config: readonly IoapicPin[], private readonly send: (p: IoPin) => void, private readonly sendMaybe: (p: IoPin) => void = send) {
    for (const p of config) {
      this.pins.set(p.pin, { pin: p.pin, vector: p.vector, dest: p.dest, level: p.trigger === 'level', masked: p.masked, logical: p.logical ?? false, lowest: p.lowest ?? false, line: false, remoteIrr: false, remoteIrrOpen: false, edgeWhileMasked: false, unmaskedHigh: false, levelAnomaly: '', replaced: vecSet() });
    }
  }

  private serviceLevel(p: IoPin): void {
    if (p.line && !p.masked && (!p.remoteIrr || p.remoteIrrOpen)) {
      // With Remote IRR open the pin sends in one outcome only; either way it is set afterwards.
      const maybe = p.remoteIrrOpen;
      p.remoteIrr = true;
      p.remoteIrrOpen = false;
      p.levelAnomaly = '';
      if (maybe) this.sendMaybe(p); else this.send(p);
    }
  }

  /** An input-line change or a mask change (REF-IOA-1..3). */
  apply(n: number, op: IoOp): void {
    const p = this.pins.get(n);
    if (!p) return;
    switch (op) {
      case 'assert': {
        const rising = !p.line;
        if (rising && p.level && p.remoteIrr && !p.levelAnomaly) p.levelAnomaly = 'reassert';
        p.line = true;
        if (p.level) this.serviceLevel(p);
        else if (rising && !p.masked) this.send(p); // edges on a masked pin are lost
        else if (rising) p.edgeWhileMasked = true;
        return;
      }
      case 'deassert': p.line = false; return;
      case 'pulse':
        if (p.level) {
          if (!p.line && p.remoteIrr && !p.levelAnomaly) p.levelAnomaly = 'reassert';
          p.line = true; this.serviceLevel(p); p.line = false;
        }
        else if (!p.line && !p.masked) this.send(p); // no rising edge on a line already high
        else if (!p.line) p.edgeWhileMasked = true;
        return;
      case 'mask':
        if (p.level && p.remoteIrr && p.line && !p.levelAnomaly) p.levelAnomaly = 'rewrite';
        p.masked = true;
        return;
      case 'unmask':
        if (p.line) p.unmaskedHigh = true;
        if (p.level && p.remoteIrr && p.line && !p.levelAnomaly) p.levelAnomaly = 'rewrite';
        p.masked = false;
        if (p.level) this.serviceLevel(p);
        return;
    }
  }

  /**
   * The guest rewrites a redirection entry (82093AA 3.2.4). Remote IRR is kept across a
   * rewrite of a level entry (the EOI it waits for must now carry the new vector); for an
   * edge entry it is undefined, and cleared here (*choice*, as KVM's ioapic_write_indirect).
   * A level entry left unmasked with its line asserted and Remote IRR clear sends at once.
   * The write itself makes no edge.
   */
  write(n: number, e: RedirEntry): void {
    const p = this.pins.get(n);
    if (!p) return;
    if (p.level && p.remoteIrr && p.line && !p.levelAnomaly) p.levelAnomaly = 'rewrite';
    if (p.masked && !e.masked && p.line) p.unmaskedHigh = true;
    if (e.vector !== p.vector) vsAdd(p.replaced, p.vector);
    p.vector = e.vector;
    p.dest = e.dest;
    p.level = e.trigger === 'level';
    p.masked = e.masked;
    p.logical = e.logical ?? false;
    p.lowest = e.lowest ?? false;
    if (!p.level) { p.remoteIrr = false; p.remoteIrrOpen = false; }
    else this.serviceLevel(p);
  }

  /** A dword of a redirection entry as the guest reads it (polarity active high, delivery status 0). */
  readEntry(n: number, hi: boolean): number {
    const p = this.pins.get(n);
    if (!p) return 0;
    if (hi) return (p.dest << 24) >>> 0;
    return p.vector | (p.lowest ? 1 << 8 : 0) | (p.logical ? 1 << 11 : 0) | (p.level && p.remoteIrr ? REDIR_REMOTE_IRR : 0)
      | (p.level ? 1 << 15 : 0) | (p.masked ? 1 << 16 : 0);
  }

  /** EOI broadcast for a level vector (REF-EOI-2): clear Remote IRR, re-send if still asserted. */
  eoi(vector: number): void {
    for (const p of this.pins.values()) {
      if (p.level && p.vector === vector && p.remoteIrr) {
        p.remoteIrr = false;
        p.remoteIrrOpen = false;
        this.serviceLevel(p);
      }
    }
  }

  /**
   * REF-EOI-4: an EOI of `vector` whose broadcast is open (TMR[vector] could be either at the
   * EOI). A level pin of that vector with Remote IRR set keeps it in one outcome and clears it
   * in the other: with its line asserted and unmasked the cleared pin sends again at once, so
   * Remote IRR is set in both and the message is optional; otherwise Remote IRR is open.
   */
  eoiMaybe(vector: number): void {
    for (const p of this.pins.values()) {
      if (!p.level || p.vector !== vector || !p.remoteIrr) continue;
      p.remoteIrrOpen = true;
      this.serviceLevel(p);
    }
  }
}
