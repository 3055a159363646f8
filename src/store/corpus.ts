// Promoting a finding into the corpus: the reproducer is re-run on every variant of its
// backend and the outcome of each becomes its expectation, so the corpus file documents
// which variants have the bug and which do not. The crash file itself is kept.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Backend } from '../backends/api.js';
import { runScenario } from '../engine/session.js';
import type { Expectation, Scenario } from '../scenario/types.js';
import { listJson, readScenarioFile, scenarioText, writeAtomic } from './files.js';

export function expectationsFor(s: Scenario, backend: Backend): Record<string, Expectation> {
  const out: Record<string, Expectation> = {};
  for (const v of backend.variants) {
    if (backend.supports(s.machine) !== null) continue;
    const r = runScenario(s, backend, v.name);
    out[`${backend.name}/${v.name}`] = r.primary ? { signature: r.primary.signature } : 'clean';
  }
  return out;
}

export function promote(file: string, backends: Backend[], corpusDir: string): string {
  const s = readScenarioFile(file);
  const name = s.found?.backend;
  const backend = backends.find((b) => b.name === name);
  if (!backend) throw new Error(`${file}: $.found.backend: no backend '${name ?? '(none)'}' to compute expectations with`);
  const expect = expectationsFor(s, backend);
  const path = join(corpusDir, backend.name, basename(file));
  writeAtomic(path, scenarioText({ ...s, expect }));
  return path;
}

/** Every root cause that a reproducer in the corpus expects (signatures in "expect" maps). */
export function corpusSignatures(corpusDir: string): Set<string> {
  const out = new Set<string>();
  if (!existsSync(corpusDir)) return out;
  for (const f of listJson(corpusDir)) {
    try {
      const s = readScenarioFile(f);
      for (const e of Object.values(s.expect ?? {})) if (e !== 'clean') out.add(e.signature);
    } catch {
      // An unreadable corpus file documents nothing; `run --check` reports it.
    }
  }
  return out;
}
