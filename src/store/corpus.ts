// Promoting a finding into the corpus: the reproducer is re-run on every variant of its
// backend and the outcome of each becomes its expectation, so the corpus file documents
// which variants have the bug and which do not. The crash file itself is kept. Promotion
// writes one new file inside corpus/<backend>/ and nothing else: it never replaces a corpus
// file and never writes through a symbolic link planted as corpus/<backend>.
import { existsSync, lstatSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Backend } from '../backends/api.js';
import { supportsScenario } from '../backends/features.js';
import { runScenario } from '../engine/session.js';
import { ScenarioError } from '../scenario/error.js';
import { quoted } from '../scenario/sanitize.js';
import type { Expectation, Scenario } from '../scenario/types.js';
import { ensureDir, listJson, OutputError, readScenarioFile, scenarioText, writeNew } from './files.js';

export function expectationsFor(s: Scenario, backend: Backend): Record<string, Expectation> {
  const out: Record<string, Expectation> = {};
  for (const v of backend.variants) {
    if (supportsScenario(backend, s, v.name) !== null) continue;
    const r = runScenario(s, backend, v.name);
    out[`${backend.name}/${v.name}`] = r.primary ? { signature: r.primary.signature } : 'clean';
  }
  return out;
}

/** corpus/<backend>/, created as a real directory; a link or a file there is refused. */
function backendDir(corpusDir: string, backend: string): string {
  ensureDir(corpusDir);
  const dir = join(corpusDir, backend);
  let st;
  try { st = lstatSync(dir); } catch { st = undefined; }
  if (!st) {
    try { mkdirSync(dir); } catch (err) { throw new OutputError(dir, (err as NodeJS.ErrnoException).code ?? String(err)); }
    st = lstatSync(dir);
  }
  if (st.isSymbolicLink()) throw new OutputError(dir, 'it is a symbolic link; promotion writes only inside the corpus directory');
  if (!st.isDirectory()) throw new OutputError(dir, 'it is not a directory');
  return dir;
}

export function promote(file: string, backends: Backend[], corpusDir: string): string {
  const s = readScenarioFile(file);
  const name = s.found?.backend;
  if (name === undefined) throw new ScenarioError(file, '$.found.backend', 'missing: expected the backend that found it, to compute expectations with');
  const backend = backends.find((b) => b.name === name);
  if (!backend) throw new ScenarioError(file, '$.found.backend', `unknown backend ${quoted(name)}; expected one of ${backends.map((b) => b.name).join(', ')}`);
  const expect = expectationsFor(s, backend);
  const path = join(backendDir(corpusDir, backend.name), basename(file));
  writeNew(path, scenarioText({ ...s, expect }));
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
