// Text from files (names, signatures, messages, JSON keys, file names) on its way to a
// terminal. A reproducer travels by mail and bug tracker: a raw ESC, CSI or OSC in it could
// move the cursor, rewrite the screen or set the window title of whoever inspects it. Every
// such string goes through `shown` first. Here, below every reader of files, so that the
// loader's own error messages use it too.

/** Default cut for one value inside a line. */
export const SHOWN_MAX = 200;

/** C0 controls, DEL, C1 controls (0x9b is an 8-bit CSI), the line/paragraph separators, the
 *  bidirectional overrides and isolates that reorder what is displayed, the BOM, and lone
 *  surrogates (a pair arrives whole from the string iterator). */
function unsafe(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029
    || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069) || code === 0xfeff
    || (code >= 0xd800 && code <= 0xdfff);
}

const NAMED: Record<number, string> = { 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };

function escape(code: number): string {
  return NAMED[code] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`);
}

/**
 * A string safe to print: control and display-reordering characters shown escaped (`\x1b`,
 * `\n`, `\u{202e}`), cut to at most `max` characters, the last of them an ellipsis.
 * Backslashes are left as they are, so applying it twice changes nothing (a message may
 * embed an already sanitized value and be sanitized again on its way out).
 */
export function shown(text: string, max = SHOWN_MAX): string {
  const limit = Math.max(1, max);
  let out = '';
  let fits = 0; // the longest prefix of out, on a piece boundary, that leaves room for '…'
  for (const ch of text) { // code points: a cut never splits a pair or an escape
    const code = ch.codePointAt(0)!;
    const piece = ch.length === 1 && unsafe(code) ? escape(code) : ch;
    if (out.length + piece.length > limit) return out.slice(0, fits) + '…';
    out += piece;
    if (out.length <= limit - 1) fits = out.length;
  }
  return out;
}

/** A value from a file quoted inside a message: 'like this', sanitized and cut short. */
export function quoted(text: string, max = 60): string {
  return `'${shown(text, max)}'`;
}
