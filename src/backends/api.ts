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
//   - the guest core taking an interrupt → sink.deliver(cpu, vector, nmi) at the moment
//     the delivery is committed architecturally: the INTA-equivalent (vector moved from
//     the guest-visible IRR to ISR, or a virtual interrupt taken by hardware), whichever
//     comes first. Re-injection of an interrupted delivery is not a new delivery.
//   - a guest register read → sink.readValue(cpu, reg, value) then sink.executed(index).
//   - points where the hypervisor or the CPU re-evaluates the pending interrupts of a vCPU
//     (pre-entry evaluation, posted-interrupt processing, EOI/TPR virtualization)
//     → sink.evaluate(cpu). The oracle uses them to decide when a vector is "due".
//   - VM exits → sink.vmexit(cpu, reason); hypervisor steps → sink.step(cpu, name)
//     (the step names are the real function names, for the trace).
//   - a hypervisor crash or assertion → sink.crash(cpu, where, message).
//   - nested: L1 receiving a VM exit → sink.l1Exit(...); L2 taking an event → sink.l2Deliver(...).
//
// Models are deterministic: no I/O, clocks, global state or randomness.
import type { GuestCpu } from '../apic/guestcpu.js';
import type { VecSet } from '../apic/vecset.js';
import type { Event, MachineConfig, Reg } from '../scenario/types.js';

export interface ObsSink {
  executed(index: number): void;
  deliver(cpu: number, vector: number, nmi: boolean): void;
  readValue(cpu: number, reg: Reg, value: VecSet | number): void;
  evaluate(cpu: number): void;
  vmexit(cpu: number, reason: string): void;
  step(cpu: number, name: string): void;
  crash(cpu: number, where: string, message: string): void;
  l1Exit(cpu: number, reason: string, idtValid: boolean, idtVector: number): void;
  l2Deliver(cpu: number, vector: number): void;
}

export interface VariantInfo {
  /** Short name used on the command line: bhyve/prefix. */
  name: string;
  /** The commit, release or patch this variant models. */
  source: string;
  summary: string;
  /** 'clean': documented as correct for this scenario space; 'buggy': has documented bugs. */
  status: 'clean' | 'buggy';
  /** Documented divergences this variant is expected to show (signature prefixes), with why. */
  expectedBugs: { signature: string; why: string }[];
  /**
   * Real deviations from the architecture that this variant has but that are not the
   * subject of its history (found and explained); soak figures count them separately.
   */
  knownDeviations?: { signature: string; why: string }[];
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
   * Optional: a short tag naming where in the mechanism a vector that the reference
   * expected is held (e.g. "pir-on-no-notification"), used to tell bugs apart in signatures.
   */
  whereStuck?(cpu: number, vector: number): string | undefined;
}

export interface Backend {
  name: string;
  description: string;
  variants: VariantInfo[];
  /** null when the machine is supported, else the reason (e.g. "no nested support"). */
  supports(machine: MachineConfig): string | null;
  create(variant: string, machine: MachineConfig, sink: ObsSink): BackendInstance;
}
