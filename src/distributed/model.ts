// The model version: a hash of the code that decides what a seed does — the generator,
// engine, oracle, reference, backends, minimizer, scenario format and the unit semantics —
// plus any --backend-module file. Coordinator and workers must agree on it, or the same
// seed would mean different interleavings and buckets would mix two models.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled tree's directories (relative to dist/, or src/ under the test runner) that make up the model. */
export const MODEL_DIRS = ['apic', 'backends', 'engine', 'gen', 'minimizer', 'oracle', 'reference', 'scenario'];
export const MODEL_FILES = ['distributed/engine', 'distributed/protocol'];

function walk(dir: string, out: string[]): void {
  let names: string[];
  try { names = readdirSync(dir); } catch { return; }
  for (const n of names.sort()) {
    const p = join(dir, n);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (/\.(js|ts)$/.test(n) && !n.endsWith('.d.ts')) out.push(p);
  }
}

/** Hash of the model code under `root` and of the given module files (16 bytes, hex). */
export function modelHash(root: string, modules: readonly string[] = []): string {
  const h = createHash('sha256');
  const files: string[] = [];
  for (const d of MODEL_DIRS) walk(join(root, d), files);
  for (const f of MODEL_FILES) for (const ext of ['.js', '.ts']) {
    try { if (statSync(join(root, f + ext)).isFile()) files.push(join(root, f + ext)); } catch { /* one of the two */ }
  }
  for (const f of files) h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  // A module is named by its content, not its path: the same model file on two machines agrees.
  for (const m of [...modules].sort()) h.update('module\0').update(readFileSync(resolve(m))).update('\0');
  return h.digest('hex').slice(0, 32);
}

/** The running program's own tree: dist/ when built, src/ under the test runner. */
export function ownRoot(): string {
  return fileURLToPath(new URL('..', import.meta.url));
}
