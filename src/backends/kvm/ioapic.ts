// KVM's in-kernel I/O APIC (arch/x86/kvm/ioapic.c, v4.11): redirection table, the line
// state `irr`, remote IRR, EOI broadcast, and the scan that builds the EOI-exit bitmap.
// Not modelled: the RTC (GSI 8) coalescing and EOI tracking, directed EOI, the EOI storm
// delay (IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT), userspace (split) irqchip.
import { resolveDest } from '../../apic/dest.js';
import { vsAdd, vsClear, vsHas, type VecSet } from '../../apic/vecset.js';
import type { IoapicPin } from '../../scenario/types.js';
import { Mode, PHYS_CALL_FUNCTION, REQ_SCAN_IOAPIC } from './consts.js';
import { __apic_accept_irq } from './lapic.js';
import { kvm_make_request, kvm_vcpu_exiting_guest_mode } from './sender.js';
import type { Kvm, KvmVcpu } from './state.js';

export interface KvmRte {
  pin: number;
  vector: number;
  dest: number;
  level: boolean;
  masked: boolean;
  remoteIrr: boolean;
  /** Diagnostics (explain): the path of this pin's last message, when bare metal would not send it. */
  lastSendWhy: string;
  /** Diagnostics: a redirection-entry write cleared Remote IRR while the vector was in service (before v4.15). */
  remoteIrrLost: boolean;
  /**
   * Diagnostics: the path of a message bare metal would not have sent whose instance may still
   * be outstanding (a later legitimate message does not hide it), until an EOI finds no
   * instance of the vector left in any vCPU.
   */
  owedWhy: string;
}

export class KvmIoapic {
  /** Redirection entries of the pins the machine wires (at most 24). */
  readonly rtes: KvmRte[] = [];
  /** ioapic->irr: the line level per pin. */
  irr = 0;
  constructor(pins: readonly IoapicPin[]) {
    for (const p of pins) {
      this.rtes.push({ pin: p.pin, vector: p.vector, dest: p.dest, level: p.trigger === 'level', masked: p.masked, remoteIrr: false, lastSendWhy: '', remoteIrrLost: false, owedWhy: '' });
    }
  }

  rte(pin: number): KvmRte | undefined {
    for (let i = 0; i < this.rtes.length; i++) if (this.rtes[i]!.pin === pin) return this.rtes[i];
    return undefined;
  }
}

/** ioapic_service: deliver a pin's message unless masked (kvm_irq_delivery_to_apic). */
function ioapic_service(kvm: Kvm, pin: number, why = ''): void {
  const e = kvm.ioapic.rte(pin)!;
  if (e.masked) return;
  // v6.12 ioapic_service also refuses a level entry whose Remote IRR is set.
  if (kvm.code.ioapicServiceChecksRemoteIrr && e.level && e.remoteIrr) return;
  e.lastSendWhy = why;
  if (why) e.owedWhy = why;
  const mask = resolveDest(kvm.machine.apic, kvm.machine.vcpus, 0, 'none', false, e.dest);
  let delivered = false;
  for (let i = 0; i < kvm.vcpus.length; i++) {
    if (!(mask & (1 << i))) continue;
    __apic_accept_irq(kvm, kvm.vcpus[i]!, e.vector, e.level, false, -1);
    delivered = true;
  }
  if (delivered && e.level) e.remoteIrr = true;
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
  ioapic_service(kvm, pin, e.level && e.remoteIrrLost ? 'level-resent-after-write-cleared-remote-irr' : '');
}

/**
 * kvm_make_all_cpus_request(KVM_REQ_SCAN_IOAPIC) from device context: set the request on
 * every vCPU and IPI those not OUTSIDE_GUEST_MODE (kvm_vcpu_exiting_guest_mode).
 */
function kvm_make_scan_ioapic_request(kvm: Kvm): void {
  for (const t of kvm.vcpus) {
    kvm_make_request(t, REQ_SCAN_IOAPIC);
    if (kvm_vcpu_exiting_guest_mode(t) !== Mode.OUTSIDE) t.phys |= PHYS_CALL_FUNCTION;
  }
}

/**
 * ioapic_write_indirect of a redirection entry's low dword (mask/unmask). Before v4.15 KVM
 * cleared Remote IRR on every such write; since, it keeps it (and clears it for edge
 * entries). In both it re-services an asserted level line without looking at Remote IRR,
 * then asks all vCPUs to rescan the EOI-exit bitmap.
 */
function ioapic_write_rte_low(kvm: Kvm, pin: number, masked: boolean): void {
  const e = kvm.ioapic.rte(pin)!;
  e.masked = masked;
  const wasInService = e.remoteIrr;
  if (!kvm.code.ioapicPreservesRemoteIrr || !e.level) {
    if (e.level && e.remoteIrr) e.remoteIrrLost = true;
    e.remoteIrr = false;
  }
  if (e.level && (kvm.ioapic.irr & (1 << pin))) {
    ioapic_service(kvm, pin, wasInService ? 'level-resent-on-redirection-write' : e.remoteIrrLost ? 'level-resent-after-write-cleared-remote-irr' : '');
  }
  kvm_make_scan_ioapic_request(kvm);
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
    case 'mask': ioapic_write_rte_low(kvm, pin, true); return true;
    case 'unmask': ioapic_write_rte_low(kvm, pin, false); return true;
  }
}

/** Diagnostics: why the last message of the pin with this vector was one bare metal would not send. */
export function kvm_ioapic_send_why(kvm: Kvm, vector: number): string | undefined {
  for (const e of kvm.ioapic.rtes) if (e.vector === vector && (e.lastSendWhy || e.owedWhy)) return e.lastSendWhy || e.owedWhy;
  return undefined;
}

/** kvm_ioapic_scan_entry: level-triggered pins whose destination matches this vCPU. */
export function kvm_ioapic_scan_entry(kvm: Kvm, t: KvmVcpu, handled: VecSet): void {
  vsClear(handled);
  const rtes = kvm.ioapic.rtes;
  for (let i = 0; i < rtes.length; i++) {
    const e = rtes[i]!;
    if (!e.level) continue;
    const mask = resolveDest(kvm.machine.apic, kvm.machine.vcpus, 0, 'none', false, e.dest);
    if (mask & (1 << t.id)) vsAdd(handled, e.vector);
  }
}

/** kvm_ioapic_update_eoi: clear remote IRR and re-deliver a still-asserted level line. */
export function kvm_ioapic_update_eoi(kvm: Kvm, vector: number, level: boolean): void {
  if (!level) return;
  const rtes = kvm.ioapic.rtes;
  for (let i = 0; i < rtes.length; i++) {
    const e = rtes[i]!;
    if (e.vector !== vector) continue;
    e.remoteIrr = false;
    e.remoteIrrLost = false;
    if (e.owedWhy && !kvm.vcpus.some((t) => vsHas(t.vapic.virr, vector) || vsHas(t.pi.pir, vector))) e.owedWhy = '';
    if (!e.masked && (kvm.ioapic.irr & (1 << e.pin))) ioapic_service(kvm, e.pin);
  }
}
