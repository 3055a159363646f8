// Checks of parsed JSON values that can say what they expect: each check knows its own
// description ("an integer from 0 to 255", "one of 'xapic', 'x2apic'"), so every error names
// the path, what was expected there and, briefly and sanitized, what was found. The first
// error wins. A check returns a fresh plain value holding only the fields it knows.
import { ScenarioError, type JsonPath } from './error.js';
import { quoted } from './sanitize.js';

/** Where a check is: the file and the JSON path (pushed and popped as it descends). */
export interface Ctx { file: string; path: (string | number)[] }

export interface Check<T> {
  /** What is expected, as a noun phrase: "an integer from 0 to 7". */
  readonly expected: string;
  check(v: unknown, c: Ctx): T;
}

export function fail(c: Ctx, detail: string, path: JsonPath = c.path): never {
  throw new ScenarioError(c.file, path, detail);
}

/** A found value, briefly: `300`, `'x2apci'`, `an array`. */
export function got(v: unknown): string {
  if (typeof v === 'string') return quoted(v, 40);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}

function mismatch(c: Ctx, expected: string, v: unknown): never {
  return fail(c, `expected ${expected}, got ${got(v)}`);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const own = (o: Record<string, unknown>, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

export function int(min: number, max: number, expected = `an integer from ${min} to ${max}`): Check<number> {
  return {
    expected,
    check(v, c) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) mismatch(c, expected, v);
      return v;
    },
  };
}

export const bool: Check<boolean> = {
  expected: 'true or false',
  check(v, c) { if (typeof v !== 'boolean') mismatch(c, this.expected, v); return v; },
};

export function literal<T extends string | number>(x: T, note = ''): Check<T> {
  const expected = `${JSON.stringify(x)}${note}`;
  return { expected, check(v, c) { if (v !== x) mismatch(c, expected, v); return x; } };
}

export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  const set = new Set<string>(values);
  const expected = `one of ${values.map((v) => `'${v}'`).join(', ')}`;
  return { expected, check(v, c) { if (typeof v !== 'string' || !set.has(v)) mismatch(c, expected, v); return v as T; } };
}

export function str(max: number, min = 0): Check<string> {
  const expected = `${min > 0 ? 'a non-empty string' : 'a string'} of at most ${max.toLocaleString('en-US')} characters`;
  return { expected, check(v, c) { if (typeof v !== 'string' || v.length < min || v.length > max) mismatch(c, expected, v); return v; } };
}

export function arrayOf<T>(item: Check<T>, max: number, what: string): Check<T[]> {
  const expected = `an array of at most ${max.toLocaleString('en-US')} ${what}`;
  return {
    expected,
    check(v, c) {
      if (!Array.isArray(v) || v.length > max) mismatch(c, expected, v);
      const out: T[] = [];
      for (let i = 0; i < v.length; i++) { c.path.push(i); out.push(item.check(v[i], c)); c.path.pop(); }
      return out;
    },
  };
}

type Fields = Record<string, Check<unknown> | { optional: Check<unknown> }>;

export const optional = <T>(check: Check<T>) => ({ optional: check as Check<unknown> });

/** An object with exactly these fields (unknown fields are errors: a typo must not pass). */
export function object<T>(name: string, fields: Fields): Check<T> {
  const entries = Object.entries(fields).map(([k, f]) => ({ k, check: 'optional' in f ? f.optional : f, optional: 'optional' in f }));
  const known = new Set(entries.map((e) => e.k));
  const list = entries.map((e) => (e.optional ? `${e.k}?` : e.k)).join(', ');
  const expected = `${name}: an object with ${list}`;
  return {
    expected,
    check(v, c) {
      if (!isObject(v)) mismatch(c, expected, v);
      for (const k of Object.keys(v)) if (!known.has(k)) fail(c, `unknown field ${quoted(k, 40)}; expected only the fields of ${name}: ${list}`);
      const out: Record<string, unknown> = {};
      for (const e of entries) {
        const x = own(v, e.k);
        c.path.push(e.k);
        if (x === undefined) { if (!e.optional) fail(c, `missing; expected ${e.check.expected}`); }
        else out[e.k] = e.check.check(x, c);
        c.path.pop();
      }
      return out as T;
    },
  };
}

/** An object used as a map: every key must match `key`, every value `value`. */
export function record<T>(name: string, key: { re: RegExp; expected: string }, value: Check<T>, max: number): Check<Record<string, T>> {
  const expected = `${name}: an object of at most ${max} ${key.expected} keys`;
  return {
    expected,
    check(v, c) {
      if (!isObject(v)) mismatch(c, expected, v);
      const keys = Object.keys(v);
      if (keys.length > max) mismatch(c, expected, v);
      const out: Record<string, T> = {};
      for (const k of keys) {
        c.path.push(k);
        if (!key.re.test(k)) fail(c, `expected a key ${key.expected}, got ${quoted(k, 60)}`);
        out[k] = value.check(v[k], c);
        c.path.pop();
      }
      return out;
    },
  };
}

/** A tagged union: objects whose `tag` field picks the check for the rest. */
export function tagged<T>(name: string, tag: string, variants: ReadonlyMap<string, Check<T>>): Check<T> {
  const names = [...variants.keys()].join(', ');
  const expected = `${name}: an object whose "${tag}" is one of ${names}`;
  return {
    expected,
    check(v, c) {
      if (!isObject(v)) mismatch(c, expected, v);
      const t = own(v, tag);
      const variant = typeof t === 'string' ? variants.get(t) : undefined;
      if (!variant) {
        c.path.push(tag);
        if (t === undefined) fail(c, `missing ${name} kind; expected one of ${names}`);
        if (typeof t === 'string') fail(c, `unknown ${name} kind; expected one of ${names}, got ${quoted(t, 40)}`);
        fail(c, `expected the ${name} kind, one of ${names}, got ${got(t)}`);
      }
      return variant.check(v, c);
    },
  };
}
