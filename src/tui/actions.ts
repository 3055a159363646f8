// Triage actions that write: promote into the corpus under a name and a description (refused
// when the corpus already expects that root cause, and never overwriting a file), export a
// reproducer into the campaign directory, and minimize a finding again.
import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backends/api.js';
import { exportScenario, FORMAT_EXT, slug, type Format } from '../export/formats.js';
import { minimize } from '../minimizer/minimize.js';
import type { Scenario } from '../scenario/types.js';
import { expectationsFor } from '../store/corpus.js';
import { ensureDir, listJson, OutputError, readScenarioFile, scenarioText, writeAtomic, writeNew } from '../store/files.js';

/** The corpus file that already expects `signature`, if any. */
export function corpusFileExpecting(corpusDir: string, signature: string): string | undefined {
  let files: string[];
  try { files = listJson(corpusDir); } catch { return undefined; }
  for (const f of files) {
    try {
      const s = readScenarioFile(f);
      if (Object.values(s.expect ?? {}).some((e) => e !== 'clean' && e.signature === signature)) return f;
    } catch { /* an unreadable corpus file expects nothing; run --check reports it */ }
  }
  return undefined;
}

/** corpus/<backend>/ as a real directory (a planted link or file there is refused). */
function backendDir(corpusDir: string, backend: string): string {
  ensureDir(corpusDir);
  const dir = join(corpusDir, backend);
  let st;
  try { st = lstatSync(dir); } catch { mkdirSync(dir); st = lstatSync(dir); }
  if (st.isSymbolicLink() || !st.isDirectory()) throw new OutputError(dir, 'not a plain directory; promotion writes only inside the corpus directory');
  return dir;
}

export function promoteNamed(s: Scenario, backends: readonly Backend[], corpusDir: string, name: string, description: string): string {
  const f = s.found;
  if (!f) throw new Error('not a finding: no $.found to promote');
  const dup = corpusFileExpecting(corpusDir, f.signature);
  if (dup) throw new Error(`refused: the corpus already expects this root cause, in ${dup}`);
  const backend = backends.find((b) => b.name === f.backend);
  if (!backend) throw new Error(`unknown backend '${f.backend}'`);
  const clean = slug(name).replace(/_/g, '-');
  const path = join(backendDir(corpusDir, backend.name), `${clean}.json`);
  // writeNew never replaces: a same-named corpus file (and its recorded real results) is kept.
  writeNew(path, scenarioText({ ...s, name: clean, description, expect: expectationsFor(s, backend) }));
  return path;
}

export function exportTo(dir: string, s: Scenario, format: Format, backend: Backend, variant: string, backends: readonly Backend[]): string {
  const path = join(dir, 'exports', `${slug(s.name ?? s.found?.signature ?? 'reproducer')}${FORMAT_EXT[format]}`);
  // .json exports would be walked as findings: the scenario export is named .scenario.txt there.
  const file = format === 'json' ? path.replace(/\.json$/, '.scenario') : path;
  writeAtomic(file, exportScenario(s, format, backend, variant, backends));
  return file;
}

/** Minimize again; rewrites the finding (atomically) only when it got shorter. */
export function minimizeAgain(file: string, s: Scenario, backend: Backend, maxRuns: number): { before: number; after: number; runs: number } {
  const f = s.found!;
  const m = minimize(s, backend, f.variant, f.signature, maxRuns);
  if (m.after < m.before) writeAtomic(file, scenarioText({ ...s, events: m.scenario.events }));
  return { before: m.before, after: m.after, runs: m.runs };
}
