// The oracle: receives a backend's observations (it is the backend's ObsSink), mirrors the
// guest-visible ones into the reference, and asks at each of them "could bare metal have
// produced this?" (docs/oracle.md). It never asks "did the backend do what the reference
// did at the same step?": hardware latency makes that question unsound.
//
// Its safety checks do not depend on the backend's cooperation: the engine tells it where
// each event is about to happen and the oracle reads the backend's required queries (where
// the vCPU is, whether physical interrupts are in flight to its pCPU, the guest core), so a
// backend that never reports an evaluation point, drops an instruction or leaves a halted
// guest running is judged all the same (REF-DUE-1, REF-CORE-1/2, REF-TIME-1).
//
// Every divergence is recorded under its root cause (divergence.ts); what follows from a
// cause in the same run — the same held vector seen again, a priority inversion behind it,
// an IRR read missing it, anything on a vCPU whose core state the mirror lost — is added to
// that cause as a symptom.
import { ioapicIdImpossible, ioapicVersionImpossible, lapicVersionImpossible } from '../reference/model-specific.js';
import type { GuestCpu } from '../apic/guestcpu.js';
import type { ObsSink, VcpuWhere } from '../backends/api.js';
import {
  hex, prioClass, vecSet, vsAdd, vsEmpty, vsFormat, vsHas, vsHighest, type VecSet,
} from '../apic/vecset.js';
import {
  ESR_RECV_ILLEGAL, ESR_SEND_ILLEGAL, NMI_VECTOR, Reference, SRC_NAMES, Trig, type CollapseListener, type DeliveryFault,
  type MisrouteListener,
} from '../reference/lapic.js';
import { REDIR_DELIVERY_STATUS, REDIR_REMOTE_IRR, type IoPin } from '../apic/ioapic.js';
import { GUEST_EVENTS, type Event, type MachineConfig, type Reg } from '../scenario/types.js';
import {
  makeCause, makeSignature, type CauseClass, type Divergence, type DivergenceKind,
} from './divergence.js';

export interface ObsListener {
  (cpu: number, what: string): void;
}

/** What the oracle reads of a backend instance: its required queries (api.ts). */
export interface BackendView {
  where(cpu: number): VcpuWhere;
  inL2(cpu: number): boolean;
  physPending(cpu: number): boolean;
  guest(cpu: number): GuestCpu;
  snapshot(cpu: number): { isr: VecSet };
  whereStuck?(cpu: number, vector: number): string | undefined;
  explain?(cpu: number, what: string, vector: number): string | undefined;
}

/** Index of the NMI in per-vector tables. */
const NMI_SLOT = 256;
const MAX_SYMPTOMS = 24;
const scratch = vecSet();

export class Oracle implements ObsSink, CollapseListener, MisrouteListener {
  readonly ref: Reference;
  readonly divergences: Divergence[] = [];
  private readonly bySig = new Map<string, number>();
  private view: BackendView | undefined;

  // Per vCPU
  private readonly lastStep: string[] = [];
  /** Each vCPU's last executed instruction (a trapping `exit` as "<reason>-exit"; '' before the first). */
  private readonly lastExec: string[] = [];
  private readonly exitsOn: Uint32Array;
  /** Per vCPU and vector (NMI at NMI_SLOT): 1 + index of the cause that holds it, 0 none. */
  private readonly owner: Own[] = [];
  /** Per vCPU: 1 + index of a cause after which the mirror of that vCPU cannot be trusted. */
  private readonly taint: Int32Array;
  /**
   * Per I/O APIC pin, 1 + the divergence that first made the pin send a message bare metal
   * would not send. From then on the backend's pin (its Remote IRR, what its next EOI retires)
   * is not bare metal's: later extra messages of the pin, its Remote IRR reads and its held
   * line are consequences and ride with that cause (docs/oracle.md, "Consequences ride").
   */
  private readonly pinOwner = new Map<number, number>();
  private readonly l1Owner: Own[] = [];
  /**
   * Per vCPU and vector: where the backend held a message when bare metal collapsed it into
   * the pending instance. A later second delivery of that vector is the held message arriving
   * late, and its cause is that place.
   */
  private readonly collapsedAt: (string | undefined)[][] = [];
  /**
   * Per vCPU and slot: bare metal merged a message into the pending instance (1), and, once
   * that instance was delivered late under a cause, that cause: a mechanism that kept the
   * merged message apart delivers it again because it held the first one past its due point.
   */
  private readonly merged: Own[] = [];
  private readonly dupOwner: Own[] = [];
  private crashedAny = false;

  // The event being applied
  private cur: Event | undefined;
  private curIndex = -1;
  private curExecuted = false;
  private expectExec = -1;
  private exitsBefore = 0;
  /** The event's vCPU had physical interrupts in flight at the boundary before it. */
  private physAtBegin = false;
  private curCpu = -1;
  /** The boundary before the current guest instruction has been judged. */
  private boundaryDone = false;
  /** What bare metal takes at the boundary before the current instruction (-1: nothing), and where the backend held it then. */
  private dueAt = -1;
  private dueTag: string | undefined;
  /**
   * Per vCPU, the last instruction that trapped before executing (its exit came first) and
   * may complete later (a restarted IRET): its event, index and the judgement of its
   * boundary, made when the guest stood at it.
   */
  private readonly deferEv: (Event | undefined)[] = [];
  private readonly deferIndex: number[] = [];
  private readonly deferDue: number[] = [];
  private readonly deferTag: (string | undefined)[] = [];
  /**
   * Per vCPU, 2 + the vector its last executed EOI retired on bare metal (1: none); 0: no
   * EOI since the last check. REF-EOI-3 is judged at the next boundary of that vCPU.
   */
  private readonly eoiRetired: Int32Array;

  /** Count of observations that show the mechanism doing something (for the drain). */
  activity = 0;
  exits = 0;
  deliveries = 0;
  /** VM exits by reason since the drain last reset it (livelock tags). */
  readonly exitReasons = new Map<string, number>();
  /** Optional trace listener (only `irqdiff run` sets one). */
  listener: ObsListener | undefined;

  constructor(readonly machine: MachineConfig, readonly backendName: string, readonly variant: string) {
    this.ref = new Reference(machine);
    this.exitsOn = new Uint32Array(machine.vcpus);
    this.taint = new Int32Array(machine.vcpus);
    this.eoiRetired = new Int32Array(machine.vcpus);
    for (let i = 0; i < machine.vcpus; i++) {
      this.lastStep.push('');
      this.lastExec.push('');
      this.deferEv.push(undefined);
      this.deferIndex.push(0);
      this.deferDue.push(-1);
      this.deferTag.push(undefined);
      this.owner.push(new Own());
      this.l1Owner.push(new Own());
      this.collapsedAt.push([]);
      this.merged.push(new Own());
      this.dupOwner.push(new Own());
    }
    this.ref.collapses = this;
    this.ref.misroutes = this;
  }

  /** REF-LP-1: the backend says which vCPU its lowest-priority arbitration chose. */
  arbitrated(cpu: number): void {
    this.ref.lowestChoices.push(cpu);
  }

  /** REF-LP-1: the chosen vCPU is not among those the message addresses. */
  misrouted(cpu: number, vector: number, allowed: number): void {
    const to = [];
    for (let i = 0; i < this.machine.vcpus; i++) if (allowed & (1 << i)) to.push(`vCPU${i}`);
    this.record('spurious', makeCause('spurious', this.why(cpu, 'lowest-priority-misrouted', vector, 'lowest-priority-outside-destinations')), cpu,
      `a lowest-priority message of ${hex(vector)} went to vCPU${cpu}; it addressed only ${to.join(', ')}`, 'lowest-priority');
  }

  /** Bare metal merged a message into the pending instance: does the mechanism keep it apart? */
  collapsed(cpu: number, v: number): void {
    this.collapsedAt[cpu]![v] = this.view?.explain?.(cpu, 'collapsed', v);
    this.merged[cpu]!.set(v === NMI_VECTOR ? NMI_SLOT : v, 1);
  }

  /** The engine hands the oracle the instance it judges (after creating it with this sink). */
  attach(view: BackendView): void {
    this.view = view;
  }

  private phys(cpu: number): boolean {
    return this.view ? this.view.physPending(cpu) : false;
  }

  private srcName(cpu: number, v: number): string {
    if (v === NMI_VECTOR) return 'nmi';
    return SRC_NAMES[this.ref.cpus[cpu]!.srcOf(v)] ?? 'none';
  }

  // ------------------------------------------------------------------ recording

  /**
   * Record a symptom under `cause`. Returns the index of the divergence it was filed under
   * (-1: dropped after a crash).
   */
  private record(kind: DivergenceKind, cause: string, cpu: number, message: string, symptom: string): number {
    // After a hypervisor crash the VM is dead: what it then fails to do is a consequence.
    if (this.crashedAny) return -1;
    if (cpu >= 0 && this.taint[cpu]! > 0) {
      const i = this.taint[cpu]! - 1;
      this.addSymptom(i, `${kind}:${symptom}`);
      return i;
    }
    const signature = makeSignature(this.backendName, this.variant, cause);
    const known = this.bySig.get(signature);
    if (known !== undefined) {
      this.addSymptom(known, `${kind}:${symptom}`);
      return known;
    }
    const i = this.divergences.length;
    this.divergences.push({ kind, cause, signature, cpu, at: this.curIndex, message, symptoms: [`${kind}:${symptom}`] });
    this.bySig.set(signature, i);
    this.listener?.(cpu, `DIVERGENCE ${cause} (${kind}) — ${message}`);
    return i;
  }

  private addSymptom(i: number, s: string): void {
    const d = this.divergences[i]!;
    if (d.symptoms.length < MAX_SYMPTOMS && !d.symptoms.includes(s)) d.symptoms.push(s);
  }

  /**
   * An interrupt bare metal would have taken (or shown) is not where it should be. Its cause
   * is where the mechanism holds it (the backend's whereStuck tag); a vector already held by
   * a cause of this run adds a symptom to it.
   */
  private held(cpu: number, v: number, kind: DivergenceKind, message: string, untagged: [CauseClass, string] | null = null, tagAt?: string): void {
    const slot = v === NMI_VECTOR ? NMI_SLOT : v;
    const own = this.owner[cpu]!.get(slot);
    const symptom = kind === 'priority-inversion' || kind === 'nmi-order' ? `${this.srcName(cpu, v)}` : this.srcName(cpu, v);
    if (own > 0) { this.record(kind, this.divergences[own - 1]!.cause, cpu, message, symptom); return; }
    const po = v === NMI_VECTOR ? -1 : this.pinOwned(this.pinOfVector(v));
    if (po >= 0) { this.record(kind, this.divergences[po]!.cause, cpu, message, symptom); return; }
    const tag = tagAt ?? this.view?.whereStuck?.(cpu, v);
    let cause: string;
    if (tag) cause = makeCause('stuck', tag);
    else if (untagged) cause = makeCause(untagged[0], untagged[1]);
    else cause = makeCause('stuck', v === NMI_VECTOR ? 'untagged-nmi' : 'untagged');
    const i = this.record(kind, cause, cpu, message, symptom);
    if (i >= 0) this.owner[cpu]!.set(slot, i + 1);
  }

  /** The backend's tag for a non-held divergence, else the oracle's own shape. */
  private why(cpu: number, what: string, vector: number, fallback: string = what): string {
    return this.view?.explain?.(cpu, what, vector) ?? fallback;
  }

  // ------------------------------------------------------------------ engine hooks

  /** The engine announces the event it is about to hand to the backend. */
  begin(ev: Event, index: number): void {
    this.cur = ev;
    this.curIndex = index;
    this.curExecuted = false;
    this.expectExec = -1;
    this.curCpu = -1;
    this.boundaryDone = false;
    this.dueAt = -1;
    this.ref.lowestChoices.length = 0;
    this.ref.lowestNext = 0;
    const v = this.view;
    if (!v) return;
    let instruction: boolean;
    switch (ev.k) {
      case 'l2':
        if (v.where(ev.cpu) === 'guest' && v.inL2(ev.cpu)) this.l2Boundary(ev.cpu);
        return;
      case 'exit': instruction = ev.reason !== 'timer' && ev.reason !== 'npf'; break; // CPUID, OUT, PAUSE trap
      case 'msi': case 'ioapic': case 'enter': case 'enter_step': case 'pirq': case 'fault': case 'time': case 'lint': return;
      default: instruction = true; break;
    }
    const cpu = ev.cpu;
    if (!instruction || this.crashedAny || v.where(cpu) !== 'guest' || v.inL2(cpu)) return;
    this.curCpu = cpu;
    // A trapping instruction's exit may take a kick that was still in flight at the boundary
    // before it; what was in flight there stays in flight for that boundary's judgement.
    this.physAtBegin = v.physPending(cpu);
    const halted = v.guest(cpu).halted;
    if (!halted && ev.k !== 'exit') {
      this.expectExec = cpu;
      this.exitsBefore = this.exitsOn[cpu]!;
    }
    this.compareCore(cpu);
    if (this.eoiRetired[cpu] !== 0) this.compareIsr(cpu);
    // The boundary before the instruction is judged in the state before the backend runs
    // it (a trapping instruction's exit changes the mechanism); it is reported only if the
    // instruction then executes with the interrupt still not taken.
    if (!halted) {
      // For a vCPU bare metal has halted: what would end the HLT here (REF-HLT-1).
      if (!this.physAtBegin) this.ref.land(cpu);
      this.dueAt = this.ref.cpus[cpu]!.guest.halted ? this.ref.wakesHalted(cpu) : this.ref.takeNow(cpu);
      if (this.dueAt >= 0) this.dueTag = v.whereStuck?.(cpu, this.dueAt);
    }
  }

  /** The engine says the backend has finished with the event. */
  end(ev: Event, index: number): void {
    const v = this.view;
    if (!v || this.crashedAny) return;
    // REF-CORE-2: a running vCPU executes its instruction, unless a VM exit came first.
    const cpu = this.expectExec;
    if (cpu >= 0 && !this.curExecuted) {
      if (this.exitsOn[cpu] !== this.exitsBefore) {
        this.deferEv[cpu] = ev;
        this.deferIndex[cpu] = index;
        this.deferDue[cpu] = this.dueAt;
        this.deferTag[cpu] = this.dueTag;
      } else if (v.where(cpu) === 'guest' && !v.inL2(cpu)) {
        // The instruction is the symptom; the mechanism is the path that resumed the guest
        // past it — by default named by the instruction before it (whose exit handler, if it
        // trapped, returned to the wrong place).
        const path = this.lastExec[cpu] ? `after-${this.lastExec[cpu]}` : 'first-instruction';
        this.record('dropped', makeCause('dropped', this.why(cpu, 'dropped', -1, path)), cpu, `vCPU${cpu} was running guest code but never executed its ${ev.k}`, ev.k);
      }
    }
    // REF-HLT-1 / REF-TIME-1: the vCPU thread ran and went back to sleep although its HLT should end.
    if ((ev.k === 'enter' || ev.k === 'enter_step') && v.where(ev.cpu) === 'blocked') this.haltedCheck(ev.cpu);
  }

  /** REF-CORE-1: the backend's guest core must be where its instructions and deliveries put it. */
  private compareCore(cpu: number): void {
    const r = this.ref.cpus[cpu]!.guest;
    const b = this.view!.guest(cpu);
    let what = '';
    const rf = r.frames.length, bf = b.frames.length;
    if (rf > bf) what = 'handler-not-entered';
    else if (rf < bf) what = 'frame-without-delivery';
    else if (rf > 0 && (r.frames[rf - 1]!.vector !== b.frames[bf - 1]!.vector || r.frames[rf - 1]!.nmi !== b.frames[bf - 1]!.nmi)) what = 'handler-mismatch';
    else if (r.IF !== b.IF) what = 'if-mismatch';
    else if (r.nmiBlocked !== b.nmiBlocked) what = 'nmi-blocking-mismatch';
    else if (r.shadow !== b.shadow) what = 'shadow-mismatch';
    if (!what) return;
    const msg = `vCPU${cpu}'s guest core diverged (${what}): bare metal ${coreText(r)}, ${this.backendName} ${coreText(b)}`;
    const i = this.record('core', makeCause('core', this.why(cpu, what, -1)), cpu, msg, what);
    if (i >= 0 && this.taint[cpu] === 0) this.taint[cpu] = i + 1;
    r.copyFrom(b); // resynchronize: one divergence, not a cascade
  }

  /**
   * REF-EOI-3: an EOI retires the highest in-service vector before the next instruction (it
   * has no latency on bare metal). Checked once, at the vCPU's next boundary, so an EOI
   * emulated in the exit handler has had its chance; a lost or misdirected EOI is named
   * here, where it happened, rather than by the vectors it strands later. Only the retired
   * bit is compared: a mechanism may learn of an acceptance late (bhyve's V_IRQ is accounted
   * at the next exit), which no guest access can see, but nothing lets it keep a retired bit.
   */
  private compareIsr(cpu: number): void {
    const retired = this.eoiRetired[cpu]! - 2;
    this.eoiRetired[cpu] = 0;
    const r = this.ref.cpus[cpu]!;
    if (retired < 0 || vsHas(r.isr, retired)) return;
    const b = this.view!.snapshot(cpu).isr;
    if (!vsHas(b, retired)) return;
    const msg = `vCPU${cpu}'s EOI left ${hex(retired)} in service (ISR ${vsFormat(b)}); bare metal retired it (ISR ${vsFormat(r.isr)})`;
    const i = this.record('isr', makeCause('eoi', this.why(cpu, 'isr-not-cleared', retired)), cpu, msg, 'isr-not-cleared');
    if (i >= 0 && this.taint[cpu] === 0) this.taint[cpu] = i + 1;
    vsAdd(r.isr, retired); // resynchronize: what the lost EOI strands is its consequence
  }

  /**
   * REF-DUE-1 and REF-TIME-1 at the instruction boundary before a guest instruction that
   * executed: what has landed is due, and what bare metal would take here must have been
   * taken. For the current event the judgement was prepared in begin().
   */
  private boundary(cpu: number, current: boolean, index = 0): void {
    const a = this.ref.cpus[cpu]!;
    if (a.guest.halted) {
      // REF-HLT-1: a halted core executes nothing until an interrupt or NMI ends the HLT.
      // If something pending does end it on bare metal, the HLT ending is right and the
      // divergence is that this was not taken with it: filed where the mechanism holds it.
      // Judged in the state the guest stood in at the boundary (prepared in begin()).
      const earlierHlt = !current && this.deferEv[cpu] !== undefined && this.deferIndex[cpu] === index;
      let w: number;
      let wTag: string | undefined;
      if (current) { w = this.dueAt; wTag = this.dueTag; }
      else if (earlierHlt) { w = this.deferDue[cpu]!; wTag = this.deferTag[cpu]; this.deferEv[cpu] = undefined; }
      else { if (!this.phys(cpu)) this.ref.land(cpu); w = this.ref.wakesHalted(cpu); }
      // A physical interrupt is still in flight to the pCPU, so an NMI on the bus has not been
      // forced to land; but it may land at any moment (REF-LAT), and then it ends the HLT: that
      // explains the HLT ending (KVM's process_nmi takes an NMI through KVM_REQ_NMI while the kick
      // sent with it is still in flight). NMIs only: a fixed message that ends a HLT early is the
      // mechanism's own cause (ACRN's signal-before-request) and must keep its name.
      // Only when the backend names no path that ended the HLT (explain 'ran-while-halted').
      if (w < 0 && this.phys(cpu) && a.nmiInflight !== 0 && this.view?.explain?.(cpu, 'ran-while-halted', -1) === undefined) {
        this.ref.landNmi(cpu);
        w = this.ref.wakesHalted(cpu);
      }
      if (w >= 0) {
        a.guest.halted = false;
        this.held(cpu, w, 'late', `vCPU${cpu} left its HLT without taking ${w === NMI_VECTOR ? 'the NMI' : hex(w)} that ends it on bare metal`, null, wTag);
        return;
      }
      const i = this.record('core', makeCause('core', this.why(cpu, 'ran-while-halted', -1)), cpu,
        `vCPU${cpu} executed an instruction although it was halted and nothing ended the HLT`, 'ran-while-halted');
      if (i >= 0 && this.taint[cpu] === 0) this.taint[cpu] = i + 1;
      a.guest.halted = false;
      return;
    }
    let v: number;
    let tag: string | undefined;
    const earlier = !current && this.deferEv[cpu] !== undefined && this.deferIndex[cpu] === index;
    if (current || earlier) {
      v = current ? this.dueAt : this.deferDue[cpu]!;
      tag = current ? this.dueTag : this.deferTag[cpu];
      if (earlier) this.deferEv[cpu] = undefined;
      // Taken meanwhile (a delivery at this boundary inside the event): nothing to judge.
      if (v >= 0 && this.ref.takeNow(cpu) !== v) v = -1;
    } else {
      if (!this.phys(cpu)) this.ref.land(cpu);
      v = this.ref.takeNow(cpu);
      tag = v >= 0 ? this.view?.whereStuck?.(cpu, v) : undefined;
    }
    if (v >= 0) {
      this.held(cpu, v, 'late', v === NMI_VECTOR
        ? `vCPU${cpu} kept running with an NMI pending that bare metal takes at this boundary`
        : `vCPU${cpu} kept running with ${hex(v)} pending, deliverable and due: bare metal takes it at this boundary`, null, tag);
      // The mechanism is holding interrupts here: that an optional instance was not taken
      // either says nothing about whether it collapsed (REF-ACC-3 waits for a clean boundary).
      return;
    }
    this.ref.settleExtras(cpu);
  }

  /** REF-NST-3 at an L2 instruction: a deliverable L1 interrupt must have made L2 exit. */
  private l2Boundary(cpu: number): void {
    const a = this.ref.cpus[cpu]!;
    if (!a.l2Running || this.crashedAny) return;
    if (!this.phys(cpu)) this.ref.land(cpu);
    const v = this.ref.wouldExitL2(cpu);
    if (v >= 0) this.held(cpu, v, 'late', `L2 on vCPU${cpu} kept running although L1's ${hex(v)} was due and L1 asked for external-interrupt exiting`);
  }

  /** A vCPU that was scheduled stays asleep: fine unless its HLT should have ended. */
  private haltedCheck(cpu: number): void {
    const a = this.ref.cpus[cpu]!;
    if (!a.guest.halted) return;
    if (!this.phys(cpu)) this.ref.land(cpu);
    const v = this.ref.wakesHalted(cpu);
    if (v >= 0) this.held(cpu, v, 'late', `vCPU${cpu} stayed in HLT although ${v === NMI_VECTOR ? 'an NMI' : hex(v)} was pending and would end it`);
  }

  // ------------------------------------------------------------------ ObsSink

  executed(index: number): void {
    let ev = this.cur;
    if (index !== this.curIndex) {
      // An instruction that trapped earlier completes now (e.g. an IRET restarted after VM entry).
      ev = undefined;
      for (let c = 0; c < this.deferEv.length; c++) if (this.deferEv[c] !== undefined && this.deferIndex[c] === index) ev = this.deferEv[c];
    } else this.curExecuted = true;
    if (!ev) return;
    if (ev.k === 'exit') this.lastExec[ev.cpu] = `${ev.reason}-exit`;
    else if ('cpu' in ev && GUEST_EVENTS.has(ev.k)) this.lastExec[ev.cpu] = ev.k;
    if (ev.k !== 'step') this.activity++;
    // A trapping guest instruction (CPUID, OUT, PAUSE) has its boundary too.
    if ('cpu' in ev && (GUEST_EVENTS.has(ev.k) || ev.k === 'exit')) {
      if (ev !== this.cur) this.boundary(ev.cpu, false, index);
      else if (!this.boundaryDone) { this.boundary(ev.cpu, ev.cpu === this.curCpu); this.boundaryDone = true; }
    }
    if (ev.k === 'eoi') {
      const h = vsHighest(this.ref.cpus[ev.cpu]!.isr);
      this.ref.apply(ev);
      // An EOI the guest avoided through Hyper-V's APIC assist is completed by the hypervisor
      // when it next looks (TLFS "EOI assist"): no REF-EOI-3 check; its effects are judged by
      // the reads and the timeliness rules.
      this.eoiRetired[ev.cpu] = ev.assist ? 0 : h + 2;
    } else this.ref.apply(ev);
    this.listener?.('cpu' in ev ? ev.cpu : -1, `executed ${ev.k}`);
  }

  /** A cooperative due point for fixed interrupts (a VID or software evaluation of IRR). */
  evaluate(cpu: number): void {
    this.ref.land(cpu, false);
  }

  deliver(cpu: number, vector: number, nmi: boolean, via?: string): void {
    this.judgeDelivery(cpu, vector, nmi, via, false);
  }

  /**
   * Judge and perform a delivery. `exitAck`: the interrupt was acknowledged at an external-interrupt
   * VM exit of L2 with "acknowledge interrupt on exit" (REF-NST-4): L1's RFLAGS.IF and STI shadow do
   * not gate it (it is no IDT delivery); pending, priority and PPR do.
   */
  private judgeDelivery(cpu: number, vector: number, nmi: boolean, via: string | undefined, exitAck: boolean): void {
    this.activity++;
    this.deliveries++;
    this.listener?.(cpu, `deliver ${nmi ? 'NMI' : hex(vector)}`);
    const site = via ?? (this.lastStep[cpu] || 'unknown'); // tagged only if a cause needs it
    // Everything in flight has landed (REF-DUE-1) — except further messages of the vector
    // being taken, which may land before the take (and collapse) or after it.
    const phys = this.phys(cpu);
    if (!phys) this.ref.land(cpu, true, nmi ? NMI_VECTOR : vector);
    const a = this.ref.cpus[cpu]!;
    // A delivery is committed only after the previous one completed (one event per VM
    // entry): a handler bare metal entered and the backend did not is named here, before
    // this delivery is judged against a core the backend's guest never reached.
    // (Only that shape: a backend may push this delivery's frame before or after reporting it.)
    if (!a.l2Running && a.guest.frames.length > this.view!.guest(cpu).frames.length) this.compareCore(cpu);
    if (!nmi && !a.l2Running) {
      // REF-DISP-4: a pending NMI goes before any maskable interrupt.
      // (At an exit acknowledgement: an NMI that is not blocked makes its own NMI exit first.)
      if (a.nmiPending && (exitAck ? !a.guest.nmiBlocked : a.guest.nmiWindow())) {
        this.held(cpu, NMI_VECTOR, 'nmi-order', `vCPU${cpu} took ${hex(vector)} while an NMI was pending and could be taken`, ['priority', site]);
      }
      // REF-DISP-1: the highest deliverable vector goes first.
      const h = vsHighest(a.irr);
      if (h > vector && prioClass(h) > prioClass(a.ppr()) && (exitAck || a.guest.interruptible())) {
        this.held(cpu, h, 'priority-inversion', `vCPU${cpu} took ${hex(vector)} while ${hex(h)} was pending, due and deliverable`, ['priority', site]);
      }
    }
    const slot = nmi ? NMI_SLOT : vector;
    const src = nmi ? 'nmi' : this.srcName(cpu, vector);
    const fault: DeliveryFault | null = this.ref.deliver(cpu, vector, nmi, exitAck);
    if (!phys) this.ref.land(cpu);
    if (fault) this.deliveryFault(cpu, vector, nmi, fault, src, site);
    else {
      // Delivered: later trouble with it is its own, unless bare metal had merged a second
      // message into this instance while a cause held it (then a second delivery is that cause's).
      const own = this.owner[cpu]!.get(slot);
      this.dupOwner[cpu]!.set(slot, own > 0 && this.merged[cpu]!.get(slot) > 0 ? own : 0);
      this.owner[cpu]!.set(slot, 0);
    }
    this.merged[cpu]!.set(slot, 0);
  }

  private deliveryFault(cpu: number, vector: number, nmi: boolean, fault: DeliveryFault, src: string, site: string): void {
    const what = nmi ? 'NMI' : hex(vector);
    const slot = nmi ? NMI_SLOT : vector;
    const own = this.owner[cpu]!.get(slot) || (fault === 'not-pending' ? this.dupOwner[cpu]!.get(slot) : 0);
    if (fault === 'not-pending') this.dupOwner[cpu]!.set(slot, 0);
    const file = (kind: DivergenceKind, cause: string, msg: string, sym: string): number =>
      own > 0 ? this.record(kind, this.divergences[own - 1]!.cause, cpu, msg, sym) : this.record(kind, cause, cpu, msg, sym);
    switch (fault) {
      case 'not-pending': {
        const a = this.ref.cpus[cpu]!;
        const dup = nmi || vsHas(a.everSent, vector);
        const kind: DivergenceKind = dup ? 'duplicate' : 'spurious';
        const io = nmi ? null : this.ioapicShape(vector);
        const msg = dup ? `vCPU${cpu} took ${what} again with nothing of it pending` : `vCPU${cpu} took ${what}, which was never sent to it`;
        const x = this.view?.explain?.(cpu, kind, nmi ? NMI_VECTOR : vector);
        const heldAt = dup ? this.collapsedAt[cpu]![nmi ? NMI_VECTOR : vector] : undefined;
        if (heldAt) this.collapsedAt[cpu]![nmi ? NMI_VECTOR : vector] = undefined;
        // The backend's own explanation first (its vIOAPIC path), then a message the backend held
        // apart after bare metal merged it, then the 82093AA rule an extra pin message broke.
        let cause: string;
        if (x) cause = makeCause(io ? 'ioapic' : kind, x);
        else if (heldAt) cause = makeCause('stuck', heldAt);
        else if (io) cause = makeCause('ioapic', io);
        else cause = makeCause(kind, site);
        const pin = io ? this.pinOfVector(vector, true) : -1;
        const po = own > 0 ? -1 : this.pinOwned(pin);
        if (po >= 0) { this.record(kind, this.divergences[po]!.cause, cpu, msg, src); return; }
        const i = file(kind, cause, msg, src);
        if (pin >= 0 && i >= 0 && !this.pinOwner.has(pin)) this.pinOwner.set(pin, i + 1);
        return;
      }
      case 'masked-if': file('masked-if', makeCause('masked', this.why(cpu, 'masked', vector, site)), `vCPU${cpu} took ${what} with RFLAGS.IF = 0`, src); return;
      case 'masked-shadow': file('masked-shadow', makeCause('masked', this.why(cpu, 'masked', vector, site)), `vCPU${cpu} took ${what} in an STI shadow`, src); return;
      case 'masked-ppr': file('masked-ppr', makeCause('masked-ppr', this.why(cpu, 'masked-ppr', vector, site)), `vCPU${cpu} took ${what} although its class is not above PPR`, src); return;
      case 'nmi-blocked': file('nmi-blocked', makeCause('nmi-blocked', this.why(cpu, 'nmi-blocked', NMI_VECTOR, site)), `vCPU${cpu} took an NMI while NMIs were blocked`, 'nmi'); return;
      case 'not-running': file('l1-invariant', makeCause('l1-invariant', 'l1-deliver-while-l2'), `L1 on vCPU${cpu} took ${what} while L2 was running`, src); return;
    }
  }

  /** The pin whose entry carries `vector` now (the one ioapicShape judges), or -1. */
  private pinOfVector(vector: number, orReplaced = false): number {
    for (const p of this.ref.pins.values()) if (p.vector === vector) return p.pin;
    // An extra message sent with a vector the entry carried before a rewrite is the pin's too
    // (only for extra messages: a held vector an IPI now uses is not the pin's business).
    if (orReplaced) for (const p of this.ref.pins.values()) if (vsHas(p.replaced, vector)) return p.pin;
    return -1;
  }

  /** The divergence index that owns pin `pin`'s state (see pinOwner), or -1. */
  private pinOwned(pin: number): number {
    return pin >= 0 ? (this.pinOwner.get(pin) ?? 0) - 1 : -1;
  }

  /**
   * Which 82093AA rule an extra message of a pin's vector broke, from the architectural pin
   * state (null when the vector is no pin's).
   */
  private ioapicShape(vector: number): string | null {
    for (const p of this.ref.pins.values()) {
      if (p.vector !== vector) continue;
      return this.pinShape(p);
    }
    // A vector an entry carried before a rewrite: an extra message sent with it is that pin's.
    for (const p of this.ref.pins.values()) if (vsHas(p.replaced, vector)) return this.pinShape(p);
    return null;
  }

  private pinShape(p: IoPin): string {
    if (p.level) {
      if (p.levelAnomaly === 'rewrite') return 'level-resent-on-redirection-write';
      if (p.levelAnomaly === 'reassert') return 'level-resent-on-reassert';
      return p.remoteIrr ? 'level-resent-under-remote-irr' : 'level-extra-message';
    }
    if (p.edgeWhileMasked) return 'edge-raised-while-masked-sent';
    if (p.unmaskedHigh) return 'edge-resent-on-unmask';
    return 'edge-extra-message';
  }

  readValue(cpu: number, reg: Reg, value: VecSet | number): void {
    this.activity++;
    // The read is the instruction: the boundary before it comes first.
    const k = this.cur?.k;
    if (cpu === this.curCpu && !this.boundaryDone && (k === 'read' || k === 'lapic_read' || k === 'ioapic_read')) {
      this.boundary(cpu, true);
      this.boundaryDone = true;
    }
    if (!this.phys(cpu)) this.ref.land(cpu);
    const a = this.ref.cpus[cpu]!;
    const mismatch = (tag: string, msg: string, vectors: number[]) => {
      for (const v of vectors) {
        const own = this.owner[cpu]!.get(v);
        if (own > 0) { this.record('read-mismatch', this.divergences[own - 1]!.cause, cpu, msg, reg); return; }
        const po = this.pinOwned(this.pinOfVector(v));
        if (po >= 0) { this.record('read-mismatch', this.divergences[po]!.cause, cpu, msg, reg); return; }
      }
      // The backend may name the path that left the register so (its explain), else the shape.
      this.record('read-mismatch', makeCause('read', this.why(cpu, tag, vectors.length > 0 ? vectors[0]! : -1, tag)), cpu, msg, reg);
    };
    switch (reg) {
      case 'irr': this.readIrr(cpu, value as VecSet); return;
      case 'isr': {
        const v = value as VecSet;
        let missing = false, stale = false;
        const involved: number[] = [];
        for (let w = 0; w < 8; w++) {
          const m = a.isr[w]! & ~v[w]!, s = v[w]! & ~a.isr[w]!;
          if (m) missing = true;
          if (s) stale = true;
          if (m | s) for (let b = 0; b < 32; b++) if ((m | s) & (1 << b)) involved.push(w * 32 + b);
        }
        if (missing || stale) {
          mismatch(missing && stale ? 'isr-mismatch' : missing ? 'isr-missing' : 'isr-stale',
            `vCPU${cpu} read ISR = ${vsFormat(v)}, bare metal: ${vsFormat(a.isr)}`, involved);
        }
        return;
      }
      case 'tmr': {
        // Vectors with a message still in flight (or an optional instance) may show either way.
        const v = value as VecSet;
        let worst = -1;
        for (let w = 0; w < 8; w++) scratch[w] = v[w]! ^ a.tmr[w]!;
        for (let x = 255; x >= 16; x--) {
          if (!vsHas(scratch, x) || vsHas(a.inflight.bits, x) || vsHas(a.extra.bits, x) || vsHas(a.tmrMaybe, x)) continue;
          worst = x;
          break;
        }
        if (worst < 0) return;
        let tag: string;
        if (vsHas(v, worst)) {
          // TMR follows the trigger mode of the vector's last accepted message (REF-ACC-1): set
          // with none, or after an edge, is one shape — unless a level pin owns the vector and
          // its first message has not been accepted yet (TMR programmed ahead of acceptance).
          // An entry rewritten level since the vector's last message (an edge one: REF-ACC-4) is
          // the same shape.
          tag = (a.lastTrigger(worst) !== Trig.Edge || vsHas(a.rewritten, worst)) && this.isLevelPinVector(worst)
            ? 'tmr-level-pin-before-acceptance' : 'tmr-set-without-level-message';
        } else {
          // Cleared where bare metal's last message was level: the shape cannot tell an EOI that
          // cleared it from an entry rewritten edge ahead of acceptance; the backend's explain can.
          tag = vsHas(a.irr, worst) || vsHas(a.isr, worst) ? 'tmr-clear-for-level' : 'tmr-cleared-after-eoi';
        }
        mismatch(tag, `vCPU${cpu} read TMR = ${vsFormat(v)}, bare metal: ${vsFormat(a.tmr)}`, [worst]);
        return;
      }
      case 'ppr': {
        const expect = a.ppr();
        if (value === expect) return;
        const tag = value === (expect & 0xf0) ? 'ppr-low-nibble-lost' : 'ppr-mismatch';
        mismatch(tag, `vCPU${cpu} read PPR = ${fmt(value)}, bare metal: ${hex(expect)}`, vsEmpty(a.isr) ? [] : [vsHighest(a.isr)]);
        return;
      }
      case 'tpr': {
        if (value === a.tpr) return;
        mismatch(value === (a.tpr & 0xf0) ? 'tpr-low-nibble-lost' : 'tpr-mismatch', `vCPU${cpu} read TPR = ${fmt(value)}, bare metal: ${hex(a.tpr)}`, []);
        return;
      }
      case 'esr': {
        const got = value as number;
        // REF-ESR-1: after an ESR write, what that write latched.
        const expect = a.esrLatched ? a.esrShown : a.esr;
        // Send errors are synchronous; a Receive-Illegal-Vector still on the bus may or may not show.
        const rivOptional = a.esrLatched ? a.esrRivMaybe : a.rivInflight > 0;
        const mask = rivOptional ? ~ESR_RECV_ILLEGAL : ~0;
        // An open Receive-Illegal-Vector the read shows landed before the write that latched it: the
        // message is accounted for and a later write does not latch it again (REF-ESR-1); others may still land.
        // (Only when nothing landed set it already: then the shown bit proves nothing about the message on the bus.)
        if (rivOptional && (got & ESR_RECV_ILLEGAL) && !(expect & ESR_RECV_ILLEGAL) && (got & mask) === (expect & mask)) {
          if (a.rivInflight > 0) a.rivInflight--;
          a.esrRivMaybe = false;
        }
        if ((got & mask) === (expect & mask)) return;
        let tag = 'esr-mismatch';
        if ((expect & ESR_RECV_ILLEGAL) && !(got & ESR_RECV_ILLEGAL)) tag = 'esr-riv-missing';
        else if ((expect & ESR_SEND_ILLEGAL) && !(got & ESR_SEND_ILLEGAL)) tag = 'esr-siv-missing';
        else if (got & ~expect) tag = 'esr-extra-bits';
        mismatch(tag, `vCPU${cpu} read ESR = ${hex(got)}, bare metal: ${hex(expect)}`, []);
        return;
      }
      default: this.readProgrammed(cpu, reg, value as number, mismatch);
    }
  }

  /**
   * Registers the guest programmes (REF-ADDR-1, REF-SVR-1, REF-IOA-6): exact, except what the
   * architecture leaves to the model (version registers, the I/O APIC ID) and what timing
   * leaves open (delivery status; Remote IRR while the level message is on the bus).
   */
  private readProgrammed(cpu: number, reg: Reg, got: number, mismatch: (tag: string, msg: string, vectors: number[]) => void): void {
    const r = this.ref;
    const bad = (tag: string, expect: string) => mismatch(tag, `vCPU${cpu} read ${reg.toUpperCase()} = ${hex(got)}, bare metal: ${expect}`, []);
    switch (reg) {
      case 'version': {
        const why = lapicVersionImpossible(got);
        if (why) bad('apic-version-impossible', why);
        return;
      }
      case 'ioapic-id': case 'ioapic-arb': {
        // REF-IOA-7: exact once written (the arbitration ID until a bus message rotates it); before,
        // the platform's ID, which then stays what the first read showed.
        const arb = reg === 'ioapic-arb';
        const known = arb ? r.ioapicArb : r.ioapicId;
        const name = arb ? 'ioapic-arb' : 'ioapic-id';
        const why = ioapicIdImpossible(got);
        if (why) { bad(`${name}-reserved-bits`, known >= 0 ? hex(known) : why); return; }
        if (known >= 0 && got !== known) { bad(`${name}-mismatch`, hex(known)); return; }
        if (known < 0 && !arb) r.ioapicId = got;
        return;
      }
      case 'ioapic-version': {
        let maxPin = 0;
        for (const p of r.pins.values()) maxPin = Math.max(maxPin, p.pin);
        const why = ioapicVersionImpossible(got, maxPin);
        if (why) { bad('ioapic-version-impossible', why); return; }
        // REF-IOA-7: read-only, so every read returns what the first one did.
        if (r.ioapicVersion >= 0 && got !== r.ioapicVersion) { bad('ioapic-version-changed', hex(r.ioapicVersion)); return; }
        r.ioapicVersion = got;
        return;
      }
      case 'redir-lo': case 'redir-hi': {
        const ev = this.cur;
        const pin = ev?.k === 'ioapic_read' ? ev.pin ?? -1 : -1;
        const p = r.pins.get(pin);
        if (!p) return;
        const expect = r.readIoapic(reg, pin);
        let care = reg === 'redir-hi' ? 0xff000000 : ~REDIR_DELIVERY_STATUS;
        // Remote IRR is set when a local APIC accepts the level message: in flight, either way.
        if (reg === 'redir-lo' && p.level && this.levelInFlight(p.vector)) care &= ~REDIR_REMOTE_IRR;
        // REF-EOI-4: an EOI whose broadcast was open left Remote IRR either way.
        if (reg === 'redir-lo' && p.remoteIrrOpen) care &= ~REDIR_REMOTE_IRR;
        if (((got ^ expect) & care) === 0) return;
        const tag = reg === 'redir-hi' ? 'redir-dest-mismatch'
          : ((got ^ expect) & care) === REDIR_REMOTE_IRR ? (got & REDIR_REMOTE_IRR ? 'redir-remote-irr-stale' : 'redir-remote-irr-missing')
          : 'redir-entry-mismatch';
        const msg = `vCPU${cpu} read ${reg} of IOAPIC pin ${pin} = ${hex(got)}, bare metal: ${hex(expect)}`;
        const po = this.pinOwned(pin);
        if (po >= 0) { this.record('read-mismatch', this.divergences[po]!.cause, cpu, msg, reg); return; }
        // A Remote IRR still set where bare metal cleared it holds the level line: if the backend
        // names where its line is held, that is the cause (stuck), whether the guest reads the
        // bit first or the drain finds the line held first. When bare metal has the vector pending on the reading vCPU
        // too (a shared vector's edge instance), whereStuck would place that instance, not the pin's line: the
        // backend's explain of the Remote IRR, if it has one, names it first (session 9: KVM's stale-SVI EOIs, bhyve's Remote
        // IRR kept across an edge entry).
        if (tag === 'redir-remote-irr-stale' && p.level && this.owner[cpu]!.get(p.vector) === 0) {
          if (vsHas(r.cpus[cpu]!.irr, p.vector) && this.view?.explain?.(cpu, tag, p.vector)) { mismatch(tag, msg, [p.vector]); return; }
          const at = this.view?.whereStuck?.(cpu, p.vector);
          if (at) { this.record('read-mismatch', makeCause('stuck', at), cpu, msg, reg); return; }
        }
        mismatch(tag, msg, [p.vector]);
        return;
      }
      default: {
        const expect = r.read(cpu, reg) as number;
        if (got !== expect) bad(`${reg}-mismatch`, hex(expect));
      }
    }
  }

  /** A level message of `vector` is still on the bus to some vCPU. */
  private levelInFlight(vector: number): boolean {
    for (const a of this.ref.cpus) if (vsHas(a.inflight.bits, vector) && (vsHas(a.inflightLevel, vector) || vsHas(a.inflightMixed, vector))) return true;
    return false;
  }

  private isLevelPinVector(v: number): boolean {
    for (const p of this.ref.pins.values()) if (p.level && p.vector === v) return true;
    return false;
  }

  /** IRR: every landed vector must show; what shows must be pending, in flight or optional. */
  private readIrr(cpu: number, value: VecSet): void {
    const a = this.ref.cpus[cpu]!;
    // What the read shows proves it landed; an optional instance it does not show collapsed.
    for (let w = 0; w < 8; w++) {
      const shown = value[w]!;
      let maybe = (a.extra.bits[w]! | (a.inflight.bits[w]! & shown)) & ~a.irr[w]!;
      while (maybe !== 0) {
        const low = maybe & -maybe;
        maybe ^= low;
        const v = (w << 5) + 31 - Math.clz32(low);
        if (v < 16) continue;
        if (vsHas(a.extra.bits, v)) {
          if (shown & low) this.ref.confirmExtra(cpu, v);
          else this.ref.dropExtra(cpu, v);
        } else if (shown & low) {
          this.ref.landOne(cpu, v);
        }
      }
      // An optional instance shown while one is pending anyway stays optional.
    }
    let missing = -1;
    let extra = -1;
    for (let w = 7; w >= 0 && (missing < 0 || extra < 0); w--) {
      const m = a.irr[w]! & ~value[w]!;
      const x = value[w]! & ~a.irr[w]!;
      if (missing < 0 && m !== 0) missing = (w << 5) + 31 - Math.clz32(m);
      if (extra < 0 && x !== 0) extra = (w << 5) + 31 - Math.clz32(x);
    }
    if (missing >= 0) {
      this.held(cpu, missing, 'read-mismatch', `vCPU${cpu} read IRR = ${vsFormat(value)}, missing ${hex(missing)} that bare metal has pending`);
    }
    if (extra >= 0) {
      const own = this.owner[cpu]!.get(extra);
      const msg = `vCPU${cpu} read IRR = ${vsFormat(value)}, bare metal has only ${vsFormat(a.irr)} pending`;
      if (own > 0) { this.record('read-mismatch', this.divergences[own - 1]!.cause, cpu, msg, 'irr'); return; }
      let cause: string;
      const io = extra >= 16 ? this.ioapicShape(extra) : null;
      const x = this.view?.explain?.(cpu, 'irr-extra', extra);
      const heldAt = extra >= 16 ? this.collapsedAt[cpu]![extra] : undefined;
      // An instance bare metal merged (REF-ACC-3) and the backend held is no extra message of the
      // pin sharing its vector (issue 8): the read shows the hold the backend names, class read.
      if (x) cause = makeCause(io && !heldAt ? 'ioapic' : 'read', x);
      else if (heldAt) cause = makeCause('stuck', heldAt); // a message bare metal merged, kept apart and shown late
      else if (io) cause = makeCause('ioapic', io);
      else if (extra < 16) cause = makeCause('read', 'irr-illegal-vector');
      else cause = makeCause('read', vsHas(a.everSent, extra) ? 'irr-stale' : 'irr-never-sent');
      // An extra message of a pin seen in IRR: the pin's state is the backend's own from here on
      // (not for a held instance bare metal merged: the pin sent nothing extra).
      const pin = io && !heldAt ? this.pinOfVector(extra, true) : -1;
      const po = this.pinOwned(pin);
      if (po >= 0) { this.record('read-mismatch', this.divergences[po]!.cause, cpu, msg, 'irr'); return; }
      const i = this.record('read-mismatch', cause, cpu, msg, 'irr');
      if (pin >= 0 && i >= 0) this.pinOwner.set(pin, i + 1);
    }
  }

  vmexit(cpu: number, reason: string): void {
    this.activity++;
    this.exits++;
    this.exitsOn[cpu]!++;
    this.exitReasons.set(reason, (this.exitReasons.get(reason) ?? 0) + 1);
    this.listener?.(cpu, `VM exit (${reason})`);
  }

  step(cpu: number, name: string): void {
    this.lastStep[cpu] = name;
    this.listener?.(cpu, name);
  }

  crash(cpu: number, where: string, message: string): void {
    this.activity++;
    if (this.crashedAny) return;
    this.record('crash', makeCause('crash', where), cpu, `hypervisor crash on vCPU${cpu} in ${where}: ${message}`, where);
    this.crashedAny = true;
  }

  l1Exit(cpu: number, reason: string, idtValid: boolean, idtVector: number, intrInfo = -1): void {
    this.activity++;
    this.listener?.(cpu, `L1 receives VM exit ${reason}${idtValid ? ` (IDT-vectoring ${hex(idtVector)})` : ''}${intrInfo >= 0 ? ` (acknowledged ${hex(intrInfo)})` : ''}`);
    const a = this.ref.cpus[cpu]!;
    a.l2Running = false;
    // REF-NST-1: an exit caused directly by an external interrupt never has valid vectoring info.
    if (reason === 'extint' && idtValid) {
      this.l1Invariant(cpu, idtVector, 'extint-with-idt-vectoring',
        `L1 on vCPU${cpu} received an EXTERNAL_INTERRUPT exit with valid IDT-vectoring info (${hex(idtVector)})`);
    }
    // REF-NST-2: the event L1 injected is delivered to L2 or reported back, never dropped.
    if (idtValid) {
      if (a.l2Pending === idtVector) { a.l2Pending = -1; a.l2Reinject = idtVector; }
      else this.l1Invariant(cpu, idtVector, 'idt-vectoring-unknown-event', `L1 on vCPU${cpu} got IDT-vectoring info for ${hex(idtVector)}, which it did not inject`);
    } else if (a.l2Pending >= 0) {
      this.l1Invariant(cpu, a.l2Pending, 'injected-event-lost', `the event ${hex(a.l2Pending)} L1 injected into L2 on vCPU${cpu} was neither delivered nor reported back`);
      a.l2Pending = -1;
    }
    // REF-NST-4/5: the VM-exit interruption information of an external-interrupt exit is valid
    // exactly when L1 asked for "acknowledge interrupt on exit"; the vector it reports was acknowledged.
    const ack = reason === 'extint' && (this.machine.nested?.ackOnExit ?? false);
    if (ack && intrInfo < 0) {
      this.l1Invariant(cpu, Math.max(0, this.ref.cpus[cpu]!.deliverable()), 'extint-ack-without-vector',
        `L1 on vCPU${cpu} asked for acknowledge-interrupt-on-exit and received an EXTERNAL_INTERRUPT exit without a vector`);
    } else if (!ack && intrInfo >= 0) {
      this.l1Invariant(cpu, intrInfo, 'exit-intr-info-without-ack',
        `L1 on vCPU${cpu} received a ${reason} exit reporting ${hex(intrInfo)} as acknowledged, which only an external-interrupt exit with acknowledge-interrupt-on-exit does`);
    }
    if (intrInfo >= 0) this.judgeDelivery(cpu, intrInfo, false, 'ack-on-exit', true);
  }

  /** An L1-visible invariant broke; a later one about the same event follows from it. */
  private l1Invariant(cpu: number, vector: number, tag: string, message: string): void {
    const own = this.l1Owner[cpu]!.get(vector & 0xff);
    const cause = own > 0 ? this.divergences[own - 1]!.cause : makeCause('l1-invariant', tag);
    const i = this.record('l1-invariant', cause, cpu, message, tag);
    if (i >= 0 && own === 0) this.l1Owner[cpu]!.set(vector & 0xff, i + 1);
  }

  l2Deliver(cpu: number, vector: number): void {
    this.activity++;
    this.listener?.(cpu, `L2 takes ${hex(vector)}`);
    const a = this.ref.cpus[cpu]!;
    if (a.l2Pending === vector) a.l2Pending = -1;
    else this.l1Invariant(cpu, vector, 'l2-spurious', `L2 on vCPU${cpu} took ${hex(vector)}, which L1 did not inject (or already delivered)`);
  }

  // ------------------------------------------------------------------ drain judgement

  /**
   * After the drain's first phase (no spontaneous exits): whatever bare metal would still
   * take is late — the mechanism alone did not deliver it. Everything has landed by now.
   */
  judgeSettled(): void {
    this.curIndex = -1;
    for (let cpu = 0; cpu < this.machine.vcpus; cpu++) {
      if (this.eoiRetired[cpu] !== 0 && this.view && !this.crashedAny) this.compareIsr(cpu);
      this.ref.land(cpu);
      const v = this.ref.wouldDeliver(cpu);
      if (v >= 0) this.held(cpu, v, 'late', v === NMI_VECTOR
        ? `an NMI for vCPU${cpu} was not delivered without an unrelated VM exit`
        : `${hex(v)} for vCPU${cpu} was not delivered without an unrelated VM exit`);
    }
  }

  /** After the second phase (timer ticks): what bare metal would still take is lost. */
  judgeFinal(): void {
    this.curIndex = -1;
    for (let cpu = 0; cpu < this.machine.vcpus; cpu++) {
      if (this.eoiRetired[cpu] !== 0 && this.view && !this.crashedAny) this.compareIsr(cpu);
      this.ref.land(cpu);
      const a = this.ref.cpus[cpu]!;
      const v = this.ref.wouldDeliver(cpu);
      if (v >= 0) this.held(cpu, v, 'lost', v === NMI_VECTOR
        ? `an NMI for vCPU${cpu} was never delivered, even with spontaneous VM exits`
        : `${hex(v)} for vCPU${cpu} was never delivered, even with spontaneous VM exits`);
      // Vectors held earlier in the run and still pending are lost too.
      for (const [x, i] of this.owner[cpu]!.entries()) {
        if (x === NMI_SLOT) {
          if (v !== NMI_VECTOR && a.nmiPending) this.record('lost', this.divergences[i - 1]!.cause, cpu, 'the NMI was never delivered', 'nmi');
        } else if (x !== v && vsHas(a.irr, x)) {
          this.record('lost', this.divergences[i - 1]!.cause, cpu, `${hex(x)} was never delivered`, this.srcName(cpu, x));
        }
      }
    }
  }

  livelock(phase: string, message: string): void {
    this.curIndex = -1;
    let top = 'no-exits';
    let n = 0;
    for (const [r, c] of this.exitReasons) if (c > n) { n = c; top = r; }
    if (n === 0 && this.deliveries > 0) top = 'interrupt-storm';
    // The exit reason is a symptom: a backend that can say which of its states loops names the cause.
    const cpus = this.ref.cpus.length;
    for (let c = 0; c < cpus; c++) {
      const x = this.view?.explain?.(c, 'livelock', -1);
      if (x !== undefined) { top = x; break; }
    }
    this.record('livelock', makeCause('livelock', top), -1, `${message} (drain ${phase})`, phase);
  }
}

/**
 * Which cause of the run holds each vector of a vCPU (1 + index, 0 none). Almost always
 * empty: a lazily made map keeps a clean run from allocating tables.
 */
class Own {
  private m: Map<number, number> | null = null;
  get(v: number): number { return this.m?.get(v) ?? 0; }
  set(v: number, i: number): void {
    if (i === 0) this.m?.delete(v);
    else (this.m ??= new Map()).set(v, i);
  }
  /** Vectors held, with their cause (a copy: records may change the map meanwhile). */
  entries(): [number, number][] { return this.m ? [...this.m] : []; }
}

function fmt(v: VecSet | number): string {
  return typeof v === 'number' ? hex(v) : vsFormat(v);
}

function coreText(g: GuestCpu): string {
  const top = g.frames[g.frames.length - 1];
  return `IF=${g.IF ? 1 : 0} frames=${g.frames.length}${top ? `(top ${top.nmi ? 'NMI' : hex(top.vector)})` : ''} nmi-blocked=${g.nmiBlocked ? 1 : 0} shadow=${g.shadow ? 1 : 0}`;
}
