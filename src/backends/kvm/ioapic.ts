// KVM's in-kernel I/O APIC (arch/x86/kvm/ioapic.c, v4.11): redirection table, the line
// state `irr`, remote IRR, EOI broadcast, and the scan that builds the EOI-exit bitmap.
// Not modelled: the RTC (GSI 8) coalescing and EOI tracking, directed EOI, the EOI storm
// delay (IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT), userspace (split) irqchip.
import { vsAdd, vsClear, vsHas, type VecSet } from '../../apic/vecset.js';
import type { IoapicPin, IoapicReadReg, IoapicRegWriteReg } from '../../scenario/types.js';
import { Mode, PHYS_CALL_FUNCTION, REQ_SCAN_IOAPIC } from './consts.js';
import { LOWEST_ABSENT, kvm_irq_delivery_to_apic, kvm_lowest_prio_target, kvm_match_dest_mask, report_lowest_prio, type KvmIrq } from './apic_map.js';
import { kvm_make_request, kvm_vcpu_exiting_guest_mode } from './sender.js';
import type { Kvm, KvmVcpu } from './state.js';

export interface KvmRte {
  pin: number;
  vector: number;
  dest: number;
  level: boolean;
  masked: boolean;
  /** Destination mode (bit 11): the MDA is matched against LDR/DFR. */
  logical: boolean;
  /** Delivery mode lowest priority (bits 10:8 = 001): kvm_irq_delivery_to_apic's lowest-priority path. */
  lowest: boolean;
  remoteIrr: boolean;
  /** Diagnostics: a redirection-entry write cleared Remote IRR while the vector was in service (before v4.15). */
  remoteIrrLost: boolean;
  /**
   * Diagnostics (whereStuck): Remote IRR is set and the EOI that should clear it was virtualized
   * without an EOI-induced exit (the vIOAPIC never saw it), and why; '' otherwise.
   */
  eoiLostWhy: string;
  /** Diagnostics: the vector whose EOI was lost (the entry may have been rewritten to another since). */
  eoiLostVector: number;
  /**
   * Diagnostics: the last level message of this entry was accepted by no APIC, so Remote IRR was left clear
   * where the 82093AA holds it set: why (REFUSED_REMOTE_IRR: every destination software-disabled;
   * NO_APIC_REMOTE_IRR: the map answered with no APIC; LOWEST_ABSENT: vector hashing chose an empty slot), '' otherwise.
   */
  refusedWhy: string;
  /**
   * Diagnostics: the EOI that last cleared this entry's Remote IRR is one bare metal would not have broadcast, and why
   * (kvm_ioapic_update_eoi's `why`); kept across a rewrite of the vector, cleared when a message sets Remote IRR again.
   */
  eoiClearedWhy: string;
}

export class KvmIoapic {
  /** Redirection entries of the pins the machine wires (at most 24). */
  readonly rtes: KvmRte[] = [];
  /** ioapic->irr: the line level per pin. */
  irr = 0;
  /** ioapic->id: 4 bits, 0 after kvm_ioapic_reset; read back in bits 27:24 by IOAPIC_REG_APIC_ID and IOAPIC_REG_ARB_ID alike. */
  id = 0;
  /**
   * Diagnostics (explain), per vector (a rewritten entry's old vector keeps its history): the
   * path of the last message with this vector, when bare metal would not send it.
   */
  readonly lastSendWhy: string[] = new Array<string>(256).fill('');
  /**
   * Diagnostics: the path of a message bare metal would not have sent whose instance may still
   * be outstanding (a later legitimate message does not hide it), until an EOI finds no
   * instance of the vector left in any vCPU.
   */
  readonly owedWhy: string[] = new Array<string>(256).fill('');
  /** Diagnostics: why the last EOI broadcast of a vector was taken as level (see kvm_ioapic_update_eoi). */
  readonly eoiWhy: string[] = new Array<string>(256).fill('');
  /**
   * Diagnostics, per vector: a redirection write, or another vCPU's EOI while the line was low, cleared the Remote IRR
   * of an entry whose EOI was lost (why it was); the line's re-send bare metal made at the lost EOI never came, whatever
   * the entry holds now. Sticky.
   */
  readonly eoiLostBeforeWrite: string[] = new Array<string>(256).fill('');
  constructor(pins: readonly IoapicPin[]) {
    for (const p of pins) {
      this.rtes.push({ pin: p.pin, vector: p.vector, dest: p.dest, level: p.trigger === 'level', masked: p.masked, logical: p.logical ?? false, lowest: p.lowest ?? false, remoteIrr: false, remoteIrrLost: false, eoiLostWhy: '', eoiLostVector: -1, refusedWhy: '', eoiClearedWhy: '' });
    }
  }

  rte(pin: number): KvmRte | undefined {
    for (let i = 0; i < this.rtes.length; i++) if (this.rtes[i]!.pin === pin) return this.rtes[i];
    return undefined;
  }
}

/** Tag: a level line re-serviced because its last message was discarded by a software-disabled APIC. */
export const REFUSED_RESENT = 'level-resent-after-sw-disabled-apic-discarded';

/** Tag: Remote IRR clear after a level message every destination APIC discarded. */
export const REFUSED_REMOTE_IRR = 'remote-irr-not-set-by-sw-disabled-apic';

/** Tags (v6.12): a level message the APIC map answered with no APIC ("*r = 0"), so Remote IRR stays clear; its re-sends. */
export const NO_APIC_REMOTE_IRR = 'remote-irr-not-set-without-destination-apic';
export const NO_APIC_RESENT = 'level-resent-after-message-reached-no-apic';

/** The re-send tag that goes with an entry's refusal. */
function refused_resent(e: KvmRte): string {
  if (e.refusedWhy === LOWEST_ABSENT) return LOWEST_ABSENT;
  return e.refusedWhy === REFUSED_REMOTE_IRR ? REFUSED_RESENT : e.refusedWhy === NO_APIC_REMOTE_IRR ? NO_APIC_RESENT : '';
}

/** ioapic_service: deliver a pin's message unless masked (kvm_irq_delivery_to_apic). */
function ioapic_service(kvm: Kvm, pin: number, why = ''): void {
  const e = kvm.ioapic.rte(pin)!;
  if (e.masked) return;
  // v6.12 ioapic_service also refuses a level entry whose Remote IRR is set.
  if (kvm.code.ioapicServiceChecksRemoteIrr && e.level && e.remoteIrr) return;
  // Diagnostics: a level entry's Remote IRR was clear only because of an EOI bare metal would not broadcast.
  // Also after a rewrite of the entry's vector (eoiWhy is per vector: the rewritten entry's old one).
  if (!why && e.level) why = kvm.ioapic.eoiWhy[e.vector]! || (e.remoteIrr ? '' : e.eoiClearedWhy);
  kvm.ioapic.lastSendWhy[e.vector] = why;
  if (why) kvm.ioapic.owedWhy[e.vector] = why;
  kvm.ioapic.eoiWhy[e.vector] = ''; // a new message: Remote IRR is set again by it
  // ret = kvm_irq_delivery_to_apic (−1: no APIC addressed, else the number that accepted);
  // "if (ret && trig_mode == IOAPIC_LEVEL_TRIG) remote_irr = 1": a level message every
  // software-disabled APIC discarded leaves Remote IRR clear, so the asserted line is serviced
  // again later.
  const irq: KvmIrq = { vector: e.vector, level: e.level, nmi: false, shorthand: 'none', dest: e.dest, logical: e.logical, lowest: e.lowest };
  // A lowest-priority entry (irqe.delivery_mode = APIC_DM_LOWEST): the choice kvm_irq_delivery_to_apic makes,
  // told before the event is reported executed (guest.ts holds it).
  const hashedAway = e.lowest && report_lowest_prio(kvm, -1, irq, kvm_lowest_prio_target(kvm, -1, irq));
  // Diagnostics: a level message sent only because a kept TMR bit made the EOI level (a VT-d posted or virtualized
  // self-IPI edge message after the level one) sets TMR at its acceptance like any other (__apic_accept_irq), but bare
  // metal never sent it: the level bit stays the kept one's, so the EOI of this instance is named after the same cause.
  const kept = e.level && (why === TMR_KEPT_BY_VTD || why === TMR_KEPT_BY_SELF_IPI) ? why : '';
  const keptSet = (t: KvmVcpu): VecSet => (kept === TMR_KEPT_BY_VTD ? t.tmrKeptByVtd : t.tmrKeptBySelfIpi);
  // Per vCPU: TMR was clear, or its bit was the kept one (the acceptance below drops that flag).
  const owedBit = kept ? kvm.vcpus.map((t) => !vsHas(t.vapic.tmr, e.vector) || vsHas(keptSet(t), e.vector)) : [];
  const ret = kvm_irq_delivery_to_apic(kvm, -1, irq, -1);
  if (kept) for (const t of kvm.vcpus) if (owedBit[t.id] && vsHas(t.vapic.tmr, e.vector)) vsAdd(keptSet(t), e.vector);
  if (ret && e.level) { e.remoteIrr = true; e.eoiClearedWhy = ''; }
  if (e.level) {
    // v6.12: a message vector hashing sent to an empty slot also returns r = 0 ("*bitmap = 0; return true").
    e.refusedWhy = ret !== 0 ? '' : hashedAway ? LOWEST_ABSENT : dest_vcpus(kvm, e.dest, e.logical) === 0 ? NO_APIC_REMOTE_IRR : REFUSED_REMOTE_IRR;
  }
}

/** ioapic_set_irq: a line transition seen by the I/O APIC. */
function ioapic_set_irq(kvm: Kvm, pin: number, level: boolean): void {
  const io = kvm.ioapic;
  const e = io.rte(pin)!;
  const bit = 1 << pin;
  if (!level) {
    io.irr &= ~bit;
    return;
  }
  const old = io.irr;
  io.irr |= bit;
  // Coalesced: an edge that did not change the line, or a level interrupt awaiting EOI.
  if ((!e.level && old === io.irr) || (e.level && e.remoteIrr)) return;
  ioapic_service(kvm, pin, e.level && e.remoteIrrLost ? 'level-resent-after-write-cleared-remote-irr'
    : e.level ? refused_resent(e) : '');
}

/**
 * KVM_REQ_SCAN_IOAPIC to the vCPUs in `mask` from the writer's context
 * (kvm_make_all_cpus_request / kvm_make_vcpus_request_mask): set the request and IPI those not
 * OUTSIDE_GUEST_MODE (kvm_vcpu_exiting_guest_mode). The writer itself is outside guest mode.
 */
export function kvm_make_scan_ioapic_request(kvm: Kvm, mask: number): void {
  for (const t of kvm.vcpus) {
    if (!(mask & (1 << t.id))) continue;
    kvm_make_request(t, REQ_SCAN_IOAPIC);
    if (kvm_vcpu_exiting_guest_mode(t) !== Mode.OUTSIDE) t.phys |= PHYS_CALL_FUNCTION;
  }
}

/** The vCPUs an entry's destination addresses (kvm_bitmap_or_dest_vcpus, kvm_apic_match_dest). */
function dest_vcpus(kvm: Kvm, dest: number, logical: boolean): number {
  return kvm_match_dest_mask(kvm, -1, 'none', dest, logical);
}

/** Remote IRR cleared (EOI, or a redirection write): the entry no longer waits on a lost EOI. */
function clear_remote_irr(e: KvmRte): void {
  e.remoteIrr = false;
  e.eoiLostWhy = '';
  e.eoiLostVector = -1;
}

/** One dword of a redirection entry as the guest writes it (IOWIN after IOREGSEL = 0x10 + 2·pin [+1]). */
export interface RteWrite { vector: number; dest: number; level: boolean; masked: boolean; logical: boolean; lowest: boolean }

/**
 * ioapic_write_indirect of one dword of a redirection entry. `hi`: the destination (bits
 * 63:56); otherwise vector, destination mode (bit 11), trigger mode and mask (the scenario's
 * entries are fixed and active high). Before v4.15 a low-dword write cleared Remote IRR; since ("Preserve read-only
 * values in the redirection table") it is kept, and cleared for an edge entry. An asserted
 * level line is then re-serviced (v4.x ioapic_service does not look at Remote IRR; v6.12's
 * does), and the vCPUs rescan the EOI-exit bitmap: all of them (v4.x), or those the entry's new
 * and old destination address (v6.12 kvm_make_scan_ioapic_request_mask).
 */
function ioapic_write_indirect(kvm: Kvm, e: KvmRte, hi: boolean, w: RteWrite): void {
  const oldDest = e.dest;
  const oldLogical = e.logical;
  const wasInService = e.remoteIrr;
  if (hi) {
    e.dest = w.dest & 0xff;
  } else {
    e.vector = w.vector;
    e.level = w.level;
    e.masked = w.masked;
    e.logical = w.logical;
    e.lowest = w.lowest;
  }
  if ((!kvm.code.ioapicPreservesRemoteIrr && !hi) || (kvm.code.ioapicPreservesRemoteIrr && !e.level)) {
    if (e.level && e.remoteIrr) e.remoteIrrLost = true;
    if (e.eoiLostWhy && e.eoiLostVector >= 0) kvm.ioapic.eoiLostBeforeWrite[e.eoiLostVector] = e.eoiLostWhy;
    clear_remote_irr(e);
  }
  if (e.level && (kvm.ioapic.irr & (1 << e.pin))) {
    // A destination write re-services the entry with its old low dword: the old vector goes to
    // the new destination before the low dword is written.
    const why = !wasInService ? (e.remoteIrrLost ? 'level-resent-after-write-cleared-remote-irr' : refused_resent(e))
      : hi && e.dest !== oldDest ? 'old-vector-resent-on-destination-write' : 'level-resent-on-redirection-write';
    ioapic_service(kvm, e.pin, why);
  }
  if (kvm.code.scanRequest === 'all') {
    kvm_make_scan_ioapic_request(kvm, -1);
    return;
  }
  let mask = dest_vcpus(kvm, e.dest, e.logical);
  // "irq.dest_id = old_dest_id; irq.dest_mode = kvm_lapic_irq_dest_mode(!!e->fields.dest_mode);":
  // the old destination is read in the entry's *new* destination mode (v6.12 ioapic.c).
  if (oldDest !== e.dest || oldLogical !== e.logical) mask |= dest_vcpus(kvm, oldDest, e.logical);
  kvm_make_scan_ioapic_request(kvm, mask);
}

/**
 * A guest rewrites a whole redirection entry (ioapic_mmio_write, after an EPT-misconfig exit):
 * two IOWIN writes, the high dword first and the low one last, as Linux's
 * __ioapic_write_entry does (so the entry is complete when the low dword unmasks it).
 */
export function kvm_ioapic_guest_write(kvm: Kvm, pin: number, w: RteWrite): void {
  const e = kvm.ioapic.rte(pin);
  if (!e) return;
  ioapic_write_indirect(kvm, e, true, w);
  ioapic_write_indirect(kvm, e, false, w);
}

/**
 * ioapic_write_indirect of IOAPIC_REG_VERSION ("Writes are ignored"), IOAPIC_REG_APIC_ID
 * (`ioapic->id = (val >> 24) & 0xf`) and IOAPIC_REG_ARB_ID (ignored): the same switch in every tree
 * modelled (virt/kvm/ioapic.c in 2011, arch/x86/kvm/ioapic.c at v4.10 and v6.12).
 */
export function kvm_ioapic_reg_write(kvm: Kvm, reg: IoapicRegWriteReg, val: number): void {
  if (reg === 'id') kvm.ioapic.id = (val >>> 24) & 0xf;
}

/** ioapic_read_indirect of the registers a scenario reads (IOAPIC_REG_APIC_ID/ARB_ID/VERSION, entries). */
export function kvm_ioapic_read(kvm: Kvm, reg: IoapicReadReg, pin: number): number {
  switch (reg) {
    // IOAPIC_REG_APIC_ID and IOAPIC_REG_ARB_ID: ((ioapic->id & 0xf) << 24); the ID is 0 after kvm_ioapic_reset.
    case 'id': case 'arb': return ((kvm.ioapic.id & 0xf) << 24) >>> 0;
    // ((IOAPIC_NUM_PINS - 1) << 16) | IOAPIC_VERSION_ID.
    case 'version': return (23 << 16) | 0x11;
    default: {
      const e = kvm.ioapic.rte(pin);
      if (!e) return 0;
      if (reg === 'redir-hi') return (e.dest << 24) >>> 0;
      // Delivery status is never set; polarity is 0 here; delivery mode 001 for lowest priority.
      return e.vector | (e.lowest ? 1 << 8 : 0) | (e.logical ? 1 << 11 : 0) | (e.remoteIrr ? 1 << 14 : 0) | (e.level ? 1 << 15 : 0) | (e.masked ? 1 << 16 : 0);
    }
  }
}

/** A scenario `ioapic` event, as KVM receives it (KVM_IRQ_LINE from a device model, or an RTE write). */
export function kvm_ioapic_event(kvm: Kvm, pin: number, op: 'assert' | 'deassert' | 'pulse' | 'mask' | 'unmask'): boolean {
  const io = kvm.ioapic;
  if (!io.rte(pin)) return false;
  const bit = 1 << pin;
  switch (op) {
    case 'assert': ioapic_set_irq(kvm, pin, true); return true;
    case 'deassert': ioapic_set_irq(kvm, pin, false); return true;
    case 'pulse':
      // KVM_IRQ_LINE 1 then 0. The scenario language leaves an already-high edge line alone.
      if (!io.rte(pin)!.level && (io.irr & bit)) return true;
      ioapic_set_irq(kvm, pin, true);
      ioapic_set_irq(kvm, pin, false);
      return true;
    case 'mask': case 'unmask': {
      // A low-dword write that changes only the mask.
      const e = io.rte(pin)!;
      ioapic_write_indirect(kvm, e, false, { vector: e.vector, dest: e.dest, level: e.level, masked: op === 'mask', logical: e.logical, lowest: e.lowest });
      return true;
    }
  }
}

/** Diagnostics: why the last message of the pin with this vector was one bare metal would not send. */
export function kvm_ioapic_send_why(kvm: Kvm, vector: number): string | undefined {
  const io = kvm.ioapic;
  return io.lastSendWhy[vector] || io.owedWhy[vector] || undefined;
}

/** RTC_GSI: kvm_ioapic_scan_entry counts its vector even for an edge entry (RTC EOI tracking). */
const RTC_GSI = 8;

/**
 * kvm_ioapic_scan_entry: the vectors of level entries (and of GSI 8) whose destination matches
 * this vCPU or that this vCPU still has pending in IRR or ISR (kvm_apic_pending_eoi). The same
 * shape from v4.10 to v6.12. Not modelled: ack notifiers (kvm_irq_has_notifier; no assigned
 * INTx devices) and the RTC's pending-EOI dest_map.
 */
export function kvm_ioapic_scan_entry(kvm: Kvm, t: KvmVcpu, handled: VecSet): void {
  vsClear(handled);
  const rtes = kvm.ioapic.rtes;
  for (let i = 0; i < rtes.length; i++) {
    const e = rtes[i]!;
    if (!e.level && e.pin !== RTC_GSI) continue;
    const mask = dest_vcpus(kvm, e.dest, e.logical);
    if ((mask & (1 << t.id)) || vsHas(t.vapic.virr, e.vector) || vsHas(t.vapic.visr, e.vector)) vsAdd(handled, e.vector);
  }
}

/**
 * Diagnostics: the guest's EOI of `vector` was virtualized without an exit. A level entry of
 * that vector still waiting for its EOI (Remote IRR) now waits for good: record why.
 */
export function kvm_ioapic_eoi_not_trapped(kvm: Kvm, t: KvmVcpu, vector: number, why: string): void {
  if (!vsHas(t.vapic.tmr, vector)) return;
  for (const e of kvm.ioapic.rtes) if (e.vector === vector && e.level && e.remoteIrr && !e.eoiLostWhy) { e.eoiLostWhy = why; e.eoiLostVector = vector; }
}

/** Diagnostics (explain of a read): a level entry of this vector whose Remote IRR a redirection write cleared. */
export function kvm_ioapic_remote_irr_cleared(kvm: Kvm, vector: number): boolean {
  for (const e of kvm.ioapic.rtes) if (e.vector === vector && e.remoteIrrLost && !e.remoteIrr) return true;
  return false;
}

/** Diagnostics (whereStuck): a level entry of this vector whose Remote IRR waits on an EOI the vIOAPIC never saw. */
export function kvm_ioapic_eoi_lost(kvm: Kvm, vector: number): string | undefined {
  // Also by the vector whose EOI was lost: a later write may have changed the entry's vector.
  for (const e of kvm.ioapic.rtes) if ((e.vector === vector || e.eoiLostVector === vector) && e.remoteIrr && e.eoiLostWhy) return e.eoiLostWhy;
  return vector >= 0 && kvm.ioapic.eoiLostBeforeWrite[vector] ? kvm.ioapic.eoiLostBeforeWrite[vector] : undefined;
}

/** Tag: an EOI taken as level because a VT-d posted edge message of the vector left TMR set. */
export const TMR_KEPT_BY_VTD = 'tmr-kept-by-vtd-posted-msi';
/** Tag: the same for a self-IPI the CPU virtualized (SDM 29.1.5 touches VIRR and RVI only). */
export const TMR_KEPT_BY_SELF_IPI = 'tmr-kept-by-virtualized-self-ipi';

/**
 * kvm_ioapic_update_eoi: clear remote IRR and re-deliver a still-asserted level line. `why`
 * (diagnostics): why the EOI's trigger mode (TMR) was level where bare metal's was edge.
 */
export function kvm_ioapic_update_eoi(kvm: Kvm, vector: number, level: boolean, why = ''): void {
  if (!level) return;
  kvm.ioapic.eoiWhy[vector] = why;
  // Diagnostics: the EOI of an instance bare metal never sent re-sends an asserted line where
  // bare metal, still waiting for its own EOI, does not: same path as that instance. Read once
  // for the whole loop: every entry of the vector is serviced by this one EOI, so another pin's
  // entry earlier in the table (a masked edge entry of a shared vector, issue 8) must not consume it.
  const owed = kvm.ioapic.owedWhy[vector]!;
  if (owed && !kvm.vcpus.some((t) => vsHas(t.vapic.virr, vector) || vsHas(t.pi.pir, vector))) kvm.ioapic.owedWhy[vector] = '';
  const rtes = kvm.ioapic.rtes;
  for (let i = 0; i < rtes.length; i++) {
    const e = rtes[i]!;
    if (e.vector !== vector) continue;
    // A lost EOI (bare metal re-sent the high line there) whose Remote IRR another vCPU's EOI now clears with the line
    // low: this EOI re-sends nothing, so the lost EOI's re-send is owed for good.
    if (e.eoiLostWhy && e.eoiLostVector >= 0 && !(kvm.ioapic.irr & (1 << e.pin))) kvm.ioapic.eoiLostBeforeWrite[e.eoiLostVector] = e.eoiLostWhy;
    if (e.remoteIrr) e.eoiClearedWhy = why;
    clear_remote_irr(e);
    e.remoteIrrLost = false;
    // The EOI's trigger mode is the LAPIC's TMR, not the entry's: an entry rewritten to edge while the level instance was
    // in service is re-serviced too (only a debug ASSERT says it must be level), and its line still high sends again.
    if (!e.masked && (kvm.ioapic.irr & (1 << e.pin))) ioapic_service(kvm, e.pin, owed || why || (e.level ? '' : EDGE_RESERVICED_BY_LEVEL_EOI));
  }
}

/** Tag: a level EOI re-serviced an entry of its vector that had been rewritten to edge. */
export const EDGE_RESERVICED_BY_LEVEL_EOI = 'edge-entry-reserviced-by-level-eoi';

/**
 * Diagnostics (explain of a TMR read): the last message of `vector` was an edge entry's re-service by a level EOI
 * (EDGE_RESERVICED_BY_LEVEL_EOI) and that entry addresses vCPU `cpu`: its acceptance cleared TMR (__apic_accept_irq),
 * where bare metal, which sends no such message, keeps the level bit its last message set.
 */
export function kvm_ioapic_edge_reserviced_to(kvm: Kvm, cpu: number, vector: number): string | undefined {
  if (kvm.ioapic.lastSendWhy[vector] !== EDGE_RESERVICED_BY_LEVEL_EOI) return undefined;
  for (const e of kvm.ioapic.rtes) {
    if (e.vector === vector && !e.level && (dest_vcpus(kvm, e.dest, e.logical) & (1 << cpu))) return EDGE_RESERVICED_BY_LEVEL_EOI;
  }
  return undefined;
}

/**
 * Diagnostics (whereStuck): a level entry of this vector whose last message vector hashing dropped (LOWEST_ABSENT), so
 * Remote IRR stayed clear and KVM owes what bare metal's accepting APIC holds of that pin (the message, or the re-send
 * its EOI made while the line was high), whatever instance of the vector the vCPU took meanwhile.
 */
export function kvm_ioapic_hashed_away(kvm: Kvm, vector: number): string | undefined {
  for (const e of kvm.ioapic.rtes) if (e.vector === vector && e.level && e.refusedWhy === LOWEST_ABSENT && !e.remoteIrr) return LOWEST_ABSENT;
  return undefined;
}

/** Diagnostics: why an entry of this vector has Remote IRR clear although it sent a level message (no APIC accepted it). */
export function kvm_ioapic_refused_why(kvm: Kvm, vector: number): string | undefined {
  for (const e of kvm.ioapic.rtes) if (e.vector === vector && e.level && e.refusedWhy && !e.remoteIrr) return e.refusedWhy;
  return undefined;
}
