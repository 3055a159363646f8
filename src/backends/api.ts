// The backend interface. A backend is a model of one hypervisor's interrupt-virtualization
// mechanism (its state, its steps in their real order, the points where other CPUs can
// interleave). It sees only the scenario vocabulary and plain helpers; it never consults
// the reference model or the oracle, or the comparison would be circular.
//
// The engine feeds scenario events one at a time to `apply`. The backend reports what the
// guest and the hypervisor did through the ObsSink, synchronously and in order:
//
//   - a guest instruction that the vCPU actually executed → sink.executed(index)
//     (before it, any interrupt taken at the boundary before that instruction;
//      after it, anything the instruction caused). A guest instruction on a vCPU that is
//      not running guest code, or that is halted, is not executed and not reported.
//   - a device event (msi, ioapic) → sink.executed(index) when the device signals.
//   - the guest core taking an interrupt → sink.deliver(cpu, vector, nmi, via?) at the moment
//     the delivery is committed architecturally: the INTA-equivalent (vector moved from
//     the guest-visible IRR to ISR, or a virtual interrupt taken by hardware), whichever
//     comes first. `via` names the delivery path as a short tag ('eventinj', 'v_irq',
//     'vid', ...); without it the last step name stands in. Re-injection of an interrupted
//     delivery is not a new delivery. The guest core (GuestCpu.take) enters the handler when
//     the delivery completes: at once, or — when it faulted into the hypervisor — when the
//     re-injection completes. The oracle compares the guest core with the reference's at
//     every instruction boundary (REF-CORE-1), so a delivery that never completes is seen.
//   - a guest register read → sink.readValue(cpu, reg, value) then sink.executed(index).
//   - an instruction that traps before it executes and completes only later (an IRET
//     intercepted for NMI blocking, restarted after the next VM entry) is reported with
//     sink.executed(itsIndex) when it completes, not when it trapped.
//   - points where the hypervisor or the CPU re-evaluates the pending interrupts of a vCPU
//     (pre-entry evaluation, posted-interrupt processing, EOI/TPR virtualization)
//     → sink.evaluate(cpu): optional and only ever stricter — the oracle does not need it
//     (REF-DUE-1), but calling it asserts that everything sent to the vCPU so far is visible.
//   - VM exits → sink.vmexit(cpu, reason); hypervisor steps → sink.step(cpu, name)
//     (the step names are the real function names, for the trace).
//   - a hypervisor crash or assertion → sink.crash(cpu, where, message); `where` is the
//     crash site and names the bucket, so make it precise (function and check).
//   - nested: L1 receiving a VM exit → sink.l1Exit(...); L2 taking an event → sink.l2Deliver(...).
//
// Latency is declared, not guessed: physPending(cpu) says physical interrupts (a kick, a
// notification, a wake-up) are in flight to the vCPU's pCPU. While it is false, everything
// sent to the vCPU has landed and is judged (REF-DUE-1).
//
// Models are deterministic: no I/O, clocks, global state or randomness.
import type { GuestCpu } from '../apic/guestcpu.js';
import type { VecSet } from '../apic/vecset.js';
import type { Feature } from '../scenario/features.js';
import type { Event, MachineConfig, Reg } from '../scenario/types.js';

export interface ObsSink {
  executed(index: number): void;
  deliver(cpu: number, vector: number, nmi: boolean, via?: string): void;
  readValue(cpu: number, reg: Reg, value: VecSet | number): void;
  evaluate(cpu: number): void;
  vmexit(cpu: number, reason: string): void;
  step(cpu: number, name: string): void;
  crash(cpu: number, where: string, message: string): void;
  /**
   * L1 receives a VM exit from L2. `intrInfo` is the vector of a valid VM-exit interruption-information
   * field (an external-interrupt exit with "acknowledge interrupt on exit": the interrupt was acknowledged
   * at the exit, IRR → ISR), or absent/-1 when the field is invalid. The oracle performs that
   * acknowledgement in the reference and the abstract L1 enters the vector's handler (REF-NST-4): the
   * backend pushes the handler frame on its own guest core after this call and reports no `deliver`.
   */
  l1Exit(cpu: number, reason: string, idtValid: boolean, idtVector: number, intrInfo?: number): void;
  l2Deliver(cpu: number, vector: number): void;
  /**
   * Lowest-priority arbitration (model-specific, SDM 10.6.2.4): the next lowest-priority
   * message of the current event goes to vCPU `cpu`. A backend declaring 'ipi.lowest',
   * 'msi.lowest' or 'ioapic.lowest' reports each choice, in order, before the event is
   * reported executed; the oracle accepts any vCPU the message addresses.
   */
  arbitrated?(cpu: number): void;
}

/**
 * A documented root cause: "<class>:<tag>" (see src/oracle/divergence.ts CAUSE_CLASSES), e.g.
 * "stuck:pir-on-kick-noop", "crash:viridian_start_apic_assist", "read:tpr-low-nibble-lost".
 * Exact: a declaration never covers a whole class, and the tag names the mechanism precisely
 * enough that another cause with the same symptom gets another tag.
 */
export interface CauseDoc {
  cause: string;
  why: string;
  /**
   * Usual rate: the fraction of this variant's interleavings (default generator) that show
   * the cause, measured by `npm run bench:rates`. A campaign reports a rate far above it:
   * a new cause may be hiding behind the documented symptom.
   */
  rate?: number;
}

export interface VariantInfo {
  /** Short name used on the command line: bhyve/prefix. */
  name: string;
  /** The commit, release or patch this variant models (and where the code was read). */
  source: string;
  summary: string;
  /** 'clean': documented as correct for this scenario space; 'buggy': has documented bugs. */
  status: 'clean' | 'buggy';
  /** The bugs of this variant's history that the fuzzer must find, one entry per root cause. */
  expectedBugs: CauseDoc[];
  /**
   * Real deviations from the architecture that this variant has but that are not the
   * subject of its history (found and explained), one entry per root cause.
   */
  knownDeviations?: CauseDoc[];
  /** Interleavings behind the recorded rates (their statistical weight). */
  ratesSample?: number;
}

export type VcpuWhere =
  /** Running guest code (L1, or L2 when nested). */
  | 'guest'
  /** In the hypervisor: exit handling or the entry path, runnable. */
  | 'hv'
  /** Halted in the hypervisor, waiting for a wake-up. */
  | 'blocked';

export interface BackendInstance {
  readonly machine: MachineConfig;
  /** Process scenario event `index`. */
  apply(ev: Event, index: number): void;
  /** Where the vCPU is; used by the drain and the trace. */
  where(cpu: number): VcpuWhere;
  /** Whether L2 is the current guest of a nested vCPU. */
  inL2(cpu: number): boolean;
  /** Physical interrupts (kicks, notifications) are in flight to the pCPU of this vCPU. */
  physPending(cpu: number): boolean;
  /** The guest's architectural core state (IF, shadow, frames, HLT). Read-only for callers. */
  guest(cpu: number): GuestCpu;
  /** The backend's guest-visible LAPIC state, for the trace only (never for judging). */
  snapshot(cpu: number): { irr: VecSet; isr: VecSet; ppr: number; extra?: string };
  /**
   * Optional, but what makes buckets precise: a short tag naming where in the mechanism a
   * vector that bare metal would have delivered is held (e.g. "pir-on-kick-noop"), or, for
   * vector 2 (NMI_VECTOR), where a pending NMI is held. The tag is the root cause's identity:
   * name the cause, not the symptom, so that two different mechanisms never share a tag.
   * Without it every held interrupt of the backend lands in one bucket, stuck:untagged.
   */
  whereStuck?(cpu: number, vector: number): string | undefined;
  /**
   * Optional: a mechanism tag for a divergence that is not a held interrupt. `what` is the
   * oracle's shape of it ('ran-while-halted', 'handler-not-entered', 'duplicate', 'spurious',
   * 'masked', 'masked-ppr', 'nmi-blocked', 'irr-extra', 'isr-not-cleared', 'dropped', and the
   * register-read shapes 'isr-stale', 'isr-missing', 'ppr-mismatch', 'tmr-set-without-level-message',
   * ...), `vector` the vector involved
   * (2 for an NMI, -1 none). A tag, when given, names the cause in place of the oracle's
   * shape; return undefined for anything the mechanism cannot explain.
   * 'collapsed' asks, when bare metal has just merged a message of `vector` into the pending
   * instance, whether the mechanism holds that message apart (e.g. still in a posted-interrupt
   * descriptor): if it later delivers it a second time, the cause is stuck:<that tag>.
   */
  explain?(cpu: number, what: string, vector: number): string | undefined;
  /**
   * Optional: a small number naming the mechanism's abstract state for this vCPU (vcpu mode,
   * PIR/ON, request bits, V_IRQ/EVENTINJ...), for state coverage. Cheap, no allocation; the
   * engine hashes it and never interprets it.
   */
  coverage?(cpu: number): number;
}

export interface Backend {
  name: string;
  description: string;
  variants: VariantInfo[];
  /** null when the machine is supported, else the reason (e.g. "no nested support"). */
  supports(machine: MachineConfig): string | null;
  /**
   * Optional: null when this variant can run a machine the backend supports, else why not (a
   * tree that never offered the guest a mode its later trees do, e.g. ACRN's 2018 trees and
   * x2APIC). Asked after supports(); absent, every variant runs every supported machine.
   */
  supportsVariant?(variant: string, machine: MachineConfig): string | null;
  /**
   * The scenario features beyond the base language that this backend models
   * (src/scenario/features.ts). A scenario using any other is refused before it runs
   * ("unsupported by this backend"), and the generator produces only these. Default: none.
   */
  features?: readonly Feature[];
  create(variant: string, machine: MachineConfig, sink: ObsSink): BackendInstance;
}
