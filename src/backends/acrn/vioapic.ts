// ACRN's vIOAPIC (hypervisor/dm/vioapic.c; the same logic in every tree modelled): pin_state
// per pin, vioapic_set_pinstate (a message on a change towards the active level),
// vioapic_generate_intr (masked: nothing; level with Remote IRR set: nothing; else Remote IRR for
// level pins and vlapic_receive_intr), the redirection-entry write ("asserted at rtbl write") and
// vioapic_process_eoi. Pins are active-high, fixed delivery, physical destination.
import { MAX_IOAPIC_PINS, type IoapicPin } from '../../scenario/types.js';

interface Rte {
  vector: number;
  dest: number;
  level: boolean;
  masked: boolean;
  remoteIrr: boolean;
  /** pin_state. */
  state: boolean;
  /** Diagnostics (explain): the path of this pin's last message, when bare metal would not have sent it. */
  lastSendWhy: string;
  /** Diagnostics: the line went high while the entry was masked. */
  risenWhileMasked: boolean;
}

/** vlapic_receive_intr as the vIOAPIC calls it (physical destination, fixed delivery). */
export type ReceiveIntr = (level: boolean, dest: number, vector: number) => void;

export class Vioapic {
  private readonly rtbl: (Rte | null)[] = [];

  constructor(pins: readonly IoapicPin[], private readonly receive: ReceiveIntr) {
    for (let i = 0; i < MAX_IOAPIC_PINS; i++) this.rtbl.push(null);
    for (const p of pins) {
      this.rtbl[p.pin] = { vector: p.vector, dest: p.dest, level: p.trigger === 'level', masked: p.masked, remoteIrr: false, state: false, lastSendWhy: '', risenWhileMasked: false };
    }
  }

  /** The level pins (for the 2018 TMR, programmed from the redirection table). */
  levelPins(): { vector: number; dest: number }[] {
    const out: { vector: number; dest: number }[] = [];
    for (const e of this.rtbl) if (e && e.level) out.push({ vector: e.vector, dest: e.dest });
    return out;
  }

  /** vioapic_generate_intr (vioapic_send_intr in 2018). */
  private generate(e: Rte, why: string): void {
    if (e.masked) return;
    if (e.level && e.remoteIrr) return;
    if (e.level) e.remoteIrr = true;
    e.lastSendWhy = why;
    this.receive(e.level, e.dest, e.vector);
  }

  /** vioapic_set_pinstate. */
  private setPinstate(e: Rte, level: boolean): void {
    const old = e.state;
    e.state = level;
    if (level && !old) {
      if (e.masked) e.risenWhileMasked = true;
      this.generate(e, '');
    }
  }

  /** vioapic_set_irqline_lock(GSI_SET_HIGH / GSI_SET_LOW / GSI_RAISING_PULSE). */
  irqline(pin: number, op: 'assert' | 'deassert' | 'pulse'): void {
    const e = this.rtbl[pin];
    if (!e) return;
    switch (op) {
      case 'assert': this.setPinstate(e, true); return;
      case 'deassert': this.setPinstate(e, false); return;
      case 'pulse':
        // A device model never pulses a line it holds high (bhyve's model does the same): a
        // level line is lowered, an edge line stays as it is.
        if (e.state) {
          if (e.level) this.setPinstate(e, false);
          return;
        }
        this.setPinstate(e, true);
        this.setPinstate(e, false);
        return;
    }
  }

  /**
   * vioapic_indirect_write of the mask bit: afterwards, an unmasked entry whose Remote IRR is
   * clear and whose pin is asserted generates an interrupt — for an edge pin too.
   */
  setMask(pin: number, masked: boolean): void {
    const e = this.rtbl[pin];
    if (!e) return;
    e.masked = masked;
    if (!e.masked && !e.remoteIrr && e.state) {
      const why = e.level ? '' : e.risenWhileMasked ? 'edge-raised-while-masked-sent' : 'edge-resent-on-unmask';
      e.risenWhileMasked = false;
      this.generate(e, why);
    }
  }

  /** vioapic_process_eoi (vioapic_broadcast_eoi since 2020): every pin with this vector and Remote IRR. */
  processEoi(vector: number): void {
    for (let pin = 0; pin < MAX_IOAPIC_PINS; pin++) {
      const e = this.rtbl[pin];
      if (!e || e.vector !== vector || !e.remoteIrr) continue;
      e.remoteIrr = false;
      if (e.state) this.generate(e, '');
    }
  }

  /** Diagnostics: why the last message of the pin with this vector was one bare metal would not send. */
  sendWhy(vector: number): string | undefined {
    for (const e of this.rtbl) if (e && e.vector === vector && e.lastSendWhy) return e.lastSendWhy;
    return undefined;
  }
}
