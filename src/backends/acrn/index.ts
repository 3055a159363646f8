// ACRN (projectacrn/acrn-hypervisor): request-driven injection through the vCPU thread loop,
// in APICv basic mode (software vLAPIC, VM-entry injection) and advanced mode (virtual-interrupt
// delivery and posted interrupts), from the 2018 tree to v3.3 (variants.ts).
import type { GuestCpu } from '../../apic/guestcpu.js';
import { hex, vsFormat, vsHas, type VecSet } from '../../apic/vecset.js';
import type { Event, MachineConfig } from '../../scenario/types.js';
import type { Backend, BackendInstance, ObsSink, VcpuWhere } from '../api.js';
import { CODE } from './code.js';
import { Inj, PC_NAMES, PHYS_NV, PHYS_TIMER, Pc, REQ_EVENT, REQ_NAMES, REQ_NMI, Wait } from './consts.js';
import { apply_event, TMR_KEPT_BY_SELF_IPI } from './guest.js';
import { Acrn, type AcrnVcpu } from './state.js';
import { VARIANTS } from './variants.js';
import { Vioapic } from './vioapic.js';
import { vioapic_update_tmr } from './virq.js';
import { vlapic_receive_intr } from './vmexit.js';
import { timer_is_started } from './timer.js';
import { LEVEL_EOI_SWALLOWED, phys_pending } from './vmx.js';
import { prio } from './vlapic.js';

function reqText(req: number): string {
  let s = '';
  for (let b = 0; b < REQ_NAMES.length; b++) if (req & (1 << b)) s += (s ? '|' : '') + REQ_NAMES[b];
  return s || '-';
}

class AcrnInstance implements BackendInstance {
  private readonly acrn: Acrn;

  constructor(readonly machine: MachineConfig, variant: string, sink: ObsSink) {
    const code = CODE[variant];
    if (!code) throw new Error(`acrn: unknown variant "${variant}" (known: ${Object.keys(CODE).join(', ')})`);
    const acrn = new Acrn(machine, code, sink);
    this.acrn = acrn;
    acrn.vioapic = new Vioapic(machine.ioapic, (level, dest, phys, lowest, vector, from, why) => {
      // The arbitration of a message bare metal does not send is not reported: the reference has no message to apply it to.
      vlapic_receive_intr(acrn, level, dest, phys, lowest, vector, from, !why);
    });
    if (code.tree === '2018') {
      // 2018: the TMR comes from the redirection table (vioapic_update_tmr after the RTE writes
      // at boot, on every vCPU whatever the destination), and with VID apicv_batch_set_tmr writes
      // it to the EOI-exit bitmap.
      for (const t of acrn.vcpus) vioapic_update_tmr(acrn, t);
    }
  }

  apply(ev: Event, index: number): void {
    apply_event(this.acrn, ev, index);
  }

  where(cpu: number): VcpuWhere {
    const t = this.acrn.vcpus[cpu]!;
    switch (t.pc) {
      case Pc.Guest: return 'guest';
      case Pc.Blocked: case Pc.Dead: return 'blocked';
      default: return 'hv';
    }
  }

  inL2(_cpu: number): boolean {
    return false;
  }

  /**
   * Coverage state: thread pc, wait reason, PIR ON, pending_req bits, injection/window/re-injection state, and the
   * vcpu_thread's and notifications' history the rare races start from: a second acrn_handle_pending_request pass
   * since the exit (#3374), a signal_event ahead of its request outstanding / woken by one / slept through one
   * (#8507), and where the current ON episode's notification landed in root (#4937, vcpu_handle_pi_notification): another
   * pCPU's, dropped; or its own, dropped or taken.
   */
  coverage(cpu: number): number {
    const t = this.acrn.vcpus[cpu]!;
    return t.pc | t.wait << 4 | (t.on ? 1 << 8 : 0) | (t.pendingReq & 0xff) << 9 | (t.injVector !== 0 ? 1 << 17 : 0) | (t.irqWindow ? 1 << 18 : 0)
      | (t.idtVector >= 0 ? 1 << 19 : 0) | (t.cancelledVector !== 0 ? 1 << 20 : 0) | (t.needResched ? 1 << 21 : 0) | (t.dmPending ? 1 << 22 : 0)
      | (timer_is_started(t) ? 1 << 23 : 0) | (t.softirqTimer ? 1 << 24 : 0) | (t.latched & PHYS_TIMER ? 1 << 25 : 0)
      | (t.passes > 1 ? 1 << 26 : 0) | (t.earlySignal > 0 ? 1 << 27 : 0) | (t.wokeEarly ? 1 << 28 : 0) | (t.sleptEarly ? 1 << 29 : 0)
      | (t.onFate === 'notification-dropped-not-pi-capable' ? 1 << 30 : 0)
      | (t.onFate === 'notification-taken-in-root' || t.onFate === 'self-notification-dropped-not-pi-capable' ? 1 << 31 : 0);
  }

  physPending(cpu: number): boolean {
    return phys_pending(this.acrn.vcpus[cpu]!);
  }

  guest(cpu: number): GuestCpu {
    return this.acrn.vcpus[cpu]!.guest;
  }

  snapshot(cpu: number): { irr: VecSet; isr: VecSet; ppr: number; extra?: string } {
    const t = this.acrn.vcpus[cpu]!;
    const adv = this.acrn.code.mode === 'advanced';
    let extra = `${PC_NAMES[t.pc]} irqs=${t.irqsOn ? 'on' : 'off'} req=${reqText(t.pendingReq)} tpr=${hex(t.page.tpr)}`;
    if (adv) extra += ` pir=${vsFormat(t.pir)} on=${t.on ? 1 : 0} rvi=${hex(t.rvi)} svi=${hex(t.svi)}`;
    else extra += ` isrv=${hex(t.isrv)} tpr_threshold=${t.tprThreshold}`;
    if (t.irqWindow) extra += ' irq-window';
    if (t.inflight) extra += ` inflight=${t.inflight & PHYS_NV ? (t.nvSelf ? 'NV(self)' : 'NV') : ''}${t.inflight & 2 ? 'NOTIFY' : ''}`;
    if (t.latched) extra += ` latched=${t.latched}`;
    if (t.swInflight) extra += ` sender-steps=${t.swInflight}`;
    if (t.dmPending) extra += ' dm-request';
    if (t.evIntr.set || t.evIntr.waiting) extra += ` ev=${t.evIntr.set ? 'set' : ''}${t.evIntr.waiting ? 'waiting' : ''}`;
    if (t.needResched) extra += ' need_resched';
    if (t.idtVector >= 0) extra += ` idt=${hex(t.idtVector)}`;
    if (timer_is_started(t) || t.tscDeadline) extra += ` vtimer=${t.vtimer.timeout}${t.vtimer.periodic ? `+${t.vtimer.period}` : ''} now=${t.now}`;
    if (t.softirqTimer) extra += ' softirq(TIMER)';
    return { irr: t.page.irr, isr: t.page.isr, ppr: t.page.ppr, extra };
  }

  /** Where the mechanism holds an interrupt that bare metal would have taken. */
  whereStuck(cpu: number, vector: number): string | undefined {
    const t = this.acrn.vcpus[cpu]!;
    // A message vlapic_calc_dest sent elsewhere or nowhere (an ID write it does not follow, a
    // lowest-priority IPI it drops, ...), not yet made up for by a delivery of the vector.
    if (t.misrouted[vector & 0xff]) return t.misrouted[vector & 0xff];
    // An expiry bare metal had and the vLAPIC timer did not have (yet): what the vLAPIC holds of the
    // vector, if anything, is another message's instance (timer.ts timerWhy).
    const tw = vector >= 16 ? timerWhy(t, vector) : undefined;
    if (tw) return tw;
    if (vector === 2) return nmiStuck(t);
    if (vsHas(t.overwritten, vector)) return 'injection-overwritten-by-second-pass';
    // Asleep in the HLT wait with the interrupt accepted: the signal came before the request
    // bit and reset_event or an earlier wait consumed it (#8507).
    if (this.acrn.code.signal === 'before' && t.pc === Pc.Blocked && t.wait === Wait.VirtualInterrupt && t.sleptEarly
      && (vsHas(t.pir, vector) || vsHas(t.page.irr, vector))) return 'signal-before-request';
    // An edge message bare metal did not accept here (a vIOAPIC re-send, a device message routed here) cleared the TMR
    // bit of the level message then in service: that EOI was lost and the level pin waits under Remote IRR because of it.
    if (vector >= 16 && t.tmrExtraWhy[vector] && !vsHas(t.page.tmr, vector)) {
      const lost = this.acrn.vioapic.eoiLostWhy(vector);
      if (lost) return lost;
    }
    if (vsHas(t.pir, vector)) return pirStuck(t, vector);
    if (vsHas(t.page.irr, vector)) return this.acrn.code.mode === 'advanced' ? virrStuck(t, vector) : irrStuck(t, vector, this.acrn.code.tprThreshold);
    if (t.idtVector === vector) return 'idt-vectoring-pending';
    // A level interrupt whose EOI the vIOAPIC never saw: Remote IRR stays set, the pin never fires again.
    if (vsHas(t.eoiSwallowed, vector)) return LEVEL_EOI_SWALLOWED;
    // The pin such an EOI left under Remote IRR, seen from another vCPU or after a rewrite of its entry; and (2018)
    // the same for an EOI not forwarded because another pin's edge entry cleared the vector's TMR bit.
    return vector >= 16 ? this.acrn.vioapic.eoiLostWhy(vector) : undefined;
  }

  explain(cpu: number, what: string, vector: number): string | undefined {
    const t = this.acrn.vcpus[cpu]!;
    switch (what) {
      case 'ran-while-halted':
        if (!t.hltResumed) return undefined;
        if (t.on && (t.inflight & PHYS_NV) !== 0 && t.nvSelf) return 'hlt-resumed-before-self-notification';
        return t.hltEnd || undefined;
      case 'handler-not-entered':
        if (t.overwrittenNmi || !isEmpty(t.overwritten)) return 'injection-overwritten-by-second-pass';
        if (t.idtDropped >= 0) return 'idt-vectoring-dropped-for-nmi';
        return undefined;
      case 'masked':
        if (t.passes > 1) return 'injection-overwritten-by-second-pass';
        return undefined;
      case 'masked-ppr':
        return this.acrn.code.tree === '2018' ? 'injected-above-stale-ppr' : undefined;
      case 'nmi-blocked':
        return t.nmiUnchecked ? 'nmi-injected-without-blocking-check' : undefined;
      case 'collapsed':
        // An NMI bare metal merged into the pending one while ACRN keeps its own request for it.
        if (vector === 2) {
          // 2018: the NMI injection cancelled at the switch-out (inject_info) and a new NMI request
          // are two NMIs; bare metal latches one.
          if (t.cancelledType === Inj.Nmi && (t.pendingReq & REQ_NMI) !== 0) return 'nmi-held-apart-from-cancelled-injection';
          return (t.pendingReq & REQ_NMI) !== 0 ? nmiStuck(t) : undefined;
        }
        // The ICR write of this vCPU is reported when its first message is accepted; its own copy
        // may still wait in the handler's steps, bound for PIR beside the vIRR instance.
        if (this.acrn.code.apicv === 'pi-self-ipi' && this.acrn.code.mode === 'advanced' && vsHas(t.page.irr, vector)
          && (vsHas(t.pir, vector) || pendingSelfAccept(t, vector))) return 'pir-held-apart-until-self-notification';
        if (!vsHas(t.pir, vector)) {
          // Basic mode: an instance held in IRR below a PPR the guest has since lowered.
          if (this.acrn.code.mode === 'basic' && vsHas(t.page.irr, vector)) {
            const tag = irrStuck(t, vector, this.acrn.code.tprThreshold);
            if (tag === 'irr-below-stale-ppr' || tag === 'irr-tpr-threshold-stale') return tag;
          }
          return undefined;
        }
        // Held apart from the instance pending in vIRR until posted-interrupt processing merges
        // them; with the self-IPI offload the guest can take the vIRR instance first.
        if (this.acrn.code.apicv === 'pi-self-ipi' && vsHas(t.page.irr, vector)) return 'pir-held-apart-until-self-notification';
        return pirStuck(t, vector);
      case 'tmcct-mismatch':
        return t.timerWhy || undefined;
      case 'esr-riv-missing':
        // A device message with an illegal vector skipped by vlapic_receive_intr while disabled.
        if (t.rivSkippedShown) return 'riv-skipped-while-software-disabled';
        return t.rivWhy || undefined;
      case 'ppr-mismatch': case 'ppr-low-nibble-lost':
        // Basic mode: vlapic_read returns lapic->ppr, not recomputed since a virtualized TPR write.
        return t.pprStaleByTpr ? 'ppr-stale-after-virtualized-tpr-write' : undefined;
      case 'esr-extra-bits': case 'esr-mismatch':
        // A device message with an illegal vector that vlapic_calc_dest sent here, not elsewhere.
        return t.rivWhy || undefined;
      case 'tmr-set-without-level-message':
        // 2018: vioapic_update_tmr visits the pins' current vectors only.
        if (this.acrn.code.tree === '2018' && vsHas(t.page.tmr, vector) && !this.acrn.vioapic.isLevelVector(vector)) return 'tmr-kept-for-rewritten-vector';
        // 2018: TMR is the table's, so an edge message of a level pin's vector (an IPI, MSI or the timer sharing it) leaves it set.
        if (this.acrn.code.tree === '2018' && vsHas(t.page.tmr, vector) && this.acrn.vioapic.isLevelVector(vector)) return 'tmr-programmed-from-rtbl';
        // Advanced mode: a virtualized self-IPI left the level message's TMR bit (SDM 29.1.5).
        if (vsHas(t.tmrKeptBySelfIpi, vector) && vsHas(t.page.tmr, vector) && !t.wrongTarget[vector]) return TMR_KEPT_BY_SELF_IPI;
        // A level message routed here that bare metal sent elsewhere; or an edge message bare metal accepted here (its
        // acceptance clears TMR, SDM 10.8.4) that ACRN sent elsewhere or nowhere (a lowest-priority IPI
        // vlapic_write_icrlo drops, ...): vlapic_set_tmr never ran here to clear the level message's bit.
        if (t.wrongTarget[vector] || t.misrouted[vector]) return t.wrongTarget[vector] || t.misrouted[vector];
        // Since 2019: the level message an EOI bare metal does not broadcast re-sent (vioapic_process_eoi) set TMR at its
        // acceptance, where bare metal's last acceptance of the vector was edge.
        return vsHas(t.page.tmr, vector) && t.tmrExtraWhy[vector] ? t.tmrExtraWhy[vector] : undefined;
      case 'redir-remote-irr-missing':
        return this.acrn.vioapic.eoiWhy(vector);
      case 'redir-remote-irr-stale':
        // The instance of the pin's vector the guest took and EOIed here was one bare metal never accepted (a self-IPI
        // virtualized at a software-disabled vLAPIC, ...): its TMR bit was clear, so no EOI reached the vIOAPIC, while
        // bare metal's guest took and EOIed the level message itself.
        return t.wrongTarget[vector] || undefined;
      case 'tmr-level-pin-before-acceptance':
        // Since 2019 TMR is set at acceptance (vlapic_set_tmr): a level message routed here that
        // bare metal sent elsewhere. 2018 programs it from the table (vioapic_update_tmr): the bit of a pin's current level vector.
        if (this.acrn.code.tree === '2018') return vsHas(t.page.tmr, vector) && this.acrn.vioapic.isLevelVector(vector) ? 'tmr-programmed-from-rtbl' : undefined;
        if (t.wrongTarget[vector]) return t.wrongTarget[vector];
        // The shape of tmr-set-without-level-message once the entry was rewritten level since bare metal's last (edge)
        // acceptance here, or while the level message that set the bit here is one bare metal never sent: an edge IPI
        // ACRN sent elsewhere or nowhere (a lowest-priority IPI vlapic_write_icrlo drops), so vlapic_set_tmr never ran
        // here to clear the level message's bit; a level message bare metal did not send here (tmrExtraWhy).
        if (!vsHas(t.page.tmr, vector)) return undefined;
        if (vsHas(t.tmrKeptBySelfIpi, vector)) return TMR_KEPT_BY_SELF_IPI;
        return t.edgeLostWhy[vector] || t.tmrExtraWhy[vector] || undefined;
      case 'tmr-clear-for-level': case 'tmr-cleared-after-eoi':
        // Since 2019: an edge message bare metal did not accept here (a redirection-entry write's re-send, a device message
        // routed here) cleared the level message's bit at its acceptance (vlapic_set_tmr), or its instance took the level
        // message in (levelCollapsedWhy).
        if (t.tmrExtraWhy[vector] && !vsHas(t.page.tmr, vector)) return t.tmrExtraWhy[vector];
        // 2018: vioapic_update_tmr (ACRN_REQUEST_TMR_UPDATE after an RTE write) clears the bit of
        // a pin rewritten edge before any edge message of it is accepted; bare metal keeps the
        // level acceptance's TMR until then (kvm-unit-tests test_ioapic_edge_tmr).
        if (this.acrn.code.tree === '2018' && !vsHas(t.page.tmr, vector) && this.acrn.vioapic.isEdgeVector(vector)) return 'tmr-edge-pin-before-acceptance';
        // A level message bare metal accepted here that vlapic_calc_dest sent elsewhere.
        if (t.misrouted[vector]) return t.misrouted[vector];
        // 2018: vioapic_update_tmr recomputes TMR from the table as it is now; a vector a later
        // redirection write removed loses the bit its accepted level message set.
        if (this.acrn.code.tree === '2018' && !vsHas(t.page.tmr, vector) && !this.acrn.vioapic.isLevelVector(vector)) return 'tmr-cleared-by-table-update';
        return undefined;
      case 'lowest-priority-misrouted':
        // vlapic_calc_dest_noshort chose a vCPU bare metal's addressing does not include.
        return t.wrongTarget[vector] || this.acrn.vioapic.sendWhy(vector);
      case 'id-mismatch':
        // vlapic_write drops the ID write (basic mode: nothing writes the page's ID).
        return !this.acrn.x2apic && t.archId !== t.page.id >>> 24 ? 'apic-id-write-ignored' : undefined;
      case 'duplicate': case 'spurious': case 'irr-extra': {
        // An NMI IPI that vlapic_calc_dest sent here and bare metal elsewhere.
        if (vector === 2 && what !== 'irr-extra') return t.wrongTarget[2] || undefined;
        if (vector < 16) return undefined;
        // A message bare metal merged with another one in flight, held apart in PIR and synced late.
        if (what === 'duplicate' && t.heldWhy[vector]) return t.heldWhy[vector];
        // A message vlapic_calc_dest sent here and bare metal elsewhere (or nowhere).
        if (t.wrongTarget[vector]) return t.wrongTarget[vector];
        const io = this.acrn.vioapic.sendWhy(vector);
        if (io) return io;
        // An expiry of the vLAPIC timer where bare metal's timer had none.
        const tw = timerWhy(t, vector);
        if (tw) return tw;
        if (what === 'irr-extra' && this.acrn.code.mode === 'basic' && vsHas(t.page.irr, vector)) {
          const tag = irrStuck(t, vector, this.acrn.code.tprThreshold);
          if (tag === 'irr-below-stale-ppr' || tag === 'irr-tpr-threshold-stale') return tag;
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

/** Why the vLAPIC timer's expiry of `vector` (its LVT's) is not in the vLAPIC where bare metal has it, if it is not. */
function timerWhy(t: AcrnVcpu, vector: number): string | undefined {
  if (vector === (t.page.lvtTimer & 0xff)) {
    // The pCPU's timer interrupt came while host IRQs were off on the entry path: it waits in the
    // pCPU's IRR behind the injection acrn_handle_pending_request already chose, and timer_softirq
    // sets the vIRR only after the VM entry exits for it.
    if (t.latched & PHYS_TIMER) return 'timer-expiry-held-irqs-off-at-entry';
    if (t.softirqTimer) return 'timer-softirq-pending';
  }
  // An expiry bare metal's timer had and the vLAPIC timer did not (or the reverse), by the cause
  // noted when the vLAPIC timer parted from it.
  if (t.timerHeldWhy[vector]) return t.timerHeldWhy[vector];
  if (vsHas(t.timerOwed, vector) || vsHas(t.timerExtra, vector)) return t.timerMissedWhy[vector] || t.timerWhy || undefined;
  return undefined;
}

/** The vCPU's own exit handler still has to accept `vector` for itself (a self or broadcast IPI). */
function pendingSelfAccept(t: AcrnVcpu, vector: number): boolean {
  for (const op of t.ops) if ((op & 0xf) === 0 && ((op >>> 4) & 0xf) === t.id && ((op >>> 8) & 0xff) === vector) return true;
  return false;
}

function isEmpty(s: VecSet): boolean {
  for (let w = 0; w < 8; w++) if (s[w] !== 0) return false;
  return true;
}

function nmiStuck(t: AcrnVcpu): string | undefined {
  if (t.overwrittenNmi) return 'injection-overwritten-by-second-pass';
  // An NMI injected into an NMI handler consumed the request bit bare metal would still latch.
  if (t.nmiNested) return 'nmi-injected-without-blocking-check';
  // A new NMI collapsed into the request that re-injects a faulted NMI delivery.
  if (t.nmiMergedReplay) return 'nmi-merged-into-reinjection';
  if ((t.pendingReq & REQ_NMI) === 0) return undefined;
  if (t.pc === Pc.Blocked) return 'nmi-request-vcpu-asleep';
  if (t.irqWindow) return 'nmi-behind-irq-window';
  if (t.nmiBehindCancelled) return 'nmi-request-behind-cancelled-injection';
  return 'nmi-request-pending';
}

/** A vector in the posted-interrupt descriptor: what became of its notification. */
function pirStuck(t: AcrnVcpu, vector: number): string {
  if (!t.on) return 'pir-without-on';
  // The ON episode whose sync a pass skipped (#1443): later postings found ON set and sent nothing.
  if (t.syncSkipWhy) return `pir-sync-skipped-by-${t.syncSkipWhy}`;
  switch (t.onFate) {
    case 'self-notification-in-flight': return 'pir-self-notification-in-flight';
    case 'notification-in-flight': return 'pir-notification-in-flight';
    case 'self-notification-dropped-not-pi-capable': return 'pir-self-notification-dropped-not-pi-capable';
    case 'notification-dropped-not-pi-capable': return 'pir-notification-dropped-not-pi-capable';
    case 'notification-taken-in-root': return 'pir-notification-taken-in-root';
    default: break;
  }
  if (t.pendingReq & REQ_EVENT) return t.pc === Pc.Blocked ? 'pir-event-pending-vcpu-asleep' : 'pir-event-pending';
  return 'pir-on-no-request';
}

function virrStuck(t: AcrnVcpu, vector: number): string {
  if (t.rvi < vector) return 'virr-above-rvi';
  if (t.irqWindow) return 'virr-behind-irq-window';
  if (t.pc === Pc.Blocked) return 'virr-vcpu-asleep';
  return 'virr-not-recognized';
}

function irrStuck(t: AcrnVcpu, vector: number, tprThreshold: boolean): string {
  if (t.pc === Pc.Blocked) return (t.pendingReq & REQ_EVENT) ? 'irr-event-pending-vcpu-asleep' : 'irr-vcpu-asleep';
  if (!isEmpty(t.overwritten)) return 'isr-held-by-overwritten-injection';
  if (prio(vector) <= prio(t.page.ppr)) {
    // The software PPR still reflects a TPR the guest has since lowered (TPR writes are
    // virtualized): nothing recomputes it unless a TPR-below-threshold exit comes. The documented
    // stale threshold is the one an EVENT pass's vlapic_update_tpr_threshold computed and wrote
    // before the TPR raise; a VMCS threshold that pass did not write is not that mechanism (then
    // only the stale PPR is known).
    if (prio(vector) > prio(t.page.tpr) && prio(vector) > prio(t.isrv)) {
      return tprThreshold && t.tprThresholdWritten === t.tprThreshold ? 'irr-tpr-threshold-stale' : 'irr-below-stale-ppr';
    }
    return 'irr-below-ppr';
  }
  if (t.irqWindow) return 'irr-behind-irq-window';
  if (t.pendingReq & REQ_EVENT) return 'irr-event-pending';
  return 'irr-no-request';
}

export const acrn: Backend = {
  name: 'acrn',
  description: 'ACRN (projectacrn/acrn-hypervisor): vcpu_thread requests, basic (VM-entry injection) and advanced '
    + '(VID + posted interrupts) APICv modes, 2018 → v3.3: #1443, #3374, #4937, #8507; xAPIC guests, and x2APIC guests from 2019.',
  variants: VARIANTS,
  // Scenario features modeled (src/scenario/features.ts): run-time redirection-entry writes and
  // reads (vioapic_indirect_write / vioapic_indirect_read, physical fixed entries only); INT n (not
  // intercepted: a guest-core step); the vlapic_read registers; SVR and ESR writes (vlapic_write_svr
  // with the SVR tests of vlapic_accept_intr / vlapic_receive_intr, vlapic_write_esr); ID/LDR/DFR writes
  // (vlapic_write, apic_write_vmexit_handler) and the destinations vlapic_calc_dest derives from them,
  // logical and lowest-priority (vlapic_receive_intr; vlapic_write_icrlo drops lowest-priority IPIs);
  // APIC IDs other than i (the pCPUs' LAPIC IDs, vlapic_init); the APIC timer (timer.ts: vlapic_write_lvt,
  // vlapic_write_icrtmr, vlapic_set_tsc_deadline_msr, vlapic_get_ccr, the pCPU's timer list and
  // timer_softirq); x2APIC guests of the 2019+ trees (supportsVariant): the MSR paths of
  // vlapic_x2apic_write (the ICR as one 64-bit MSR with 32-bit destinations and 0xFFFFFFFF broadcast,
  // `ipi.dest32`; SELF_IPI, `self_ipi`: vlapic_x2apic_self_ipi_handler in basic mode, self-IPI
  // virtualization in advanced mode), the read-only x2APIC ID and LDR of vlapic_build_x2apic_id
  // and the x2APIC branch of is_dest_field_matched. LINT is not modelled: scenarios using it are refused.
  features: ['lvt_timer', 'tsc_deadline', 'time', 'ioapic_write', 'ioapic_read', 'ioapic_reg_write', 'int', 'lapic_read.id', 'lapic_read.version', 'lapic_read.ldr', 'lapic_read.dfr', 'lapic_read.svr',
    'lapic_read.tmcct', 'lapic_write.svr', 'lapic_write.esr', 'lapic_write.id', 'lapic_write.ldr', 'lapic_write.dfr', 'ioapic.logical',
    'ipi.lowest', 'msi.lowest', 'ioapic.lowest', 'machine.apicIds', 'self_ipi', 'ipi.dest32'],
  supports(machine: MachineConfig): string | null {
    if (machine.nested) return 'ACRN\'s nested VMX (CONFIG_NVMX_ENABLED) is not modelled';
    if (machine.hyperv?.apicAssist) return 'ACRN offers no Hyper-V APIC assist';
    return null;
  },
  supportsVariant(variant: string, machine: MachineConfig): string | null {
    if (machine.apic === 'x2apic' && CODE[variant]?.tree === '2018') {
      // The 2018 tree: "X2APIC mode is disabled by default" (cpu.c x2apic_enabled = false, never set),
      // so guest_cpuid (cpuid.c) clears CPUID.01H:ECX.x2APIC, vlapic.c has no x2APIC mode (no
      // vlapic_x2apic_write, no is_x2apic_enabled) and vmsr.c intercepts no x2APIC MSR [@ 7f2b9a1c7]. x2APIC is offered from
      // 2019 on (ea849177a: vlapic_set_apicbase → vlapic_build_x2apic_id, switch_apicv_mode_x2apic).
      return 'the 2018 tree offers no x2APIC to guests (cpu.c x2apic_enabled = false: cpuid.c clears CPUID.01H:ECX.x2APIC; '
        + 'no x2APIC mode in vlapic.c, no x2APIC MSR in vmsr.c) [7f2b9a1c7]';
    }
    return null;
  },
  create(variant: string, machine: MachineConfig, sink: ObsSink): BackendInstance {
    const why = acrn.supports(machine) ?? acrn.supportsVariant!(variant, machine);
    if (why) throw new Error(`acrn: ${why}`);
    return new AcrnInstance(machine, variant, sink);
  },
};

export default acrn;
