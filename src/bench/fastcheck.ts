// The fast-check baseline for bench:find: a model-based property over the same models with
// fc.commands. Each command is one scenario event; its check() asks the running backend
// whether the event is enabled there (the vCPU runs guest code, sits in the hypervisor...),
// which is what a developer writing a model-based test would do. The property fails when a
// run shows the sought root cause; shrinking is off (endOnFailure): we measure detection.
// Size: fast-check's default ('small') keeps command lists to about ten, far below the
// generator's 40 events, so the fair baseline uses 'max' (lists up to maxCommands).
import fc from 'fast-check';
import type { Backend } from '../backends/api.js';
import { supportsOn } from '../backends/features.js';
import { Session } from '../engine/session.js';
import type { Event, ExitReason, MachineConfig } from '../scenario/types.js';

interface Model { s: Session; events: number }

class EventCommand implements fc.Command<Model, object> {
  constructor(readonly ev: Event) {}
  check(m: Readonly<Model>): boolean {
    const b = m.s.instance;
    const cpu = 'cpu' in this.ev ? this.ev.cpu : -1;
    if (cpu >= m.s.machine.vcpus) return false;
    if (this.ev.k === 'msi') return this.ev.dest < m.s.machine.vcpus;
    const where = b.where(cpu);
    switch (this.ev.k) {
      case 'enter': case 'enter_step': return where !== 'guest';
      case 'pirq': return b.physPending(cpu);
      case 'vmentry': return m.s.machine.nested !== undefined && where === 'guest' && !b.inL2(cpu);
      case 'l2': return b.inL2(cpu);
      case 'exit': return where === 'guest';
      default: return where === 'guest' && !b.inL2(cpu) && !b.guest(cpu).halted;
    }
  }
  run(m: Model): void { m.s.apply(this.ev, m.events++); }
  toString(): string { return JSON.stringify(this.ev); }
}

const REASONS: ExitReason[] = ['timer', 'io', 'cpuid', 'npf', 'pause'];

function commandArbs(vcpus: number, vectors: number[]): fc.Arbitrary<fc.Command<Model, object>>[] {
  const cpu = fc.integer({ min: 0, max: vcpus - 1 });
  const vec = fc.constantFrom(...vectors);
  const ev = (a: fc.Arbitrary<Event>) => a.map((e) => new EventCommand(e));
  return [
    ev(fc.tuple(cpu, vec, cpu).map(([c, v, d]): Event => ({ k: 'ipi', cpu: c, vector: v, dest: d }))),
    ev(fc.tuple(cpu, vec).map(([c, v]): Event => ({ k: 'ipi', cpu: c, vector: v, shorthand: 'self' }))),
    ev(fc.tuple(cpu, vec).map(([d, v]): Event => ({ k: 'msi', dest: d, vector: v }))),
    ...(['eoi', 'iret', 'sti', 'cli', 'step', 'hlt', 'enter', 'enter_step', 'pirq'] as const).map((k) => ev(cpu.map((c): Event => ({ k, cpu: c }) as Event))),
    ev(fc.tuple(cpu, fc.constantFrom(...REASONS)).map(([c, r]): Event => ({ k: 'exit', cpu: c, reason: r }))),
    ev(fc.tuple(cpu, fc.constantFrom(0, 0x20, 0x40, 0x80)).map(([c, v]): Event => ({ k: 'tpr', cpu: c, value: v, via: 'cr8' }))),
    ev(cpu.map((c): Event => ({ k: 'vmentry', cpu: c }))),
    ev(cpu.map((c): Event => ({ k: 'l2', cpu: c, op: 'step' }))),
    ev(cpu.map((c): Event => ({ k: 'eoi', cpu: c, assist: true }))),
  ];
}

/** Executions until a run shows `cause` (cap if never), with fast-check choosing everything. */
export function fastcheckSearch(b: Backend, variant: string, seed: number, cause: string, cap: number, size: fc.SizeForArbitrary = 'max'): number {
  let runs = 0;
  const machines: MachineConfig[] = [];
  for (const vcpus of [2, 3]) for (const apic of ['x2apic', 'xapic'] as const) {
    const m: MachineConfig = { vcpus, apic, ioapic: [] };
    for (const c of [m, { ...m, nested: { exitOnIntr: true } }, { ...m, hyperv: { apicAssist: true } }]) if (supportsOn(b, c, variant) === null) machines.push(c);
  }
  const vectors = fc.uniqueArray(fc.integer({ min: 0x20, max: 0xef }), { minLength: 1, maxLength: 3 });
  const arb = fc.tuple(fc.constantFrom(...machines), vectors).chain(([m, vs]) => fc.tuple(fc.constant(m), fc.commands(commandArbs(m.vcpus, vs), { maxCommands: 40, size })));
  try {
    fc.assert(fc.property(arb, ([m, cmds]) => {
      runs++;
      const s = new Session(b, variant, m);
      fc.modelRun(() => ({ model: { s, events: 0 }, real: {} }), cmds);
      return !s.finish().divergences.some((d) => d.cause === cause);
    }), { seed, numRuns: cap, endOnFailure: true });
  } catch {
    return runs;
  }
  return cap;
}
