// Files on disk: atomic writes (temp file + rename, so a crash never leaves half a file),
// bounded scenario reading with errors that name the file, directory walks that stay in
// their tree, and the crashes/ layout. Everything read here may come from a stranger.
import { createHash } from 'node:crypto';
import {
  closeSync, constants, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readSync,
  realpathSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats,
} from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { MAX_FILE_BYTES } from '../scenario/bounds.js';
import { count, ScenarioError } from '../scenario/error.js';
import { shown } from '../scenario/sanitize.js';
import { parseScenario } from '../scenario/schema.js';
import type { Scenario } from '../scenario/types.js';

/** A file or directory that cannot be written: bad output, exit 2, one line. */
export class OutputError extends Error {
  constructor(readonly target: string, readonly detail: string) {
    super(`cannot write ${shown(target, 300)}: ${shown(detail, 300)}`);
    this.name = 'OutputError';
  }
}

const ERRNO: Record<string, string> = {
  ENOENT: 'no such file or directory', EACCES: 'permission denied', EPERM: 'operation not permitted',
  EROFS: 'read-only file system', ENOSPC: 'no space left on device', ENOTDIR: 'not a directory',
  EISDIR: 'is a directory', ELOOP: 'too many symbolic links', ENAMETOOLONG: 'name too long', EDQUOT: 'disk quota exceeded',
};

/** "ENOENT (no such file or directory)": the code to search for, the words to read. */
const code = (err: unknown): string => {
  const c = (err as NodeJS.ErrnoException).code;
  if (c === undefined) return (err as Error).message;
  return ERRNO[c] ? `${c} (${ERRNO[c]})` : c;
};

/**
 * mkdir -p, one component at a time. Node's own recursive mkdir spins forever where a
 * parent exists but refuses the child with ENOENT (/proc/x); this one fails at once.
 */
export function ensureDir(dir: string): void {
  const parts: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    parts.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of parts) {
    let st = statSafe(d);
    if (!st) {
      try {
        mkdirSync(d);
        continue;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new OutputError(dir, `cannot create directory ${d}: ${code(err)}`);
        st = statSafe(d); // created meanwhile by someone else
      }
    }
    if (!st?.isDirectory()) throw new OutputError(dir, `${d} exists and is not a directory`);
  }
}

const tempName = (path: string) => `${path}.tmp-${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;

/** The temp file is created exclusively: a planted symlink under its name is never followed. */
function writeTemp(path: string, text: string): string {
  ensureDir(dirname(path));
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, text, { flag: 'wx' });
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw new OutputError(path, code(err));
  }
  return tmp;
}

export function writeAtomic(path: string, text: string): void {
  const tmp = writeTemp(path, text);
  try {
    renameSync(tmp, path);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw new OutputError(path, code(err));
  }
}

/** Atomic, and never replaces anything: fails if `path` exists (as a file, directory or link). */
export function writeNew(path: string, text: string): void {
  const tmp = writeTemp(path, text);
  try {
    linkSync(tmp, path);
  } catch (err) {
    const exists = (e: unknown) => (e as NodeJS.ErrnoException).code === 'EEXIST';
    if (exists(err)) throw new OutputError(path, 'it already exists; not overwritten');
    // A file system without hard links: an exclusive create is still never a replacement.
    try { writeFileSync(path, text, { flag: 'wx' }); } catch (e) {
      throw new OutputError(path, exists(e) ? 'it already exists; not overwritten' : code(e));
    }
  } finally {
    try { unlinkSync(tmp); } catch { /* already gone */ }
  }
}

/** Fail now, not hours later, if files cannot be created in `dir`. */
export function checkWritableDir(dir: string): void {
  ensureDir(dir);
  const probe = join(dir, `.irqdiff-probe-${process.pid}`);
  try {
    writeFileSync(probe, '', { flag: 'wx' });
  } catch (err) {
    throw new OutputError(dir, code(err));
  }
  try { unlinkSync(probe); } catch { /* removed by someone else: fine */ }
}

/** Fail now if `path` cannot be created or replaced as a file. */
export function checkWritableFile(path: string): void {
  try { checkWritableDir(dirname(path)); } catch (err) {
    throw err instanceof OutputError ? new OutputError(path, err.detail) : err;
  }
  if (statSafe(path)?.isDirectory()) throw new OutputError(path, 'it is a directory');
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * A scenario file, bounded before any work: only a regular file (a FIFO would block, a
 * device never end), at most MAX_FILE_BYTES (checked on the open file, and again while
 * reading, in case it grows).
 */
export function readScenarioFile(path: string): Scenario {
  const fail = (detail: string): never => { throw new ScenarioError(path, '', detail); };
  let st: Stats;
  try { st = statSync(path); } catch (err) { return fail(`cannot read: ${code(err)}`); }
  if (!st.isFile()) fail(`cannot read: ${kindOf(st)}, not a regular file`);
  if (st.size > MAX_FILE_BYTES) fail(`too large: ${count(st.size)} bytes > ${count(MAX_FILE_BYTES)}`);
  let fd: number;
  try { fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); } catch (err) { return fail(`cannot read: ${code(err)}`); }
  let text: string;
  try {
    const fst = fstatSync(fd);
    if (!fst.isFile()) fail(`cannot read: ${kindOf(fst)}, not a regular file`);
    const buf = Buffer.alloc(Math.min(Math.max(fst.size, 4096), MAX_FILE_BYTES) + 1);
    let n = 0;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      let got: number;
      try { got = readSync(fd, buf, n, buf.length - n, null); } catch (err) { return fail(`cannot read: ${code(err)}`); }
      if (got === 0) break;
      n += got;
      total += got;
      if (total > MAX_FILE_BYTES) fail(`too large: more than ${count(MAX_FILE_BYTES)} bytes`);
      if (n === buf.length) { chunks.push(Buffer.from(buf)); n = 0; }
    }
    chunks.push(buf.subarray(0, n));
    text = Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
  return parseScenario(text, path);
}

export function scenarioText(s: Scenario): string {
  // One top-level field per line and one event per line: reproducers are read by people
  // and diffed in review.
  const lines: string[] = [];
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined || k === 'events') continue;
    if (k === 'expect' && v && typeof v === 'object') {
      const inner = Object.entries(v).map(([t, e]) => `    ${JSON.stringify(t)}: ${JSON.stringify(e)}`).join(',\n');
      lines.push(`  "expect": {\n${inner}\n  }`);
    } else {
      lines.push(`  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
    }
  }
  const body = s.events.map((e) => '    ' + JSON.stringify(e)).join(',\n');
  lines.push(`  "events": [\n${body}\n  ]`);
  return `{\n${lines.join(',\n')}\n}\n`;
}

export function signatureHash(signature: string): string {
  return createHash('sha256').update(signature).digest('hex').slice(0, 10);
}

/** crashes/<backend>/<variant>/<kind>-<hash>.json */
export function crashPath(outDir: string, backend: string, variant: string, kind: string, signature: string): string {
  return join(outDir, backend, variant.replace(/[^A-Za-z0-9_.+-]/g, '_'), `${kind}-${signatureHash(signature)}.json`);
}

/** Directory levels a walk descends (crashes/<backend>/<variant>/ is 2). */
export const MAX_WALK_DEPTH = 32;

export interface Walk {
  /** Regular *.json files (or links to them inside the tree), sorted per directory. */
  files: string[];
  /** What was not entered or not listed, and why: shown to the user as warnings. */
  skipped: { file: string; why: string }[];
}

/**
 * The *.json files below `root`, skipping temp files. Symbolic links are followed only
 * while they stay inside the tree, each directory is entered once (two links to a parent
 * would otherwise loop for ever), and a *.json that is not a regular file (a FIFO would
 * block the reader, a device never end) is skipped with a warning.
 */
export function walkJson(root: string): Walk {
  const files: string[] = [];
  const skipped: Walk['skipped'] = [];
  let top: string;
  try { top = realpathSync(root); } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') skipped.push({ file: root, why: `cannot read: ${code(err)}` });
    return { files, skipped };
  }
  const inside = (real: string) => real === top || real.startsWith(top.endsWith(sep) ? top : top + sep);
  const seen = new Map<string, string>();
  const visit = (dir: string, depth: number) => {
    let st: Stats;
    try { st = statSync(dir); } catch (err) { skipped.push({ file: dir, why: `cannot read: ${code(err)}` }); return; }
    if (!st.isDirectory()) { skipped.push({ file: dir, why: 'not a directory' }); return; }
    const id = `${st.dev}:${st.ino}`;
    const first = seen.get(id);
    if (first !== undefined) { skipped.push({ file: dir, why: `directory loop: already visited as ${first}` }); return; }
    seen.set(id, dir);
    let names: string[];
    try { names = readdirSync(dir); } catch (err) { skipped.push({ file: dir, why: `cannot read: ${code(err)}` }); return; }
    for (const n of names.sort()) {
      const p = join(dir, n);
      const json = n.endsWith('.json') && !n.includes('.tmp-');
      let ent: Stats;
      try { ent = lstatSync(p); } catch { continue; } // removed meanwhile
      if (ent.isSymbolicLink()) {
        let real: string;
        try { real = realpathSync(p); } catch (err) { if (json) skipped.push({ file: p, why: `broken symbolic link (${code(err)})` }); continue; }
        if (!inside(real)) {
          if (json || statSafe(real)?.isDirectory()) skipped.push({ file: p, why: `symbolic link leads out of ${root}` });
          continue;
        }
        const target = statSafe(real);
        if (!target) continue;
        ent = target;
      }
      if (ent.isDirectory()) {
        if (depth >= MAX_WALK_DEPTH) skipped.push({ file: p, why: `more than ${MAX_WALK_DEPTH} directory levels deep` });
        else visit(p, depth + 1);
      } else if (json) {
        if (ent.isFile()) files.push(p);
        else skipped.push({ file: p, why: `${kindOf(ent)}, not a regular file` });
      }
    }
  };
  visit(root, 0);
  return { files, skipped };
}

function statSafe(p: string): Stats | undefined {
  try { return statSync(p); } catch { return undefined; }
}

/** All .json files below a directory (sorted), skipping temp files; see walkJson. */
export function listJson(dir: string): string[] {
  return walkJson(dir).files;
}

export interface KnownSet {
  signatures: Set<string>;
  /** Files that could not be read; they are reported and left untouched. */
  bad: { file: string; error: string }[];
}

/** Signatures already recorded in an output directory (so a resumed campaign does not repeat them). */
export function loadKnown(outDir: string): KnownSet {
  const signatures = new Set<string>();
  const walk = walkJson(outDir);
  const bad = walk.skipped.map((s) => ({ file: s.file, error: `${shown(s.file, 300)}: ${s.why}` }));
  for (const f of walk.files) {
    if (f.endsWith('campaign.json')) continue;
    try {
      const s = readScenarioFile(f);
      if (s.found) signatures.add(s.found.signature);
      for (const e of Object.values(s.expect ?? {})) if (e !== 'clean') signatures.add(e.signature);
    } catch (err) {
      bad.push({ file: f, error: err instanceof ScenarioError ? err.message : shown((err as Error).message, 500) });
    }
  }
  return { signatures, bad };
}
