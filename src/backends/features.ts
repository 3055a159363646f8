// Whether a backend can run a scenario: its machine (Backend.supports) and the scenario
// features it uses (Backend.features, src/scenario/features.ts). Every command that runs a
// scenario on a backend asks here first, so an event a backend does not model is an explicit
// "unsupported by this backend" outcome, never a silently ignored event or a divergence.
import type { Feature } from '../scenario/features.js';
import { scenarioFeatures } from '../scenario/features.js';
import type { Event, MachineConfig } from '../scenario/types.js';
import type { Backend } from './api.js';

/** Features the scenario uses that the backend does not declare. */
export function missingFeatures(backend: Backend, machine: MachineConfig, events: readonly Event[]): Feature[] {
  const have = new Set<string>(backend.features ?? []);
  return scenarioFeatures(machine, events).filter((f) => !have.has(f));
}

/** null when the backend (and, given one, its variant) can run the machine, else why not. */
export function supportsOn(backend: Backend, machine: MachineConfig, variant?: string): string | null {
  const why = backend.supports(machine);
  if (why || variant === undefined || !backend.supportsVariant) return why;
  return backend.supportsVariant(variant, machine);
}

/** null when the backend (and, given one, its variant) can run the scenario, else why not. */
export function supportsScenario(backend: Backend, s: { machine: MachineConfig; events: readonly Event[] }, variant?: string): string | null {
  const why = supportsOn(backend, s.machine, variant);
  if (why) return why;
  const missing = missingFeatures(backend, s.machine, s.events);
  return missing.length === 0 ? null : `unsupported by this backend: ${missing.join(', ')} (see docs/scenario-language.md)`;
}

export function hasFeature(backend: Backend, f: Feature): boolean {
  return backend.features?.includes(f) ?? false;
}
