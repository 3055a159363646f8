// One bhyve VM on AMD SVM: per-vCPU vlapic, VMCB, vcpu state and guest core, the vIOAPIC,
// and the physical IPI latch of each host CPU. Maps the scenario vocabulary onto bhyve's
// paths: APIC register accesses trap (x2APIC MSR intercept, handled inside svm_vmexit;
// xAPIC MMIO through a nested page fault, emulated in vm_run), CR8 does not.
import type { BackendInstance, ObsSink, VcpuWhere } from '../api.js';
import { GuestCpu, execCoreInstruction } from '../../apic/guestcpu.js';
import { matchDest, type ApicAddr } from '../../apic/dest.js';
import { hex, prioClass, vecSet, vsAdd, vsDel, vsHas, vsHighest, type VecSet } from '../../apic/vecset.js';
import { ioapicReadReg, type Event, type MachineConfig, type Shorthand } from '../../scenario/types.js';
import { EOI_BY_TABLE_TMR, Vioapic } from './vioapic.js';
import {
  APIC_ESR_SEND_ILLEGAL_VECTOR, VLAPIC_VERSION_2018, VLAPIC_VERSION_MAIN, Vlapic, isrvecStkString, vlapicCalcdest,
  vlapicIcrloWriteHandler, type IcrTarget, type Lvt,
} from './vlapic.js';
import { VmcbCtrl } from './vmcb.js';
import { PHASE_NAMES, Phase, VCPU_STATE_NAMES, Vcpu, vcpuNotifyEvent, type HostIpi } from './vcpu.js';
import {
  VATPIC_SPURIOUS, clearNmiBlocking, exitHandled, exitUnhandled, svmEnter, svmEnterStep, svmHardware, svmVmexit, vmHandleHlt,
  type SvmVm,
} from './svm.js';
import type { BhyveVariant } from './variants.js';

type GuestEvent = Extract<Event, { cpu: number }>;

export class BhyveInstance implements BackendInstance, SvmVm, IcrTarget, HostIpi {
  readonly vcpu: Vcpu[] = [];
  readonly vmcb: VmcbCtrl[] = [];
  readonly vlapic: Vlapic[] = [];
  readonly guestCpu: GuestCpu[] = [];
  readonly ipiPending: Uint8Array;
  /** The scenario has written ESR on this vCPU (its reads are plain reads from then on). */
  private readonly esrWritten: Uint8Array;
  readonly vioapic: Vioapic;
  readonly vcpus: number;
  readonly mode: MachineConfig['apic'];
  /**
   * Diagnostics for whereStuck only: sends that collapsed into a vector the guest had already
   * taken through V_IRQ (instances owed to the guest), until a later delivery of that vector.
   */
  private readonly collapsed: VecSet[] = [];
  /**
   * Diagnostics, per vCPU and vector: why a message the architectural destination decoding sends
   * here did not come (misrouted), or why one it would not send here came (wrongTarget); '' if none.
   */
  private readonly misrouted: string[][] = [];
  private readonly wrongTarget: string[][] = [];
  /** The pCPU whose thread runs the vIOAPIC code now (-1: a device model thread). */
  private ioapicCurcpu = -1;
  /**
   * Diagnostics (explain): per vCPU and vector, why the last vIOAPIC message of that vector to
   * that vCPU was one the 82093AA would not send ('' if it would).
   */
  private readonly ioapicWhy: string[][] = [];
  /**
   * Diagnostics (whereStuck), per vCPU: vectors whose vIRR bit took a vIOAPIC message the 82093AA would not send
   * (a Remote IRR hold's extra copy), until the vector is delivered. Only such a copy is the pin's: another
   * source's instance of a shared vector (a LINT, an IPI) says nothing about the pin's Remote IRR.
   */
  private readonly pinExtraInIrr: VecSet[] = [];
  /** Diagnostics: false while the vIOAPIC delivers a message the 82093AA would not send (its lastWhy). */
  private archSend = true;
  private readonly archAddrs: ApicAddr[] = [];
  /**
   * The LINT input lines as the device model drives them (vatpic keeps its INTR output in
   * intr_raised): lapic_set_local_intr is called on a rising edge only; the vlapic has no line.
   */
  private readonly lintLine: Uint8Array;
  /**
   * Diagnostics, per vCPU: vectors a local source raised from another host CPU — the timer
   * callout (2018 trees), a device's LINT — whose notification IPI may still be on its way, and
   * which; whether the pending NMI came that way; which software-disabled LINT paths fired
   * (' lint0' ExtINT, ' lint1' NMI: raises bare metal never makes).
   */
  private readonly timerRemote: VecSet[] = [];
  /** main: the timer vector vlapic_callout_handler raised from the softclock thread after a held host timer interrupt (-1: none). */
  private readonly lateCallout: number[] = [];
  private readonly remoteWhy: string[][] = [];
  /**
   * Per vCPU and vector: the vCPU's svm_inj_interrupts count when a remote raise set timerRemote. The
   * documented hold (the guest runs on until the notification IPI makes it exit) ends at the next pass.
   */
  private readonly remoteAtPass: number[][] = [];
  private readonly nmiRemoteWhy: string[] = [];
  private readonly lintWhy: string[] = [];
  /**
   * Diagnostics: vectors this vCPU's LINT entries were ever programmed with as level (a level LINT
   * vector has no other source, REF-IOA-4): bare metal's Remote IRR and line sampling hold or
   * raise them where vlapic_fire_lvt does not.
   */
  private readonly lintLevel: VecSet[] = [];

  constructor(readonly variant: BhyveVariant, readonly machine: MachineConfig, readonly sink: ObsSink) {
    this.vcpus = machine.vcpus;
    this.mode = machine.apic;
    this.ipiPending = new Uint8Array(machine.vcpus);
    this.esrWritten = new Uint8Array(machine.vcpus);
    this.lintLine = new Uint8Array(machine.vcpus * 2);
    for (let i = 0; i < machine.vcpus; i++) {
      this.vcpu.push(new Vcpu(i));
      this.vmcb.push(new VmcbCtrl());
      this.vlapic.push(new Vlapic(i, (where, message) => this.crash(i, where, message), variant === 'main',
        machine.apic, variant === 'main' ? VLAPIC_VERSION_MAIN : VLAPIC_VERSION_2018));
      this.guestCpu.push(new GuestCpu());
      this.collapsed.push(vecSet());
      this.misrouted.push(new Array<string>(256).fill(''));
      this.wrongTarget.push(new Array<string>(256).fill(''));
      this.timerRemote.push(vecSet());
      this.lateCallout.push(-1);
      this.remoteWhy.push(new Array<string>(256).fill(''));
      this.remoteAtPass.push(new Array<number>(256).fill(0));
      this.nmiRemoteWhy.push('');
      this.lintWhy.push('');
      this.lintLevel.push(vecSet());
    }
    for (let i = 0; i < machine.vcpus; i++) this.ioapicWhy.push(new Array<string>(256).fill(''));
    for (let i = 0; i < machine.vcpus; i++) this.pinExtraInIrr.push(vecSet());
    for (let i = 0; i < machine.vcpus; i++) this.archAddrs.push({ id: i, ldr: 0, flat: true });
    this.vioapic = new Vioapic(machine.ioapic, (level, dest, phys, vector, lowprio) => {
      const dmask = vlapicCalcdest(this.vlapic, dest, phys, false, lowprio);
      this.noteRouting(dmask, this.archDest(-1, 'none', !phys, dest), vector, lowprio);
      // A message a software-disabled vlapic drops (vlapic_set_intr_ready returns 0) leaves the
      // diagnosis of the copy already in IRR as it was.
      for (let i = 0; i < this.vcpus; i++) {
        if (!(dmask & (1 << i)) || !this.vlapic[i]!.enabled()) continue;
        this.ioapicWhy[i]![vector] = this.vioapic.lastWhy;
        if (this.vioapic.lastWhy !== '') vsAdd(this.pinExtraInIrr[i]!, vector);
      }
      this.archSend = this.vioapic.lastWhy === '';
      this.vlapicDeliverIntr(level, dest, phys, vector, lowprio);
      this.archSend = true;
    });
    // The redirection table was programmed at boot: the rendezvous ran vioapic_update_tmr everywhere.
    for (const vl of this.vlapic) this.vioapic.updateTmr(vl, this.vlapic);
  }

  // ------------------------------------------------------------ BackendInstance

  apply(ev: Event, index: number): void {
    switch (ev.k) {
      case 'msi':
        this.lapicIntrMsi(ev.dest, ev.vector, ev.logical ?? false, ev.lowest ?? false, index);
        break;
      case 'ioapic':
        // Reported after the vIOAPIC ran: a lowest-priority message's choice (sink.arbitrated) comes first.
        this.ioapicOp(ev.pin, ev.op);
        this.sink.executed(index);
        break;
      case 'time':
        this.sink.executed(index);
        this.timeAdvance(ev.cpu, ev.advance);
        break;
      case 'lint':
        this.sink.executed(index);
        this.lintOp(ev.cpu, ev.pin, ev.op);
        break;
      case 'exit': this.exit(ev.cpu, ev.reason, index); break;
      case 'enter': svmEnter(this, ev.cpu); break;
      case 'enter_step': svmEnterStep(this, ev.cpu); break;
      case 'pirq': this.pirq(ev.cpu); break;
      case 'fault': this.vcpu[ev.cpu]!.faultArmed = true; break;
      case 'l2': break; // no nested guests
      default: this.guestInstruction(ev, index); break;
    }
    // Hardware acts eagerly on every vCPU that runs guest code.
    for (let i = 0; i < this.vcpus; i++) {
      const v = this.vcpu[i]!;
      if (v.dead) v.phase = Phase.Dead;
      else svmHardware(this, i);
    }
  }

  where(cpu: number): VcpuWhere {
    const v = this.vcpu[cpu]!;
    switch (v.phase) {
      case Phase.Guest: return 'guest';
      case Phase.Dead: return 'blocked';
      case Phase.Sleeping: return v.woken ? 'hv' : 'blocked';
      default: return 'hv';
    }
  }

  inL2(_cpu: number): boolean {
    return false;
  }

  /** Coverage state: vcpu state and run-loop phase, NMI pending, exitintinfo, V_IRQ/EVENTINJ/VINTR intercept. */
  coverage(cpu: number): number {
    const v = this.vcpu[cpu]!, c = this.vmcb[cpu]!;
    return v.state | v.phase << 3 | (v.nmiPending ? 1 << 6 : 0) | (v.exitintinfoValid ? 1 << 7 : 0) | (c.vIrq ? 1 << 8 : 0)
      | (c.eventinjValid ? 1 << 9 : 0) | (c.interceptVintr ? 1 << 10 : 0) | (c.interceptIret ? 1 << 11 : 0) | (v.selfIpiPending ? 1 << 12 : 0);
  }

  physPending(cpu: number): boolean {
    return this.ipiPending[cpu] !== 0;
  }

  guest(cpu: number): GuestCpu {
    return this.guestCpu[cpu]!;
  }

  snapshot(cpu: number): { irr: VecSet; isr: VecSet; ppr: number; extra?: string } {
    const v = this.vcpu[cpu]!;
    const c = this.vmcb[cpu]!;
    const vl = this.vlapic[cpu]!;
    const extra = `${PHASE_NAMES[v.phase]} ${VCPU_STATE_NAMES[v.state]} tpr=${hex(vl.tpr)} stk=${isrvecStkString(vl)} `
      + `v_tpr=${c.vTpr} v_irq=${c.vIrq ? 1 : 0} v_intr_vector=${hex(c.vIntrVector)} vintr=${c.interceptVintr ? 1 : 0} `
      + `iret=${c.interceptIret ? 1 : 0} shadow=${c.intrShadow ? 1 : 0}`
      + (c.eventinjValid ? ` eventinj=${hex(c.eventinjVector)}` : '')
      + (v.exitintinfoValid ? ` exitintinfo=${hex(v.exitintinfoVector)}` : '')
      + (v.nmiPending ? ' nmi_pending' : '') + (this.ipiPending[cpu] ? ' ipi-latched' : '');
    return { irr: vl.irr, isr: vl.isr, ppr: vl.ppr, extra };
  }

  whereStuck(cpu: number, vector: number): string | undefined {
    const vl = this.vlapic[cpu]!;
    const c = this.vmcb[cpu]!;
    if (vector === 2) {
      const v = this.vcpu[cpu]!;
      // An NMI bare metal sent here that bhyve routed elsewhere (an ID write undone): any NMI pending now is another
      // message's (one bare metal sent nowhere), held or not.
      if (this.misrouted[cpu]![2]) return this.misrouted[cpu]![2];
      if (!v.nmiPending) return undefined;
      if (c.interceptIret) return 'nmi-blocked-by-iret-intercept';
      // svm_inj_interrupts waits for the interrupt shadow with a VINTR window, which the CPU
      // opens only with RFLAGS.IF = 1.
      if (c.vIrq && c.vIntrVector === 0 && c.interceptVintr) return 'nmi-behind-vintr-window';
      if (v.phase === Phase.Sleeping) return 'nmi-pending-vcpu-asleep';
      // A device raised LINT (NMI delivery) from another host CPU: the guest ran on until the IPI.
      if (this.nmiRemoteWhy[cpu]) return this.nmiRemoteWhy[cpu];
      return 'nmi-pending';
    }
    // A message bare metal sent here never came (bhyve routed it elsewhere): whatever is in IRR
    // now is some other message's copy.
    if (vector >= 16 && this.misrouted[cpu]![vector]) return this.misrouted[cpu]![vector];
    if (vsHas(this.collapsed[cpu]!, vector)) return 'collapsed-into-taken-v_irq';
    // svm_inj_interrupts asks the 8259 first when vm_extint_pending(): the vIRR waits.
    if (this.vcpu[cpu]!.extintTaking && vsHas(vl.irr, vector)) return 'lint0-extint-while-sw-disabled';
    // The guest lowered TPR through CR8 below a vIRR vector: V_TPR has it, the vlapic's PPR only at the
    // next #VMEXIT. That is the hold even when the vIRR copy is a resend under a Remote IRR (below).
    if (vsHas(vl.irr, vector) && prioClass(vector) <= prioClass(vl.currentPpr()) && prioClass(vector) > c.vTpr) {
      const isrv = vsHighest(vl.isr);
      if (isrv < 0 || prioClass(vector) > prioClass(isrv)) return 'tpr-cr8-unnoticed';
    }
    // The vIRR copy is an extra resend under a Remote IRR whose EOI never came: that is the hold. Only when this
    // vCPU's vIRR took that copy (a LINT edge of the vector raised here is its own hold, below).
    const extra = vsHas(vl.irr, vector) && vsHas(this.pinExtraInIrr[cpu]!, vector) ? this.vioapic.heldBehindExtraCopy(vector) : undefined;
    if (extra !== undefined) return extra;
    if (vsHas(vl.irr, vector)) {
      if (c.vIrq && c.vIntrVector === vector) return c.interceptVintr ? 'v_irq-under-vintr-intercept' : 'v_irq-posted';
      // The PPR vlapic_pending_intr compares with (main stores it lazily).
      if (prioClass(vector) > prioClass(vl.currentPpr())) {
        // Raised by a local source on another host CPU (the 2018 timer callout, a device's LINT):
        // the guest ran on until the notification IPI made it exit. Once svm_inj_interrupts has
        // run since, it has seen the vIRR: what holds the vector now is something else.
        if (vsHas(this.timerRemote[cpu]!, vector) && this.remoteAtPass[cpu]![vector] === this.vcpu[cpu]!.injPasses) {
          return this.remoteWhy[cpu]![vector]!;
        }
        // The vIRR copy is another source's (an IPI or MSI sharing a level pin's vector, still on its
        // way in); the instance due here is the pin's re-send that a lost EOI held back.
        const lost = this.vioapic.eoiLostWhyOf(vector);
        if (lost) return lost;
        return 'virr';
      }
      const isrv = vsHighest(vl.isr);
      if (isrv >= 0 && prioClass(vector) <= prioClass(isrv)) return 'virr-below-isr';
      if (prioClass(vector) > c.vTpr) return 'tpr-cr8-unnoticed';
      return 'virr-below-tpr';
    }
    if (this.vcpu[cpu]!.exitintinfoValid && this.vcpu[cpu]!.exitintinfoVector === vector) return 'exitintinfo';
    // An expiry bare metal had and bhyve's callout did not (or not yet), or a level LINT
    // re-raise vlapic_fire_lvt never does.
    if (vector === vl.lvtTimer.vector && vl.timerPhase) return vl.timerPhase;
    // ... or one bare metal took on the old phase before a TMICT write restarted the count.
    if (vector === vl.lvtTimer.vector && vl.timerPhaseOwed) return vl.timerPhaseOwed;
    if (vector === vl.lvtTimer.vector && this.vcpu[cpu]!.softclockOwed) return 'timer-callout-softclock-owed';
    if (vsHas(this.lintLevel[cpu]!, vector)) return 'lint-level-as-edge';
    return this.vioapic.heldWhy(vector);
  }

  explain(cpu: number, what: string, vector: number): string | undefined {
    // main: bare metal's timer expiry merged into a pending instance of its vector; bhyve's callout was owed to the
    // softclock thread (the host timer interrupt held while GIF = 0, or taken and the vCPU thread not yet yielded), so
    // vlapic_callout_handler raised the vector after that instance was taken: a second one.
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra') && vector >= 16 && vector === this.lateCallout[cpu]) {
      return 'timer-callout-softclock-owed';
    }
    // vm_handle_hlt breaks out on vm_nmi_pending() even while the IRET intercept still blocks
    // NMIs: the guest resumes after its HLT with nothing delivered.
    if (what === 'ran-while-halted' && this.vcpu[cpu]!.hltEndedByBlockedNmi) return 'hlt-ended-by-blocked-nmi';
    // A redirection-table write's TMR rendezvous made vm_handle_hlt break out.
    if (what === 'ran-while-halted' && this.vcpu[cpu]!.hltEndedByRendezvous) return 'hlt-ended-by-rendezvous';
    // vioapic_update_tmr reset the bit of a vector bare metal accepted as level.
    if ((what === 'tmr-clear-for-level' || what === 'tmr-cleared-after-eoi') && vsHas(this.vlapic[cpu]!.tmrReset, vector)) return 'tmr-reset-by-rtbl-write';
    // An LDR/DFR write since the last vioapic_update_tmr: TMR follows the old logical destinations.
    if ((what === 'tmr-clear-for-level' || what === 'tmr-cleared-after-eoi' || what === 'tmr-set-without-level-message') && this.vlapic[cpu]!.tmrStale) return 'tmr-stale-after-ldr-write';
    // ... or a level message accepted while TMR was stale, its bit left clear; a rendezvous since ended tmrStale
    // without setting the bit (the table no longer sends the vector here), bare metal's is still set.
    if ((what === 'tmr-clear-for-level' || what === 'tmr-cleared-after-eoi') && vsHas(this.vlapic[cpu]!.tmrStaleAccepted, vector)) return 'tmr-stale-after-ldr-write';
    if (what === 'redir-remote-irr-stale') return this.vioapic.remoteIrrWhy(vector);
    if (what === 'redir-remote-irr-missing') return this.vioapic.remoteIrrClearedWhy(vector);
    // A message bare metal would have sent elsewhere (an APIC ID write bhyve ignored), or one of
    // a pin that the 82093AA would not have sent (which vioapic path sent it).
    // The 8259's vector never entered the vlapic: bare metal's mirror of that delivery holds it in ISR.
    if (what === 'duplicate' || what === 'spurious' || what === 'irr-extra' || what === 'masked' || what === 'isr-missing') {
      const why = this.lintWhy[cpu]!;
      if (vector === VATPIC_SPURIOUS && why.includes('lint0')) return 'lint0-extint-while-sw-disabled';
      if (vector === 2 && why.includes('lint1')) return 'lint1-nmi-while-sw-disabled';
    }
    const vl = this.vlapic[cpu]!;
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra') && vector >= 16) {
      if (vector === vl.lvtTimer.vector && vl.timerPhase) return vl.timerPhase;
      if (vsHas(this.lintLevel[cpu]!, vector)) return 'lint-level-as-edge';
    }
    if (what === 'tmcct-mismatch' && vl.timerPhase) return vl.timerPhase;
    if ((what === 'tmr-clear-for-level' || what === 'tmr-cleared-after-eoi' || what === 'tmr-set-without-level-message')
      && vsHas(this.lintLevel[cpu]!, vector)) return 'lint-level-as-edge';
    // TMR comes from the redirection table alone (vioapic_update_tmr): an edge message of a level
    // pin's vector (an IPI, MSI, the timer) leaves the programmed bit set where bare metal clears it.
    if (what === 'tmr-set-without-level-message' && vector >= 16 && vsHas(this.vlapic[cpu]!.tmr, vector) && this.vioapic.isLevelVector(vector)) {
      return 'tmr-programmed-from-rtbl';
    }
    if ((what === 'duplicate' || what === 'spurious' || what === 'irr-extra') && (vector >= 16 || vector === 2)) {
      return this.wrongTarget[cpu]![vector] || (vector >= 16 ? this.ioapicWhy[cpu]![vector] : '') || undefined;
    }
    // A lowest-priority message bhyve's vlapic_calcdest gave a vCPU that bare metal's destination
    // set leaves out (an ID write undone, a broadcast copy): noteRouting named why.
    if (what === 'lowest-priority-misrouted' && vector >= 16) return this.wrongTarget[cpu]![vector] || undefined;
    if (what === 'id-mismatch' && this.vlapic[cpu]!.archId !== this.vlapic[cpu]!.vcpuid) return 'apic-id-write-ignored';
    // vioapic_write kept ID bits 31:28 (APIC_ID_MASK), which IOAPIC_ID and IOAPIC_ARB reads return.
    if ((what === 'ioapic-id-reserved-bits' || what === 'ioapic-arb-reserved-bits') && (this.vioapic.id & 0xf0000000) !== 0) return 'ioapic-id-8-bits-writable';
    // Register reads: a shape is never a cause; only a path the model shows it took is named.
    // vioapic_update_tmr → vlapic_set_tmr_level is the only writer of a TMR bit here.
    if (what === 'tmr-level-pin-before-acceptance' && vector >= 16 && vsHas(vl.tmr, vector)) return 'tmr-programmed-from-rtbl';
    if (what === 'esr-riv-missing' && vl.rivDropped) return 'illegal-vector-dropped-before-receiver';
    if ((what === 'esr-riv-missing' || what === 'esr-extra-bits') && vl.lvtIllegalAsSend) return 'lvt-illegal-vector-sets-send-illegal';
    // An illegal-vector message bare metal addressed to this vCPU and bhyve's vlapic_calcdest did not (an ID write
    // undone): it never reached vlapic_set_intr_ready's check here.
    if (what === 'esr-riv-missing') {
      for (let v = 0; v < 16; v++) if (this.misrouted[cpu]![v]) return this.misrouted[cpu]![v];
    }
    // svm_update_virqinfo → vlapic_set_cr8(V_TPR) at every #VMEXIT: TPR[3:0] of an APIC-register write is gone.
    const g = this.guestCpu[cpu]!;
    if ((what === 'tpr-low-nibble-lost' || what === 'ppr-low-nibble-lost') && (vl.tpr & 0xf) === 0 && (g.tpr & 0xf) !== 0
      && (vl.tpr >>> 4) === (g.tpr >>> 4)) return 'tpr-low-nibble-cleared-by-vlapic-set-cr8';
    // main: vlapic_intr_accepted pushed isrvec_stk but left lapic->ppr as it was, and no
    // vlapic_pending_intr / EOI / TPR change has recomputed it yet: vlapic_read returns the old PPR.
    if (what === 'ppr-mismatch') {
      const vl = this.vlapic[cpu]!;
      if (vl.pprStale && vl.ppr !== vl.currentPpr()) return 'ppr-stale-after-accept';
    }
    return undefined;
  }

  // ------------------------------------------------------------ SvmVm / IcrTarget / HostIpi

  /** A delivery was committed (diagnostics: the owed instance, if any, is accounted for). */
  delivered(cpu: number, vector: number): void {
    vsDel(this.collapsed[cpu]!, vector);
    vsDel(this.timerRemote[cpu]!, vector);
    vsDel(this.pinExtraInIrr[cpu]!, vector);
    this.misrouted[cpu]![vector] = '';
    if (this.lateCallout[cpu] === vector) this.lateCallout[cpu] = -1;
  }

  crash(cpu: number, where: string, message: string): void {
    const v = this.vcpu[cpu]!;
    if (v.dead) return;
    v.dead = true;
    v.phase = Phase.Dead;
    this.sink.crash(cpu, where, message);
  }

  ipiCpu(hostcpu: number): void {
    this.ipiPending[hostcpu] = 1;
  }

  /** lapic_intr_edge from the ICR handler; the sender's thread runs on the sender's pCPU. */
  lapicIntrEdge(target: number, vector: number, sender: number): void {
    this.lapicSetIntr(target, vector, false, sender);
  }

  /** vm_inject_nmi: latch and notify (not as a LAPIC interrupt). */
  vmInjectNmi(target: number, sender: number): void {
    const v = this.vcpu[target]!;
    // Diagnostics: an NMI that merges into one a device raised from another CPU (and that the
    // guest has not taken yet) leaves that one's cause standing.
    if (!v.nmiPending) this.nmiRemoteWhy[target] = '';
    v.nmiPending = true;
    this.sink.step(target, 'vm_inject_nmi');
    vcpuNotifyEvent(v, false, sender, this);
  }

  // ------------------------------------------------------------ interrupt sources

  /** lapic_set_intr: vectors below 16 are refused with EINVAL before the vlapic sees them. */
  private lapicSetIntr(target: number, vector: number, level: boolean, curcpu: number): void {
    if (vector < 16 || vector > 255) {
      this.vlapic[target]!.rivDropped = true; // diagnostics: EINVAL before the vlapic latches RECEIVE_ILLEGAL_VECTOR
      return;
    }
    this.setIntrReadyNotify(target, vector, level, curcpu);
  }

  /** vlapic_set_intr_ready, then vcpu_notify_event(vcpu, true) when it returns 1. */
  private setIntrReadyNotify(target: number, vector: number, level: boolean, curcpu: number): boolean {
    const vl = this.vlapic[target]!;
    const c = this.vmcb[target]!;
    const was = vsHas(vl.irr, vector);
    this.sink.step(target, 'vlapic_set_intr_ready');
    if (!vl.setIntrReady(vector, level, this.archSend)) return false;
    if (was && c.vIntrVector === vector && !c.vIrq && c.vIntrVector !== 0) vsAdd(this.collapsed[target]!, vector);
    vcpuNotifyEvent(this.vcpu[target]!, true, curcpu, this);
    return true;
  }

  // ------------------------------------------------------------ the APIC timer and LINT

  /**
   * vlapic_fire_lvt: nothing if masked; NMI → vm_inject_nmi; fixed: a vector below 16 sets
   * SEND_ILLEGAL_VECTOR, else vlapic_set_intr_ready(vec, false) — edge, whatever the LVT's
   * trigger mode — and vcpu_notify_event. `curcpu`: the host CPU this runs on (-1: not the vCPU's).
   */
  private vlapicFireLvt(cpu: number, lvt: Lvt, curcpu: number, remote: string): boolean {
    if (lvt.masked) return false;
    if (lvt.nmi) {
      this.vmInjectNmi(cpu, curcpu);
      if (curcpu !== cpu) this.nmiRemoteWhy[cpu] = remote;
      return true;
    }
    if (lvt.vector < 16) {
      this.vlapic[cpu]!.setError(APIC_ESR_SEND_ILLEGAL_VECTOR);
      this.vlapic[cpu]!.lvtIllegalAsSend = true; // diagnostics: SDM 10.5.3 sets Receive Illegal Vector here
      return false;
    }
    if (!this.setIntrReadyNotify(cpu, lvt.vector, false, curcpu)) return false;
    if (curcpu !== cpu) {
      vsAdd(this.timerRemote[cpu]!, lvt.vector);
      this.remoteWhy[cpu]![lvt.vector] = remote;
      this.remoteAtPass[cpu]![lvt.vector] = this.vcpu[cpu]!.injPasses;
    }
    return true;
  }

  /**
   * Scenario `time`: binuptime() advances on this vCPU's clock. When it passes timer_fire_bt the
   * callout wheel dequeues vlapic_callout_handler on the callout's host CPU:
   * - 2018 trees (prefix, fixed): callout_reset_sbt with cpu -1 keeps the callout on c_cpu, which
   *   callout_init set to the default callout CPU (timeout_cpu): a host CPU that runs no vCPU here.
   *   The handler runs there at once, concurrently with the vCPU, and notifies it by IPI.
   * - main: vlapic_callout_reset uses callout_reset_sbt_curcpu, so the callout runs on the host CPU
   *   that armed it, the vCPU's own (vCPU i is pinned to pCPU i): the host timer interrupt meets
   *   the vCPU wherever it is (hostTimerInterrupt).
   */
  private timeAdvance(cpu: number, advance: number): void {
    const vl = this.vlapic[cpu]!;
    vl.now += advance;
    if (!vl.calloutExpired()) return;
    if (this.variant === 'main') this.hostTimerInterrupt(cpu);
    else this.vlapicCalloutHandler(cpu, -1);
  }

  /**
   * main: the timer interrupt of the vCPU's host CPU at the callout's expiry. hardclock →
   * callout_process makes the softclock thread (the callout is not C_DIRECT_EXEC) runnable on this
   * CPU; it runs vlapic_callout_handler once the vCPU thread lets it.
   */
  private hostTimerInterrupt(cpu: number): void {
    const v = this.vcpu[cpu]!;
    switch (v.phase) {
      case Phase.Guest:
        // The INTR intercept: #VMEXIT(INTR), svm_vmexit handles it, the thread loops and yields.
        svmVmexit(this, cpu, 'extintr');
        this.sink.step(cpu, 'hardclock');
        exitHandled(v, false);
        v.softclockOwed = true;
        return;
      case Phase.Loop:
        // In svm_vmrun's loop (critical section, GIF = 1): taken now, the yield comes after CLGI.
        this.sink.step(cpu, 'hardclock');
        v.softclockOwed = true;
        return;
      case Phase.Clgi:
      case Phase.Injected:
        // GIF = 0: held until VMRUN, which exits at once (svmLaunch).
        v.hostTimerPending = true;
        v.softclockOwed = true;
        return;
      default:
        // Frozen (out of the critical section), Sleeping (msleep_spin: the CPU is free), Dead.
        this.sink.step(cpu, 'hardclock');
        this.vlapicCalloutHandler(cpu, cpu);
        return;
    }
  }

  /** The vCPU thread yielded (vm_exit_astpending → FROZEN → critical_exit): the softclock runs. */
  yieldCpu(cpu: number): void {
    const v = this.vcpu[cpu]!;
    if (!v.softclockOwed) return;
    v.softclockOwed = false;
    const vl = this.vlapic[cpu]!;
    const before = vsHas(vl.irr, vl.lvtTimer.vector);
    this.vlapicCalloutHandler(cpu, cpu);
    // Diagnostics: the late callout raised a new instance of the timer vector.
    if (!before && vsHas(vl.irr, vl.lvtTimer.vector)) this.lateCallout[cpu] = vl.lvtTimer.vector;
  }

  /** vlapic_callout_handler → vlapic_fire_timer → vlapic_fire_lvt(APIC_LVT_TIMER), then the re-arm. */
  private vlapicCalloutHandler(cpu: number, curcpu: number): void {
    const vl = this.vlapic[cpu]!;
    this.sink.step(cpu, 'vlapic_callout_handler');
    if (!vl.calloutHandlerBegin()) return;
    this.sink.step(cpu, 'vlapic_fire_timer');
    this.vlapicFireLvt(cpu, vl.lvtTimer, curcpu, 'timer-callout-on-other-cpu');
    vl.calloutHandlerRearm();
  }

  /**
   * Scenario `lint`: the device drives the vCPU's LINT line. bhyve's devices signal a local
   * interrupt with lapic_set_local_intr (vatpic_notify_intr for LINT0 when the 8259's INTR output
   * rises, the VM_LAPIC_LOCAL_IRQ ioctl from userland): one call per rising edge, nothing on a
   * fall, no line state in the vlapic.
   */
  private lintOp(cpu: number, pin: 0 | 1, op: 'assert' | 'deassert' | 'pulse'): void {
    const i = cpu * 2 + pin;
    const rising = this.lintLine[i] === 0;
    this.lintLine[i] = op === 'assert' ? 1 : 0;
    if (op === 'deassert' || !rising) return;
    this.sink.step(cpu, 'lapic_set_local_intr');
    this.vlapicTriggerLvt(cpu, pin);
  }

  /**
   * vlapic_trigger_lvt(APIC_LVT_LINT0/1). With the vlapic disabled — vlapic_enabled() is false for
   * a software disable (SVR) as for a hardware one — "LINT[1:0] pins are configured as INTR and NMI
   * pins": LINT0 → vm_inject_extint, LINT1 → vm_inject_nmi, whatever the (masked) LVT says.
   * Otherwise vlapic_fire_lvt with the LVT entry.
   */
  private vlapicTriggerLvt(cpu: number, pin: 0 | 1): void {
    const vl = this.vlapic[cpu]!;
    this.sink.step(cpu, 'vlapic_trigger_lvt');
    if (!vl.enabled()) {
      if (pin === 0) {
        if (!this.lintWhy[cpu]!.includes('lint0')) this.lintWhy[cpu] += ' lint0';
        this.vcpu[cpu]!.extintPending = true; // vm_inject_extint
        this.sink.step(cpu, 'vm_inject_extint');
        vcpuNotifyEvent(this.vcpu[cpu]!, false, -1, this);
      } else {
        if (!this.lintWhy[cpu]!.includes('lint1')) this.lintWhy[cpu] += ' lint1';
        this.vmInjectNmi(cpu, -1);
      }
      return;
    }
    this.vlapicFireLvt(cpu, vl.lvtLint[pin], -1, 'lint-raised-on-other-cpu');
  }

  /**
   * vlapic_deliver_intr (IOAPIC and MSI): legacy 8-bit destination format, from device context. With
   * IOART_DELLOPRI, vlapic_calcdest(lowprio): the first logical match — reported as the arbitration
   * choice (REF-LP-1 accepts any addressed vCPU) — but a broadcast still reaches every vCPU.
   */
  private vlapicDeliverIntr(level: boolean, dest: number, phys: boolean, vector: number, lowprio: boolean): void {
    const dmask = vlapicCalcdest(this.vlapic, dest, phys, false, lowprio);
    if (lowprio && dmask !== 0) this.sink.arbitrated?.(31 - Math.clz32(dmask & -dmask));
    for (let i = 0; i < this.vcpus; i++) if (dmask & (1 << i)) this.lapicSetIntr(i, vector, level, this.ioapicCurcpu);
  }

  /**
   * vm_smp_rendezvous(vioapic_update_tmr) from the writer's thread: every active vCPU runs the
   * handler and the writer waits for all of them. Modelled as done at once; a vCPU in
   * vm_handle_hlt breaks out of its sleep for it and resumes its guest after the HLT, a vCPU
   * in its guest is notified (the IPI that makes it exit to run the handler).
   */
  private tmrRendezvous(writer: number): void {
    this.sink.step(writer, 'vm_smp_rendezvous(vioapic_update_tmr)');
    for (let i = 0; i < this.vcpus; i++) {
      this.vioapic.updateTmr(this.vlapic[i]!, this.vlapic);
      if (i === writer) continue;
      const v = this.vcpu[i]!;
      if (v.dead) continue;
      if (v.phase === Phase.Sleeping) v.rendezvousPending = true;
      vcpuNotifyEvent(v, false, writer, this);
    }
  }

  /** Diagnostics: the destination set bare metal decodes, with the IDs the guest wrote. */
  private archDest(self: number, shorthand: Shorthand, logical: boolean, dest: number): number {
    const addrs = this.archAddrs;
    for (let i = 0; i < this.vcpus; i++) {
      const vl = this.vlapic[i]!, a = addrs[i]!;
      a.id = vl.archId; a.ldr = vl.ldr; a.flat = vl.dfr >>> 28 === 0xf;
    }
    return matchDest(this.mode, addrs, self, shorthand, logical, dest);
  }

  /**
   * Diagnostics: record where bhyve's destination set (dmask) and bare metal's (arch) differ. A
   * lowest-priority message goes to one vCPU on bare metal: bhyve's first, if bare metal addresses
   * it; a broadcast's other copies are bhyve's own.
   */
  private noteRouting(dmask: number, arch: number, vector: number, lowprio = false): void {
    if (lowprio && dmask !== 0) {
      const first = dmask & -dmask;
      for (let i = 0; i < this.vcpus; i++) if ((dmask & ~first) & (1 << i)) this.wrongTarget[i]![vector] = 'lowprio-broadcast-to-all';
      dmask = first;
      if (arch & first) arch = first;
    }
    if (lowprio && arch !== 0 && dmask === 0) arch &= -arch;
    if (dmask === arch) return;
    let idWritten = false;
    for (const vl of this.vlapic) if (vl.archId !== vl.vcpuid) idWritten = true;
    const why = idWritten ? 'apic-id-write-ignored' : 'msi-xapic-dest-format';
    for (let i = 0; i < this.vcpus; i++) {
      if ((arch & ~dmask) & (1 << i)) this.misrouted[i]![vector] = why;
      if ((dmask & ~arch) & (1 << i)) this.wrongTarget[i]![vector] = why;
    }
  }

  /**
   * lapic_intr_msi: edge, the message's delivery mode (fixed or lowest priority) into
   * vlapic_deliver_intr. Reported executed after the arbitration choice.
   */
  private lapicIntrMsi(dest: number, vector: number, logical: boolean, lowest: boolean, index: number): void {
    this.noteRouting(vlapicCalcdest(this.vlapic, dest, !logical, false, lowest), this.archDest(0, 'none', logical, dest), vector, lowest);
    const dmask = vlapicCalcdest(this.vlapic, dest, !logical, false, lowest);
    if (lowest && dmask !== 0) this.sink.arbitrated?.(31 - Math.clz32(dmask & -dmask));
    this.sink.executed(index);
    for (let i = 0; i < this.vcpus; i++) if (dmask & (1 << i)) this.lapicSetIntr(i, vector, false, -1);
  }

  private ioapicOp(pin: number, op: 'assert' | 'deassert' | 'pulse' | 'mask' | 'unmask'): void {
    switch (op) {
      case 'assert': this.vioapic.assert(pin); return;
      case 'deassert': this.vioapic.deassert(pin); return;
      case 'pulse': this.vioapic.pulse(pin); return;
      case 'mask': this.vioapic.setMask(pin, true); return;
      case 'unmask': this.vioapic.setMask(pin, false); return;
    }
  }

  /** A guest access to the vIOAPIC page: a nested page fault, emulated by vm_handle_inst_emul. */
  private ioapicTrap(cpu: number, write: boolean): void {
    svmVmexit(this, cpu, 'nptfault');
    exitUnhandled(this.vcpu[cpu]!, true);
    this.sink.step(cpu, 'vm_handle_inst_emul');
    this.sink.step(cpu, write ? 'vioapic_mmio_write' : 'vioapic_mmio_read');
  }

  // ------------------------------------------------------------ hardware and hypervisor events

  /** The host IPI latched on this pCPU arrives, if the pCPU can take it. */
  private pirq(cpu: number): void {
    if (!this.ipiPending[cpu]) return;
    const v = this.vcpu[cpu]!;
    switch (v.phase) {
      case Phase.Guest:
        // INTR intercept: #VMEXIT(INTR); the host takes the interrupt at enable_gintr.
        svmVmexit(this, cpu, 'extintr');
        exitHandled(v, false);
        return;
      case Phase.Clgi:
      case Phase.Injected:
        return; // GIF = 0: held until VMRUN, then it forces #VMEXIT(INTR)
      default:
        this.ipiPending[cpu] = 0;
        this.sink.step(cpu, 'justreturn');
        return;
    }
  }

  /** Scenario `exit`: a host interrupt, or a guest instruction that bhyve intercepts. */
  private exit(cpu: number, reason: 'timer' | 'io' | 'cpuid' | 'npf' | 'pause', index: number): void {
    const v = this.vcpu[cpu]!;
    if (v.phase !== Phase.Guest) return;
    const g = this.guestCpu[cpu]!;
    switch (reason) {
      case 'timer':
        svmVmexit(this, cpu, 'extintr');
        exitHandled(v, false);
        return;
      case 'npf':
        // A nested page fault on guest memory: vm_handle_paging, the instruction restarts.
        svmVmexit(this, cpu, 'nptfault');
        this.sink.step(cpu, 'vm_handle_paging');
        exitUnhandled(v, false);
        return;
      case 'cpuid':
        g.beginInstruction();
        svmVmexit(this, cpu, 'cpuid');
        this.sink.step(cpu, 'x86_emulate_cpuid');
        this.sink.executed(index);
        exitHandled(v, true);
        return;
      case 'io':
        g.beginInstruction();
        svmVmexit(this, cpu, 'inout');
        this.sink.step(cpu, 'vm_handle_inout');
        this.sink.executed(index);
        exitUnhandled(v, true);
        return;
      case 'pause':
        g.beginInstruction();
        svmVmexit(this, cpu, 'pause');
        this.sink.executed(index);
        exitUnhandled(v, true); // VM_EXITCODE_PAUSE goes to userland and back
        return;
    }
  }

  /** An APIC register access traps: x2APIC MSR intercept (handled in svm_vmexit) or xAPIC MMIO. */
  private apicTrap(cpu: number, write: boolean): void {
    const v = this.vcpu[cpu]!;
    if (this.mode === 'x2apic') {
      svmVmexit(this, cpu, 'msr');
      this.sink.step(cpu, write ? 'lapic_wrmsr' : 'lapic_rdmsr');
      exitHandled(v, true);
    } else {
      svmVmexit(this, cpu, 'nptfault');
      exitUnhandled(v, true);
      this.sink.step(cpu, 'vm_handle_inst_emul');
      this.sink.step(cpu, write ? 'lapic_mmio_write' : 'lapic_mmio_read');
    }
  }

  private guestInstruction(ev: GuestEvent, index: number): void {
    const cpu = ev.cpu;
    const v = this.vcpu[cpu]!;
    const g = this.guestCpu[cpu]!;
    if (v.phase !== Phase.Guest || g.halted) return;
    g.beginInstruction();
    const vl = this.vlapic[cpu]!;
    switch (ev.k) {
      case 'cli': case 'sti': case 'step': case 'work': case 'wait':
        execCoreInstruction(g, ev.k);
        this.sink.executed(index);
        return;
      case 'assist':
        // No Hyper-V enlightenments: the guest's assist page write is plain memory.
        this.sink.executed(index);
        return;
      case 'iret':
        if (this.vmcb[cpu]!.interceptIret) {
          // Virtual NMI blocking: #VMEXIT(IRET) is taken before the IRET executes; the IRET
          // restarts after the next VMRUN and completes there (svmLaunch).
          svmVmexit(this, cpu, 'iret');
          clearNmiBlocking(this, cpu);
          exitHandled(v, false);
          v.iretRestart = true;
          v.pendingIret = index;
          return;
        }
        g.iret();
        this.sink.executed(index);
        return;
      case 'hlt':
        svmVmexit(this, cpu, 'hlt');
        v.hltIntrDisabled = !g.IF;
        exitUnhandled(v, true);
        g.hlt();
        this.sink.executed(index);
        vmHandleHlt(this, cpu);
        return;
      case 'tpr':
        if (ev.via === 'cr8') {
          // V_INTR_MASKING = 1: MOV CR8 writes V_TPR, no exit, no vlapic update until the next #VMEXIT.
          this.vmcb[cpu]!.vTpr = (ev.value >>> 4) & 0xf;
          g.tpr = ev.value & 0xf0;
          this.sink.executed(index);
          return;
        }
        this.apicTrap(cpu, true);
        this.sink.step(cpu, 'vlapic_set_tpr');
        vl.setTpr(ev.value);
        g.tpr = ev.value;
        this.sink.executed(index);
        return;
      case 'eoi': {
        this.apicTrap(cpu, true);
        this.sink.step(cpu, 'vlapic_process_eoi');
        const level = vl.processEoi();
        g.eoi();
        // Diagnostics: TMR clear because a rendezvous reset it after the vector was sent as level.
        if (level < 0 && vl.lastEoi >= 0) {
          if (vsHas(vl.tmrReset, vl.lastEoi)) this.vioapic.noteEoiLost(vl.lastEoi, 'eoi-lost-tmr-reset-by-rtbl-write');
          else if (vl.tmrStale || vsHas(vl.tmrStaleAccepted, vl.lastEoi)) this.vioapic.noteEoiLost(vl.lastEoi, 'eoi-lost-tmr-stale-after-ldr-write');
        }
        if (level >= 0) {
          this.sink.step(cpu, 'vioapic_process_eoi');
          // Diagnostics: TMR set by the table where an edge message of the vector was accepted last (issue 8).
          this.vioapic.processEoi(level, vsHas(vl.edgeAccepted, level) ? EOI_BY_TABLE_TMR : '');
        }
        this.sink.executed(index); // after the arbitration choice of a message the EOI re-sent
        return;
      }
      case 'read': {
        // Until the scenario writes ESR itself, the guest reads it the architectural way, write
        // then read (one step here); after its first lapic_write.esr a read is a plain read.
        const esrIdiom = ev.reg === 'esr' && !this.esrWritten[cpu];
        this.apicTrap(cpu, esrIdiom);
        if (esrIdiom) {
          this.sink.step(cpu, 'vlapic_esr_write_handler');
          vl.esrWrite();
        }
        this.sink.step(cpu, 'vlapic_read');
        switch (ev.reg) {
          case 'irr': this.sink.readValue(cpu, 'irr', vl.irr); break;
          case 'isr': this.sink.readValue(cpu, 'isr', vl.isr); break;
          case 'tmr': this.sink.readValue(cpu, 'tmr', vl.tmr); break;
          case 'ppr': this.sink.readValue(cpu, 'ppr', vl.ppr); break;
          case 'tpr': this.sink.readValue(cpu, 'tpr', vl.tpr); break;
          case 'esr': this.sink.readValue(cpu, 'esr', vl.esr); break;
        }
        this.sink.executed(index);
        return;
      }
      case 'ipi':
        this.apicTrap(cpu, true);
        this.sink.step(cpu, 'vlapic_icrlo_write_handler');
        this.sink.executed(index);
        if (ev.nmi || ev.vector >= 16) {
          const sh = ev.shorthand ?? 'none', lg = ev.logical ?? false, d = ev.dest ?? 0;
          if (sh === 'none') this.noteRouting(vlapicCalcdest(this.vlapic, d, !lg, this.mode === 'x2apic'), this.archDest(cpu, sh, lg, d), ev.nmi ? 2 : ev.vector);
        }
        vlapicIcrloWriteHandler(this, vl, ev.vector, ev.nmi ?? false, ev.shorthand ?? 'none', ev.logical ?? false, ev.dest ?? 0);
        return;
      case 'ioapic_write':
        // IOREGSEL/IOWIN for the high dword, then for the low dword (Linux __ioapic_write_entry order).
        this.ioapicTrap(cpu, true);
        this.ioapicCurcpu = cpu;
        this.vioapic.write(ev.pin, ev, () => this.tmrRendezvous(cpu));
        this.ioapicCurcpu = -1;
        this.sink.executed(index); // after the arbitration choice of a message the write sent
        return;
      case 'ioapic_reg_write':
        // IOREGSEL, then IOWIN: vioapic_mmio_write → vioapic_write's register switch (no rendezvous, no message).
        this.ioapicTrap(cpu, true);
        this.sink.step(cpu, 'vioapic_write');
        this.vioapic.writeReg(ev.reg, ev.value);
        this.sink.executed(index);
        return;
      case 'ioapic_read': {
        this.ioapicTrap(cpu, false);
        this.sink.readValue(cpu, ioapicReadReg(ev.reg), this.vioapic.read(ev.reg, ev.pin ?? -1));
        this.sink.executed(index);
        return;
      }
      case 'int':
        // INT n does not exit: vmcb_init intercepts no INTn and, in the exception bitmap, only #MC
        // (every vector only with hw.vmm.trace_guest_exceptions, and INT n is no exception). The
        // CPU enters the handler through the guest's IDT; IF = 0 then holds off svm_inj_interrupts
        // (EVENTINJ) or the CPU (V_IRQ) until the handler's IRET. [svm.c vmcb_init @ both trees]
        g.softInt(ev.vector);
        this.sink.executed(index);
        return;
      case 'self_ipi':
        // WRMSR 0x83F: MSR intercept → emulate_wrmsr → lapic_wrmsr → vlapic_write(APIC_OFFSET_SELF_IPI)
        // → vlapic_self_ipi_handler → lapic_intr_edge; no hardware virtualizes it on SVM here.
        this.apicTrap(cpu, true);
        this.sink.step(cpu, 'vlapic_self_ipi_handler');
        this.sink.executed(index);
        // lapic_set_intr refuses a vector below 16 with EINVAL: no IRR bit, no ESR bit.
        this.lapicSetIntr(cpu, ev.vector & 0xff, false, cpu);
        return;
      case 'lapic_read': {
        this.apicTrap(cpu, false);
        this.sink.step(cpu, 'vlapic_read');
        let val = 0;
        switch (ev.reg) {
          case 'id': val = vl.id; break;
          case 'version': val = vl.version; break;
          case 'ldr': val = vl.ldr; break;
          case 'dfr': val = vl.dfr; break;
          case 'svr': val = vl.svr; break;
          // vlapic_get_ccr: the time left to timer_fire_bt while the callout is active, else 0.
          case 'tmcct': val = vl.getCcr(); break;
        }
        this.sink.readValue(cpu, ev.reg, val);
        this.sink.executed(index);
        return;
      }
      case 'lapic_write':
        switch (ev.reg) {
          case 'svr':
            this.apicTrap(cpu, true);
            this.sink.step(cpu, 'vlapic_svr_write_handler');
            // A disable stops the timer callout and masks the LVTs (neither modelled further).
            if (vl.svrWrite(ev.value) && !vl.enabled()) this.sink.step(cpu, 'vlapic_mask_lvts');
            this.sink.executed(index);
            return;
          case 'esr':
            this.apicTrap(cpu, true);
            this.sink.step(cpu, 'vlapic_esr_write_handler');
            vl.esrWrite();
            this.esrWritten[cpu] = 1;
            this.sink.executed(index);
            return;
          case 'id':
            // vlapic_id_write_handler puts lapic->id back to vcpuid << 24: the write is lost.
            this.apicTrap(cpu, true);
            this.sink.step(cpu, 'vlapic_id_write_handler');
            vl.idWrite(ev.value);
            this.sink.executed(index);
            return;
          case 'ldr':
            this.apicTrap(cpu, true);
            this.sink.step(cpu, 'vlapic_ldr_write_handler');
            vl.ldrWrite(ev.value);
            this.sink.executed(index);
            return;
          case 'dfr':
            this.apicTrap(cpu, true);
            this.sink.step(cpu, 'vlapic_dfr_write_handler');
            vl.dfrWrite(ev.value);
            this.sink.executed(index);
            return;
        }
      case 'lvt_timer':
        // vlapic_write(APIC_OFFSET_TIMER_LVT) → vlapic_lvt_write_handler (the callout is untouched).
        this.apicTrap(cpu, true);
        this.sink.step(cpu, 'vlapic_lvt_write_handler');
        vl.lvtWrite(vl.lvtTimer, ev.vector, ev.masked, false, false, ev.mode === 'periodic');
        this.sink.executed(index);
        return;
      case 'timer_initial':
        this.apicTrap(cpu, true);
        this.sink.step(cpu, 'vlapic_icrtmr_write_handler');
        vl.icrtmrWrite(ev.count);
        this.sink.executed(index);
        return;
      case 'lvt_lint':
        this.apicTrap(cpu, true);
        this.sink.step(cpu, 'vlapic_lvt_write_handler');
        vl.lvtWrite(vl.lvtLint[ev.pin], ev.vector, ev.masked, ev.nmi ?? false, ev.trigger === 'level', false);
        if (ev.trigger === 'level' && !ev.nmi) vsAdd(this.lintLevel[cpu]!, ev.vector & 0xff);
        this.sink.executed(index);
        return;
      case 'vmentry':
        return; // no nested guests (supports() refuses such machines)
      default:
        return; // features not declared (src/scenario/features.ts): refused before anything runs
    }
  }
}

