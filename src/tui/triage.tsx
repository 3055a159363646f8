// `irqdiff triage [DIR]`: the triage screen. Findings on the left (grouped by signature,
// unreadable files shown, never deleted), the selected one's step-by-step trace on the
// right; promote a reproducer to the corpus with its expectations on every variant.
import React, { useMemo, useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';
import type { Backend } from '../backends/api.js';
import { traceScenario } from '../cli/trace.js';
import { CLASS_LABEL, classify } from '../fuzz/classify.js';
import type { Scenario } from '../scenario/types.js';
import { promote } from '../store/corpus.js';
import { listJson, readScenarioFile } from '../store/files.js';

export interface Item {
  file: string;
  scenario?: Scenario;
  error?: string;
}

export function loadItems(dir: string): Item[] {
  return listJson(dir).filter((f) => !f.endsWith('campaign.json')).map((file) => {
    try {
      return { file, scenario: readScenarioFile(file) };
    } catch (err) {
      return { file, error: (err as Error).message };
    }
  });
}

function label(it: Item, backends: Backend[]): string {
  const f = it.scenario?.found;
  if (!f) return it.error ? `unreadable  ${it.file}` : `(no finding) ${it.file}`;
  const [, kind, ...shape] = f.signature.split(':');
  return `${kind!.padEnd(18)} ${(f.backend + '/' + f.variant).padEnd(22)} ${shape.join(':').padEnd(26)} ${String(it.scenario!.events.length).padStart(3)} ev  ${CLASS_LABEL[classify(backends, f.signature)].trim()}`;
}

function traceLines(it: Item | undefined, backends: Backend[]): string[] {
  if (!it) return ['no findings'];
  if (it.error) return [`cannot read ${it.file}:`, it.error];
  const s = it.scenario!;
  const f = s.found;
  const b = backends.find((x) => x.name === f?.backend);
  if (!f || !b) return [`${it.file}: no backend '${f?.backend ?? '?'}' to replay it on`];
  const lines: string[] = [`${f.signature}`, f.message, `seed ${f.seed}, ${f.originalEvents} → ${s.events.length} events, found ${f.foundAt}`, ''];
  try {
    const r = traceScenario(s, b, f.variant, (l) => lines.push(l));
    lines.push('', r.primary?.signature === f.signature ? 'replays to the same signature' : `REPLAY DIFFERS: ${r.primary?.signature ?? 'clean'}`);
  } catch (err) {
    lines.push(`replay failed: ${(err as Error).message}`);
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
        setStatus(`promoted to ${promote(current.file, backends, corpusDir)}`);
      } catch (err) {
        setStatus(`cannot promote: ${(err as Error).message}`);
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
