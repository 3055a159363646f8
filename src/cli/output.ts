// How the command line writes for people and for programs: colour only on a terminal and only
// without NO_COLOR (https://no-color.org: any non-empty value), and one JSON object per line.

export function useColor(stream: { isTTY?: boolean }): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR;
}

/** Bold red: the lines a person must not miss (UNEXPECTED, RATE JUMP). */
export function emphasis(text: string, color: boolean): string {
  return color ? `\x1b[1;31m${text}\x1b[0m` : text;
}

/** One NDJSON line. Strings from files are JSON-escaped, so control characters cannot reach a terminal raw. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value);
}
