// Scenario → per-vCPU guest programs for the real-hypervisor test kernel (harness/guest/).
// Guest-level events become ops of the vCPU that executes them; device events are executed
// by a vCPU too (an MSI is a guest write to 0xFEExxxxx, an I/O APIC input is a pc-testdev
// port write); hypervisor-level events cannot be expressed by a guest and are skipped. Every
// event that is not executed as written is listed with the reason (mapped or skipped).
import { ioapicReadReg, type ApicMode, type Event, type EventKind, type MachineConfig, type Scenario } from '../scenario/types.js';

export type Accel = 'kvm' | 'tcg';

/** Op codes; must match harness/guest/defs.h. */
export const OP = {
  IPI: 1, EOI: 2, TPR: 3, CLI: 4, STI: 5, NOP: 6, HLT: 7, IRET: 8, READ: 9, WORK: 10, WAIT: 11,
  OUT: 12, CPUID: 13, MSI: 14, PIN: 15, PINMASK: 16, PAUSE: 17, CR8: 18, NPF: 19, SELFIPI: 20, INT: 21,
  LAPICW: 22, IOAPICW: 23, IOREGW: 24,
} as const;
export const REG_CODE = {
  irr: 0, isr: 1, tmr: 2, ppr: 3, tpr: 4, esr: 5,
  id: 6, version: 7, ldr: 8, dfr: 9, svr: 10, 'ioapic-id': 11, 'ioapic-version': 12, 'redir-lo': 13, 'redir-hi': 14,
  /** ESR read without the harness's write before it (after the scenario wrote ESR itself). */
  'esr-plain': 15,
  /** The timer's current count. */
  tmcct: 16,
  /** The I/O APIC arbitration register (index 2). */
  'ioapic-arb': 17,
} as const;
/** IOREGSEL index of the I/O APIC registers `ioapic_reg_write` writes (OP_IOREGW's a). */
export const IOAPIC_REG_INDEX = { id: 0, version: 1, arb: 2 } as const;
/** Local APIC register offsets >> 4 (the x2APIC MSR is 0x800 + this): OP_LAPICW's a. */
export const LAPIC_REG = { id: 0x2, ldr: 0xd, dfr: 0xe, svr: 0xf, esr: 0x28, lint0: 0x35, lint1: 0x36 } as const;

/** ISA lines pc-testdev can drive that no other device of our machine uses (IRQ 0/2: PIT, 4: COM1). */
export const FREE_LINES: readonly number[] = [3, 5, 7, 10, 11, 13, 6, 9, 14, 15, 1, 12, 8];

/** What the judge applies for one op, on the timeline of the vCPU that executed it. */
export type OpSem =
  | { k: 'guest'; ev: Event }                       // a guest instruction of this vCPU
  | { k: 'msi'; ev: Extract<Event, { k: 'msi' }> }  // device: MSI written by this vCPU
  | { k: 'pin'; pin: number; op: 'assert' | 'deassert' | 'mask' | 'unmask' }
  /** A redirection-entry write (ioapic_write): the high dword (destination), then the low one. */
  | { k: 'iowrite'; pin: number; entry: PinEntry }
  /** An I/O APIC register read. The redirection entry's programmed bits are known at compile time
   *  (only the device vCPU writes them, and then only it reads them): `expect` under `care`. Remote IRR
   *  is judged on the reading vCPU's timeline when the entry's messages go to it (`remoteIrrPin`). */
  | { k: 'ioread'; ev: Extract<Event, { k: 'ioapic_read' }>; expect: number; care: number; remoteIrrPin?: number;
      /** ID or arbitration read: the value bare metal returns, where the program wrote the ID before (REF-IOA-7). */
      exact?: number }
  | { k: 'nop' };                                   // exit io/cpuid/pause/npf: no APIC effect

export interface CompiledOp {
  code: number; a: number; b: number; data: number;
  /** Index of the scenario event this op comes from. */
  event: number;
  sem: OpSem;
}

/**
 * How an event that is not executed exactly as written is expressed: `mapped` (executed as a
 * guest instruction with the meaning given), `merged` (its effect happens, but not at its own
 * point: a VM entry happens as part of the previous trapping instruction), `skipped` (absent).
 */
export type NoteAction = 'mapped' | 'merged' | 'skipped';
export interface EventNote { index: number; k: EventKind; action: NoteAction; reason: string; /** eventKey() of the event */ key?: string }

/** The per-kind key of an event for skipped-event counts (`exit` events by reason). */
export function eventKey(e: Event): string {
  return e.k === 'exit' ? `exit:${e.reason}` : e.k;
}

/** A redirection entry as the judge follows it (physical, fixed delivery; dest is a vCPU index, ≥ vcpus: none). */
export interface PinEntry { vector: number; dest: number; level: boolean; masked: boolean }

export interface PinSetup {
  pin: number; line: number; vector: number; dest: number; rteDest: number; level: boolean; masked: boolean;
  /** The vCPU whose timeline the judge follows the pin on: the only one any of its programmings
   *  (initial or run-time writes) can send to (-1: none can). */
  judgeCpu: number;
}

export interface CompileOptions {
  accel: Accel;
  /** Whether the accelerator's CPU model offers x2APIC (TCG in QEMU 7.2 does not). */
  x2apicAvailable: boolean;
  /** The hypervisor cannot run IRET in our protected-mode guest: frames are popped with POPF. */
  noIret: boolean;
}

export interface Compiled {
  /** The machine the guest actually runs (apic mode possibly mapped). */
  machine: MachineConfig;
  programs: CompiledOp[][];
  pins: PinSetup[];
  notes: EventNote[];
  /** Number of events in the scenario. */
  events: number;
  /** The vCPU that executes I/O APIC input events. */
  deviceCpu: number;
}

const SHORTHAND_BITS = { none: 0, self: 0x40000, all: 0x80000, others: 0xc0000 } as const;

export function compileScenario(s: Scenario, opts: CompileOptions): Compiled {
  const notes: EventNote[] = [];
  const apic: ApicMode = s.machine.apic === 'x2apic' && !opts.x2apicAvailable ? 'xapic' : s.machine.apic;
  if (apic !== s.machine.apic) {
    notes.push({ index: -1, k: 'ipi', action: 'mapped', reason: `machine.apic x2apic → xapic: ${opts.accel} offers no x2APIC; IPIs, MSIs and reads use the xAPIC page (destination semantics per the xAPIC rules)` });
  }
  const machine: MachineConfig = { vcpus: s.machine.vcpus, apic, ioapic: s.machine.ioapic.map((p) => ({ ...p })) };
  const programs: CompiledOp[][] = Array.from({ length: s.machine.vcpus }, () => []);
  const pins: PinSetup[] = [];
  const lineOf = new Map<number, number>();
  const n = s.machine.vcpus;
  const rteDestOf = (dest: number): number => (dest < n ? dest : 0xfe);
  // I/O APIC inputs are driven, and redirection entries written, by one vCPU, so that every
  // operation on a pin is in one program order (the judge replays a pin's operations as a FIFO)
  // and one vCPU selects I/O APIC registers: the writer of the first ioapic_write, else vCPU 0.
  const firstWrite = s.events.find((e): e is Extract<Event, { k: 'ioapic_write' }> => e.k === 'ioapic_write');
  const deviceCpu = firstWrite ? firstWrite.cpu : 0;
  const cfgOf = (pin: number) => s.machine.ioapic.find((p) => p.pin === pin);
  const pinExpressible = (pin: number): boolean => {
    const cfg = cfgOf(pin);
    return !!cfg && !cfg.logical && !cfg.lowest && !s.machine.apicIds;
  };
  s.machine.ioapic.forEach((p, i) => { const line = FREE_LINES[i]; if (line !== undefined) lineOf.set(p.pin, line); });
  const writeExpressible = (e: Extract<Event, { k: 'ioapic_write' }>): boolean =>
    e.cpu === deviceCpu && !e.logical && !e.lowest && lineOf.has(e.pin) && pinExpressible(e.pin);
  /**
   * The vCPUs a pin can send to, from its operations in program order (all on deviceCpu): a state
   * in which the entry is unmasked with its line high can send (a rising edge, a level message, a
   * level re-send after an EOI), to the destination it has then. A write is two states: the new
   * destination with the old low dword (the high dword is written first), then the new entry.
   */
  const sendTargets = (pin: number, withWrites: boolean): Set<number> => {
    const cfg = cfgOf(pin)!;
    let dest = cfg.dest, masked = cfg.masked, line = false;
    const out = new Set<number>();
    const touch = () => { if (!masked && line && dest < n) out.add(dest); };
    for (const e of s.events) {
      if (e.k === 'ioapic' && e.pin === pin) {
        if (e.op === 'assert' || e.op === 'pulse') { line = true; touch(); if (e.op === 'pulse') line = false; }
        else if (e.op === 'deassert') line = false;
        else { masked = e.op === 'mask'; touch(); }
      } else if (withWrites && e.k === 'ioapic_write' && e.pin === pin && writeExpressible(e)) {
        dest = e.dest; touch();
        masked = e.masked; touch();
      }
    }
    return out;
  };
  // Pins whose run-time writes the judge can follow: every state that can send sends to one vCPU.
  const writablePins = new Set<number>();
  const judgeCpuOf = new Map<number, number>();
  for (const p of s.machine.ioapic) {
    if (!lineOf.has(p.pin)) continue;
    const withW = sendTargets(p.pin, true);
    const hasWrites = s.events.some((e) => e.k === 'ioapic_write' && e.pin === p.pin && writeExpressible(e));
    if (hasWrites && withW.size <= 1) {
      writablePins.add(p.pin);
      const firstDest = [p.dest, ...s.events.flatMap((e) => (e.k === 'ioapic_write' && e.pin === p.pin && writeExpressible(e) ? [e.dest] : []))].find((d) => d < n);
      judgeCpuOf.set(p.pin, withW.size ? [...withW][0]! : firstDest ?? -1);
    } else judgeCpuOf.set(p.pin, p.dest < n ? p.dest : -1);
  }
  s.machine.ioapic.forEach((p) => {
    const line = lineOf.get(p.pin);
    if (line === undefined) return;
    pins.push({
      pin: p.pin, line, vector: p.vector, dest: p.dest,
      rteDest: rteDestOf(p.dest),
      level: p.trigger === 'level', masked: p.masked,
      judgeCpu: judgeCpuOf.get(p.pin) ?? -1,
    });
  });
  if (s.machine.ioapic.length > FREE_LINES.length) {
    notes.push({ index: -1, k: 'ioapic', action: 'skipped', reason: `only ${FREE_LINES.length} I/O APIC inputs can be driven; pins past that are not programmed` });
  }
  let lastCpu = 0;
  // REF-IOA-7: the I/O APIC ID as the program wrote it so far (-1: the platform's). The arbitration register
  // follows an ID write until a message crosses the APIC bus (82093AA 3.2.3), which real vCPUs run concurrently
  // with this one: it is judged exactly only in scenarios that send no message at all.
  let ioId = -1;
  const busMessages = s.events.some((e) => e.k === 'msi' || e.k === 'ioapic' || e.k === 'ioapic_write' || (e.k === 'ipi' && e.shorthand !== 'self'));
  // Each pin's redirection entry as the program has left it so far (only deviceCpu writes entries).
  const cur = new Map<number, PinEntry>(pins.map((p) => [p.pin, { vector: p.vector, dest: p.dest, level: p.level, masked: p.masked }]));
  // vCPUs that write IOREGSEL: deviceCpu for mask/unmask and entry writes, each I/O APIC reader.
  const ioregselCpus = new Set<number>();
  for (const e of s.events) {
    if (e.k === 'ioapic_read' || e.k === 'ioapic_reg_write') ioregselCpus.add(e.cpu);
    else if (e.k === 'ioapic' && (e.op === 'mask' || e.op === 'unmask')) ioregselCpus.add(deviceCpu);
    else if (e.k === 'ioapic_write' && writablePins.has(e.pin) && writeExpressible(e)) ioregselCpus.add(deviceCpu);
  }
  // An xAPIC ID write changes which vCPU a physical destination names. The judge follows each
  // I/O APIC pin on one vCPU's timeline, fixed by the destination, so ID writes are expressed
  // only in scenarios without pins; and HLTs there are emulated, because the watchdog ends a
  // stuck real HLT with an NMI to the vCPU's APIC ID, which an ID write (or two vCPUs sharing
  // an ID, where QEMU delivers to one) would send elsewhere.
  const idWrites = s.events.some((e) => e.k === 'lapic_write' && e.reg === 'id' && apic === 'xapic' && s.machine.ioapic.length === 0 && !s.machine.apicIds);
  // vCPUs that have written ESR so far (program order): their ESR reads no longer write first (REF-ESR-1).
  const esrWritten = new Set<number>();
  const push = (cpu: number, op: Omit<CompiledOp, 'event'>, index: number) => programs[cpu]!.push({ ...op, event: index });
  const skip = (i: number, e: Event, reason: string) => notes.push({ index: i, k: e.k, key: eventKey(e), action: 'skipped', reason });
  const mapped = (i: number, e: Event, reason: string) => notes.push({ index: i, k: e.k, key: eventKey(e), action: 'mapped', reason });

  s.events.forEach((e, i) => {
    if ('cpu' in e) lastCpu = e.cpu;
    switch (e.k) {
      case 'ipi': {
        const sh = e.shorthand ?? 'none';
        if (e.nmi && opts.noIret) { skip(i, e, 'NMI: this hypervisor cannot run IRET in our guest, so NMI blocking could never be released'); return; }
        if (e.nmi && (sh === 'self' || sh === 'all')) { skip(i, e, `NMI with shorthand '${sh}' is an invalid ICR combination (SDM Table 10-3)`); return; }
        if (s.machine.apicIds && sh === 'none') { skip(i, e, 'programmed APIC IDs ($.machine.apicIds) are not expressed by the real guest kernel yet'); return; }
        if (e.lowest || (e.dest ?? 0) > 0xff) { skip(i, e, 'lowest-priority delivery and 32-bit destinations are not expressed by the real guest kernel yet (docs/scenario-language.md)'); return; }
        let dest = e.dest ?? 0;
        if (sh === 'none' && !e.logical && apic === 'x2apic' && dest === 0xff) {
          // x2APIC: 0xff is an ordinary APIC ID that no vCPU has; keep it unmatched.
          dest = 0xfe;
        }
        const low = (e.nmi ? 0x400 : e.vector & 0xff) | (e.logical ? 0x800 : 0) | 0x4000 | SHORTHAND_BITS[sh];
        push(e.cpu, { code: OP.IPI, a: dest & 0xff, b: 0, data: low >>> 0, sem: { k: 'guest', ev: e } }, i);
        return;
      }
      case 'eoi':
        if (e.assist) mapped(i, e, 'EOI with APIC assist → plain EOI (no Hyper-V enlightenment in QEMU here)');
        push(e.cpu, { code: OP.EOI, a: 0, b: 0, data: 0, sem: { k: 'guest', ev: { k: 'eoi', cpu: e.cpu } } }, i);
        return;
      case 'tpr':
        // A real MOV to CR8 (TPR[7:4] = CR8[3:0]) or a write of the TPR register.
        if (e.via === 'cr8') push(e.cpu, { code: OP.CR8, a: 0, b: 0, data: (e.value >> 4) & 0xf, sem: { k: 'guest', ev: e } }, i);
        else push(e.cpu, { code: OP.TPR, a: 0, b: 0, data: e.value, sem: { k: 'guest', ev: e } }, i);
        return;
      case 'cli': push(e.cpu, { code: OP.CLI, a: 0, b: 0, data: 0, sem: { k: 'guest', ev: e } }, i); return;
      case 'sti': push(e.cpu, { code: OP.STI, a: 0, b: 0, data: 0, sem: { k: 'guest', ev: e } }, i); return;
      case 'step': push(e.cpu, { code: OP.NOP, a: 0, b: 0, data: 0, sem: { k: 'guest', ev: e } }, i); return;
      case 'hlt':
        if (idWrites) mapped(i, e, 'HLT → the emulated HLT (a loop only what would wake the HLT interrupts): this scenario writes APIC IDs, and the watchdog ends a stuck real HLT with an NMI to the APIC ID');
        push(e.cpu, { code: OP.HLT, a: idWrites ? 1 : 0, b: 0, data: 0, sem: { k: 'guest', ev: e } }, i);
        return;
      case 'iret': push(e.cpu, { code: OP.IRET, a: 0, b: 0, data: 0, sem: { k: 'guest', ev: e } }, i); return;
      case 'read': {
        // After the vCPU wrote ESR itself, a read returns what that write latched: no write first (REF-ESR-1).
        const reg = e.reg === 'esr' && esrWritten.has(e.cpu) ? 'esr-plain' : e.reg;
        push(e.cpu, { code: OP.READ, a: REG_CODE[reg], b: 0, data: 0, sem: { k: 'guest', ev: e } }, i);
        return;
      }
      case 'work': push(e.cpu, { code: OP.WORK, a: e.flag, b: 0, data: 0, sem: { k: 'guest', ev: e } }, i); return;
      case 'wait': push(e.cpu, { code: OP.WAIT, a: e.flag, b: 0, data: 0, sem: { k: 'guest', ev: e } }, i); return;
      case 'exit':
        // The guest executes an instruction that traps (whichever the accelerator traps; TCG traps none).
        switch (e.reason) {
          case 'io': push(e.cpu, { code: OP.OUT, a: 0, b: 0, data: 0, sem: { k: 'nop' } }, i); return;
          case 'cpuid': push(e.cpu, { code: OP.CPUID, a: 0, b: 0, data: 0, sem: { k: 'nop' } }, i); return;
          case 'pause':
            mapped(i, e, 'PAUSE instruction (exits only under pause-loop exiting)');
            push(e.cpu, { code: OP.PAUSE, a: 0, b: 0, data: 0, sem: { k: 'nop' } }, i);
            return;
          case 'npf':
            mapped(i, e, 'read of guest-physical 0xc0000000, where nothing is mapped: an EPT/NPT exit to the VMM');
            push(e.cpu, { code: OP.NPF, a: 0, b: 0, data: 0, sem: { k: 'nop' } }, i);
            return;
          case 'timer':
            mapped(i, e, 'a guest cannot time the host\'s timer exit: CPUID instead (an unconditional exit under VMX and SVM; the same exit and re-entry path, another exit reason)');
            push(e.cpu, { code: OP.CPUID, a: 0, b: 0, data: 0, sem: { k: 'nop' } }, i);
            return;
        }
        return;
      case 'enter': case 'enter_step':
        notes.push({ index: i, k: e.k, key: e.k, action: 'merged', reason: 'VM entry: a real hypervisor re-enters by itself right after the exit of the vCPU\'s last trapping instruction; the guest cannot delay it or split it into steps' });
        return;
      case 'lapic_read': {
        if (e.reg === 'tmcct') {
          // The harness keeps the timer stopped and every timer event is skipped (they run on a
          // logical clock), so the count reads 0 on bare metal and in the judge's reference. As
          // written only where the scenario arms no timer on this vCPU.
          const armed = s.events.some((x) => (x.k === 'timer_initial' || x.k === 'tsc_deadline' || x.k === 'lvt_timer') && x.cpu === e.cpu);
          if (armed) mapped(i, e, 'the timer count of a timer whose arming is skipped (timer events run on a logical clock): read as the stopped timer\'s 0');
          push(e.cpu, { code: OP.READ, a: REG_CODE.tmcct, b: 0, data: 0, sem: { k: 'guest', ev: e } }, i);
          return;
        }
        if (e.reg === 'dfr' && apic === 'x2apic') { skip(i, e, 'x2APIC has no DFR (the MSR read faults)'); return; }
        push(e.cpu, { code: OP.READ, a: REG_CODE[e.reg], b: 0, data: 0, sem: { k: 'guest', ev: e } }, i);
        return;
      }
      case 'ioapic_read': {
        // The IOREGSEL/IOWIN pair is not atomic and the guest takes no lock (an interrupted op is
        // abandoned and restarted inside the handler, so a lock could never be released): the
        // read is expressed when its vCPU is the only one that selects I/O APIC registers.
        if (ioregselCpus.size > 1) { skip(i, e, `I/O APIC registers are selected by vCPUs ${[...ioregselCpus].sort().join(', ')} here; the IOREGSEL/IOWIN pair is not atomic, so only scenarios where one vCPU does so are expressed`); return; }
        const reg = ioapicReadReg(e.reg);
        if (reg === 'redir-lo' || reg === 'redir-hi') {
          const pin = pins.find((p) => p.pin === e.pin);
          if (!pin) { skip(i, e, `I/O APIC pin ${e.pin ?? '?'} has no input line here`); return; }
          const ent = cur.get(pin.pin)!;
          const expect = reg === 'redir-hi' ? (rteDestOf(ent.dest) << 24) >>> 0 : ent.vector | (ent.level ? 0x8000 : 0) | (ent.masked ? 0x10000 : 0);
          // Delivery status (bit 12) is timing; Remote IRR (bit 14) only where the judge follows the pin.
          const care = reg === 'redir-hi' ? 0xff000000 : ~(0x1000 | 0x4000) >>> 0;
          mapped(i, e, `I/O APIC redirection entry ${pin.line} (${reg}) read by vCPU ${e.cpu}`);
          push(e.cpu, { code: OP.READ, a: REG_CODE[reg], b: pin.line, data: 0, sem: { k: 'ioread', ev: e, expect, care, remoteIrrPin: ent.level ? pin.pin : undefined } }, i);
          return;
        }
        if (reg !== 'ioapic-id' && reg !== 'ioapic-version' && reg !== 'ioapic-arb') return;
        const exact = ioId < 0 || (reg === 'ioapic-arb' && busMessages) ? undefined : reg === 'ioapic-version' ? undefined : ioId;
        push(e.cpu, { code: OP.READ, a: REG_CODE[reg], b: 0, data: 0, sem: { k: 'ioread', ev: e, expect: 0, care: 0, exact } }, i);
        return;
      }
      case 'ioapic_reg_write': {
        // IOREGSEL then IOWIN, like a read: expressed only where one vCPU selects I/O APIC registers.
        if (ioregselCpus.size > 1) { skip(i, e, `I/O APIC registers are selected by vCPUs ${[...ioregselCpus].sort().join(', ')} here; the IOREGSEL/IOWIN pair is not atomic, so only scenarios where one vCPU does so are expressed`); return; }
        if (e.reg === 'id') ioId = (e.value & 0x0f000000) >>> 0;
        push(e.cpu, { code: OP.IOREGW, a: IOAPIC_REG_INDEX[e.reg], b: 0, data: e.value >>> 0, sem: { k: 'nop' } }, i);
        return;
      }
      case 'self_ipi': {
        const ipi: Extract<Event, { k: 'ipi' }> = { k: 'ipi', cpu: e.cpu, vector: e.vector, shorthand: 'self' };
        if (apic !== 'x2apic') mapped(i, e, `SELF_IPI → the ICR's self shorthand (${opts.accel} runs this machine in xAPIC mode)`);
        push(e.cpu, { code: OP.SELFIPI, a: 0, b: 0, data: e.vector & 0xff, sem: { k: 'guest', ev: ipi } }, i);
        return;
      }
      case 'lapic_write': {
        // One MMIO write (xAPIC) or WRMSR (x2APIC); the judge applies it to the writer's APIC and
        // matches every message against the destination state the target has when it lands.
        if ((e.reg === 'id' || e.reg === 'ldr') && apic === 'x2apic') { skip(i, e, `x2APIC ${e.reg.toUpperCase()} is read-only (the WRMSR faults)`); return; }
        if (e.reg === 'dfr' && apic === 'x2apic') { skip(i, e, 'x2APIC has no DFR (the WRMSR faults)'); return; }
        if (e.reg === 'id' && s.machine.ioapic.length) { skip(i, e, 'an APIC ID write in a scenario with I/O APIC pins: the judge follows each pin on the timeline of the vCPU its physical destination names, fixed for the run'); return; }
        if (e.reg === 'id' && e.value >>> 28 === 0xf) { skip(i, e, `APIC ID 0x${(e.value >>> 24).toString(16)}: IDs 0xf0-0xff are the harness's (its idle and watchdog CPUs move there, kernel.c scenario_loop)`); return; }
        if (e.reg === 'id' && s.machine.apicIds) { skip(i, e, 'programmed APIC IDs ($.machine.apicIds) are not expressed by the real guest kernel yet'); return; }
        if (e.reg === 'esr') esrWritten.add(e.cpu);
        push(e.cpu, { code: OP.LAPICW, a: LAPIC_REG[e.reg], b: 0, data: e.value >>> 0, sem: { k: 'guest', ev: e } }, i);
        return;
      }
      case 'ioapic_write': {
        const line = lineOf.get(e.pin);
        if (line === undefined) { skip(i, e, `I/O APIC pin ${e.pin} has no input line here`); return; }
        if (e.logical || e.lowest || !pinExpressible(e.pin)) { skip(i, e, 'logical or lowest-priority redirection entries and programmed APIC IDs are not expressed by the real guest kernel yet'); return; }
        if (e.cpu !== deviceCpu) { skip(i, e, `I/O APIC entries are written and the pins driven by vCPU ${deviceCpu} (the first writer), so that a pin's operations are in one program order and one vCPU selects I/O APIC registers (the IOREGSEL/IOWIN pairs take no lock)`); return; }
        if (!writablePins.has(e.pin)) { skip(i, e, `pin ${e.pin} could send to more than one vCPU under its programmings (a message may go out under the old or the new entry); the judge follows a pin on one vCPU's timeline`); return; }
        const ent: PinEntry = { vector: e.vector, dest: e.dest, level: e.trigger === 'level', masked: e.masked };
        cur.set(e.pin, ent);
        const low = (ent.vector & 0xff) | (ent.level ? 0x8000 : 0) | (ent.masked ? 0x10000 : 0);
        push(e.cpu, { code: OP.IOAPICW, a: line, b: rteDestOf(ent.dest), data: low, sem: { k: 'iowrite', pin: e.pin, entry: ent } }, i);
        return;
      }
      case 'lvt_timer': case 'timer_initial': case 'tsc_deadline': case 'time':
        skip(i, e, `'${e.k}': scenarios run the APIC timer on a logical clock; a real timer runs in wall time, so the guest kernel does not express it`);
        return;
      case 'int':
        // Vectors below 32 are the harness's exception handlers (and some would expect an error code); 0xff its spurious vector.
        if (e.vector < 32 || e.vector === 0xff) { skip(i, e, `INT ${e.vector}: the guest kernel keeps vectors 0-31 for exceptions and 255 for the spurious vector`); return; }
        push(e.cpu, { code: OP.INT, a: 0, b: 0, data: e.vector, sem: { k: 'guest', ev: e } }, i);
        return;
      case 'lvt_lint': {
        // The LVT write is executed; nothing raises the lines here (QEMU's LINT0 is the 8259's
        // output, which the harness masks; nothing drives LINT1), as in a scenario without `lint`.
        const v = (e.vector & 0xff) | (e.nmi ? 0x400 : 0) | (e.trigger === 'level' ? 0x8000 : 0) | (e.masked ? 0x10000 : 0);
        push(e.cpu, { code: OP.LAPICW, a: e.pin === 0 ? LAPIC_REG.lint0 : LAPIC_REG.lint1, b: 0, data: v, sem: { k: 'guest', ev: e } }, i);
        return;
      }
      case 'lint':
        skip(i, e, 'a LINT input line: under QEMU LINT0 is the 8259 PIC\'s output and LINT1 is wired to nothing a guest can drive (only the monitor\'s NMI), so a guest cannot raise its own LINT inputs');
        return;
      case 'msi': {
        if (e.lowest) { skip(i, e, 'lowest-priority MSIs are not expressed by the real guest kernel yet'); return; }
        if (s.machine.apicIds) { skip(i, e, 'programmed APIC IDs ($.machine.apicIds) are not expressed by the real guest kernel yet'); return; }
        if (opts.accel === 'kvm' && e.dest === 0 && !e.logical) {
          skip(i, e, 'MSI to APIC ID 0: under KVM a guest write to 0xFEE00000 hits its own APIC page, not the MSI path');
          return;
        }
        mapped(i, e, `MSI → guest write of the vector to 0x${(0xfee00000 + (e.dest << 12) + (e.logical ? 4 : 0)).toString(16)} by vCPU ${lastCpu} (QEMU forwards it as an MSI)`);
        push(lastCpu, { code: OP.MSI, a: 0, b: e.vector & 0xff, data: ((e.dest & 0xff) << 12) | (e.logical ? 4 : 0), sem: { k: 'msi', ev: e } }, i);
        return;
      }
      case 'ioapic': {
        const line = lineOf.get(e.pin);
        const cfg = s.machine.ioapic.find((p) => p.pin === e.pin);
        if (line === undefined || !cfg) { skip(i, e, `I/O APIC pin ${e.pin} has no drivable input line`); return; }
        if (cfg.logical || cfg.lowest || s.machine.apicIds) { skip(i, e, 'logical or lowest-priority redirection entries and programmed APIC IDs are not expressed by the real guest kernel yet'); return; }
        mapped(i, e, `I/O APIC pin ${e.pin} → ISA line ${line} (pc-testdev port 0x${(0x2000 + line).toString(16)}), driven by vCPU ${deviceCpu}${e.op === 'pulse' ? '; pulse = assert then deassert (the line ends low)' : ''}`);
        const ent = cur.get(e.pin)!;
        const rteLow = ent.vector | (ent.level ? 0x8000 : 0);
        const pinOp = (op: 'assert' | 'deassert' | 'mask' | 'unmask'): Omit<CompiledOp, 'event'> => {
          if (op === 'assert' || op === 'deassert') return { code: OP.PIN, a: line, b: op === 'assert' ? 1 : 0, data: 0, sem: { k: 'pin', pin: e.pin, op } };
          return { code: OP.PINMASK, a: line, b: op === 'mask' ? 1 : 0, data: rteLow, sem: { k: 'pin', pin: e.pin, op } };
        };
        if (e.op === 'mask' || e.op === 'unmask') cur.set(e.pin, { ...ent, masked: e.op === 'mask' });
        if (e.op === 'pulse') {
          push(deviceCpu, pinOp('assert'), i);
          push(deviceCpu, pinOp('deassert'), i);
        } else push(deviceCpu, pinOp(e.op), i);
        return;
      }
      default:
        skip(i, e, `'${e.k}' is a hypervisor-level event; a guest cannot express it`);
        return;
    }
  });
  return { machine, programs, pins, notes, events: s.events.length, deviceCpu };
}

/** Harness timing (harness/guest/kernel.c): all but the backstops end as soon as the guest knows it is done. */
export interface BatchTiming {
  /** Every scenario vCPU idle (ended, halted, or waiting for a clear flag) this long: a HLT is stuck, waits give up. */
  graceUs: number;
  /** Backstop for a wait whose flag is never set. */
  waitTimeoutUs: number;
  /** Backstop for the drain. */
  drainUs: number;
  /** A wait that saw its flag spins this long before it commits (messages sent before the work land). */
  settleUs: number;
  /** The drain ends once IRR has been empty this long. */
  quietUs: number;
}
export interface BatchParams extends BatchTiming { x2apic: boolean; ncpus: number; noIret: boolean }

/** Encode a batch module (format: harness/guest/defs.h, kernel.c prepare_scenario). */
export function encodeBatch(items: Compiled[], p: BatchParams): Buffer {
  const w: number[] = [0x42515249, 2, items.length, p.x2apic ? 1 : 0, p.ncpus, p.graceUs, p.waitTimeoutUs, p.drainUs, p.noIret ? 1 : 0, p.settleUs, p.quietUs];
  items.forEach((c, id) => {
    if (c.machine.vcpus + 1 > p.ncpus) throw new Error(`scenario ${id} needs ${c.machine.vcpus} vCPUs but the batch machine has ${p.ncpus - 1}`);
    const rec: number[] = [0, id, c.machine.vcpus, c.pins.length];
    for (const pin of c.pins) rec.push(pin.line, pin.vector, pin.rteDest, (pin.level ? 1 : 0) | (pin.masked ? 2 : 0));
    for (let cpu = 0; cpu < c.machine.vcpus; cpu++) {
      const ops = c.programs[cpu]!;
      if (ops.length > 8000) throw new Error(`scenario ${id}: vCPU ${cpu} has ${ops.length} ops (max 8000)`);
      rec.push(ops.length);
      for (const op of ops) rec.push((op.code | (op.a << 8) | (op.b << 16)) >>> 0, op.data >>> 0);
    }
    rec[0] = rec.length;
    w.push(...rec);
  });
  const buf = Buffer.alloc(w.length * 4);
  w.forEach((x, i) => buf.writeUInt32LE(x >>> 0, i * 4));
  return buf;
}
