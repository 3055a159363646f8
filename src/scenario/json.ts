// A JSON parser (RFC 8259) with the scenario's limits built in. JSON.parse would build the
// whole of a hostile file before anything could be checked, silently keep the last of two
// equal keys, and reject a UTF-8 byte-order mark; this one stops at the first array, object
// or string over its limit (counting, without building, how far over it is), rejects a
// duplicate key naming where, and skips a BOM. A key "__proto__" is an own property, as
// with JSON.parse. Recursion is bounded by MAX_DEPTH.
import { arrayLimit, MAX_DEPTH, MAX_KEY_CHARS, MAX_VALUES, objectLimit, stringLimit } from './bounds.js';
import { ScenarioError, tooLong, tooMany } from './error.js';
import { quoted } from './sanitize.js';

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

class Parser {
  private i = 0;
  private values = 0;
  private readonly path: (string | number)[] = [];

  constructor(private readonly text: string, private readonly file: string) {
    if (text.charCodeAt(0) === 0xfeff) this.i = 1;
  }

  document(): unknown {
    const v = this.value();
    this.ws();
    if (this.i < this.text.length) this.syntax(`unexpected ${this.here()} after the end of the document`);
    return v;
  }

  /** Malformed JSON: the position, not a path (the structure is what is broken). */
  private syntax(detail: string, at = this.i): never {
    let line = 1;
    let col = 1;
    for (let j = 0; j < at && j < this.text.length; j++) {
      if (this.text.charCodeAt(j) === 0x0a) { line++; col = 1; } else col++;
    }
    throw new ScenarioError(this.file, '', `not valid JSON: ${detail} at line ${line} column ${col}`);
  }

  private limit(detail: string, path: string | readonly (string | number)[] = this.path): never {
    throw new ScenarioError(this.file, path, detail);
  }

  private here(): string {
    return this.i >= this.text.length ? 'end of input' : quoted(String.fromCodePoint(this.text.codePointAt(this.i)!), 8);
  }

  private ws(): void {
    const t = this.text;
    let i = this.i;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  private value(): unknown {
    if (++this.values > MAX_VALUES) this.limit(tooMany('JSON values in the document', undefined, MAX_VALUES), '');
    this.ws();
    const t = this.text;
    const c = t.charCodeAt(this.i);
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) return this.string(false);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = this.i;
      const m = NUMBER.exec(t);
      if (!m) this.syntax(`unexpected ${this.here()}: not a number`);
      this.i += m[0].length;
      return Number(m[0]);
    }
    if (c === 0x74 && t.startsWith('true', this.i)) { this.i += 4; return true; }
    if (c === 0x66 && t.startsWith('false', this.i)) { this.i += 5; return false; }
    if (c === 0x6e && t.startsWith('null', this.i)) { this.i += 4; return null; }
    return this.syntax(this.i >= t.length ? 'unexpected end of input; expected a value' : `unexpected ${this.here()}; expected a value`);
  }

  private enter(): void {
    if (this.path.length >= MAX_DEPTH) this.limit(`nested too deeply: more than ${MAX_DEPTH} levels`);
    this.i++;
    this.ws();
  }

  /** After an element: ',' (true: another follows) or the closing bracket (false). */
  private next(close: number, what: string): boolean {
    this.ws();
    const c = this.text.charCodeAt(this.i);
    this.i++;
    if (c === 0x2c) return true;
    if (c === close) return false;
    this.i--;
    return this.syntax(`unexpected ${this.here()}; expected ',' or '${String.fromCharCode(close)}' ${what}`);
  }

  private array(): unknown[] {
    const lim = arrayLimit(this.path);
    this.enter();
    const out: unknown[] = [];
    if (this.text.charCodeAt(this.i) === 0x5d) { this.i++; return out; }
    do {
      if (out.length >= lim.max) {
        const rest = this.countRest();
        this.limit(tooMany(lim.what, rest === undefined ? undefined : out.length + rest, lim.max));
      }
      this.path.push(out.length);
      out.push(this.value());
      this.path.pop();
    } while (this.next(0x5d, 'in an array'));
    return out;
  }

  private object(): Record<string, unknown> {
    const lim = objectLimit(this.path);
    this.enter();
    const out: Record<string, unknown> = {};
    if (this.text.charCodeAt(this.i) === 0x7d) { this.i++; return out; }
    let n = 0;
    do {
      this.ws();
      if (n >= lim.max) {
        const rest = this.countRest();
        this.limit(tooMany(lim.what, rest === undefined ? undefined : n + rest, lim.max));
      }
      if (this.text.charCodeAt(this.i) !== 0x22) this.syntax(`unexpected ${this.here()}; expected a key in double quotes`);
      const key = this.string(true);
      this.ws();
      if (this.text.charCodeAt(this.i) !== 0x3a) this.syntax(`unexpected ${this.here()}; expected ':' after a key`);
      this.i++;
      this.path.push(key);
      if (Object.hasOwn(out, key)) this.limit(`duplicate key ${quoted(key)}: each key may appear once in an object`);
      // An own property even for "__proto__" (assignment would set the prototype instead).
      if (key === '__proto__') Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      else out[key] = this.value();
      this.path.pop();
      n++;
    } while (this.next(0x7d, 'in an object'));
    return out;
  }

  /** A string at the cursor (on its opening quote): validated and measured first, built
   *  only if it is within its limit. */
  private string(isKey: boolean): string {
    const t = this.text;
    const start = this.i + 1;
    let j = start;
    let len = 0;
    let escaped = false;
    for (;;) {
      const c = t.charCodeAt(j);
      if (c === 0x22) break;
      if (Number.isNaN(c)) this.syntax('unterminated string', start - 1);
      if (c < 0x20) this.syntax('a raw control character in a string (write it as \\u00XX)', j);
      if (c === 0x5c) {
        const e = t.charCodeAt(j + 1);
        if (e === 0x75) {
          if (!HEX4.test(t.slice(j + 2, j + 6))) this.syntax('bad \\u escape in a string', j);
          j += 6;
        } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          j += 2;
        } else {
          this.syntax('bad escape in a string', j);
        }
        escaped = true;
      } else {
        j++;
      }
      len++;
    }
    const max = isKey ? MAX_KEY_CHARS : stringLimit(this.path);
    if (len > max) this.limit(isKey ? `a key is ${tooLong(len, max)}` : tooLong(len, max));
    this.i = j + 1;
    // Validated above: the engine's own decoder is exact and fast for the escapes.
    return escaped ? (JSON.parse(t.slice(start - 1, j + 1)) as string) : t.slice(start, j);
  }

  /**
   * Elements left in the array or object whose next element would exceed its limit, to
   * say how far over it is: a scan that builds nothing (brackets and strings only). Undefined
   * if the document ends first.
   */
  private countRest(): number | undefined {
    const t = this.text;
    let depth = 0;
    let n = 1;
    for (let j = this.i; j < t.length; j++) {
      const c = t.charCodeAt(j);
      if (c === 0x22) {
        for (j++; j < t.length; j++) {
          const d = t.charCodeAt(j);
          if (d === 0x5c) j++;
          else if (d === 0x22) break;
        }
      } else if (c === 0x5b || c === 0x7b) depth++;
      else if (c === 0x5d || c === 0x7d) { if (depth-- === 0) return n; }
      else if (c === 0x2c && depth === 0) n++;
    }
    return undefined;
  }
}

/** Parse JSON text under the scenario limits; errors are ScenarioErrors naming `file`. */
export function parseBoundedJson(text: string, file: string): unknown {
  return new Parser(text, file).document();
}
