// Files on disk: atomic writes (temp file + rename, so a crash never leaves half a file),
// scenario loading with errors that name the file, and the crashes/ layout.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseScenario, ScenarioError } from '../scenario/schema.js';
import type { Scenario } from '../scenario/types.js';

export function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function readScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ScenarioError(path, '', `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
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

/** All .json files below a directory (sorted), skipping temp files. */
export function listJson(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try { names = readdirSync(d); } catch { return; }
    for (const n of names.sort()) {
      const p = join(d, n);
      let st;
      try { st = statSync(p); } catch { continue; }
      if (st.isDirectory()) walk(p);
      else if (n.endsWith('.json') && !n.includes('.tmp-')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export interface KnownSet {
  signatures: Set<string>;
  /** Files that could not be read; they are reported and left untouched. */
  bad: { file: string; error: string }[];
}

/** Signatures already recorded in an output directory (so a resumed campaign does not repeat them). */
export function loadKnown(outDir: string): KnownSet {
  const signatures = new Set<string>();
  const bad: { file: string; error: string }[] = [];
  for (const f of listJson(outDir)) {
    if (f.endsWith('campaign.json')) continue;
    try {
      const s = readScenarioFile(f);
      if (s.found) signatures.add(s.found.signature);
      for (const e of Object.values(s.expect ?? {})) if (e !== 'clean') signatures.add(e.signature);
    } catch (err) {
      bad.push({ file: f, error: (err as Error).message });
    }
  }
  return { signatures, bad };
}
