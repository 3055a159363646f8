// `irqdiff fuzz --tui`: the live campaign dashboard. New root causes go to Ink's <Static>
// (printed once above the live part, kept in the scrollback); the live part is bounded to
// the terminal's height minus one line, so Ink redraws it in place instead of clearing the
// screen on every frame. Shows elapsed/remaining time, interleavings (execs) and events per
// second with a small chart of the rate over time, per-variant counts, findings with labels.
import React from 'react';
import { Box, Static, Text } from 'ink';

export interface DashboardState {
  title: string;
  elapsed: number;
  budget: number;
  scenarios: number;
  events: number;
  perTarget: Record<string, [number, number, number]>;
  findings: { signature: string; path: string; label?: string }[];
  warnings: string[];
  /** Events/s at each progress report (the chart). */
  rates?: number[];
  width?: number;
  height?: number;
  color?: boolean;
}

const BARS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[], width: number): string {
  const v = values.slice(-width);
  const max = Math.max(1, ...v);
  return v.map((x) => BARS[Math.min(7, Math.floor((8 * x) / (max + 1e-9)))]).join('');
}

const cut = (s: string, w: number) => (s.length <= w ? s : s.slice(0, Math.max(0, w - 1)) + '…');

export function Dashboard({ s }: { s: DashboardState }): React.ReactElement {
  const width = Math.max(40, s.width ?? 80);
  const height = Math.max(10, s.height ?? 24);
  const color = s.color ?? true;
  const rate = s.elapsed > 0 ? Math.round(s.events / s.elapsed) : 0;
  const execs = s.elapsed > 0 ? Math.round(s.scenarios / s.elapsed) : 0;
  const pct = Math.min(100, Math.round((100 * s.elapsed) / Math.max(1, s.budget)));
  const bar = '█'.repeat(Math.round(pct / 10)).padEnd(10, '·');
  const remaining = Math.max(0, s.budget - s.elapsed);
  const unexpected = s.findings.filter((f) => f.label === 'UNEXPECTED').length;
  // Live part: title, progress, chart, header, variant rows, findings summary, warning: height - 1.
  const fixed = 6;
  const rowsMax = Math.max(1, height - 1 - fixed);
  const cell = 38;
  const perRow = Math.max(1, Math.floor(width / cell));
  const variants = Object.entries(s.perTarget).sort((a, b) => b[1][2] - a[1][2] || a[0].localeCompare(b[0]));
  const shown = variants.slice(0, rowsMax * perRow);
  const rows: string[] = [];
  for (let i = 0; i < shown.length; i += perRow) {
    rows.push(shown.slice(i, i + perRow).map(([k, [sc, , dv]]) => `${cut(k, 20).padEnd(20)} ${String(sc).padStart(7)} ${String(dv).padStart(6)}`.padEnd(cell)).join(''));
  }
  if (variants.length > shown.length && rows.length > 0) rows[rows.length - 1] = cut(rows[rows.length - 1]!, width - 14) + ` +${variants.length - shown.length} more`;
  const chart = s.rates && s.rates.length > 1 ? `events/s ${sparkline(s.rates, Math.max(10, width - 30))} (coverage: not recorded)` : 'events/s chart after the second report';
  return (
    <>
      <Static items={s.findings}>
        {(f) => (
          <Text key={f.signature} color={color && f.label === 'UNEXPECTED' ? 'red' : undefined} bold={f.label === 'UNEXPECTED'} wrap="truncate">
            {cut(`NEW ${(f.label ?? '').padEnd(20)} ${f.signature}  → ${f.path}`, width)}
          </Text>
        )}
      </Static>
      <Box flexDirection="column">
        <Text bold wrap="truncate">{cut(s.title, width)}</Text>
        <Text wrap="truncate">{cut(`${bar} ${pct}% ${s.elapsed.toFixed(0)}s elapsed, ${remaining.toFixed(0)}s left · ${s.scenarios.toLocaleString('en-US')} execs ${execs}/s · ${rate.toLocaleString('en-US')} events/s`, width)}</Text>
        <Text dimColor wrap="truncate">{cut(chart, width)}</Text>
        <Text dimColor wrap="truncate">{cut(Array.from({ length: perRow }, () => `${'variant'.padEnd(20)} ${'execs'.padStart(7)} ${'div.'.padStart(6)}`.padEnd(cell)).join(''), width)}</Text>
        {rows.map((r, i) => <Text key={i} wrap="truncate">{cut(r, width)}</Text>)}
        <Text wrap="truncate" color={color && unexpected > 0 ? 'red' : undefined}>{cut(`${s.findings.length} new root causes (${unexpected} UNEXPECTED) — listed above; read them with irqdiff triage`, width)}</Text>
        <Text wrap="truncate" color={color ? 'yellow' : undefined}>{cut(s.warnings.length ? `warning: ${s.warnings[s.warnings.length - 1]}` : '', width)}</Text>
      </Box>
    </>
  );
}
