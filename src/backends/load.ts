// Loading a user's backend from a module path (--backend-module ./my-model.js), so that
// hypervisor developers can model their own code. The module's default export (or an
// export named `backend`) must satisfy the Backend interface of ./api.ts.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CAUSE_CLASSES, isTaggedCause } from '../oracle/divergence.js';
import type { Backend, CauseDoc, VariantInfo } from './api.js';
import { BACKENDS } from './registry.js';

export class BackendModuleError extends Error {}

/**
 * What is wrong with a variant's declarations, if anything: every documented bug and
 * deviation names one exact, tagged root cause ("<class>:<tag>"), never a whole class.
 */
export function declarationProblem(v: Partial<VariantInfo>): { field: string; what: string } | null {
  if (!Array.isArray(v.expectedBugs)) return { field: 'expectedBugs', what: 'must be an array of { cause, why }' };
  const lists: [string, unknown][] = [['expectedBugs', v.expectedBugs], ['knownDeviations', v.knownDeviations ?? []]];
  for (const [name, list] of lists) {
    if (!Array.isArray(list)) return { field: name, what: 'must be an array of { cause, why }' };
    for (let j = 0; j < list.length; j++) {
      const d = list[j] as Partial<CauseDoc> & { signature?: unknown };
      if (d?.signature !== undefined && d.cause === undefined) return { field: `${name}[${j}]`, what: 'uses the old "signature" field: declare the root cause as "cause": "<class>:<tag>"' };
      if (typeof d?.cause !== 'string' || !isTaggedCause(d.cause)) {
        return { field: `${name}[${j}].cause`, what: `must be "<class>:<tag>" with a mechanism tag (classes: ${CAUSE_CLASSES.join(', ')}); a class alone never documents anything` };
      }
      if (typeof d.why !== 'string' || d.why.length === 0) return { field: `${name}[${j}].why`, what: 'must explain the cause' };
    }
  }
  return null;
}

function check(file: string, value: unknown): Backend {
  const b = value as Partial<Backend> | undefined;
  const bad = (field: string, what: string) => new BackendModuleError(`${file}: backend export: '${field}' ${what}`);
  if (!b || typeof b !== 'object') throw new BackendModuleError(`${file}: no default export (or 'backend' export) holding a Backend`);
  if (typeof b.name !== 'string' || !/^[a-z0-9_-]+$/.test(b.name)) throw bad('name', 'must be a lowercase name ([a-z0-9_-]+)');
  if (!Array.isArray(b.variants) || b.variants.length === 0) throw bad('variants', 'must be a non-empty array');
  b.variants.forEach((v, i) => {
    if (typeof v?.name !== 'string' || !/^[a-z0-9_.+-]+$/i.test(v.name)) throw bad(`variants[${i}].name`, 'must be a name ([A-Za-z0-9_.+-]+)');
    if (typeof v.source !== 'string') throw bad(`variants[${i}].source`, 'must name the commit or release it models');
    const problem = declarationProblem(v);
    if (problem) throw bad(`variants[${i}].${problem.field}`, problem.what);
  });
  if (typeof b.create !== 'function') throw bad('create', 'must be a function (variant, machine, sink) => BackendInstance');
  if (typeof b.supports !== 'function') throw bad('supports', 'must be a function (machine) => string | null');
  return b as Backend;
}

export async function loadBackendModule(path: string): Promise<Backend> {
  const file = resolve(path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new BackendModuleError(`${path}: cannot load backend module: ${(err as Error).message}`);
  }
  return check(path, mod.default ?? mod.backend);
}

/** The built-in backends plus any loaded from modules (a module may not shadow a built-in). */
export async function allBackends(modules: string[]): Promise<Backend[]> {
  const out = [...BACKENDS];
  for (const m of modules) {
    const b = await loadBackendModule(m);
    if (out.some((x) => x.name === b.name)) throw new BackendModuleError(`${m}: a backend named '${b.name}' already exists`);
    out.push(b);
  }
  return out;
}
