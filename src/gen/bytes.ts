// Bytes → scenario, for byte-oriented fuzzers (the jsfuzz baseline, harness/jsfuzz): the first
// bytes choose the machine and a vector pool, then every two bytes are one event. Every byte
// string decodes to a valid scenario for the backend (events never name a missing vCPU).
import type { Backend } from '../backends/api.js';
import { supportsOn } from '../backends/features.js';
import type { Event, ExitReason, MachineConfig, Scenario } from '../scenario/types.js';
import { SCENARIO_VERSION } from '../scenario/types.js';

const REASONS: ExitReason[] = ['timer', 'io', 'cpuid', 'npf', 'pause'];
const SIMPLE = ['eoi', 'iret', 'sti', 'cli', 'step', 'hlt', 'enter', 'enter_step', 'pirq'] as const;

/** The machines `b` (and, given one, its variant: Backend.supportsVariant) accepts. */
export function machinesFor(b: Backend, variant?: string): MachineConfig[] {
  const out: MachineConfig[] = [];
  for (const vcpus of [2, 3]) for (const apic of ['x2apic', 'xapic'] as const) {
    const m: MachineConfig = { vcpus, apic, ioapic: [] };
    for (const c of [m, { ...m, nested: { exitOnIntr: true } }, { ...m, hyperv: { apicAssist: true } }]) if (supportsOn(b, c, variant) === null) out.push(c);
  }
  return out;
}

export function scenarioFromBytes(b: Backend, buf: Uint8Array, maxEvents = 40, variant?: string): Scenario | undefined {
  const machines = machinesFor(b, variant);
  if (machines.length === 0 || buf.length < 3) return undefined;
  const machine = machines[buf[0]! % machines.length]!;
  const vectors = [0x20 + (buf[1]! % 0xd0), 0x20 + (buf[2]! % 0xd0)];
  const n = machine.vcpus;
  const events: Event[] = [];
  for (let i = 3; i + 1 < buf.length && events.length < maxEvents; i += 2) {
    const op = buf[i]!, arg = buf[i + 1]!;
    const cpu = arg % n;
    const v = vectors[(arg >> 4) & 1]!;
    const kind = op % 16;
    if (kind < SIMPLE.length) events.push({ k: SIMPLE[kind]!, cpu } as Event);
    else if (kind === 9) events.push({ k: 'ipi', cpu, vector: v, dest: (arg >> 5) % n });
    else if (kind === 10) events.push({ k: 'ipi', cpu, vector: v, shorthand: 'self' });
    else if (kind === 11) events.push({ k: 'msi', dest: cpu, vector: v });
    else if (kind === 12) events.push({ k: 'exit', cpu, reason: REASONS[(arg >> 4) % REASONS.length]! });
    else if (kind === 13) events.push({ k: 'tpr', cpu, value: (arg >> 4) << 4, via: 'cr8' });
    else if (kind === 14) events.push(machine.nested ? { k: 'vmentry', cpu } : { k: 'step', cpu });
    else events.push(machine.nested ? { k: 'l2', cpu, op: 'step' } : machine.hyperv ? { k: 'eoi', cpu, assist: true } : { k: 'read', cpu, reg: 'irr' });
  }
  return { irqdiff: SCENARIO_VERSION, machine, events };
}
