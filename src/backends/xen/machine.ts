// One Xen HVM domain on AMD SVM: per-vCPU vlapic, VMCB, viridian and guest state, the
// vIOAPIC, and the mapping of the scenario vocabulary onto Xen's paths. Every APIC register
// access traps (x2APIC MSR intercept → guest_{rd,wr}msr_x2apic; xAPIC → nested page fault on
// the APIC page → vlapic_mmio_{read,write}); CR8 does not (V_INTR_MASKING); HLT is
// intercepted; the guest's "honour No EOI required" EOI routine reads and clears bit 0 of its
// VP assist page and writes HV_X64_MSR_EOI only if the bit was clear.
import { matchDest, x2apicLdr, type ApicAddr } from '../../apic/dest.js';
import { GuestCpu, execCoreInstruction } from '../../apic/guestcpu.js';
import { hex, prioClass, vsAdd, vsDel, vsEmpty, vsFormat, vsHas, vsHighest, type VecSet } from '../../apic/vecset.js';
import { ioapicReadReg, type Event, type LapicReadReg, type MachineConfig, type Shorthand } from '../../scenario/types.js';
import type { BackendInstance, ObsSink, VcpuWhere } from '../api.js';
import { CODE, type XenCode, type XenVariant } from './code.js';
import { DEVICE_CPU, type XenVm } from './domain.js';
import { hvmHlt } from './hvm.js';
import { PHASE_NAMES, Phase, XenVcpu } from './state.js';
import { enter, enterStep, simpleExit, svmHardware, updateGuestEip, vmexitBegin, vmexitEnd } from './svm.js';
import { initialize, noteAvoidedEoi, viridianWrmsrVpAssist } from './viridian.js';
import { AVOIDED_EDGE_EOI_LATE_TMR, AVOIDED_LEVEL_EOI_LATE_EDGE, XenVioapic } from './vioapic.js';
import { lvttValue, vlapicGetTmcct, vlapicLvttWrite, vlapicSpivTimer, vlapicTdtMsrSet, vlapicTmictWrite } from './vlapic-timer.js';
import { MISSED_TICKS_ONE_BY_ONE, TIME_ORIGIN, timeAdvance } from './vpt.js';
import {
  VLAPIC_VERSION, findHighestIsr, matchMask, vlapicDfrWrite, vlapicEOISet, vlapicEsrWrite, vlapicGetPpr, vlapicId, vlapicIdWrite,
  vlapicIpi, vlapicLdrWrite, vlapicLowestPrio, vlapicSetIrq, vlapicSpivWrite,
} from './vlapic.js';

type GuestEvent = Extract<Event, { cpu: number }>;

/**
 * The guest's APIC numbering on Xen. A scenario numbers vCPU i's APIC ID i; Xen gives it 2i
 * (vlapic_reset, set_x2apic_id) and offers no way to choose (machine.apicIds is refused). The
 * model runs the scenario as a guest that addresses vCPU i by the ID Xen's MADT lists for it:
 * every APIC ID value v the guest writes or sends to (ICR, MSI, redirection entry) is 2v modulo
 * 255 (xAPIC; 0xFF stays the broadcast) or modulo 0xFFFFFFFF (x2APIC; 0xFFFFFFFF stays), a
 * one-to-one renumbering, so a physical destination reaches the vCPUs it reaches on bare metal
 * exactly when Xen's own matching (vlapic_match_dest against the APIC_ID register) says so. Only
 * an ID read shows the renumbering (read:apic-id-twice-vcpu-id). Redirection entries keep the
 * scenario's value (a redir-hi read shows it) and are renumbered where vioapic_deliver matches.
 */
export function xenApicId(mode: MachineConfig['apic'], v: number): number {
  if (mode === 'x2apic') return v === 0xffffffff ? v : (2 * v) % 0xffffffff;
  return v === 0xff ? v : (2 * v) % 0xff;
}

/**
 * A logical destination the same guest would use. xAPIC: LDR and DFR are the guest's own
 * (vlapic_reg_write stores them), so the MDA is unchanged. x2APIC: the LDR is derived from an
 * ID, which from 90309854fd is 2i (bit 2i & 15 of cluster 2i >> 4) where the scenario has i: a
 * cluster-0 MDA's member bit k becomes bit 2k (the scenario's IDs 8-15 and other clusters
 * address no vCPU, nor do their images); before, from vcpu_id, as the scenario has it.
 */
function xenLogicalDest(mode: MachineConfig['apic'], ldrFromId: boolean, mda: number): number {
  if (mode !== 'x2apic' || !ldrFromId || mda >>> 16 !== 0) return mda;
  let out = 0;
  for (let k = 0; k < 8; k++) if (mda & (1 << k)) out |= 1 << (2 * k);
  return out;
}

export class XenInstance implements BackendInstance, XenVm {
  readonly code: XenCode;
  readonly vcpu: XenVcpu[] = [];
  readonly nvcpus: number;
  readonly mode: MachineConfig['apic'];
  readonly viridianDomain: boolean;
  readonly apicAssist: boolean;
  readonly vioapic: XenVioapic;
  crashed = false;
  roundRobinPrevVcpu = 0;
  /** Diagnostics: each vCPU's addressing as bare metal has it (the scenario's numbering). */
  private readonly archAddrs: ApicAddr[] = [];

  constructor(readonly variant: XenVariant, readonly machine: MachineConfig, readonly sink: ObsSink) {
    this.code = CODE[variant];
    this.nvcpus = machine.vcpus;
    this.mode = machine.apic;
    this.viridianDomain = machine.hyperv !== undefined;
    this.apicAssist = machine.hyperv?.apicAssist === true;
    for (let i = 0; i < machine.vcpus; i++) {
      const v = new XenVcpu();
      const vl = v.vlapic;
      vl.archId = i;
      if (machine.apic === 'x2apic') {
        // set_x2apic_id: ID vcpu_id * 2; LDR from that ID since 90309854fd, from vcpu_id before.
        vl.apicId = i * 2;
        vl.ldr = x2apicLdr(this.code.x2apicLdrFromId ? i * 2 : i);
      } else {
        // vlapic_reset: (vcpu_id * 2) << 24; then the OS's boot write of APIC_LDR in the flat
        // model (vlapic_reg_write: val & APIC_LDR_MASK), DFR left 0xFFFFFFFF (vlapic_do_init).
        vl.apicId = ((i * 2) << 24) >>> 0;
        if (i < 8) vl.ldr = (1 << (24 + i)) >>> 0;
      }
      this.vcpu.push(v);
      this.archAddrs.push({ id: i, ldr: 0, flat: true });
    }
    // vioapic_deliver (no IRQ0_SPECIAL_ROUTING: scenario pins are not GSI 0).
    this.vioapic = new XenVioapic(machine.ioapic, (dest, logical, lowest, vector, level, from) => this.deliverToDest(dest, logical, lowest, vector, level, from));
    // Windows writes HV_X64_MSR_VP_ASSIST_PAGE on every vCPU at boot: a Hyper-V machine
    // starts with the page mapped (and zeroed), nothing latched, nothing pending.
    if (this.viridianDomain) {
      for (let i = 0; i < machine.vcpus; i++) {
        const vv = this.vcpu[i]!.viridian;
        vv.msrEnabled = true;
        vv.vector = this.code.assist === 'latch-2016' ? -1 : 0;
        initialize(this, i);
      }
    }
  }

  // ------------------------------------------------------------ BackendInstance

  apply(ev: Event, index: number): void {
    switch (ev.k) {
      // A device's message is applied before the event is reported executed: a lowest-priority
      // message's choice (ObsSink.arbitrated) must come first.
      case 'msi':
        this.msi(ev.dest, ev.vector, ev.logical ?? false, ev.lowest ?? false);
        this.sink.executed(index);
        break;
      case 'ioapic':
        switch (ev.op) {
          case 'assert': this.vioapic.assert(ev.pin, DEVICE_CPU); break;
          case 'deassert': this.vioapic.deassert(ev.pin); break;
          case 'pulse': this.vioapic.pulse(ev.pin, DEVICE_CPU); break;
          case 'mask': this.vioapic.setMask(ev.pin, true, DEVICE_CPU); break;
          case 'unmask': this.vioapic.setMask(ev.pin, false, DEVICE_CPU); break;
        }
        this.sink.executed(index);
        break;
      case 'exit': this.exit(ev.cpu, ev.reason, index); break;
      case 'enter': enter(this, ev.cpu); break;
      case 'enter_step': enterStep(this, ev.cpu); break;
      case 'pirq': this.pirq(ev.cpu); break;
      case 'fault': if (!this.crashed) this.vcpu[ev.cpu]!.faultArmed = true; break;
      case 'l2': break; // no nested guests (supports() refuses such machines)
      case 'time':
        // The reference's clock moves first: the expiry is bare metal's before Xen reacts to it.
        this.sink.executed(index);
        timeAdvance(this, ev.cpu, ev.advance);
        break;
      default: this.guestInstruction(ev, index); break;
    }
    // The CPU acts on its own on every vCPU that runs guest code.
    for (let i = 0; i < this.nvcpus; i++) svmHardware(this, i);
  }

  where(cpu: number): VcpuWhere {
    switch (this.vcpu[cpu]!.phase) {
      case Phase.Guest: return 'guest';
      case Phase.Blocked: case Phase.Down: case Phase.Dead: return 'blocked';
      default: return 'hv';
    }
  }

  inL2(_cpu: number): boolean {
    return false;
  }

  /**
   * Coverage state: phase, softirq kick, NMI pending, EVENTINJ, V_IRQ, VINTR/IRET intercepts, apic-assist
   * (pending; the page's "No EOI required" bit, a latched vector and the mapping, which the assist races
   * turn on: a bit left set by a normal EOI looks like assist-pending-free otherwise), and the bit set with the latched
   * vector no longer in service (the guest EOIed it normally; vlapic_EOI_set has no viridian code in 2016/2017, see
   * noteAvoidedEoi): the guest's next EOI is then skipped. One bit, since the engine's features are single bits.
   */
  coverage(cpu: number): number {
    const v = this.vcpu[cpu]!, vv = v.viridian;
    return v.phase | (v.kickSoftirq ? 1 << 3 : 0) | (v.nmiPending ? 1 << 4 : 0) | (v.eventinjValid ? 1 << 5 : 0) | (v.vIrq ? 1 << 6 : 0)
      | (v.interceptVintr ? 1 << 7 : 0) | (v.interceptIret ? 1 << 8 : 0) | (vv.pending ? 1 << 9 : 0)
      | (vv.pageBit ? 1 << 10 : 0) | (vv.vector > 0 ? 1 << 11 : 0) | (vv.mapped ? 1 << 12 : 0)
      | (v.pt.pendingIntrNr > 0 ? 1 << 13 : 0) | (v.pt.onList ? 1 << 14 : 0) | (v.timerSoftirq || v.hostTimerHeld ? 1 << 15 : 0)
      | (vv.pageBit && vv.vector > 0 && !vsHas(v.vlapic.isr, vv.vector) ? 1 << 16 : 0);
  }

  physPending(cpu: number): boolean {
    return this.vcpu[cpu]!.ipiPending;
  }

  guest(cpu: number): GuestCpu {
    return this.vcpu[cpu]!.guest;
  }

  snapshot(cpu: number): { irr: VecSet; isr: VecSet; ppr: number; extra?: string } {
    const v = this.vcpu[cpu]!;
    const vl = v.vlapic;
    const vv = v.viridian;
    const assist = !this.viridianDomain ? ''
      : ` assist[msr=${vv.msrEnabled ? 1 : 0} mapped=${vv.mapped ? 1 : 0} bit=${vv.pageBit ? 1 : 0} `
        + (this.code.assist === 'pending' ? `pending=${vv.pending ? 1 : 0}]` : `vector=${vv.vector < 0 ? vv.vector : hex(vv.vector)}]`);
    const extra = `${PHASE_NAMES[v.phase]} tpr=${hex(vl.taskpri)} v_tpr=${v.vTpr} tmr=${vsFormat(vl.tmr)}`
      + (v.vIrq ? ` v_irq(prio=${v.vIntrPrio}${v.vIgnTpr ? ',ign_tpr' : ''})` : '')
      + (v.interceptVintr ? ' vintr' : '') + (v.interceptIret ? ' iret' : '') + (v.intrShadow ? ' shadow' : '')
      + (v.eventinjValid ? ` eventinj=${v.eventinjNmi ? 'NMI' : hex(v.eventinjVector)}` : '')
      + (v.nmiPending ? ' nmi_pending' : '') + (v.kickSoftirq ? ' kick_softirq' : '') + (v.ipiPending ? ' ipi-in-flight' : '')
      + assist;
    return { irr: vl.irr, isr: vl.isr, ppr: vlapicGetPpr(vl), extra };
  }

  /** Where an interrupt that bare metal would have taken is held, named after the cause. */
  whereStuck(cpu: number, vector: number): string | undefined {
    const v = this.vcpu[cpu]!;
    const vl = v.vlapic;
    // A message bare metal sent here never came (Xen's destination matching left this vCPU out):
    // whatever is in IRR now is some later message's copy, until the vector is acked.
    if (vector >= 0 && v.misrouted[vector]) return v.misrouted[vector];
    const timer = this.timerStuck(v, vector);
    if (timer) return timer;
    if (vector === 2) {
      if (!v.nmiPending) return undefined;
      // hvm_hlt took the vCPU down (HLT with IF = 0) with the NMI already pending: the
      // NMI IPI's wake-up happens only when nmi_pending goes 0 → 1.
      if (v.phase === Phase.Down) return 'nmi-pending-vcpu-down';
      if (v.interceptIret) return 'nmi-blocked-by-iret-intercept';
      // svm_enable_intr_window for an NMI in a shadow: a V_IRQ the CPU takes only with IF = 1
      // ("Also we should not be waiting for EFLAGS.IF to become 1").
      if (v.vIrq && v.vIgnTpr && v.interceptVintr) return 'nmi-behind-vintr-window';
      return 'nmi-pending';
    }
    // hvm_vcpu_has_pending_irq returns the NMI first; blocked by the IRET intercept it gets no
    // window and svm_intr_assist returns without looking at the LAPIC.
    if (v.nmiPending && v.interceptIret) return 'intr-behind-blocked-nmi';
    if (vsHas(vl.irr, vector)) {
      // vlapic_has_pending_irq compared the ISR with the IRR it read before emulating a missed
      // EOI whose vIOAPIC re-send put this vector in IRR.
      if (vsHas(v.snapshotMissed, vector)) return 'irr-snapshot-before-missed-eoi';
      const isr = findHighestIsr(vl);
      // Xen's ISR holds a vector the guest has already retired.
      if (isr >= 0 && prioClass(vector) <= prioClass(isr) && !vsHas(v.archIsr, isr)) return this.assistCause(v, isr, false);
      if (v.phase === Phase.Blocked) return 'irr-vcpu-blocked';
      if (v.nmiPending) return 'intr-behind-pending-nmi';
      return 'irr';
    }
    if (v.eventinjValid && !v.eventinjNmi && v.eventinjVector === vector) return 'eventinj-reinjection';
    // The EOI that would clear the pin's Remote IRR has not reached (or reached too late)
    // vioapic_update_EOI: a held or new assertion of the line was not sent.
    if (vsHas(v.levelDeferred, vector)) return this.assistCause(v, vector, true);
    if (this.vioapic.heldByRemoteIrr(vector)) {
      // Remote IRR waits for an EOI: the deferred one of the vCPU that avoided it, else only a path that lost an EOI
      // (never the deferral by default: a lost EOI with no avoided one is not this mechanism).
      const u = this.vcpu.find((w) => vsHas(w.levelDeferred, vector));
      if (u) return this.assistCause(u, vector, true);
      // The guest avoided the level instance's EOI; an edge message of the vector cleared TMR before Xen emulated it,
      // so vlapic_handle_EOI never called vioapic_update_EOI: Remote IRR waits for an EOI that already happened.
      if (vector >= 16 && vsHas(this.vioapic.eoiLostByLateEdgeTmr, vector)) return AVOIDED_LEVEL_EOI_LATE_EDGE;
      // A phantom EOI (any vCPU's) re-sent the line early and set Remote IRR again: the re-send bare metal makes at the
      // guest's own EOI (to the entry's destination by then) waits behind that early instance.
      if (vector >= 16 && vsHas(this.vioapic.eoiByPhantom, vector)) return 'phantom-eoi-after-vp-assist-remap';
      return this.assistCause(v, vector, false);
    }
    // Another vCPU avoided the level EOI; by the time Xen noticed, the line was low: the re-send bare metal made (here,
    // the entry's destination now) never happens.
    if (vector >= 16 && vsHas(this.vioapic.lowAtAvoidedEoi, vector)) return 'vioapic-eoi-deferred-by-avoided-eoi';
    return undefined;
  }

  /** Where the timer holds a tick bare metal's timer raised. */
  private timerStuck(v: XenVcpu, vector: number): string | undefined {
    if (vector < 0) return undefined;
    // The pCPU took its timer interrupt while in Xen: svm_intr_assist runs before the CLGI
    // softirq check, so pt_timer_fn (and pt_update_irq after it) come one pass later.
    if (vector === v.pt.irq && (v.timerSoftirq || v.hostTimerHeld) && v.pt.timerExpires >= 0 && v.pt.timerExpires <= TIME_ORIGIN + v.now) {
      return 'timer-tick-waits-for-timer-softirq';
    }
    // An expiry bare metal had and Xen's periodic_time did not make (its vector may since have
    // been reprogrammed): the 0.1 ms clamp, the VPT_ALIGN first tick, or (10a674b4) an LVTT mode
    // change that destroyed the running count.
    if (v.archOwed[vector]) return v.archOwed[vector];
    return undefined;
  }

  /** Which assist path left Xen's ISR (or a pin's Remote IRR) holding a vector the guest has finished. */
  private assistCause(v: XenVcpu, isr: number, level: boolean): string | undefined {
    // 2016/2017: a normal EOI left bit 0 set, and the guest later skipped an EOI on it.
    if (v.staleBitAvoided) return 'stale-assist-bit-after-normal-eoi';
    // 10a674b4: the assist was kept across a nested interrupt; the latch names the outer vector.
    if (v.nestedOverAssist) return 'assist-kept-across-nested-interrupt';
    // 10a674b4: the MSR write reset the latch of an avoided EOI.
    if (v.latchDroppedByRemap) return 'avoided-eoi-dropped-by-vp-assist-remap';
    // The page was unmapped with an avoided EOI outstanding: every assist function returns early.
    if (v.avoidedLostByUnmap) return 'avoided-eoi-lost-on-vp-assist-unmap';
    if (level) return 'vioapic-eoi-deferred-by-avoided-eoi';
    // The guest avoided this ISR vector's EOI and the vCPU was kicked for the vector held behind it (VCPU_KICK_SOFTIRQ
    // raised, or its IPI still in flight): the exit the kick makes runs vlapic_has_pending_irq (svm_intr_assist, or a
    // HLT's vcpu_block → hvm_local_events_need_delivery), which notices the avoided EOI first. Without a kick nothing
    // would look, which stays unnamed (blind-rules: set-irq-no-kick).
    if (vsHas(v.avoided, isr) && (v.kickSoftirq || v.ipiPending)) return 'avoided-eoi-not-noticed';
    if (vsHas(v.avoided, isr)) return 'avoided-eoi-not-retired';
    return undefined;
  }

  /** The assist path that left Xen's ISR apart from the guest's (an ISR or PPR read), if any. */
  private isrApartWhy(v: XenVcpu): string | undefined {
    if (v.phantomEoi) return 'phantom-eoi-after-vp-assist-remap';
    if (v.staleBitAvoided) return 'stale-assist-bit-after-normal-eoi';
    if (v.nestedOverAssist) return 'assist-kept-across-nested-interrupt';
    if (v.latchDroppedByRemap) return 'avoided-eoi-dropped-by-vp-assist-remap';
    if (v.avoidedLostByUnmap) return vsEmpty(v.avoided) ? 'avoided-eoi-misretired-after-vp-assist-unmap' : 'avoided-eoi-lost-on-vp-assist-unmap';
    // An avoided EOI Xen has not noticed yet (vlapic_has_pending_irq has not run the assist code).
    if (!vsEmpty(v.avoided)) return 'avoided-eoi-not-noticed';
    return undefined;
  }

  /** Which path made a register read differ from bare metal (the `what` is the oracle's shape). */
  private readWhy(v: XenVcpu, what: string): string | undefined {
    const vl = v.vlapic, g = v.guest;
    // svm_vmexit_handler: TASKPRI = (vTPR << 4) | (TASKPRI & 0x0F) after a CR8 write.
    const nibbleKept = (vl.taskpri >>> 4) === (g.tpr >>> 4) && (vl.taskpri & 0xf) !== (g.tpr & 0xf);
    switch (what) {
      case 'tpr-mismatch': return nibbleKept ? 'tpr-low-nibble-kept-across-cr8' : undefined;
      case 'ppr-mismatch': return nibbleKept ? 'tpr-low-nibble-kept-across-cr8' : this.isrApartWhy(v);
      case 'isr-stale': case 'isr-missing': case 'isr-mismatch': return this.isrApartWhy(v);
      // Before b28b590d an ESR write does not clear what vlapic_error ORed in.
      case 'esr-extra-bits': return !this.code.esrLatched && vl.esrUnlatched ? 'esr-plain-read-write-register' : undefined;
      case 'esr-riv-missing':
        if (v.rivSkippedBySendill) return 'riv-skipped-by-sendill-break';
        return v.illegalSkippedDisabled ? 'illegal-vector-skipped-at-disabled-vlapic' : undefined;
      default: return undefined;
    }
  }

  explain(cpu: number, what: string, vector: number): string | undefined {
    const v = this.vcpu[cpu]!;
    // The drain's bound came while ticks are still owed (no_delay_for_missed_ticks): each is injected, EOIed and IRETed
    // in turn, a catch-up burst as long as the number of periods missed, not a loop; bare metal's IRR took one. Or the
    // burst ended just before the bound: the last injection, or the one before it, was an owed tick (an interrupt the
    // burst held back may come after it; the system settles a few rounds later).
    if (what === 'livelock' && v.missedTickOwed >= 0 && ((v.pt.onList && v.pt.pendingIntrNr > 0)
      || v.injectsSinceOwedTick <= 1)) return MISSED_TICKS_ONE_BY_ONE;
    // A redirection entry read shows Remote IRR still set: the vCPU that avoided the level
    // vector's EOI through the assist has not had it noticed (vioapic_update_EOI not run yet).
    if (what === 'redir-remote-irr-stale') {
      // A level message no vCPU took (Xen matched none): its Remote IRR waits for an EOI that never comes.
      for (const u of this.vcpu) if (vector >= 0 && u.misrouted[vector]) return u.misrouted[vector];
      for (const u of this.vcpu) if (vsHas(u.levelDeferred, vector)) return this.assistCause(u, vector, true);
    }
    // A TMR read on a vCPU that a logical broadcast of the vector did not reach (vlapic_match_logical_addr): bare
    // metal's acceptance of that level (edge) message set (cleared) TMR here, Xen's never happened.
    if (vector >= 16 && v.misrouted[vector] === 'logical-broadcast-not-matched') {
      const edge = vsHas(v.misroutedEdge, vector);
      if (!edge && (what === 'tmr-clear-for-level' || what === 'tmr-cleared-after-eoi')) return v.misrouted[vector];
      if (edge && (what === 'tmr-set-without-level-message' || what === 'tmr-level-pin-before-acceptance')) return v.misrouted[vector];
    }
    // vlapic_reset / set_x2apic_id: Xen's vCPU i has APIC ID 2i (and, since 90309854fd, the
    // x2APIC LDR derived from it); the scenario's default machine numbers it i, and the model
    // renumbers an ID the guest writes the same way (xenApicId).
    if (what === 'id-mismatch' && vlapicId(this, v.vlapic) !== v.vlapic.archId) return 'apic-id-twice-vcpu-id';
    if (what === 'ldr-mismatch' && this.mode === 'x2apic' && cpu > 0) return 'apic-id-twice-vcpu-id';
    if (what === 'ran-while-halted') {
      // pt_timer_fn kicked the blocked vCPU for a tick pt_update_irq then suspended (LVT masked)
      // or could not inject (TPR, ISR).
      if (v.hltEndedEmpty !== 0 && v.hltEndedByPt && !v.hltEndedBehindNmi) return 'hlt-ended-by-timer-tick-kick';
      // The HLT ended for a LAPIC vector, but svm_intr_assist stopped at a blocked NMI.
      if (v.hltEndedEmpty !== 0 && v.hltEndedBehindNmi) return 'intr-behind-blocked-nmi';
      // vcpu_kick unblocks a HLT for any new IRR bit, deliverable or not.
      if (v.hltEndedEmpty === 1) return 'hlt-ended-by-kick-for-undeliverable-irq';
      // vlapic_accept_irq(NMI) wakes a _VPF_down vCPU even while its NMIs are blocked.
      if (v.hltEndedEmpty === 2) return 'hlt-down-woken-by-blocked-nmi';
    }
    // Before f1d7aac1e3 an MSI or vIOAPIC vector reached IRR while the vlapic was software-disabled:
    // an IRR/TMR read shows it, its injection after re-enabling is a message bare metal discarded,
    // and a level vector's EOI then cleared a Remote IRR bare metal keeps (the pin sends again).
    // The vector itself is the evidence, so this comes before the assist's per-vCPU flags; a
    // masked-ppr is never this mechanism's (the vector is not pending on bare metal at all).
    if (what === 'tmcct-mismatch') {
      if (v.timerWhy) return v.timerWhy;
      if (v.tmcctRebased) return 'tmcct-rebased-at-injection';
    }
    if ((what === 'duplicate' || what === 'spurious' || what.startsWith('irr-')) && vector >= 0 && vector === v.softirqTickDup) return 'timer-tick-waits-for-timer-softirq';
    // pt_irq_fired re-armed the periodic timer for a tick due at the injection instant: it fired at once.
    if ((what === 'duplicate' || what.startsWith('irr-')) && vector >= 0 && vector === v.tickDueAtInjection) return 'periodic-tick-due-at-injection-resent';
    // no_delay_for_missed_ticks: pt_intr_post left a tick owed (pending_intr_nr > 0) and pt_update_irq raised it again,
    // one interrupt per expiry, where bare metal's expiries found the vector pending and collapsed into one.
    // (10a674b4: an LVTT write that keeps the mode only moves pt->irq, so the owed tick comes under the new vector: spurious.)
    if ((what === 'duplicate' || what === 'spurious' || what.startsWith('irr-')) && vector >= 0 && vector === v.missedTickOwed) return MISSED_TICKS_ONE_BY_ONE;
    // The aligned first tick shifted the periodic train: a tick between two of bare metal's expiries, after the
    // instance bare metal's last expiry collapsed into, is a second interrupt where bare metal has not ticked yet.
    if ((what === 'duplicate' || what.startsWith('irr-')) && vector >= 0 && vsHas(v.offPhaseTicks, vector)) return 'periodic-timer-first-tick-aligned';
    // 2016: the LVTT vector rewrite kept the tick already posted under the old vector; it came again under the new one.
    if ((what === 'duplicate' || what === 'spurious' || what.startsWith('irr-')) && vector >= 16 && vector === v.tickRepostedVector) return 'timer-tick-reposted-under-new-vector';
    // A message of the vector accepted while the vlapic was software-disabled is in Xen's IRR: that
    // instance is the extra one, even when pt_resume also re-queued a masked tick of it at the SVR
    // enable (from e4e1896b2c the LVT stays masked then, and the tick is not injected).
    if (vector >= 16 && (what === 'duplicate' || what === 'spurious' || what.startsWith('irr-') || what.startsWith('tmr-'))
      && (vsHas(v.acceptedDisabled, vector) || this.vcpu.some((u) => vsHas(u.levelEoiAfterDisabled, vector)))) {
      return 'fixed-irq-accepted-while-sw-disabled';
    }
    // 10a674b4: a tick counted while the LVT was masked, re-queued by pt_resume at the unmask.
    if ((what === 'duplicate' || what === 'spurious' || what.startsWith('irr-')) && vector >= 0 && vector === v.maskedTickResumed) {
      return 'masked-timer-tick-delivered-on-unmask';
    }
    // Before 12a50030 vlapic_set_irq only sets TMR: an edge message of a vector a level one set it for
    // (a level pin's vector shared with an IPI, MSI or the timer) leaves it set; bare metal clears it —
    // and its EOI, broadcast for that TMR bit, clears Remote IRR and re-sends an asserted line. That
    // re-sent level message (vioapic_update_EOI → vioapic_deliver → vlapic_set_irq(trig = 1)) sets TMR
    // again, where bare metal's last message of the vector was the edge one: a TMR read shows it.
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra' || what === 'redir-remote-irr-missing'
      || (what === 'tmr-set-without-level-message' && vsHas(v.vlapic.tmr, vector))) && vector >= 16
      && vsHas(this.vioapic.eoiByKeptTmr, vector)) return 'tmr-kept-on-edge-acceptance';
    // Since 66bf4ef0 an avoided EOI is emulated when Xen notices it, testing TMR then: a level message of the vector
    // accepted after the guest skipped the EOI of an edge instance makes it a broadcast bare metal never made.
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra' || what === 'redir-remote-irr-missing') && vector >= 16
      && vsHas(this.vioapic.eoiByLateLevelTmr, vector)) return AVOIDED_EDGE_EOI_LATE_TMR;
    // The level EOI that cleared Remote IRR came on a vCPU Xen's matching had left out of an edge message of the vector
    // (a logical broadcast): bare metal's acceptance of it cleared TMR there, and bare metal's EOI broadcast nothing.
    if (what === 'redir-remote-irr-missing' && vector >= 16 && this.vioapic.eoiAfterMisroute[vector]) return this.vioapic.eoiAfterMisroute[vector];
    // (The oracle's shape is tmr-level-pin-before-acceptance when the pin's entry was rewritten level since that edge
    // message: the bit is still the one the edge acceptance left, tmrKeptOnEdge lasting until a level acceptance or EOI.)
    if ((what === 'tmr-set-without-level-message' || what === 'tmr-level-pin-before-acceptance') && vector >= 16
      && vsHas(v.tmrKeptOnEdge, vector) && vsHas(v.vlapic.tmr, vector)) {
      return 'tmr-kept-on-edge-acceptance';
    }
    // Bare metal merged (or, at a boundary where it would have taken it, settled as merged) an
    // instance that Xen keeps in IRR while svm_intr_assist stops at the blocked NMI: when it is
    // injected later, that is the NMI hold, not a second message.
    // (Whether the IRET intercept is still armed or has fired and Xen waits for the IRET to retire
    // with a VINTR window for the NMI: hvm_vcpu_has_pending_irq returns the NMI first either way.)
    if (what === 'collapsed' && vector >= 16 && vsHas(v.vlapic.irr, vector) && v.nmiPending) return 'intr-behind-blocked-nmi';
    // Before 12a50030 the guest's own EOI of a level vector cleared its TMR bit; a TMR read
    // before the next level acceptance (kvm-unit-tests test_ioapic_level_tmr_smp) shows it clear
    // whatever the pin is now. (A phantom EOI of a vector still in service is PHANTOM_TMR's.)
    if ((what === 'tmr-clear-for-level' || what === 'tmr-cleared-after-eoi') && vector >= 16 && vsHas(v.tmrClearedByEoi, vector)) {
      return v.phantomEoi ? 'phantom-eoi-after-vp-assist-remap' : 'tmr-cleared-by-eoi';
    }
    // The line's re-send came from an avoided EOI Xen noticed late, after the entry changed.
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra') && vector >= 16 && vsHas(this.vioapic.resentAfterAvoidedEoi, vector)
      && !v.phantomEoi && !v.avoidedLostByUnmap) return 'vioapic-eoi-deferred-by-avoided-eoi';
    // A phantom EOI on any vCPU cleared the level pin's Remote IRR: the re-send may reach another vCPU.
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra') && vector >= 16 && vsHas(this.vioapic.eoiByPhantom, vector)) {
      return 'phantom-eoi-after-vp-assist-remap';
    }
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra') && vector >= 16) {
      // A phantom EOI of a level vector reaches vioapic_update_EOI: Remote IRR is cleared while
      // the guest still handles the interrupt, and a line still asserted is sent again.
      if (v.phantomEoi) return 'phantom-eoi-after-vp-assist-remap';
      // A level vector retired early is sent again by the vIOAPIC (misretired); an edge one was held in IRR behind the
      // avoided vector left in service, past where bare metal took it: its instance was settled as merged or
      // dropped, so the late delivery reads as a second one.
      if (v.avoidedLostByUnmap) return vsHas(v.vlapic.tmr, vector) ? 'avoided-eoi-misretired-after-vp-assist-unmap' : 'avoided-eoi-lost-on-vp-assist-unmap';
    }
    // A level vector that EOI retired early reached vioapic_update_EOI: Remote IRR reads clear while
    // the guest is still handling the interrupt. The read may come from any vCPU.
    if (what === 'redir-remote-irr-missing' && vector >= 16) {
      if (this.vcpu.some((u) => u.phantomEoi)) return 'phantom-eoi-after-vp-assist-remap';
      if (this.vcpu.some((u) => u.avoidedLostByUnmap)) return 'avoided-eoi-misretired-after-vp-assist-unmap';
    }
    // Register reads: the oracle's shape (isr-stale, tpr-mismatch, ...) is never a cause of its own; only a
    // path the model can show it took is named, anything else stays the shape and reads UNEXPECTED.
    const read = this.readWhy(v, what);
    if (read) return read;
    if ((what === 'masked-ppr' || what === 'priority' || what === 'isr-not-cleared') && vector >= 16) {
      // Xen's ISR lost a vector the guest still has in service, so PPR is too low. Once that
      // happened the vCPU's ISR stays out of step (each later EOI retires the wrong vector),
      // so the flags name the path that started it.
      // A missed EOI emulated for an EOI the guest never avoided (the MSR write cleared the
      // page under a pending assist).
      if (v.phantomEoi) return 'phantom-eoi-after-vp-assist-remap';
      // An avoided EOI left outstanding by an unmap is emulated after the page comes back, against
      // whatever is highest in service by then.
      if (v.avoidedLostByUnmap) return 'avoided-eoi-misretired-after-vp-assist-unmap';
      // 10a674b4: the avoided EOI belonged to a nested vector, the completion cleared the latched one.
      if (v.nestedOverAssist) return 'assist-kept-across-nested-interrupt';
    }
    return undefined;
  }

  // ------------------------------------------------------------ sources

  /**
   * hvm_inject_msi → vmsi_deliver, dest_Fixed, edge, from device context: every vCPU
   * vlapic_match_dest(target, NULL, 0, dest, dest_mode) matches (the 8-bit address field).
   */
  private msi(dest: number, vector: number, logical: boolean, lowest: boolean): void {
    this.deliverToDest(dest, logical, lowest, vector, false, DEVICE_CPU);
  }

  /**
   * What vioapic_deliver and vmsi_deliver share: dest_LowestPrio → vlapic_lowest_prio, then the
   * interrupt on its choice (none: -ESRCH, nothing sent); dest_Fixed → every vCPU
   * vlapic_match_dest(vlapic, NULL, 0, dest, dest_mode) matches.
   */
  private deliverToDest(dest: number, logical: boolean, lowest: boolean, vector: number, level: boolean, from: number): void {
    const xdest = logical ? xenLogicalDest(this.mode, this.code.x2apicLdrFromId, dest) : xenApicId(this.mode, dest);
    const mask = matchMask(this, -1, 'none', xdest, logical);
    this.noteRouting(mask, -1, 'none', logical, dest, vector, !level);
    if (lowest) {
      const target = vlapicLowestPrio(this, -1, 'none', xdest, logical);
      if (target >= 0) {
        this.sink.arbitrated?.(target);
        this.fixedIrq(target, vector, level, from);
      }
      return;
    }
    for (let i = 0; i < this.nvcpus; i++) if ((mask & (1 << i)) !== 0) this.fixedIrq(i, vector, level, from);
  }

  /**
   * Diagnostics: where Xen's destination set (mask) differs from bare metal's (the scenario's
   * addressing, src/apic/dest.ts), record why on the vCPUs bare metal sends to and Xen does not.
   * The one difference the renumbering leaves is a logical broadcast, which
   * vlapic_match_logical_addr matches as an ordinary MDA.
   */
  private noteRouting(mask: number, self: number, shorthand: Shorthand, logical: boolean, dest: number, vector: number, edge: boolean): void {
    if (shorthand !== 'none' || !logical) return;
    for (let i = 0; i < this.nvcpus; i++) {
      const vl = this.vcpu[i]!.vlapic, a = this.archAddrs[i]!;
      a.id = this.mode === 'x2apic' ? i : vl.archId;
      a.ldr = this.mode === 'x2apic' ? x2apicLdr(i) : vl.ldr;
      a.flat = vl.dfr >>> 28 === 0xf;
    }
    const arch = matchDest(this.mode, this.archAddrs, self, shorthand, logical, dest);
    if (arch === mask) return;
    const broadcast = this.mode === 'x2apic' ? dest === 0xffffffff : dest === 0xff;
    if (!broadcast) return; // left undiagnosed: a difference the model does not expect
    for (let i = 0; i < this.nvcpus; i++) {
      if ((arch & ~mask) & (1 << i)) {
        this.vcpu[i]!.misrouted[vector] = 'logical-broadcast-not-matched';
        if (edge) vsAdd(this.vcpu[i]!.misroutedEdge, vector);
      }
    }
  }

  /**
   * vmsi_deliver / vioapic_deliver for dest_Fixed → vmsi_inj_irq / ioapic_inj_irq →
   * vlapic_set_irq. Only since f1d7aac1e3 ("don't mark external IRQs as pending when vLAPIC is
   * disabled") do they skip a software-disabled vlapic; before, the vector went into IRR (and
   * TMR) and waited there for the guest to enable the APIC again.
   */
  private fixedIrq(target: number, vector: number, level: boolean, from: number): void {
    const v = this.vcpu[target]!;
    if (!v.vlapic.enabled) {
      // Diagnostics: skipped before vlapic_set_irq, so an illegal vector sets no Receive Illegal Vector.
      if (this.code.fixedIrqChecksEnabled) { if (vector < 16) v.illegalSkippedDisabled = true; return; }
      if (vector >= 16) vsAdd(v.acceptedDisabled, vector);
    } else {
      vsDel(v.acceptedDisabled, vector);
    }
    vlapicSetIrq(this, target, vector, level, from);
  }

  /**
   * vlapic_read_aligned of the registers the guest reads with lapic_read. The APIC ID is
   * vcpu_id * 2 (vlapic_reset: `(v->vcpu_id * 2) << 24`; set_x2apic_id: `vcpu_id * 2`); the
   * x2APIC LDR comes from vcpu_id before 90309854fd and from the ID after; the version is
   * VLAPIC_VERSION; TMCCT is vlapic_get_tmcct (0 outside one-shot and periodic mode).
   */
  private lapicRead(cpu: number, reg: LapicReadReg): number {
    const vl = this.vcpu[cpu]!.vlapic;
    switch (reg) {
      case 'id': return vl.apicId;
      case 'ldr': return vl.ldr;
      case 'dfr': return vl.dfr; // xAPIC only
      case 'svr': return vl.svr;
      case 'version': return VLAPIC_VERSION;
      case 'tmcct': return vlapicGetTmcct(this, cpu);
    }
  }

  /** The event-check IPI arrives at the vCPU's pCPU. */
  private pirq(cpu: number): void {
    const v = this.vcpu[cpu]!;
    if (!v.ipiPending) return;
    switch (v.phase) {
      case Phase.Guest: simpleExit(this, cpu, 'intr'); return; // VMEXIT_INTR
      case Phase.Clgi: return; // GIF = 0: held until VMRUN
      default:
        v.ipiPending = false;
        this.sink.step(cpu, 'event_check_interrupt');
        return;
    }
  }

  /** Scenario `exit`: a host interrupt or a guest instruction Xen intercepts. */
  private exit(cpu: number, reason: 'timer' | 'io' | 'cpuid' | 'npf' | 'pause', index: number): void {
    const v = this.vcpu[cpu]!;
    if (v.phase !== Phase.Guest) return;
    switch (reason) {
      case 'timer': simpleExit(this, cpu, 'intr'); return;
      case 'npf':
        vmexitBegin(this, cpu, 'npf');
        this.sink.step(cpu, 'hvm_hap_nested_page_fault');
        vmexitEnd(this, cpu);
        return;
      default: {
        v.guest.beginInstruction();
        const code = reason === 'io' ? 'ioio' : reason;
        vmexitBegin(this, cpu, code);
        this.sink.step(cpu, reason === 'io' ? 'hvm_io_intercept' : reason === 'cpuid' ? 'svm_vmexit_do_cpuid' : 'svm_vmexit_do_pause');
        updateGuestEip(this, cpu);
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      }
    }
  }

  /** An APIC register access traps (x2APIC MSR intercept, or xAPIC MMIO through the NPT). */
  private apicAccess(cpu: number, write: boolean): void {
    if (this.mode === 'x2apic') {
      vmexitBegin(this, cpu, 'msr');
      this.sink.step(cpu, write ? 'guest_wrmsr_x2apic' : 'guest_rdmsr_x2apic');
    } else {
      vmexitBegin(this, cpu, 'npf');
      this.sink.step(cpu, write ? 'vlapic_mmio_write' : 'vlapic_mmio_read');
    }
    updateGuestEip(this, cpu);
  }

  private guestInstruction(ev: GuestEvent, index: number): void {
    const cpu = ev.cpu;
    const v = this.vcpu[cpu]!;
    const g = v.guest;
    if (v.phase !== Phase.Guest || g.halted) return;
    g.beginInstruction();
    const vl = v.vlapic;
    switch (ev.k) {
      case 'cli': case 'sti': case 'step': case 'work': case 'wait':
        execCoreInstruction(g, ev.k);
        this.sink.executed(index);
        return;
      case 'iret':
        if (v.interceptIret) {
          // VMEXIT_IRET before the IRET executes: NMI blocking ends, the shadow keeps a pending
          // NMI from being injected before the IRET retires; the IRET restarts after VMRUN.
          vmexitBegin(this, cpu, 'iret');
          v.interceptIret = false;
          v.intrShadow = true;
          v.iretRestart = true;
          v.pendingIret = index;
          vmexitEnd(this, cpu);
          return;
        }
        g.iret();
        this.sink.executed(index);
        return;
      case 'hlt':
        vmexitBegin(this, cpu, 'hlt');
        this.sink.step(cpu, 'svm_vmexit_do_hlt');
        updateGuestEip(this, cpu);
        g.hlt();
        this.sink.executed(index);
        v.hltEndedEmpty = 0; // after the boundary before this HLT was judged
        hvmHlt(this, cpu);
        vmexitEnd(this, cpu);
        return;
      case 'tpr':
        if (ev.via === 'cr8') {
          // MOV CR8 writes V_TPR; Xen sees it at the next #VMEXIT.
          v.vTpr = (ev.value >>> 4) & 0xf;
          g.tpr = ev.value & 0xf0;
          this.sink.executed(index);
          return;
        }
        this.apicAccess(cpu, true);
        this.sink.step(cpu, 'vlapic_reg_write(APIC_TASKPRI)');
        vl.taskpri = ev.value & 0xff;
        g.tpr = ev.value;
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      case 'eoi': {
        const vv = v.viridian;
        if (ev.assist && vv.msrEnabled) {
          // The guest's EOI routine: atomically clear "No EOI required"; if it was set, no EOI.
          if (vv.pageBit) {
            vv.pageBit = false;
            this.sink.step(cpu, 'guest: No EOI required, EOI skipped');
            noteAvoidedEoi(this, v);
            g.eoi();
            this.sink.executed(index);
            return;
          }
          vmexitBegin(this, cpu, 'msr');
          this.sink.step(cpu, 'viridian_wrmsr(HV_X64_MSR_EOI)');
          updateGuestEip(this, cpu);
        } else {
          this.apicAccess(cpu, true);
        }
        retireArch(v);
        vlapicEOISet(this, cpu);
        g.eoi();
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      }
      case 'int':
        // INT n runs in the guest without an exit: construct_vmcb sets no GENERAL1_INTERCEPT_SWINT,
        // and the exception intercepts (HVM_TRAP_MASK: #DB, #AC, #MC; #NM too before 4.22) are for
        // exceptions, which INT n (CD ib) does not raise. The frame's IF = 0 is what Xen then sees
        // in the VMCB (hvm_interrupt_blocked). A `fault` armed for the next injected event stays
        // armed: a fault in INT n's own delivery would not be re-injected (hvm_event_needs_reinjection
        // returns 0 for software interrupts; the guest re-executes the INT) and is not modelled.
        g.softInt(ev.vector);
        this.sink.executed(index);
        return;
      case 'lapic_read':
        this.apicAccess(cpu, false);
        this.sink.step(cpu, 'vlapic_read_aligned');
        this.sink.readValue(cpu, ev.reg, this.lapicRead(cpu, ev.reg));
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      case 'lapic_write':
        // ID, LDR and DFR writes are xAPIC only (read-only or absent in x2APIC mode: refused
        // at validation), through vlapic_mmio_write → vlapic_reg_write.
        this.apicAccess(cpu, true);
        switch (ev.reg) {
          case 'svr':
            this.sink.step(cpu, 'vlapic_reg_write(APIC_SPIV)');
            vlapicSpivWrite(vl, ev.value);
            if (!vl.enabled) v.archTimer.masked = true;
            vlapicSpivTimer(this, cpu, vl);
            break;
          case 'esr':
            this.sink.step(cpu, 'vlapic_reg_write(APIC_ESR)');
            vl.esrWritten = true;
            vlapicEsrWrite(this, vl);
            break;
          case 'id':
            this.sink.step(cpu, 'vlapic_reg_write(APIC_ID)');
            vl.archId = ev.value >>> 24;
            vlapicIdWrite(vl, ((xenApicId(this.mode, ev.value >>> 24) << 24) | (ev.value & 0xffffff)) >>> 0);
            break;
          case 'ldr':
            this.sink.step(cpu, 'vlapic_reg_write(APIC_LDR)');
            vlapicLdrWrite(vl, ev.value);
            break;
          case 'dfr':
            this.sink.step(cpu, 'vlapic_reg_write(APIC_DFR)');
            vlapicDfrWrite(vl, ev.value);
            break;
        }
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      case 'self_ipi':
        // WRMSR 0x83F: the x2APIC MSRs are intercepted on SVM (no AVIC in any tree modelled):
        // guest_wrmsr_x2apic (hvm_x2apic_msr_write before 4.22) turns APIC_SELF_IPI into
        // vlapic_reg_write(APIC_ICR, APIC_DEST_SELF | vector) → vlapic_ipi.
        vmexitBegin(this, cpu, 'msr');
        this.sink.step(cpu, 'guest_wrmsr_x2apic(APIC_SELF_IPI)');
        updateGuestEip(this, cpu);
        this.sink.step(cpu, 'vlapic_ipi');
        this.sink.executed(index);
        vlapicIpi(this, cpu, ev.vector, false, 'self', false, 0);
        vmexitEnd(this, cpu);
        return;
      case 'read': {
        this.apicAccess(cpu, ev.reg === 'esr' && !vl.esrWritten);
        // The base language's ESR read is a write then a read; after an explicit ESR write
        // (lapic_write esr) it is a plain read of what that write published (REF-ESR-1).
        if (ev.reg === 'esr' && !vl.esrWritten) vlapicEsrWrite(this, vl);
        this.sink.step(cpu, 'vlapic_read_aligned');
        switch (ev.reg) {
          case 'irr': this.sink.readValue(cpu, 'irr', vl.irr); break;
          case 'isr': this.sink.readValue(cpu, 'isr', vl.isr); break;
          case 'tmr': this.sink.readValue(cpu, 'tmr', vl.tmr); break;
          case 'ppr': this.sink.readValue(cpu, 'ppr', vlapicGetPpr(vl)); break;
          case 'tpr': this.sink.readValue(cpu, 'tpr', vl.taskpri); break;
          case 'esr': this.sink.readValue(cpu, 'esr', vl.esr); break;
        }
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      }
      case 'ipi': {
        this.apicAccess(cpu, true);
        this.sink.step(cpu, 'vlapic_ipi');
        const lowest = (ev.lowest ?? false) && !(ev.nmi ?? false);
        // A lowest-priority IPI's choice is reported before the instruction (ObsSink.arbitrated).
        if (!lowest) this.sink.executed(index);
        const sh = ev.shorthand ?? 'none', logical = ev.logical ?? false, d = ev.dest ?? 0;
        const xdest = logical ? xenLogicalDest(this.mode, this.code.x2apicLdrFromId, d) : xenApicId(this.mode, d);
        if (ev.nmi || ev.vector >= 16) this.noteRouting(matchMask(this, cpu, sh, xdest, logical), cpu, sh, logical, d, ev.nmi ? 2 : ev.vector, !(ev.nmi ?? false));
        vlapicIpi(this, cpu, ev.vector, ev.nmi ?? false, sh, logical, xdest, lowest);
        if (lowest) this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      }
      case 'lvt_timer':
        this.apicAccess(cpu, true);
        this.sink.step(cpu, 'vlapic_reg_write(APIC_LVTT)');
        v.archTimer.writeLvt(ev.vector, ev.masked || !vl.enabled, ev.mode);
        vlapicLvttWrite(this, cpu, lvttValue(ev.vector, ev.masked, ev.mode));
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      case 'timer_initial':
        this.apicAccess(cpu, true);
        this.sink.step(cpu, 'vlapic_reg_write(APIC_TMICT)');
        v.archTimer.writeInitial(ev.count, v.now);
        vlapicTmictWrite(this, cpu, ev.count);
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      case 'tsc_deadline':
        // WRMSR IA32_TSC_DEADLINE: intercepted (not in the MSR bitmap's pass-through set) →
        // hvm_msr_write_intercept → vlapic_tdt_msr_set.
        vmexitBegin(this, cpu, 'msr');
        this.sink.step(cpu, 'vlapic_tdt_msr_set');
        updateGuestEip(this, cpu);
        v.archTimer.writeDeadline(ev.deadline, v.now);
        v.archTimer.expire(v.now); // a deadline at or before the clock fires at once on both
        vlapicTdtMsrSet(this, cpu, ev.deadline);
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      case 'assist':
        // WRMSR HV_X64_MSR_VP_ASSIST_PAGE (a viridian MSR: always intercepted).
        vmexitBegin(this, cpu, 'msr');
        if (this.viridianDomain) viridianWrmsrVpAssist(this, cpu, ev.on);
        updateGuestEip(this, cpu);
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      case 'ioapic_write':
        // IOREGSEL/IOWIN writes through the NPT: hvm_hap_nested_page_fault → the internal
        // vIOAPIC MMIO handler → vioapic_write_indirect, top word then low word.
        vmexitBegin(this, cpu, 'npf');
        this.sink.step(cpu, 'vioapic_write_indirect');
        updateGuestEip(this, cpu);
        this.vioapic.write(ev.pin, ev, cpu); // before it is reported: a lowest-priority send's choice comes first
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      case 'ioapic_reg_write':
        // An NPF exit to the vIOAPIC's MMIO handler (vioapic_write → vioapic_write_indirect); nothing is sent.
        vmexitBegin(this, cpu, 'npf');
        this.sink.step(cpu, 'vioapic_write_indirect');
        updateGuestEip(this, cpu);
        this.vioapic.writeReg(ev.reg, ev.value);
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      case 'ioapic_read': {
        vmexitBegin(this, cpu, 'npf');
        this.sink.step(cpu, 'vioapic_read_indirect');
        updateGuestEip(this, cpu);
        this.sink.readValue(cpu, ioapicReadReg(ev.reg), this.vioapic.read(ev.reg, ev.pin ?? -1));
        this.sink.executed(index);
        vmexitEnd(this, cpu);
        return;
      }
      case 'vmentry':
        return;
      default:
        return; // features not declared (src/scenario/features.ts): refused before anything runs
    }
  }
}

/** Diagnostics: the guest wrote an EOI; it retires its highest in-service vector. */
function retireArch(v: XenVcpu): void {
  const h = vsHighest(v.archIsr);
  if (h >= 0) vsDel(v.archIsr, h);
}
