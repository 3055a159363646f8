// Every hypervisor step a built-in backend can report: the literal step names in its source
// (sink.step(cpu, 'name')), so a coverage report can list the ones a campaign never reached.
// Names built at run time are not listed here; they appear once exercised.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../backends/api.js';

const STEP = /\.step\(\s*[^,()]+,\s*(['"])((?:(?!\1).){1,120})\1\s*\)/g;

export function stepsOf(b: Backend | undefined): string[] {
  if (!b || !/^[a-z0-9_-]+$/.test(b.name)) return [];
  const dir = fileURLToPath(new URL(`../backends/${b.name}/`, import.meta.url));
  if (!existsSync(dir)) return [];
  const names = new Set<string>();
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.js')) continue;
    for (const m of readFileSync(dir + f, 'utf8').matchAll(STEP)) names.add(m[2]!);
  }
  return [...names].sort();
}
