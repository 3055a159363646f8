// Loading a user's backend from a module path (--backend-module ./my-model.js), so that
// hypervisor developers can model their own code. The module's default export (or an
// export named `backend`) must satisfy the Backend interface of ./api.ts.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { CAUSE_CLASSES, isTaggedCause } from '../oracle/divergence.js';
import type { MachineConfig } from '../scenario/types.js';
import type { Backend, CauseDoc, ObsSink, VariantInfo } from './api.js';
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

/** The instance methods the engine and the oracle call, each checked on a real instance at load time. */
const INSTANCE_METHODS = ['apply', 'where', 'inL2', 'physPending', 'guest', 'snapshot'] as const;
const OPTIONAL_METHODS = ['whereStuck', 'explain', 'coverage'] as const;

/** A sink that records nothing: enough to construct an instance and look at its methods. */
const NULL_SINK = new Proxy({}, { get: () => () => undefined }) as ObsSink;

function checkInstance(file: string, b: Backend): void {
  const machine: MachineConfig = { vcpus: 1, apic: 'xapic', ioapic: [] };
  const m = b.supports(machine) === null ? machine : b.supports({ ...machine, apic: 'x2apic' }) === null ? { ...machine, apic: 'x2apic' as const } : undefined;
  if (!m) return; // nothing small it accepts: the first real scenario will tell
  let inst: Record<string, unknown>;
  try {
    inst = b.create(b.variants[0]!.name, m, NULL_SINK) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new BackendModuleError(`${file}: backend export: create('${b.variants[0]!.name}', a 1-vCPU machine) threw: ${(err as Error).message}`);
  }
  for (const k of INSTANCE_METHODS) {
    if (typeof inst?.[k] !== 'function') throw new BackendModuleError(`${file}: backend instance: '${k}' must be a method (see BackendInstance in src/backends/api.ts)`);
  }
  for (const k of OPTIONAL_METHODS) {
    if (inst[k] !== undefined && typeof inst[k] !== 'function') throw new BackendModuleError(`${file}: backend instance: '${k}' is optional but, when given, must be a method`);
  }
}

/**
 * A `.ts` module is compiled with TypeScript (type annotations stripped, nothing checked) to a
 * temporary `.mjs` beside it, so that its relative imports resolve, and removed after import.
 */
let tsLoads = 0;

async function importTs(file: string): Promise<Record<string, unknown>> {
  const ts = (await import('typescript')).default;
  const out = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, jsx: ts.JsxEmit.ReactJSX },
  }).outputText;
  const tmp = join(dirname(file), `.irqdiff-${process.pid}-${threadId}-${++tsLoads}-${basename(file, '.ts')}.mjs`);
  writeFileSync(tmp, out, { flag: 'wx' });
  try {
    return (await import(pathToFileURL(tmp).href)) as Record<string, unknown>;
  } finally {
    rmSync(tmp, { force: true });
  }
}

export async function loadBackendModule(path: string): Promise<Backend> {
  const file = resolve(path);
  let mod: Record<string, unknown>;
  try {
    mod = file.endsWith('.ts') ? await importTs(file) : (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new BackendModuleError(`${path}: cannot load backend module: ${(err as Error).message}`);
  }
  const b = check(path, mod.default ?? mod.backend);
  checkInstance(path, b);
  return b;
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
