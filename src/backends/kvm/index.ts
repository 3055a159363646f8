// KVM on Intel VMX with APICv posted interrupts, across b95234c84004 (v4.11, "do not use
// KVM_REQ_EVENT for APICv interrupt injection") and the nested follow-up f27a85c4988d (v4.16).
import type { GuestCpu } from '../../apic/guestcpu.js';
import { initialAddr } from '../../apic/dest.js';
import { vsFormat, vsHas, vsOr, hex, type VecSet } from '../../apic/vecset.js';
import type { Event, MachineConfig } from '../../scenario/types.js';
import type { Backend, BackendInstance, ObsSink, VcpuWhere } from '../api.js';
import { Mode, OnFate, REQ_EVENT, REQ_NMI } from './consts.js';
import { apply_event, type EventHooks } from './guest.js';
import { KvmIoapic, TMR_KEPT_BY_SELF_IPI, TMR_KEPT_BY_VTD, kvm_ioapic_refused_why, kvm_ioapic_eoi_lost, kvm_ioapic_hashed_away, kvm_ioapic_remote_irr_cleared, kvm_ioapic_scan_entry, kvm_ioapic_send_why, kvm_ioapic_edge_reserviced_to } from './ioapic.js';
import { pirq } from './pcpu.js';
import { Kvm, type KvmVcpu } from './state.js';
import { synced_while_l2 } from './sync.js';
import { CODE, VARIANTS } from './variants.js';
import { describeEntry, enter, entry_step } from './vcpu_enter_guest.js';
import { withRates } from '../rates.js';
import { LOWEST_ABSENT, LOWEST_PHYS_BROADCAST, recalculate_apic_map } from './apic_map.js';
import { RATES, RATES_SAMPLE } from './rates.js';
import { apic_has_pending_timer, periodic_limited } from './timer.js';
import { SVI_STALE } from './apicv.js';
import { NMI_QUEUED_BEHIND_IRQ, TIMER_PENDING_BEHIND_IRQ, TPR_THRESHOLD_NOT_ARMED } from './inject.js';
import { TIMER_PENDING_BEHIND_NESTED_ACK } from './nested.js';

const HOOKS: EventHooks = {
  enter,
  enterStep: (kvm, t) => { entry_step(kvm, t); },
  pirq,
};

const FATE_TAGS: Record<number, string> = {
  [OnFate.None]: 'pir-on',
  [OnFate.IpiPending]: 'pir-on-notification-pending',
  [OnFate.KickNoop]: 'pir-on-kick-noop',
  [OnFate.SwallowedInGuestMode]: 'pir-on-swallowed-in-guest-mode',
  [OnFate.SwallowedOutside]: 'pir-on-swallowed-outside-guest-mode',
  [OnFate.ConsumedByL2]: 'pir-on-consumed-by-l2-posted-intr',
};

class KvmInstance implements BackendInstance {
  private readonly kvm: Kvm;

  constructor(readonly machine: MachineConfig, variant: string, sink: ObsSink) {
    const code = CODE[variant];
    if (!code) throw new Error(`kvm: unknown variant "${variant}" (known: ${Object.keys(CODE).join(', ')})`);
    this.kvm = new Kvm(machine, code, sink, new KvmIoapic(machine.ioapic));
    for (const t of this.kvm.vcpus) {
      // Start: every vCPU in guest code, so IN_GUEST_MODE with host IRQs disabled; the
      // EOI-exit bitmap reflects the I/O APIC as programmed (vcpu_scan_ioapic at setup).
      t.mode = Mode.IN;
      t.irqsOn = false;
      t.nonRoot = true;
      t.pi.ndst = t.id;
      // The LDR an OS leaves: xAPIC flat bit i, x2APIC derived from the x2APIC ID (vcpu_id: machine.apicIds).
      t.ldr = initialAddr(machine.apic, t.id, t.vcpuId).ldr;
    }
    recalculate_apic_map(this.kvm);
    if (machine.ioapic.some((p) => p.lowest)) this.kvm.ioapicLowest = true;
    for (const t of this.kvm.vcpus) {
      kvm_ioapic_scan_entry(this.kvm, t, t.ioapicHandled);
      vsOr(t.vapic.eoiExit, t.ioapicHandled);
    }
  }

  apply(ev: Event, index: number): void {
    apply_event(this.kvm, ev, index, HOOKS);
  }

  where(cpu: number): VcpuWhere {
    const t = this.kvm.vcpus[cpu]!;
    if (t.nonRoot) return 'guest';
    return t.blocked ? 'blocked' : 'hv';
  }

  inL2(cpu: number): boolean {
    return this.kvm.vcpus[cpu]!.nested.guestMode;
  }

  /**
   * Coverage state: vcpu mode, entry-path pc, requests, PIR ON/SN, blocked, pending NMI/re-injection, host IPIs, timer pending,
   * and whether vmcs01's EOI-exit bitmap lacks vectors of ioapic_handled_vectors because vcpu_scan_ioapic's
   * load went into vmcs02 (eoiExitStale), and whether an EOI now would pass EOI virtualization untrapped although
   * the vIOAPIC waits for it (SVI in ioapic_handled_vectors, not in the EOI-exit bitmap: guest.ts, case 'eoi').
   */
  coverage(cpu: number): number {
    const v = this.kvm.vcpus[cpu]!;
    return v.mode | v.pc << 3 | (v.pi.on ? 1 << 10 : 0) | (v.pi.sn ? 1 << 11 : 0) | (v.blocked ? 1 << 12 : 0) | (v.nmiPending > 0 ? 1 << 13 : 0)
      | (v.interruptPending >= 0 ? 1 << 14 : 0) | (v.nmiInjected ? 1 << 15 : 0) | (v.requests & 0x3f) << 16 | (v.phys & 0x3f) << 22 | (v.timer.pending > 0 ? 1 << 28 : 0)
      | (v.eoiExitStale !== '' ? 1 << 29 : 0)
      | (v.vapic.svi >= 16 && vsHas(v.ioapicHandled, v.vapic.svi) && !vsHas(v.vapic.eoiExit, v.vapic.svi) ? 1 << 30 : 0);
  }

  physPending(cpu: number): boolean {
    return this.kvm.vcpus[cpu]!.phys !== 0;
  }

  guest(cpu: number): GuestCpu {
    return this.kvm.vcpus[cpu]!.guest;
  }

  snapshot(cpu: number): { irr: VecSet; isr: VecSet; ppr: number; extra?: string } {
    const t = this.kvm.vcpus[cpu]!;
    const va = t.vapic;
    const extra = `pir=${vsFormat(t.pi.pir)} on=${t.pi.on ? 1 : 0} rvi=${hex(va.rvi)} svi=${hex(va.svi)} `
      + `req=${t.requests} phys=${t.phys} ${describeEntry(this.kvm, t)}`;
    return { irr: va.virr, isr: va.visr, ppr: va.vppr, extra };
  }

  /**
   * Where an expected vector is held. Race 1 and race 2 differ in what became of the
   * notification; the nested problems in how the vector reached L1's IRR while L2 runs.
   */
  whereStuck(cpu: number, vector: number): string | undefined {
    const t = this.kvm.vcpus[cpu]!;
    if (vector === 2) return nmiStuck(t);
    // Halted with IF = 0: only an NMI could wake it (the oracle lists maskable vectors too
    // once an NMI is deliverable).
    if (t.mpHalted && !t.guest.IF) return 'halted-if0';
    // Never sent here: the APIC map's fast path left this addressed vCPU out. The instance bare
    // metal holds is that message's, whatever later copies sit in PIR or VIRR.
    if (vsHas(t.missedByMap, vector)) return t.missedByMapWhy[vector];
    // The instance bare metal has pending is the oldest: VIRR before a newer posting in PIR.
    // L1's notification consumed by vmcs02 (shared vector): everything in L1's PIR waits on it.
    if (t.pi.on && t.pi.fate === OnFate.ConsumedByL2 && t.nested.guestMode) return FATE_TAGS[OnFate.ConsumedByL2];
    // An expiry bare metal's count had and the limited 200 µs period has not reached yet (asked before VIRR/PIR:
    // a copy of the vector from another source may sit there, bare metal's pending instance is the timer's).
    if (vector >= 16 && periodic_limited(t, vector)) return TIMER_PERIOD_LIMITED;
    // Without APICv: a timer expiry waiting in lapic_timer.pending when a lower vector was acknowledged at injection.
    if (!t.apicvActive && vector === t.timerPendingAtIrqAck) return TIMER_PENDING_BEHIND_IRQ;
    // The same behind the nested VM exit's acknowledgement (L1's ack-on-exit), APICv or not.
    if (vector >= 16 && vector === t.timerPendingAtNestedAck) return TIMER_PENDING_BEHIND_NESTED_ACK;
    if (vsHas(t.vapic.virr, vector)) {
      if (t.nested.guestMode) {
        // Any L1 vector that waited behind a re-injection and is still pending means the
        // episode never ended: everything L1 has pending waits on it.
        if (intersects(t.nested.behindReinjection, t.vapic.virr)) return 'l2-resumed-after-reinjection';
        if (intersects(t.nested.unforcedInL2, t.vapic.virr)) return 'l2-resumed-exit-request-missed';
        // L1's VMRESUME found RVI not above a VPPR computed from the stale SVI: no KVM_REQ_EVENT re-evaluated it.
        if (t.nested.entryVpprFromStaleSvi && (vector & 0xf0) <= (t.vapic.svi & 0xf0)) return SVI_STALE;
        return synced_while_l2(t, vector) ? 'l2-resumed-after-pir-sync' : 'l1-pending-at-nested-entry';
      }
      // Without APICv: the software IRR, held where KVM's injection path left it (inject.ts).
      if (!t.apicvActive) return irrStuckNoApicv(t, vector);
      // After APICv came back with a stale SVI: VPPR from SVI's vector holds a vector of its class or below (SDM 29.2.1).
      if (t.sviStale && (vector & 0xf0) <= (t.vapic.svi & 0xf0)) return SVI_STALE;
      if (t.vapic.rvi < vector) return 'virr-above-rvi';
      if (t.vapic.irqWindowExiting) return 'virr-behind-irq-window';
      return t.vapic.recognized ? 'virr-recognized' : 'virr-not-recognized';
    }
    if (vsHas(t.pi.pir, vector)) {
      // A posting whose notification IPI has not reached the pCPU is in flight, as bare metal's message is on its bus:
      // the instance bare metal has pending is then the level line re-sent at an EOI the vIOAPIC never saw.
      if (t.pi.on && t.pi.fate === OnFate.IpiPending) {
        const lost = kvm_ioapic_eoi_lost(this.kvm, vector);
        if (lost) return lost;
      }
      return t.pi.on ? FATE_TAGS[t.pi.fate] : 'pir-without-on';
    }
    // Nowhere in the vCPU: a level line the vIOAPIC holds behind a Remote IRR whose EOI it never saw, or a level entry
    // whose message vector hashing dropped (bare metal's instance, or its EOI's re-send, is owed).
    return kvm_ioapic_eoi_lost(this.kvm, vector) ?? (vector >= 16 ? kvm_ioapic_hashed_away(this.kvm, vector) : undefined);
  }

  explain(cpu: number, what: string, vector: number): string | undefined {
    const t = this.kvm.vcpus[cpu]!;
    // Vectors 0-15: apic_send_ipi and __apic_accept_irq have no illegal-vector check (no ESR bits;
    // the vector is posted into IRR). Named only where this vCPU sent or accepted one.
    if ((what === 'esr-siv-missing' || (what === 'irr-extra' && vector >= 0 && vector < 16)) && t.illegalVectorSeen) {
      return 'no-illegal-vector-check';
    }
    if (what === 'irr-extra' && vector >= 0 && vector < 16 && t.illegalVectorPosted) return 'illegal-vector-posted-by-vtd';
    // KVM keeps no error state at all: a receiver bare metal chose (a lowest-priority IPI KVM hashed elsewhere, say)
    // misses RIV as much as the vCPU KVM chose. Named when some vCPU sent, accepted or had posted an illegal vector.
    if (what === 'esr-riv-missing') {
      if (this.kvm.vcpus.some((u) => u.illegalVectorSeen)) return 'no-illegal-vector-check';
      if (this.kvm.vcpus.some((u) => u.illegalVectorPosted)) return 'illegal-vector-posted-by-vtd';
      // No illegal vector reached KVM yet: a periodic count whose LVT vector is 0-15 runs at min_timer_period_us, so
      // bare metal's expiry (Receive Illegal Vector, SDM 10.5.3) came and KVM's has not (its own would post the vector
      // and be named above). From the flag limit_periodic_timer_frequency sets (timer.ts).
      if (t.timer.limitedVector >= 0 && t.timer.limitedVector < 16) return TIMER_PERIOD_LIMITED;
      if (t.timer.limited && t.timer.vector < 16) return TIMER_PERIOD_LIMITED;
    }
    // A vector that reached VIRR/PIR while the APIC was software-disabled, by a path that never
    // asks apic_enabled (self-IPI virtualization, VT-d posting): bare metal discarded it.
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra') && vector >= 16 && vsHas(t.landedWhileDisabled, vector)) {
      return t.landedWhileDisabledWhy[vector];
    }
    // A level message the APIC map's fast path did not send here: TMR shows no level vector where bare
    // metal's accepted one set it (read before the held vector is judged).
    if ((what === 'tmr-clear-for-level' || what === 'tmr-cleared-after-eoi') && vector >= 16 && vsHas(t.missedByMap, vector)) return t.missedByMapWhy[vector];
    // An edge entry of the vector re-serviced by a level EOI (kvm_ioapic_update_eoi), addressed here: the acceptance of
    // that edge message, which bare metal never sends, cleared the TMR bit bare metal's level message left set.
    if ((what === 'tmr-clear-for-level' || what === 'tmr-cleared-after-eoi') && vector >= 16) {
      const edge = kvm_ioapic_edge_reserviced_to(this.kvm, cpu, vector);
      if (edge) return edge;
    }
    // A lowest-priority physical broadcast KVM sent as fixed to every APIC ("phys broadcast and lowest prio").
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra') && vsHas(t.lowestSentFixed, vector)) return LOWEST_PHYS_BROADCAST;
    // Without APICv a timer expiry waits in lapic_timer.pending while an instance of its vector is in IRR: bare metal
    // merges them, KVM delivers both when it acknowledges the IRR instance at injection before the loop tail.
    if (what === 'collapsed' && !t.apicvActive && vector >= 16 && vector === t.timer.vector && apic_has_pending_timer(t)
      && vsHas(t.vapic.virr, vector)) return TIMER_PENDING_BEHIND_IRQ;
    // An instance that crossed an SVR write, settled as discarded where bare metal would have taken it, that KVM holds
    // in IRR because the TPR write that made it deliverable did not exit (threshold not armed while disabled).
    if (what === 'collapsed' && !t.apicvActive && vector >= 16 && vsHas(t.vapic.virr, vector)
      && irrStuckNoApicv(t, vector) === TPR_THRESHOLD_NOT_ARMED) return TPR_THRESHOLD_NOT_ARMED;
    // The second instance of a timer vector whose expiry waited in lapic_timer.pending behind an acknowledgement.
    if ((what === 'duplicate' || what === 'irr-extra') && !t.apicvActive && vector >= 16 && vector === t.timerPendingAtIrqAck) {
      return TIMER_PENDING_BEHIND_IRQ;
    }
    // A message bare metal collapsed into the pending instance, still held apart in PIR.
    if (what === 'collapsed' && vector !== 2 && vsHas(t.pi.pir, vector)) return t.pi.on ? FATE_TAGS[t.pi.fate] : 'pir-without-on';
    // An NMI bare metal would have taken at this boundary (so an optional one had collapsed),
    // held in nmi_pending behind the interrupt window enable_nmi_window asked for under STI
    // blocking: its later injection is that hold, not a duplicate of its own.
    if (what === 'collapsed' && vector === 2 && nmiStuck(t) === 'nmi-behind-irq-window') return 'nmi-behind-irq-window';
    // An extra pin message also shows as a TMR bit (its trigger mode) where bare metal has none.
    // A lowest-priority choice bare metal's addressing does not include, of a message bare metal does not send at all
    // (a level EOI re-servicing another pin's edge entry of the vector): its choice is the one the reference misreads.
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra' || what === 'tmr-set-without-level-message'
      || what === 'tmr-level-pin-before-acceptance' || what === 'lowest-priority-misrouted') && vector >= 16) {
      const why = kvm_ioapic_send_why(this.kvm, vector);
      if (why) return why;
    }
    // A Remote IRR still set, or a level message never re-sent (TMR clear where bare metal has the
    // re-delivered vector), because an EOI the vIOAPIC was owed went through untrapped.
    if ((what === 'redir-remote-irr-stale' || what === 'tmr-clear-for-level') && vector >= 16) {
      const lost = kvm_ioapic_eoi_lost(this.kvm, vector);
      if (lost) return lost;
    }
    // A level message every destination discarded (software-disabled APIC): ioapic_service left
    // Remote IRR clear.
    if (what === 'redir-remote-irr-missing') {
      const refused = kvm_ioapic_refused_why(this.kvm, vector);
      if (refused) return refused;
    }
    // A VT-d posted edge message left TMR set: the EOI was broadcast as level and cleared Remote IRR.
    if (what === 'redir-remote-irr-missing' && vector >= 16 && this.kvm.ioapic.eoiWhy[vector]) return this.kvm.ioapic.eoiWhy[vector];
    // A lowest-priority edge message of the vector that vector hashing dropped (apic_map.ts): bare metal's acceptance
    // here cleared TMR (SDM 10.8.4), KVM's level bit stays.
    if ((what === 'tmr-level-pin-before-acceptance' || what === 'tmr-set-without-level-message') && vector >= 16
      && vsHas(t.edgeLostByHashing, vector)) return LOWEST_ABSENT;
    if (what === 'tmr-set-without-level-message' && vector >= 16 && vsHas(t.tmrKeptByVtd, vector)) return TMR_KEPT_BY_VTD;
    if (what === 'tmr-set-without-level-message' && vector >= 16 && vsHas(t.tmrKeptBySelfIpi, vector)) return TMR_KEPT_BY_SELF_IPI;
    // Before v4.15 a redirection write cleared Remote IRR: a read shows it clear while in service.
    if (what === 'redir-remote-irr-missing' && kvm_ioapic_remote_irr_cleared(this.kvm, vector)) return 'remote-irr-cleared-by-redirection-write';
    // process_nmi allows two NMIs pending when none is in service, expecting to inject the first
    // at once; when it cannot (STI shadow, interrupt window), both are delivered where bare
    // metal latched one.
    if (what === 'duplicate' && vector === 2 && t.nmiTwoPending) return 'process-nmi-two-pending';
    if (what === 'duplicate' && vector === 2 && t.nested.l1NmiExitInHandler) return 'l1-nmi-exit-inside-l1-nmi-handler';
    // After APICv came back with a stale SVI: a virtualized EOI cleared SVI's vector, not the one in service, and PPR
    // virtualization (from SVI) let through a vector the one in service masks.
    if ((what === 'isr-not-cleared' || what === 'masked-ppr' || what === 'ppr-mismatch') && t.sviStale) return SVI_STALE;
    if (what === 'ran-while-halted') {
      // kvm_vcpu_has_events counts a queued NMI (KVM_REQ_NMI / nmi_queued) even while NMIs
      // are blocked; pi_pre_block (VT-d) does not block while PIR.ON is set.
      if (t.unhaltedBy === 'blocked-nmi') return 'hlt-ended-by-blocked-nmi';
      if (t.unhaltedBy === 'pi-pre-block-on') return 'hlt-ended-by-pi-pre-block-on';
      // Without APICv: kvm_vcpu_has_events saw an IRR vector above PPR, but the TPR drop that made it deliverable did not
      // exit (threshold not armed while software-disabled), so no KVM_REQ_EVENT injects it: the guest resumes after HLT.
      if (!t.apicvActive && t.unhaltedBy === 'interrupt' && t.tprThresholdStale && (t.requests & REQ_EVENT) === 0) return TPR_THRESHOLD_NOT_ARMED;
    }
    // The timer (asked last: the paths above name other sources of the same vector first). An expiry taken while
    // the LVT was masked, injected once unmasked; a periodic count below min_timer_period_us running at 200 µs.
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra') && vector >= 16 && vector === t.timer.maskedExpiryVector) {
      return TIMER_MASKED_EXPIRY;
    }
    if ((what === 'tmcct-mismatch' && periodic_limited(t, -1))
      || ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra') && vector >= 16 && periodic_limited(t, vector))) {
      return TIMER_PERIOD_LIMITED;
    }
    return undefined;
  }
}

/** apic_timer_expired ran while the LVT was masked: lapic_timer.pending stays set and is injected at the unmask. */
export const TIMER_MASKED_EXPIRY = 'timer-expiry-while-masked-delivered-on-unmask';
/** limit_periodic_timer_frequency: a periodic count below min_timer_period_us (200 µs = 200000 ticks) is raised to it. */
export const TIMER_PERIOD_LIMITED = 'periodic-timer-period-limited';

/** Where a vector in the software IRR (no APICv) is held: behind the interrupt window, the TPR threshold, or a request. */
function irrStuckNoApicv(t: KvmVcpu, vector: number): string {
  if (t.vapic.irqWindowExiting) return 'irr-behind-irq-window';
  if (t.tprThresholdStale && (t.requests & REQ_EVENT) === 0) return TPR_THRESHOLD_NOT_ARMED;
  if (t.vapic.tprThreshold > 0 && (vector >> 4) <= t.vapic.tprThreshold) return 'irr-behind-tpr-threshold';
  if (t.requests & REQ_EVENT) return 'irr-kvm-req-event-pending';
  return 'irr-not-injected';
}

/** Where a pending NMI is held. */
function nmiStuck(t: KvmVcpu): string | undefined {
  if (t.nmiQueuedAtIrqAck && (t.nmiQueued > 0 || t.nmiPending > 0 || (t.requests & REQ_NMI) !== 0)) return NMI_QUEUED_BEHIND_IRQ;
  if (t.nmiQueuedAtNestedAck && (t.nmiQueued > 0 || t.nmiPending > 0 || (t.requests & REQ_NMI) !== 0)) return t.nmiQueuedAtNestedAck;
  if (t.nmiMissedWhy && t.nmiQueued === 0 && t.nmiPending === 0 && !t.nmiInjected) return t.nmiMissedWhy;
  if (t.nmiQueued === 0 && t.nmiPending === 0 && !t.nmiInjected && (t.requests & REQ_NMI) === 0) return undefined;
  if (t.blocked) return t.nmiPending > 0 && t.nmiQueued === 0 ? 'nmi-pending-halted-not-runnable' : 'nmi-vcpu-blocked';
  // As for interrupts: refused while nested_run_pending (or behind a re-injection) and not
  // re-evaluated once L2 runs.
  if (t.nested.guestMode) return t.nmiInjected || t.interruptPending >= 0 || t.nested.nmiBehindReinjection ? 'l2-resumed-after-reinjection' : 'l1-pending-at-nested-entry';
  // enable_nmi_window with STI blocking asks for an interrupt window, which waits for IF = 1.
  if (t.vapic.irqWindowExiting && t.nmiPending > 0) return 'nmi-behind-irq-window';
  if (t.vapic.nmiWindowExiting) return 'nmi-window-armed';
  return 'nmi-pending';
}

function intersects(a: VecSet, b: VecSet): boolean {
  for (let w = 0; w < 8; w++) if ((a[w]! & b[w]!) !== 0) return true;
  return false;
}

export const kvm: Backend = {
  name: 'kvm',
  description: 'Linux KVM, Intel VMX with APICv (virtual-interrupt delivery, posted interrupts): '
    + 'vcpu_enter_guest before/after b95234c84004 (v4.11), the nested fix f27a85c4988d (v4.16) and v6.12; '
    + 'v6.12 without APICv (enable_apicv=0: software IRR, KVM_REQ_EVENT + kick, injection through VM_ENTRY_INTR_INFO, '
    + 'interrupt window, TPR threshold, EOI exits); '
    + 'optional VT-d posting of device MSIs; L1 giving L2 posted interrupts (machine nested.postedIntr); '
    + 'LDR/DFR writes and the APIC map of each tree, logical and lowest-priority (vector hashing) destinations; '
    + 'xAPIC ID writes and machine.apicIds (v6.12: the run-time APICv inhibit, each vCPU switching at its next entry); '
    + 'the local APIC timer (hrtimer on the vCPU\'s pCPU, apic_timer_expired → vcpu_run loop tail).',
  variants: withRates(VARIANTS, RATES, RATES_SAMPLE),
  // Scenario features modeled (src/scenario/features.ts): ioapic.c's redirection-entry writes and reads
  // (ioapic_write_indirect: Remote IRR per version, the re-service of an asserted level line,
  // KVM_REQ_SCAN_IOAPIC → vcpu_scan_ioapic → the EOI-exit bitmap of the current VMCS), in physical or
  // logical destination mode; INT n (a guest-core step: not intercepted); register reads of
  // ID/LVR/LDR/DFR/SVR (virtual-APIC page) and TMCCT (apic_get_tmcct, after an exit); the
  // x2APIC SELF_IPI write (self-IPI virtualization, no exit); SVR, ESR, LDR and DFR writes
  // (kvm_lapic_reg_write after the APIC-write exit; LDR/DFR rebuild the APIC map that routes every
  // IPI, MSI and I/O APIC message, apic_map.ts); 32-bit x2APIC ICR destinations; xAPIC ID writes and
  // machine.apicIds (vcpu_id = the APIC ID, as QEMU creates vCPUs; the physical map by ID; in v6.12 an ID
  // other than vcpu_id or shared by two vCPUs inhibits APICv at run time, each vCPU switching to the software
  // LAPIC at its next KVM_REQ_APICV_UPDATE: apicv.ts); lowest-priority redirection entries (their choice,
  // made in the exit handling, reported before the instruction: held_sink.ts). Not: LINT
  // (KVM has no guest-visible LINT line: LVT0/LVT1 writes are stored, LINT0 is read only as the PIC's ExtINT
  // gate, kvm_apic_accept_pic_intr, and as the PIT's NMI watchdog, kvm_apic_nmi_wd_deliver; nothing raises
  // LINT1); scenarios using it are refused as unsupported. The APIC timer (lvt_timer, tsc_deadline, time):
  // the hrtimer on the vCPU's pCPU, apic_timer_fn → apic_timer_expired → the vcpu_run loop tail (timer.ts). Lowest-priority IPIs and MSIs:
  // vector hashing (apic_map.ts kvm_lowest_prio_target). I/O APIC ID/version/arbitration writes:
  // ioapic_write_indirect keeps 4 ID bits, ignores the other two; both ID and ARB_ID read the ID (ioapic.ts).
  features: ['ioapic_write', 'ioapic_read', 'ioapic_reg_write', 'int',
    'lapic_read.id', 'lapic_read.ldr', 'lapic_read.dfr', 'lapic_read.svr', 'lapic_read.version', 'lapic_read.tmcct',
    'self_ipi', 'lapic_write.svr', 'lapic_write.esr', 'lapic_write.ldr', 'lapic_write.dfr', 'ioapic.logical', 'ipi.dest32',
    'ipi.lowest', 'msi.lowest', 'lvt_timer', 'tsc_deadline', 'time',
    'lapic_write.id', 'machine.apicIds', 'ioapic.lowest'],
  supports(machine: MachineConfig): string | null {
    if (machine.hyperv?.apicAssist) return 'Hyper-V APIC assist is not modelled for KVM';
    // machine.apicIds are the VMM's vcpu_ids (QEMU passes the APIC ID to KVM_CREATE_VCPU): kvm_vm_ioctl_create_vcpu
    // refuses an id at or above max_vcpu_ids (KVM_MAX_VCPU_IDS = 4 × CONFIG_KVM_MAX_NR_VCPUS, 4096 by default).
    if (machine.apicIds?.some((id) => id >= 4096)) return 'an APIC ID of 4096 or more: KVM_CREATE_VCPU refuses such a vcpu_id (KVM_MAX_VCPU_IDS)';
    if (machine.nested && !machine.nested.exitOnIntr) {
      return 'L2 without external-interrupt exiting (legacy injection of L1 interrupts into L2) is not modelled';
    }
    return null;
  },
  create(variant: string, machine: MachineConfig, sink: ObsSink): BackendInstance {
    return new KvmInstance(machine, variant, sink);
  },
};

export default kvm;
