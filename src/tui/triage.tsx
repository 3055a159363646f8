// `irqdiff triage [DIR]`: the triage screen. Findings on the left (grouped by signature,
// unreadable files shown, never deleted), the selected one's step-by-step trace on the
// right; promote a reproducer to the corpus with its expectations on every variant.
// Everything shown that came from a file (names, signatures, messages, errors) is
// sanitized: a finding is a stranger's file.
import React, { useMemo, useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';
import type { Backend } from '../backends/api.js';
import { traceScenario } from '../cli/trace.js';
import { CLASS_LABEL, classify } from '../fuzz/classify.js';
import { shown } from '../scenario/sanitize.js';
import type { Scenario } from '../scenario/types.js';
import { promote } from '../store/corpus.js';
import { readScenarioFile, walkJson } from '../store/files.js';

export interface Item {
  file: string;
  scenario?: Scenario;
  error?: string;
}

/** The findings in `dir`, and what the walk skipped (links out of the tree, FIFOs, loops). */
export function loadItems(dir: string): Item[] {
  const walk = walkJson(dir);
  const items: Item[] = walk.files.filter((f) => !f.endsWith('campaign.json')).map((file) => {
    try {
      return { file, scenario: readScenarioFile(file) };
    } catch (err) {
      return { file, error: (err as Error).message };
    }
  });
  for (const s of walk.skipped) items.push({ file: s.file, error: `${s.file}: skipped: ${s.why}` });
  return items;
}

/** A signature is opaque here: split for columns only when it has the usual "target:kind:shape". */
function columns(signature: string): { kind: string; shape: string } {
  const parts = signature.split(':');
  return parts.length >= 3 ? { kind: parts[1]!, shape: parts.slice(2).join(':') } : { kind: '?', shape: signature };
}

function label(it: Item, backends: Backend[]): string {
  const f = it.scenario?.found;
  if (!f) return it.error ? `unreadable  ${shown(it.file, 120)}` : `(no finding) ${shown(it.file, 120)}`;
  const { kind, shape } = columns(f.signature);
  return `${shown(kind, 18).padEnd(18)} ${shown(f.backend + '/' + f.variant, 40).padEnd(22)} ${shown(shape, 60).padEnd(26)} ${String(it.scenario!.events.length).padStart(3)} ev  ${CLASS_LABEL[classify(backends, f.signature)].trim()}`;
}

function traceLines(it: Item | undefined, backends: Backend[]): string[] {
  if (!it) return ['no findings'];
  if (it.error) return [`cannot read ${shown(it.file, 300)}:`, shown(it.error, 1000)];
  const s = it.scenario!;
  const f = s.found;
  const b = backends.find((x) => x.name === f?.backend);
  if (!f) return [`${shown(it.file, 300)}: $.found: missing, nothing to replay it on`];
  if (!b) return [`${shown(it.file, 300)}: $.found.backend: unknown backend '${shown(f.backend, 64)}'; expected one of ${backends.map((x) => x.name).join(', ')}`];
  if (!b.variants.some((v) => v.name === f.variant)) return [`${shown(it.file, 300)}: $.found.variant: backend '${b.name}' has no variant '${shown(f.variant, 64)}'`];
  const lines: string[] = [shown(f.signature, 500), shown(f.message, 1000), `seed ${shown(f.seed)}, ${f.originalEvents} → ${s.events.length} events, found ${shown(f.foundAt, 100)}`, ''];
  try {
    const r = traceScenario(s, b, f.variant, (l) => lines.push(l));
    lines.push('', r.primary?.signature === f.signature ? 'replays to the same signature' : `REPLAY DIFFERS: ${r.primary?.signature ?? 'clean'}`);
  } catch (err) {
    lines.push(`replay failed: ${shown((err as Error).message, 1000)}`);
  }
  return lines;
}

export interface TriageProps {
  items: Item[];
  backends: Backend[];
  corpusDir: string;
  height?: number;
}

export function Triage({ items, backends, corpusDir, height = 30 }: TriageProps): React.ReactElement {
  const { exit } = useApp();
  const [sel, setSel] = useState(0);
  const [scroll, setScroll] = useState(0);
  const [status, setStatus] = useState('↑/↓ select · j/k scroll trace · p promote to corpus · q quit');
  const current = items[sel];
  const lines = useMemo(() => traceLines(current, backends), [current, backends]);
  // Title, the list box (up to 8 rows + border), the status line: the trace gets the rest.
  const body = Math.max(5, height - (Math.max(1, Math.min(items.length, 8)) + 2) - 3);

  useInput((input, key) => {
    if (input === 'q' || key.escape) { exit(); return; }
    if (key.upArrow) { setSel((s) => Math.max(0, s - 1)); setScroll(0); }
    else if (key.downArrow) { setSel((s) => Math.min(items.length - 1, s + 1)); setScroll(0); }
    else if (input === 'j' || key.pageDown) setScroll((s) => Math.min(Math.max(0, lines.length - body), s + (key.pageDown ? body : 1)));
    else if (input === 'k' || key.pageUp) setScroll((s) => Math.max(0, s - (key.pageUp ? body : 1)));
    else if (input === 'p' && current?.scenario?.found) {
      try {
        setStatus(`promoted to ${shown(promote(current.file, backends, corpusDir), 300)}`);
      } catch (err) {
        setStatus(`cannot promote: ${shown((err as Error).message, 500)}`);
      }
    }
  });

  const visible = 8;
  const start = Math.max(0, Math.min(sel - 3, items.length - visible));
  return (
    <Box flexDirection="column">
      <Text bold>irqdiff triage — {items.length} finding{items.length === 1 ? '' : 's'}</Text>
      <Box flexDirection="column" borderStyle="single" height={Math.max(1, Math.min(items.length, visible)) + 2}>
        {items.slice(start, start + visible).map((it, k) => {
          const i = start + k;
          return (
            <Text key={it.file} inverse={i === sel} color={it.error ? 'red' : undefined} wrap="truncate">
              {i === sel ? '▶ ' : '  '}{label(it, backends)}
            </Text>
          );
        })}
        {items.length === 0 ? <Text dimColor>no findings in this directory</Text> : null}
      </Box>
      <Box flexDirection="column" height={body}>
        {lines.slice(scroll, scroll + body).map((l, i) => (
          <Text key={i} wrap="truncate" color={l.startsWith('>>>') ? 'red' : l.startsWith('RESULT: clean') ? 'green' : undefined}>{l}</Text>
        ))}
      </Box>
      <Text dimColor>{status}</Text>
    </Box>
  );
}
