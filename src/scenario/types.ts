// The scenario language: one vocabulary of guest, device and hypervisor events shared by
// the reference and every backend. Each backend interprets an event in its own terms
// (an ICR write traps to bhyve's vlapic, is virtualized by APICv, ...). An event that is
// not enabled in the current state (a guest instruction while the vCPU is in the
// hypervisor, an IRET with no handler running) is a no-op, so every subsequence of a
// scenario is itself a valid scenario: the minimizer depends on that.

export const SCENARIO_VERSION = 1;
export const MAX_VCPUS = 8;
export const MAX_EVENTS = 4096;
export const MAX_IOAPIC_PINS = 24;
export const MAX_FLAGS = 16;

export type ApicMode = 'xapic' | 'x2apic';
export type Trigger = 'edge' | 'level';

export interface IoapicPin {
  pin: number;
  vector: number;
  /** Destination APIC ID (vCPU i has APIC ID i), or the MDA with `logical`. */
  dest: number;
  trigger: Trigger;
  masked: boolean;
  /** Destination mode logical (redirection entry bit 11); default physical. */
  logical?: boolean;
  /** Delivery mode lowest priority (bits 10:8 = 001); default fixed. */
  lowest?: boolean;
}

export interface NestedConfig {
  /** L1's vmcs12 asks for external-interrupt exiting (PIN_BASED_EXT_INTR_MASK). */
  exitOnIntr: boolean;
  /** L1's vmcs12 gives L2 posted interrupts (its own notification vector and descriptor).
   *  The abstract L1 never posts to L2; what matters is how L0 builds vmcs02 from it. */
  postedIntr?: boolean;
  /** L1's vmcs12 sets the VM-exit control "acknowledge interrupt on exit" (VM_EXIT_ACK_INTR_ON_EXIT, bit 15):
   *  an external-interrupt exit acknowledges the interrupt (IRR → ISR) and reports its vector in the
   *  VM-exit interruption information; L1 then runs that vector's handler without an IDT delivery
   *  (REF-NST-4). Default false: the interrupt stays in IRR until L1 takes it (REF-NST-5). */
  ackOnExit?: boolean;
}

export interface HypervConfig {
  /** The domain offers the Viridian APIC-assist (EOI assist) enlightenment. */
  apicAssist: boolean;
}

export interface MachineConfig {
  vcpus: number;
  apic: ApicMode;
  ioapic: IoapicPin[];
  /** vCPUs run a nested hypervisor (L1) that runs L2 guests. */
  nested?: NestedConfig;
  hyperv?: HypervConfig;
  /** Initial APIC ID of each vCPU (default: vCPU i has ID i). x2APIC IDs are 32-bit, so
   *  vCPUs can sit in logical clusters other than 0 (SDM 10.12.10.2). */
  apicIds?: number[];
}

/** Where a guest-sent IPI goes (SDM 10.6.1): a destination field or a shorthand. */
export type Shorthand = 'none' | 'self' | 'all' | 'others';

/** Registers the `read` event reads. */
export type ReadReg = 'irr' | 'isr' | 'tmr' | 'ppr' | 'tpr' | 'esr';
export type Reg = ReadReg
  // local APIC registers read by `lapic_read`, I/O APIC registers by `ioapic_read`
  | 'id' | 'ldr' | 'dfr' | 'svr' | 'version' | 'tmcct' | 'ioapic-id' | 'ioapic-version' | 'ioapic-arb' | 'redir-lo' | 'redir-hi';

/** Local APIC registers a guest may write with `lapic_write` (xAPIC MMIO or x2APIC MSR). */
export type LapicWriteReg = 'id' | 'ldr' | 'dfr' | 'svr' | 'esr';
export type LapicReadReg = 'id' | 'ldr' | 'dfr' | 'svr' | 'version' | 'tmcct';
export type TimerMode = 'oneshot' | 'periodic' | 'tsc-deadline';
/** The largest `time` advance, TMICT and TSC deadline: the logical clock stays an exact integer. */
export const MAX_TIME = 0xffffffff;
export type IoapicReadReg = 'id' | 'version' | 'arb' | 'redir-lo' | 'redir-hi';
/** I/O APIC registers other than redirection entries, written with `ioapic_reg_write` (82093AA 3.2.1-3.2.3). */
export type IoapicRegWriteReg = 'id' | 'version' | 'arb';
/** The `Reg` an `ioapic_read` of `r` reports (ObsSink.readValue). */
export function ioapicReadReg(r: IoapicReadReg): Reg {
  return r === 'id' ? 'ioapic-id' : r === 'version' ? 'ioapic-version' : r === 'arb' ? 'ioapic-arb' : r;
}

export type ExitReason = 'timer' | 'io' | 'cpuid' | 'npf' | 'pause';

export type Event =
  // --- guest instructions (executed only while the vCPU runs guest code) ---
  | { k: 'ipi'; cpu: number; vector: number; shorthand?: Shorthand; logical?: boolean; dest?: number; nmi?: boolean; lowest?: boolean }
  | { k: 'eoi'; cpu: number; /** the guest's EOI routine honours Hyper-V "No EOI required" */ assist?: boolean }
  | { k: 'tpr'; cpu: number; value: number; via: 'cr8' | 'mmio' }
  | { k: 'cli'; cpu: number }
  | { k: 'sti'; cpu: number }
  | { k: 'step'; cpu: number }
  | { k: 'hlt'; cpu: number }
  | { k: 'iret'; cpu: number }
  | { k: 'read'; cpu: number; reg: ReadReg }
  | { k: 'work'; cpu: number; flag: number }
  | { k: 'wait'; cpu: number; flag: number }
  | { k: 'assist'; cpu: number; on: boolean }
  // --- local APIC and I/O APIC programming (docs/scenario-language.md) ---
  /** Write a local APIC register (the value as the guest writes it, register format). */
  | { k: 'lapic_write'; cpu: number; reg: LapicWriteReg; value: number }
  | { k: 'lapic_read'; cpu: number; reg: LapicReadReg }
  /** x2APIC SELF_IPI MSR (0x83F): a fixed, edge self-IPI of `vector` (SDM 10.12.11). */
  | { k: 'self_ipi'; cpu: number; vector: number }
  /** The guest rewrites a whole redirection-table entry (both dwords). */
  | { k: 'ioapic_write'; cpu: number; pin: number; vector: number; dest: number; trigger: Trigger; masked: boolean; logical?: boolean; lowest?: boolean }
  /** The guest reads an I/O APIC register through IOREGSEL/IOWIN. */
  | { k: 'ioapic_read'; cpu: number; reg: IoapicReadReg; pin?: number }
  /** The guest writes the I/O APIC ID, version or arbitration register through IOREGSEL/IOWIN (index 0, 1, 2). */
  | { k: 'ioapic_reg_write'; cpu: number; reg: IoapicRegWriteReg; value: number }
  /** LVT LINT0/LINT1 write: fixed (edge or level) or NMI (SDM 10.5.1). */
  | { k: 'lvt_lint'; cpu: number; pin: 0 | 1; vector: number; trigger: Trigger; masked: boolean; nmi?: boolean }
  /** The LINT0/LINT1 input line of vCPU `cpu` changes (a device wired to the local APIC). */
  | { k: 'lint'; cpu: number; pin: 0 | 1; op: 'assert' | 'deassert' | 'pulse' }
  /** INT n: a software interrupt through the IDT (an interrupt gate): no APIC state changes. */
  | { k: 'int'; cpu: number; vector: number }
  // --- the local APIC timer on a logical clock (docs/scenario-language.md) ---
  /** LVT timer register write (SDM 10.5.1, 10.5.4). */
  | { k: 'lvt_timer'; cpu: number; vector: number; mode: TimerMode; masked: boolean }
  /** Initial-count register (TMICT) write: starts a one-shot or periodic count; 0 stops it. */
  | { k: 'timer_initial'; cpu: number; count: number }
  /** IA32_TSC_DEADLINE write (logical clock units; 0 disarms). */
  | { k: 'tsc_deadline'; cpu: number; deadline: number }
  /** vCPU `cpu`'s logical clock advances by `advance` units: its timer fires if it expires.
   *  Each vCPU has its own clock (*choice*: how the clocks of two CPUs relate is not modeled). */
  | { k: 'time'; cpu: number; advance: number }
  // --- nested: L1 and L2 instructions ---
  /** L1 executes VMRESUME into L2, injecting `inject`; without it, L1 re-injects the event
   *  its last VM exit reported in IDT-vectoring information, as a real L1 must. */
  | { k: 'vmentry'; cpu: number; inject?: number }
  | { k: 'l2'; cpu: number; op: 'step' | 'vmcall' }
  // --- devices ---
  | { k: 'msi'; dest: number; vector: number; logical?: boolean; lowest?: boolean }
  | { k: 'ioapic'; pin: number; op: 'assert' | 'deassert' | 'pulse' | 'mask' | 'unmask' }
  // --- hypervisor and hardware ---
  | { k: 'exit'; cpu: number; reason: ExitReason }
  | { k: 'enter'; cpu: number }
  | { k: 'enter_step'; cpu: number }
  | { k: 'pirq'; cpu: number }
  /** The next event delivery on this vCPU (into L2 on a nested machine) faults into the
   *  hypervisor: an EPT/NPT violation on the IDT or stack page, handled by L0. */
  | { k: 'fault'; cpu: number };

export type EventKind = Event['k'];

/** Events that are guest instructions: they run only while the vCPU executes guest code. */
export const GUEST_EVENTS: ReadonlySet<EventKind> = new Set<EventKind>([
  'ipi', 'eoi', 'tpr', 'cli', 'sti', 'step', 'hlt', 'iret', 'read', 'work', 'wait', 'assist', 'vmentry',
  'lapic_write', 'lapic_read', 'self_ipi', 'ioapic_write', 'ioapic_read', 'ioapic_reg_write', 'lvt_timer', 'timer_initial', 'tsc_deadline', 'int', 'lvt_lint',
]);

/** Expected outcome of a reproducer on one backend variant: clean, or a divergence signature. */
export type Expectation = 'clean' | { signature: string };

export interface Scenario {
  irqdiff: number;
  name?: string;
  description?: string;
  /** Provenance, e.g. the seed document or commit a reproducer comes from. */
  source?: string;
  machine: MachineConfig;
  events: Event[];
  /** For corpus reproducers: "backend/variant" → expected outcome. */
  expect?: Record<string, Expectation>;
  /** For fuzzer findings: where and how it was found. */
  found?: Finding;
  /** What the scenario did as a real guest under QEMU, per accelerator (irqdiff real --record). */
  real?: Partial<Record<'kvm' | 'tcg', RealRecord>>;
}

export interface RealRecord {
  status: 'clean' | 'divergent' | 'error' | 'inconclusive';
  signatures: string[];
  /** Events the real guest could not express as written, and what was done with them. */
  notes: string[];
  /** The host it ran on (QEMU version, the accelerator's capabilities). */
  host: string;
  at: string;
}

export interface Finding {
  backend: string;
  variant: string;
  /** The root cause's bucket: "<backend>/<variant>:<class>:<tag>". */
  signature: string;
  message: string;
  /** What the guest saw of the cause in the minimized run ("late:ipi", "read-mismatch:irr", ...). */
  symptoms?: string[];
  /** The generator seed that produced the unminimized interleaving. */
  seed: string;
  /** Events before minimization. */
  originalEvents: number;
  foundAt: string;
}

export function eventCpu(e: Event): number {
  switch (e.k) {
    case 'msi': return e.dest;
    case 'ioapic': return -1;
    default: return e.cpu;
  }
}

export function defaultMachine(vcpus = 2): MachineConfig {
  return { vcpus, apic: 'x2apic', ioapic: [] };
}
