// Promoting a finding into the corpus: the reproducer is re-run on every variant of its
// backend and the outcome of each becomes its expectation, so the corpus file documents
// which variants have the bug and which do not. The crash file itself is kept.
import { basename, join } from 'node:path';
import type { Backend } from '../backends/api.js';
import { runScenario } from '../engine/session.js';
import type { Expectation, Scenario } from '../scenario/types.js';
import { readScenarioFile, scenarioText, writeAtomic } from './files.js';

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
