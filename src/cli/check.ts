// `irqdiff run --check`: the corpus as a regression suite. Every "backend/variant" in a
// file's "expect" map must produce exactly the expected outcome: clean, or the same
// primary divergence signature. Every file is checked, whatever happened to the ones
// before it; an unreadable file or an expectation no loaded backend can run is bad input.
import type { Backend } from '../backends/api.js';
import { supportsScenario } from '../backends/features.js';
import { runScenario } from '../engine/session.js';
import { ScenarioError } from '../scenario/error.js';
import { shown } from '../scenario/sanitize.js';
import { readScenarioFile } from '../store/files.js';
import { expectTarget } from './file-targets.js';
import { jsonLine } from './output.js';

export interface CheckOutcome {
  file: string;
  target: string;
  expected: string;
  got: string;
  ok: boolean;
  /** The expectation itself is bad input (unknown backend, a machine it cannot run). */
  bad?: string;
}

export function checkFile(file: string, backends: Backend[]): CheckOutcome[] {
  const s = readScenarioFile(file);
  const expect = s.expect ?? {};
  if (Object.keys(expect).length === 0) return []; // e.g. corpus/real: outcomes recorded under "real" only
  const out: CheckOutcome[] = [];
  for (const [key, exp] of Object.entries(expect)) {
    const expected = exp === 'clean' ? 'clean' : exp.signature;
    let t;
    try {
      t = expectTarget(file, backends, key);
      const why = supportsScenario(t.backend, s, t.variant);
      if (why) throw new ScenarioError(file, ['expect', key], `${key} cannot run this machine (${why}); expected a variant that can`);
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err;
      out.push({ file, target: key, expected, got: '', ok: false, bad: err.message });
      continue;
    }
    let got: string;
    try {
      got = runScenario(s, t.backend, t.variant).primary?.signature ?? 'clean';
    } catch (err) {
      got = `error: ${(err as Error).message}`;
    }
    out.push({ file, target: key, expected, got, ok: got === expected });
  }
  return out;
}

/** Exit code: 2 if any input was bad, else 1 if an expectation failed, else 0. */
export function checkFiles(files: string[], backends: Backend[], out: (l: string) => void, json = false): number {
  let failed = 0;
  let passed = 0;
  let bad = 0;
  for (const f of files) {
    let outcomes: CheckOutcome[];
    try {
      outcomes = checkFile(f, backends);
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err;
      bad++;
      out(json ? jsonLine({ file: f, status: 'bad', error: err.message }) : `BAD   ${err.message}`);
      continue;
    }
    if (json) {
      for (const c of outcomes) {
        if (c.bad) bad++; else if (c.ok) passed++; else failed++;
        out(jsonLine({ file: c.file, target: c.target, status: c.bad ? 'bad' : c.ok ? 'ok' : 'fail', expected: c.expected, got: c.got, ...(c.bad ? { error: c.bad } : {}) }));
      }
      if (outcomes.length === 0) out(jsonLine({ file: f, status: 'skip' }));
      continue;
    }
    if (outcomes.length === 0) out(`skip  ${shown(f, 300)}: no model expectations`);
    for (const c of outcomes) {
      const where = `${shown(c.file, 300)}  ${c.target}`;
      if (c.bad) { bad++; out(`BAD   ${c.bad}`); }
      else if (c.ok) { passed++; out(`ok    ${where}: ${shown(c.got)}`); }
      else { failed++; out(`FAIL  ${where}: expected ${shown(c.expected)}, got ${shown(c.got, 500)}`); }
    }
  }
  if (json) out(jsonLine({ summary: true, passed, failed, bad }));
  else out(`${passed} passed, ${failed} failed${bad > 0 ? `, ${bad} bad input${bad === 1 ? '' : 's'} (marked BAD)` : ''}`);
  return bad > 0 ? 2 : failed > 0 ? 1 : 0;
}
