// ACRN's vIOAPIC (hypervisor/dm/vioapic.c; the same logic in every tree modelled): pin_state
// per pin, vioapic_set_pinstate (a message on a change towards the active level),
// vioapic_generate_intr (masked: nothing; level with Remote IRR set: nothing; else Remote IRR for
// level pins and vlapic_receive_intr), vioapic_indirect_write (a redirection-entry dword: Remote
// IRR cleared when the entry is edge, then "asserted at rtbl write"; in 2018 a change of trigger
// mode, delivery mode or vector makes ACRN_REQUEST_TMR_UPDATE on every vCPU), vioapic_indirect_read,
// vioapic_update_tmr (2018) and vioapic_process_eoi. Pins are active-high, with a physical or
// logical destination (IOAPIC_RTE_DESTMODE) and fixed or lowest-priority delivery, which
// vioapic_generate_intr passes to vlapic_receive_intr as they are.
import { MAX_IOAPIC_PINS, type IoapicPin } from '../../scenario/types.js';

interface Rte {
  vector: number;
  dest: number;
  /** IOAPIC_RTE_DESTMODE_LOGICAL. */
  logical: boolean;
  /** Delivery mode IOAPIC_RTE_DELMODE_LOPRI (else fixed). */
  lowest: boolean;
  level: boolean;
  masked: boolean;
  remoteIrr: boolean;
  /** pin_state. */
  state: boolean;
  /** Diagnostics: the line went high while the entry was masked. */
  risenWhileMasked: boolean;
}

/**
 * vlapic_receive_intr as the vIOAPIC calls it; `from`: the pCPU that runs it (-1: device context); `why` (diagnostics):
 * the path of a message bare metal would not have sent, '' for an ordinary one.
 */
export type ReceiveIntr = (level: boolean, dest: number, phys: boolean, lowest: boolean, vector: number, from: number, why: string) => void;

/** ACRN_IOAPIC_VERSION (0x11) with (VIOAPIC_RTE_NUM - 1) = 47 as the maximum redirection entry (vioapic_indirect_read, every tree). */
export const ACRN_VIOAPIC_VERSION = (47 << 16) | 0x11;
const RTE_LEVEL = 1 << 15;
const RTE_REM_IRR = 1 << 14;
const RTE_MASK = 1 << 16;
const RTE_DESTMODE_LOGICAL = 1 << 11;
const RTE_DELMODE_LOPRI = 1 << 8;

/** The redirection entry a scenario's ioapic_write programmes. */
export interface RteWrite { vector: number; dest: number; trigger: 'edge' | 'level'; masked: boolean; logical?: boolean; lowest?: boolean }

export class Vioapic {
  private readonly rtbl: (Rte | null)[] = [];
  /**
   * The ID register, bits 27:24 as read: vioapic_reset sets it to 0; vioapic_indirect_write(IOAPIC_ID) keeps
   * `data & IOAPIC_ID_MASK` (0x0f000000; since 2020 as `chipinfo.id`, shifted by IOAPIC_ID_SHIFT and back), IOAPIC_VER
   * and IOAPIC_ARB writes are ignored, and vioapic_indirect_read returns it for IOAPIC_ID and IOAPIC_ARB alike.
   * [dm/vioapic.c vioapic_indirect_write, vioapic_indirect_read, vioapic_reset @ 7f2b9a1c7^, 7f2b9a1c7, ea849177a,
   * 0397cb717^, 9a6e94084^, 9a6e94084 (v3.3)]
   */
  id = 0;
  /** Diagnostics (explain): per vector, the path of a vIOAPIC message of it that bare metal would not have sent. */
  private readonly sendWhyOf: string[] = new Array<string>(256).fill('');
  /** Diagnostics, per pin: why its last EOI (see processEoi) was one bare metal would not broadcast. */
  private readonly eoiWhyOf: string[] = new Array<string>(MAX_IOAPIC_PINS).fill('');
  /**
   * Diagnostics, per pin: why an EOI bare metal broadcasts never reached vioapic_process_eoi while the
   * pin waited under Remote IRR (noteEoiLost), until an EOI clears it or a new message sets it. Per pin,
   * not per vector: vioapic_indirect_write keeps a level entry's Remote IRR (RTBL_RO_BITS) across a
   * vector rewrite, and the held line then holds the new vector's messages [dm/vioapic.c @ v3.3].
   */
  private readonly eoiLostWhyOf: string[] = new Array<string>(MAX_IOAPIC_PINS).fill('');

  constructor(pins: readonly IoapicPin[], private readonly receive: ReceiveIntr) {
    for (let i = 0; i < MAX_IOAPIC_PINS; i++) this.rtbl.push(null);
    for (const p of pins) {
      this.rtbl[p.pin] = {
        vector: p.vector, dest: p.dest, logical: p.logical ?? false, lowest: p.lowest ?? false, level: p.trigger === 'level', masked: p.masked,
        remoteIrr: false, state: false, risenWhileMasked: false,
      };
    }
  }

  /** The level pins (for the 2018 TMR, programmed from the redirection table). */
  levelPins(): { vector: number; dest: number }[] {
    const out: { vector: number; dest: number }[] = [];
    for (const e of this.rtbl) if (e && e.level) out.push({ vector: e.vector, dest: e.dest });
    return out;
  }

  /**
   * vioapic_update_tmr (2018, dm/vioapic.c @ 7f2b9a1c7): for every pin in order,
   * vlapic_set_tmr_one_vec sets (level) or clears (edge) its vector's TMR bit — on every vCPU,
   * whatever the destination ("We don't check whether the vcpu is in the dest here"), masked or
   * not. A vector that no pin has any more keeps the bit it had.
   */
  updateTmr(tmr: Uint32Array): void {
    for (const e of this.rtbl) {
      if (!e) continue;
      if (e.level) tmr[e.vector >>> 5]! |= 1 << (e.vector & 31);
      else tmr[e.vector >>> 5]! &= ~(1 << (e.vector & 31));
    }
  }

  /** Diagnostics: some pin is level with this vector now. */
  isLevelVector(vector: number): boolean {
    for (const e of this.rtbl) if (e && e.level && e.vector === vector) return true;
    return false;
  }

  /** Diagnostics: some pin is edge with this vector now. */
  isEdgeVector(vector: number): boolean {
    for (const e of this.rtbl) if (e && !e.level && e.vector === vector) return true;
    return false;
  }

  /** vioapic_generate_intr (vioapic_send_intr in 2018). */
  private generate(e: Rte, why: string, from: number): void {
    if (e.masked) return;
    if (e.level && e.remoteIrr) return;
    if (e.level) e.remoteIrr = true;
    // Diagnostics: Remote IRR was clear only because of an EOI bare metal would not broadcast.
    const pin = this.rtbl.indexOf(e);
    // A new Remote IRR: no lost EOI holds it.
    if (e.level && pin >= 0) this.eoiLostWhyOf[pin] = '';
    if (e.level && pin >= 0 && this.eoiWhyOf[pin]) { if (!why) why = this.eoiWhyOf[pin]!; this.eoiWhyOf[pin] = ''; }
    // Sticky: the extra instance can surface after a later, ordinary message of the vector
    // (delivered first, the ordinary one then shows as the duplicate).
    if (why) this.sendWhyOf[e.vector] = why;
    // Its acceptance reads why (extraSendWhy), a re-assert after such an EOI's Remote IRR clear included.
    const outer = this.extraSendWhy;
    this.extraSendWhy = why;
    this.receive(e.level, e.dest, !e.logical, e.lowest, e.vector, from, why);
    this.extraSendWhy = outer;
  }

  /** vioapic_set_pinstate. */
  private setPinstate(e: Rte, level: boolean): void {
    const old = e.state;
    e.state = level;
    if (level && !old) {
      if (e.masked) e.risenWhileMasked = true;
      this.generate(e, '', -1);
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
   * The scenario's mask/unmask (a device model's ptirq remap or the guest's mask write): the
   * low dword rewritten with only the mask bit changed.
   */
  setMask(pin: number, masked: boolean): void {
    const e = this.rtbl[pin];
    if (!e) return;
    this.indirectWriteLo(e, e.vector, e.level, masked, e.logical, e.lowest, -1, true);
  }

  /** vioapic_indirect_write of a redirection entry's high dword (the destination; not in NEED_TMR_UPDATE). */
  private indirectWriteHi(e: Rte, dest: number, from: number): void {
    e.dest = dest;
    this.afterWrite(e, 'edge-resent-on-redirection-write', from);
  }

  /** vioapic_indirect_write of the low dword (NEED_TMR_UPDATE: trigger mode, delivery mode, vector). */
  private indirectWriteLo(
    e: Rte, vector: number, level: boolean, masked: boolean, logical: boolean, lowest: boolean, from: number, maskOp: boolean, tmrUpdate?: () => void,
  ): void {
    const tmrChange = e.vector !== vector || e.level !== level || e.lowest !== lowest;
    const unmask = maskOp ? !masked : e.masked && !masked;
    e.vector = vector;
    e.level = level;
    e.masked = masked;
    e.logical = logical;
    e.lowest = lowest;
    // "use switch Trigger Mode to Edge Sensitive to clear it" (Remote IRR).
    if (!e.level) e.remoteIrr = false;
    // 2018: "If "Trigger Mode" or "Delivery Mode" or "Vector" ... have changed then rendezvous
    // all the vcpus to update their vlapic trigger-mode registers" — before the message below.
    if (tmrChange && tmrUpdate) tmrUpdate();
    const why = !unmask ? 'edge-resent-on-redirection-write' : e.risenWhileMasked ? 'edge-raised-while-masked-sent' : 'edge-resent-on-unmask';
    this.afterWrite(e, why, from);
  }

  /**
   * "Generate an interrupt if ... pin is not masked, previous interrupt has been EOIed, pin
   * level is asserted" — after every redirection-entry dword write, for an edge pin too.
   */
  private afterWrite(e: Rte, edgeWhy: string, from: number): void {
    if (e.masked || e.remoteIrr || !e.state) return;
    if (!e.level) e.risenWhileMasked = false;
    this.generate(e, e.level ? '' : edgeWhy, from);
  }

  /**
   * Diagnostics: while the vIOAPIC sends a message bare metal never sends, why; read by the target's accept_intr,
   * whose vlapic_set_tmr writes TMR for it (state.ts tmrExtraWhy). Set by generate for every message with a path:
   * afterWrite's edge message (no rising edge), the level re-send of a vioapic_process_eoi bare metal does not
   * broadcast, and a level pin's next message after such an EOI cleared its Remote IRR (a re-assert).
   */
  extraSendWhy = '';

  /**
   * The guest rewrites a whole redirection entry (scenario ioapic_write) through IOREGSEL/IOWIN
   * from vCPU `from`: the high dword, then the low dword, as Linux's __ioapic_write_entry and the
   * harness guest's boot programming write them; each is one vioapic_indirect_write. `tmrUpdate`
   * (2018) makes ACRN_REQUEST_TMR_UPDATE on every vCPU.
   */
  writeEntry(pin: number, w: RteWrite, from: number, tmrUpdate?: () => void): void {
    const e = this.rtbl[pin];
    if (!e) return;
    this.indirectWriteHi(e, w.dest & 0xff, from);
    this.indirectWriteLo(e, w.vector, w.trigger === 'level', w.masked, w.logical ?? false, w.lowest ?? false, from, false, tmrUpdate);
  }

  /** vioapic_indirect_read of a redirection-entry dword (active high; delivery status never set). */
  readEntry(pin: number, hi: boolean): number {
    const e = this.rtbl[pin];
    if (!e) return 0;
    if (hi) return (e.dest << 24) >>> 0;
    return e.vector | (e.lowest ? RTE_DELMODE_LOPRI : 0) | (e.logical ? RTE_DESTMODE_LOGICAL : 0) | (e.level ? RTE_LEVEL : 0)
      | (e.remoteIrr ? RTE_REM_IRR : 0) | (e.masked ? RTE_MASK : 0);
  }

  /** vioapic_process_eoi (vioapic_broadcast_eoi since 2020): every pin with this vector and Remote IRR. */
  processEoi(vector: number, why = ''): void {
    for (let pin = 0; pin < MAX_IOAPIC_PINS; pin++) {
      const e = this.rtbl[pin];
      if (!e || e.vector !== vector || !e.remoteIrr) continue;
      e.remoteIrr = false;
      this.eoiWhyOf[pin] = why;
      this.eoiLostWhyOf[pin] = '';
      if (e.state) this.generate(e, why, -1);
    }
  }

  /** Diagnostics: an EOI of `vector` that bare metal broadcasts did not reach vioapic_process_eoi (`why`). */
  noteEoiLost(vector: number, why: string): void {
    for (let pin = 0; pin < MAX_IOAPIC_PINS; pin++) {
      const e = this.rtbl[pin];
      if (e && e.level && e.remoteIrr && e.vector === vector) this.eoiLostWhyOf[pin] = why;
    }
  }

  /**
   * Diagnostics (whereStuck): a level pin whose entry has this vector now, held under a Remote IRR whose EOI
   * was lost, and why (the EOI may have been of the vector the entry had before a rewrite).
   */
  eoiLostWhy(vector: number): string | undefined {
    for (let pin = 0; pin < MAX_IOAPIC_PINS; pin++) {
      const e = this.rtbl[pin];
      if (e && e.level && e.remoteIrr && e.vector === vector && this.eoiLostWhyOf[pin]) return this.eoiLostWhyOf[pin];
    }
    return undefined;
  }

  /** Diagnostics: why a pin of this vector had Remote IRR cleared by an EOI bare metal does not broadcast. */
  eoiWhy(vector: number): string | undefined {
    for (let pin = 0; pin < MAX_IOAPIC_PINS; pin++) {
      const e = this.rtbl[pin];
      if (e && e.vector === vector && !e.remoteIrr && this.eoiWhyOf[pin]) return this.eoiWhyOf[pin];
    }
    return undefined;
  }

  /** Diagnostics: why a message of this vector was one bare metal would not send. */
  sendWhy(vector: number): string | undefined {
    return this.sendWhyOf[vector] || undefined;
  }
}
