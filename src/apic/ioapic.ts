// The architectural I/O APIC (82093AA): redirection entries with mask and Remote IRR, line
// levels, edge detection, the level-triggered EOI broadcast. A plain helper: the reference
// uses it, and so do backends whose hypervisor's vIOAPIC is not under study (they say so);
// a backend that models its hypervisor's own vIOAPIC (kvm, bhyve) does not use it.
import type { IoapicPin } from '../scenario/types.js';

export interface IoPin {
  readonly pin: number;
  readonly vector: number;
  readonly dest: number;
  readonly level: boolean;
  masked: boolean;
  /** The input line is asserted. */
  line: boolean;
  /** A level message was accepted and its EOI has not come back yet. */
  remoteIrr: boolean;
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
}

export type IoOp = 'assert' | 'deassert' | 'pulse' | 'mask' | 'unmask';

export class Ioapic {
  readonly pins = new Map<number, IoPin>();

  /** `send` delivers one message of a pin to its destination. */
  constructor(config: readonly IoapicPin[], private readonly send: (p: IoPin) => void) {
    for (const p of config) {
      this.pins.set(p.pin, { pin: p.pin, vector: p.vector, dest: p.dest, level: p.trigger === 'level', masked: p.masked, line: false, remoteIrr: false, edgeWhileMasked: false, unmaskedHigh: false, levelAnomaly: '' });
    }
  }

  private serviceLevel(p: IoPin): void {
    if (p.line && !p.masked && !p.remoteIrr) {
      p.remoteIrr = true;
      p.levelAnomaly = '';
      this.send(p);
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

  /** EOI broadcast for a level vector (REF-EOI-2): clear Remote IRR, re-send if still asserted. */
  eoi(vector: number): void {
    for (const p of this.pins.values()) {
      if (p.level && p.vector === vector && p.remoteIrr) {
        p.remoteIrr = false;
        this.serviceLevel(p);
      }
    }
  }
}
