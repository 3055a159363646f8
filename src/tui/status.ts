// Triage status of each root cause (new, known, duplicate of, fixed, won't fix, with a
// comment), kept in the campaign directory as <dir>/triage.state. Not a .json name on purpose:
// the campaign and the triage walk every *.json there as a finding. Written atomically; read
// bounded; a damaged file costs the statuses, never the findings, and says so.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { shown } from '../scenario/sanitize.js';
import { writeAtomic } from '../store/files.js';

export const STATUSES = ['new', 'known', 'duplicate', 'fixed', 'wontfix'] as const;
export type Status = (typeof STATUSES)[number];
export const STATUS_LABEL: Record<Status, string> = { new: 'new', known: 'known', duplicate: 'dup', fixed: 'fixed', wontfix: "won't fix" };

export interface StatusEntry {
  status: Status;
  /** For 'duplicate': the signature it duplicates. */
  of?: string;
  comment?: string;
  at?: string;
}

export type StatusMap = Record<string, StatusEntry>;

const MAX_BYTES = 4 << 20;
const MAX_TEXT = 2000;

export const statusFile = (dir: string) => join(dir, 'triage.state');

function readBounded(path: string): string | undefined {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return undefined; }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`);
    const buf = Buffer.alloc(Math.min(st.size + 1, MAX_BYTES + 1));
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += r;
    if (n > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The statuses, and a warning naming the file and the field when something was dropped. */
export function loadStatuses(dir: string): { map: StatusMap; warning?: string } {
  const path = statusFile(dir);
  let text: string | undefined;
  try { text = readBounded(path); } catch (err) { return { map: {}, warning: `${shown(path, 200)}: ${(err as Error).message}; statuses ignored` }; }
  if (text === undefined) return { map: {} };
  let raw: unknown;
  try { raw = JSON.parse(text); } catch { return { map: {}, warning: `${shown(path, 200)}: not JSON; statuses ignored` }; }
  const entries = (raw as { entries?: unknown })?.entries;
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) return { map: {}, warning: `${shown(path, 200)}: $.entries: expected an object; statuses ignored` };
  const map: StatusMap = Object.create(null) as StatusMap;
  let dropped: string | undefined;
  for (const [sig, v] of Object.entries(entries as Record<string, unknown>)) {
    const e = v as Partial<StatusEntry> | null;
    if (sig.length > MAX_TEXT || typeof e !== 'object' || e === null || !STATUSES.includes(e.status as Status)) { dropped ??= sig; continue; }
    map[sig] = {
      status: e.status as Status,
      ...(typeof e.of === 'string' ? { of: e.of.slice(0, MAX_TEXT) } : {}),
      ...(typeof e.comment === 'string' ? { comment: e.comment.slice(0, MAX_TEXT) } : {}),
      ...(typeof e.at === 'string' ? { at: e.at.slice(0, 64) } : {}),
    };
  }
  return dropped === undefined ? { map } : { map, warning: `${shown(path, 200)}: $.entries[${JSON.stringify(shown(dropped, 80))}]: expected {status: ${STATUSES.join('|')}}; that entry ignored` };
}

export function saveStatuses(dir: string, map: StatusMap): void {
  writeAtomic(statusFile(dir), JSON.stringify({ irqdiffTriage: 1, entries: map }, null, 1) + '\n');
}
