// What a stranger's file can put on a terminal: nothing but printable text. Escape and
// control sequences are shown escaped, display-reordering characters too, and long values
// are cut with an ellipsis.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shown } from '../../src/scenario/sanitize.js';

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('shown', () => {
  it('escapes terminal escape sequences: cursor movement, screen clearing, the window title', () => {
    expect(shown('a\u001b[2J\u001b[Hb')).toBe('a\\x1b[2J\\x1b[Hb');
    expect(shown('\u001b]0;pwned\u0007')).toBe('\\x1b]0;pwned\\x07');
    expect(shown('\u009b31m')).toBe('\\x9b31m'); // the 8-bit CSI
    expect(shown('line\nnext\r\ttab')).toBe('line\\nnext\\r\\ttab');
  });

  it('escapes bidirectional overrides, separators and lone surrogates, keeps other text', () => {
    expect(shown('abc\u202edcb')).toBe('abc\\u{202e}dcb');
    expect(shown('x\u2028y\ud800z')).toBe('x\\u{2028}y\\u{d800}z');
    expect(shown('vCPU1 → 0x41 é 😀')).toBe('vCPU1 → 0x41 é 😀');
  });

  it('cuts long values with an ellipsis, never inside an escape or a surrogate pair', () => {
    expect(shown('x'.repeat(1_000_000), 10)).toBe('xxxxxxxxx…');
    expect(shown('abcdefgh\u001b', 10)).toBe('abcdefgh…');
    expect(shown('abcdefgh😀😀', 10)).toBe('abcdefgh…');
  });

  it('never lets an unsafe character through, stays within its length, and is idempotent', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 1, max: 120 }), (s, max) => {
      const once = shown(s, max);
      expect(once).not.toMatch(UNSAFE);
      expect(once.length).toBeLessThanOrEqual(max);
      expect(shown(once, max)).toBe(once);
    }), { numRuns: 500 });
  });
});
