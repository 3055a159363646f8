// An exception inside a backend (a bug in a model, or in a user's --backend-module) is a
// result, not a dead campaign: the guarded instance turns it into a hypervisor crash
// reported through the sink (bucket crash:exception-<throwing function>), and from then on
// the vCPUs stand still, so the run drains and the minimizer can shrink it like any other.
import { GuestCpu } from '../apic/guestcpu.js';
import { vecSet, type VecSet } from '../apic/vecset.js';
import type { Backend, BackendInstance, ObsSink, VcpuWhere } from '../backends/api.js';
import type { Event, MachineConfig, Reg } from '../scenario/types.js';

/** The function that threw, from the first stack frame: stable across line-number edits. */
export function throwSite(err: unknown): string {
  const stack = err instanceof Error ? err.stack ?? '' : '';
  for (const line of stack.split('\n').slice(1, 4)) {
    const m = /^\s*at (?:new )?([A-Za-z0-9_$.<>]+) \(/.exec(line);
    if (m && !m[1]!.startsWith('Guarded')) return m[1]!;
  }
  return err instanceof Error ? err.name : 'throw';
}

export function exceptionCause(err: unknown): string {
  return `exception-${throwSite(err)}`;
}

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 300);

class GuardedInstance implements BackendInstance {
  private dead = false;
  private readonly idle: GuestCpu[];

  constructor(private readonly inner: BackendInstance, private readonly sink: ObsSink) {
    this.idle = [];
    for (let i = 0; i < inner.machine.vcpus; i++) { const g = new GuestCpu(); g.halted = true; this.idle.push(g); }
  }

  get machine(): MachineConfig { return this.inner.machine; }

  private fail(cpu: number, err: unknown): void {
    if (this.dead) return;
    this.dead = true;
    this.sink.crash(cpu, exceptionCause(err), `backend threw ${describe(err)}`);
  }

  apply(ev: Event, index: number): void {
    if (this.dead) return;
    try { this.inner.apply(ev, index); } catch (err) { this.fail('cpu' in ev ? ev.cpu : 0, err); }
  }

  where(cpu: number): VcpuWhere {
    if (this.dead) return 'guest';
    try { return this.inner.where(cpu); } catch (err) { this.fail(cpu, err); return 'guest'; }
  }

  inL2(cpu: number): boolean {
    if (this.dead) return false;
    try { return this.inner.inL2(cpu); } catch (err) { this.fail(cpu, err); return false; }
  }

  physPending(cpu: number): boolean {
    if (this.dead) return false;
    try { return this.inner.physPending(cpu); } catch (err) { this.fail(cpu, err); return false; }
  }

  guest(cpu: number): GuestCpu {
    if (this.dead) return this.idle[cpu]!;
    try { return this.inner.guest(cpu); } catch (err) { this.fail(cpu, err); return this.idle[cpu]!; }
  }

  snapshot(cpu: number): { irr: VecSet; isr: VecSet; ppr: number; extra?: string } {
    try { return this.inner.snapshot(cpu); } catch (err) { this.fail(cpu, err); return { irr: vecSet(), isr: vecSet(), ppr: 0 }; }
  }

  whereStuck(cpu: number, vector: number): string | undefined {
    if (this.dead || !this.inner.whereStuck) return undefined;
    try { return this.inner.whereStuck(cpu, vector); } catch (err) { this.fail(cpu, err); return undefined; }
  }

  explain(cpu: number, what: string, vector: number): string | undefined {
    if (this.dead || !this.inner.explain) return undefined;
    try { return this.inner.explain(cpu, what, vector); } catch (err) { this.fail(cpu, err); return undefined; }
  }

  coverage(cpu: number): number {
    if (this.dead || !this.inner.coverage) return 0;
    try { return this.inner.coverage(cpu); } catch (err) { this.fail(cpu, err); return 0; }
  }
}

/** Forwards everything to the oracle, telling `onStep` each hypervisor step (for coverage). */
class StepTap implements ObsSink {
  constructor(private readonly s: ObsSink, private readonly onStep: (name: string) => void) {}
  executed(index: number): void { this.s.executed(index); }
  deliver(cpu: number, vector: number, nmi: boolean, via?: string): void { this.s.deliver(cpu, vector, nmi, via); }
  readValue(cpu: number, reg: Reg, value: VecSet | number): void { this.s.readValue(cpu, reg, value); }
  evaluate(cpu: number): void { this.s.evaluate(cpu); }
  vmexit(cpu: number, reason: string): void { this.s.vmexit(cpu, reason); }
  step(cpu: number, name: string): void { this.onStep(name); this.s.step(cpu, name); }
  crash(cpu: number, where: string, message: string): void { this.s.crash(cpu, where, message); }
  l1Exit(cpu: number, reason: string, idtValid: boolean, idtVector: number, intrInfo?: number): void { this.s.l1Exit(cpu, reason, idtValid, idtVector, intrInfo); }
  l2Deliver(cpu: number, vector: number): void { this.s.l2Deliver(cpu, vector); }
  // Optional in ObsSink, but the oracle needs it whenever a backend arbitrates lowest priority.
  arbitrated(cpu: number): void { this.s.arbitrated?.(cpu); }
}

/**
 * A backend whose instances never throw (creation included: a crash at the first event).
 * `onStep(variant)`, when given, returns the listener for that variant's hypervisor steps.
 */
export function guardBackend(b: Backend, onStep?: (variant: string) => (name: string) => void): Backend {
  return {
    // features: the generator draws a programmable-APIC event only for a backend that declares it.
    name: b.name, description: b.description, variants: b.variants, features: b.features,
    supports: (m) => { try { return b.supports(m); } catch (err) { return `supports() threw ${describe(err)}`; } },
    ...(b.supportsVariant ? {
      supportsVariant: (v: string, m: MachineConfig) => { try { return b.supportsVariant!(v, m); } catch (err) { return `supportsVariant() threw ${describe(err)}`; } },
    } : {}),
    create(variant: string, machine: MachineConfig, oracle: ObsSink): BackendInstance {
      const sink = onStep ? new StepTap(oracle, onStep(variant)) : oracle;
      let inner: BackendInstance;
      try { inner = b.create(variant, machine, sink); } catch (err) { inner = thrower(machine, err); }
      return new GuardedInstance(inner, sink);
    },
  };
}

/** An instance whose every step rethrows the creation error, so the crash lands at event 0. */
function thrower(machine: MachineConfig, err: unknown): BackendInstance {
  const t = (): never => { throw err; };
  return { machine, apply: t, where: t, inL2: t, physPending: t, guest: t, snapshot: t };
}
