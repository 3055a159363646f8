// Size limits of a scenario document, enforced before any work is done on it: the file size
// before it is read, every array, string and object while the JSON is parsed (so a hostile
// file never becomes a huge value in memory), and the same limits on an already-parsed value
// before its elements are validated. Each limit is named in its error ("too many events:
// 1,000,000 > 4,096"). The limits are far above anything a campaign or a person writes.
import { ScenarioError, tooLong, tooMany, type JsonPath } from './error.js';
import { MAX_EVENTS, MAX_IOAPIC_PINS, MAX_VCPUS } from './types.js';

/** A scenario file: 4,096 events with real-replay notes for both accelerators fit in 2 MiB. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Nesting: the deepest place in the format is $.real.kvm.notes[i] (4 levels). */
export const MAX_DEPTH = 16;
/** JSON values in one document: 4,096 events of up to 8 values each, plus notes, are < 50,000. */
export const MAX_VALUES = 100_000;
/** "backend/variant" expectations in one file. */
export const MAX_EXPECT_KEYS = 256;
/** Fields of any other object (the largest, an IPI event, has 7). */
export const MAX_FIELDS = 64;
/** An object key (an expectation key "backend/variant" is the longest legitimate one). */
export const MAX_KEY_CHARS = 256;
/** Any string whose place has no limit of its own (event kinds and enums are short). */
export const MAX_STRING_CHARS = 256;
/** Real-replay records: what fits a 4,096-event scenario. */
export const MAX_REAL_SIGNATURES = 64;
export const MAX_REAL_NOTES = MAX_EVENTS + 8;
/** A finding's symptoms (what the guest saw of its root cause), each a short "<kind>:<shape>". */
export const MAX_SYMPTOMS = 64;
export const MAX_SYMPTOM_CHARS = 200;

export interface Limit { max: number; what: string }

/** The longest each string of the format may be (UTF-16 code units, as JavaScript counts).
 *  A finding's message may list two full vector sets (read-mismatch): about 3,000. */
export const STRING_MAX = {
  name: 200, description: 20_000, source: 2_000, signature: 512,
  found: { backend: 64, variant: 64, signature: 512, message: 8_000, seed: 200, foundAt: 100 },
  real: { host: 2_000, at: 100, note: 2_000 },
} as const;
export const MAX_SIGNATURE_CHARS = STRING_MAX.signature;

const TOP_STRINGS = new Map<string, number>([['name', STRING_MAX.name], ['description', STRING_MAX.description], ['source', STRING_MAX.source]]);
const FOUND_STRINGS = new Map<string, number>(Object.entries(STRING_MAX.found));
const REAL_STRINGS = new Map<string, number>([['host', STRING_MAX.real.host], ['at', STRING_MAX.real.at]]);

const DEFAULT_ARRAY: Limit = { max: MAX_REAL_NOTES, what: 'elements' };
const DEFAULT_OBJECT: Limit = { max: MAX_FIELDS, what: 'fields' };

/** The most elements an array at `path` may have. */
export function arrayLimit(p: JsonPath): Limit {
  if (p.length === 1 && p[0] === 'events') return { max: MAX_EVENTS, what: 'events' };
  if (p.length === 2 && p[0] === 'machine' && p[1] === 'ioapic') return { max: MAX_IOAPIC_PINS, what: 'IOAPIC pins' };
  if (p.length === 3 && p[0] === 'real' && p[2] === 'signatures') return { max: MAX_REAL_SIGNATURES, what: 'signatures' };
  if (p.length === 3 && p[0] === 'real' && p[2] === 'notes') return { max: MAX_REAL_NOTES, what: 'notes' };
  if (p.length === 2 && p[0] === 'found' && p[1] === 'symptoms') return { max: MAX_SYMPTOMS, what: 'symptoms' };
  return DEFAULT_ARRAY;
}

/** The most keys an object at `path` may have. */
export function objectLimit(p: JsonPath): Limit {
  if (p.length === 1 && p[0] === 'expect') return { max: MAX_EXPECT_KEYS, what: 'expectations' };
  return DEFAULT_OBJECT;
}

/** The longest a string at `path` may be. */
export function stringLimit(p: JsonPath): number {
  const [a, b, c] = p;
  if (p.length === 1 && typeof a === 'string') return TOP_STRINGS.get(a) ?? MAX_STRING_CHARS;
  if (p.length === 2 && a === 'found' && typeof b === 'string') return FOUND_STRINGS.get(b) ?? MAX_STRING_CHARS;
  if (p.length === 3 && a === 'expect' && c === 'signature') return MAX_SIGNATURE_CHARS;
  if (p.length === 3 && a === 'real' && typeof c === 'string') return REAL_STRINGS.get(c) ?? MAX_STRING_CHARS;
  if (p.length === 4 && a === 'real' && c === 'signatures') return MAX_SIGNATURE_CHARS;
  if (p.length === 4 && a === 'real' && c === 'notes') return STRING_MAX.real.note;
  if (p.length === 3 && a === 'found' && b === 'symptoms') return MAX_SYMPTOM_CHARS;
  return MAX_STRING_CHARS;
}

/**
 * The same limits on a value that did not come through the bounded parser (a caller's own
 * object). Walks the value without iterating an over-long array or object: each size is
 * checked before its elements are looked at. Also bounds the machine's vCPU count, which
 * sizes everything a run allocates.
 */
export function checkBounds(value: unknown, file: string): void {
  let values = 0;
  const path: (string | number)[] = [];
  const walk = (v: unknown): void => {
    if (++values > MAX_VALUES) throw new ScenarioError(file, '', tooMany('JSON values in the document', undefined, MAX_VALUES));
    if (typeof v === 'string') {
      const max = stringLimit(path);
      if (v.length > max) throw new ScenarioError(file, path, tooLong(v.length, max));
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    if (path.length >= MAX_DEPTH) throw new ScenarioError(file, path, `nested too deeply: more than ${MAX_DEPTH} levels`);
    if (Array.isArray(v)) {
      const lim = arrayLimit(path);
      if (v.length > lim.max) throw new ScenarioError(file, path, tooMany(lim.what, v.length, lim.max));
      for (let i = 0; i < v.length; i++) { path.push(i); walk(v[i]); path.pop(); }
      return;
    }
    const lim = objectLimit(path);
    const keys = Object.keys(v);
    if (keys.length > lim.max) throw new ScenarioError(file, path, tooMany(lim.what, keys.length, lim.max));
    for (const k of keys) {
      if (k.length > MAX_KEY_CHARS) throw new ScenarioError(file, path, `a key is ${tooLong(k.length, MAX_KEY_CHARS)}`);
      path.push(k); walk((v as Record<string, unknown>)[k]); path.pop();
    }
  };
  walk(value);
  const vcpus = (value as { machine?: { vcpus?: unknown } } | null)?.machine?.vcpus;
  if (typeof vcpus === 'number' && vcpus > MAX_VCPUS) throw new ScenarioError(file, ['machine', 'vcpus'], tooMany('vCPUs', vcpus, MAX_VCPUS));
}
