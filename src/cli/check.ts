// `irqdiff run --check`: the corpus as a regression suite. Every "backend/variant" in a
// file's "expect" map must produce exactly the expected outcome: clean, or the same
// primary divergence signature.
import type { Backend } from '../backends/api.js';
import { runScenario } from '../engine/session.js';
import { resolveTargets } from '../fuzz/targets.js';
import { readScenarioFile } from '../store/files.js';

export interface CheckOutcome { file: string; target: string; expected: string; got: string; ok: boolean }

export function checkFile(file: string, backends: Backend[]): CheckOutcome[] {
  const s = readScenarioFile(file);
  const expect = s.expect ?? {};
  if (Object.keys(expect).length === 0) return []; // e.g. corpus/real: outcomes recorded under "real" only
  const out: CheckOutcome[] = [];
  for (const [key, exp] of Object.entries(expect)) {
    const expected = exp === 'clean' ? 'clean' : exp.signature;
    let got: string;
    try {
      const [t] = resolveTargets(backends, [key]);
      const r = runScenario(s, t!.backend, t!.variant);
      got = r.primary?.signature ?? 'clean';
    } catch (err) {
      got = `error: ${(err as Error).message}`;
    }
    out.push({ file, target: key, expected, got, ok: got === expected });
  }
  return out;
}

export function checkFiles(files: string[], backends: Backend[], out: (l: string) => void): number {
  let failed = 0;
  let total = 0;
  for (const f of files) {
    const outcomes = checkFile(f, backends);
    if (outcomes.length === 0) out(`skip  ${f}: no model expectations`);
    for (const c of outcomes) {
      total++;
      if (c.ok) out(`ok    ${c.file}  ${c.target}: ${c.got}`);
      else { failed++; out(`FAIL  ${c.file}  ${c.target}: expected ${c.expected}, got ${c.got}`); }
    }
  }
  out(`${total - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
