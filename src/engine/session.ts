// One run of one scenario on one backend variant, against the reference, event by event.
// The generator drives a Session incrementally (it looks at where each vCPU is to choose
// the next event); replay drives it from a file. Both end with the drain.
import type { Backend, BackendInstance } from '../backends/api.js';
import { supportsScenario } from '../backends/features.js';
import { Oracle } from '../oracle/oracle.js';
import type { Divergence } from '../oracle/divergence.js';
import type { Event, MachineConfig, Scenario } from '../scenario/types.js';
import { drain } from './drain.js';

export interface RunResult {
  backend: string;
  variant: string;
  /** One entry per root cause seen in the run, first first; consequences are their symptoms. */
  divergences: Divergence[];
  /** The first root cause, whose signature names the run (undefined: clean). */
  primary: Divergence | undefined;
  /** Scenario events plus drain events fed to the backend. */
  eventsRun: number;
  exits: number;
  deliveries: number;
}

export class Session {
  readonly oracle: Oracle;
  readonly instance: BackendInstance;
  eventsRun = 0;
  private drainIndex = 0;
  /** Trace hook: called after each event, scenario (index >= 0) or drain (index < 0). */
  onApply: ((ev: Event, index: number) => void) | undefined;

  constructor(readonly backend: Backend, readonly variant: string, readonly machine: MachineConfig) {
    if (!backend.variants.some((v) => v.name === variant)) {
      throw new Error(`backend '${backend.name}' has no variant '${variant}' (it has: ${backend.variants.map((v) => v.name).join(', ')})`);
    }
    this.oracle = new Oracle(machine, backend.name, variant);
    this.instance = backend.create(variant, machine, this.oracle);
    this.oracle.attach(this.instance);
  }

  apply(ev: Event, index: number): void {
    this.oracle.begin(ev, index);
    this.instance.apply(ev, index);
    this.oracle.end(ev, index);
    this.eventsRun++;
    this.onApply?.(ev, index);
  }

  /** Drain and judge. Drain events get negative indices (-1, -2, ...). */
  finish(): RunResult {
    drain(this.instance, this.oracle, { apply: (ev) => this.apply(ev, -1 - this.drainIndex++) });
    return this.result();
  }

  result(): RunResult {
    const d = this.oracle.divergences;
    return {
      backend: this.backend.name,
      variant: this.variant,
      divergences: d,
      primary: d[0],
      eventsRun: this.eventsRun,
      exits: this.oracle.exits,
      deliveries: this.oracle.deliveries,
    };
  }
}

export function runScenario(s: Scenario, backend: Backend, variant: string): RunResult {
  const unsupported = supportsScenario(backend, s, variant);
  if (unsupported) throw new Error(`backend '${backend.name}' cannot run this machine: ${unsupported}`);
  const session = new Session(backend, variant, s.machine);
  for (let i = 0; i < s.events.length; i++) session.apply(s.events[i]!, i);
  return session.finish();
}
