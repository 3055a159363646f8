// The one error a scenario file can cause: it names the file, the JSON path and what was
// expected there. Every part is sanitized and bounded, so the message is one short line
// however hostile the file (its name, keys and values come from strangers).
import { shown } from './sanitize.js';

/** A position in a JSON document: object keys and array indices from the root. */
export type JsonPath = readonly (string | number)[];

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `$.machine.ioapic[0].pin`; a key that is not a plain name is bracketed and quoted. */
export function jsonPath(path: JsonPath): string {
  let out = '$';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (IDENT.test(p)) out += `.${p}`;
    else out += `[${shown(JSON.stringify(p), 80)}]`;
  }
  return out;
}

export class ScenarioError extends Error {
  readonly path: string;
  readonly detail: string;
  constructor(readonly file: string, path: string | JsonPath, detail: string) {
    const at = typeof path === 'string' ? shown(path, 300) : shown(jsonPath(path), 300);
    const what = shown(detail, 400);
    super(`${shown(file, 300)}: ${at || '(document)'}: ${what}`);
    this.name = 'ScenarioError';
    this.path = at;
    this.detail = what;
  }
}

/** 1,000,000: limits and counts are read by people (1e+308 stays short). */
export const count = (n: number): string => (Number.isSafeInteger(n) ? n.toLocaleString('en-US') : String(n));

/** The error for a size limit: "too many events: 1,000,000 > 4,096". */
export function tooMany(what: string, n: number | undefined, max: number): string {
  return n === undefined ? `too many ${what}: more than ${count(max)}` : `too many ${what}: ${count(n)} > ${count(max)}`;
}

/** The error for a string limit: "too long: 1,000,000 characters > 200". */
export function tooLong(n: number, max: number): string {
  return `too long: ${count(n)} characters > ${count(max)}`;
}
