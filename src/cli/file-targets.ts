// The backend variants a scenario file names, in "found" or in an "expect" key. A name that
// no loaded backend has is bad input in that file, at that field (exit 2), not a divergence.
import type { Backend } from '../backends/api.js';
import type { Target } from '../fuzz/targets.js';
import { ScenarioError, type JsonPath } from '../scenario/error.js';
import { quoted } from '../scenario/sanitize.js';

export function fileTarget(file: string, backends: Backend[], name: string, variant: string, at: { backend: JsonPath; variant: JsonPath }): Target {
  const b = backends.find((x) => x.name === name);
  if (!b) throw new ScenarioError(file, at.backend, `unknown backend ${quoted(name)}; expected one of ${backends.map((x) => x.name).join(', ')} (or a backend loaded with --backend-module)`);
  if (!b.variants.some((v) => v.name === variant)) throw new ScenarioError(file, at.variant, `backend '${b.name}' has no variant ${quoted(variant)}; expected one of ${b.variants.map((v) => v.name).join(', ')}`);
  return { backend: b, variant };
}

/** The variant of a finding: $.found.backend and $.found.variant. */
export function foundTarget(file: string, backends: Backend[], found: { backend: string; variant: string }): Target {
  return fileTarget(file, backends, found.backend, found.variant, { backend: ['found', 'backend'], variant: ['found', 'variant'] });
}

/** The variant of an expectation key "backend/variant" (validated to hold one '/'). */
export function expectTarget(file: string, backends: Backend[], key: string): Target {
  const slash = key.indexOf('/');
  return fileTarget(file, backends, key.slice(0, slash), key.slice(slash + 1), { backend: ['expect', key], variant: ['expect', key] });
}
