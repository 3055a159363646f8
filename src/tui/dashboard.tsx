// `irqdiff fuzz --tui`: the live campaign dashboard (throughput, per-variant counts, new
// findings as they land).
import React from 'react';
import { Box, Text } from 'ink';

export interface DashboardState {
  title: string;
  elapsed: number;
  budget: number;
  scenarios: number;
  events: number;
  perTarget: Record<string, [number, number, number]>;
  findings: { signature: string; path: string }[];
  warnings: string[];
}

export function Dashboard({ s }: { s: DashboardState }): React.ReactElement {
  const rate = s.elapsed > 0 ? Math.round(s.events / s.elapsed) : 0;
  const pct = Math.min(100, Math.round((100 * s.elapsed) / Math.max(1, s.budget)));
  const bar = '█'.repeat(Math.round(pct / 5)).padEnd(20, '·');
  return (
    <Box flexDirection="column">
      <Text bold>{s.title}</Text>
      <Text>{bar} {pct}%  {s.elapsed.toFixed(0)}s / {s.budget}s   {s.scenarios.toLocaleString('en-US')} interleavings   {rate.toLocaleString('en-US')} events/s</Text>
      <Box flexDirection="column" marginTop={1}>
        {Object.entries(s.perTarget).map(([k, [sc, , dv]]) => (
          <Text key={k}>{k.padEnd(28)} {String(sc).padStart(9)} run  <Text color={dv > 0 ? 'red' : 'green'}>{String(dv).padStart(7)} divergent</Text></Text>
        ))}
      </Box>
      <Box flexDirection="column" marginTop={1}>
        <Text bold>findings ({s.findings.length} new)</Text>
        {s.findings.slice(-10).map((f) => <Text key={f.signature} color="red" wrap="truncate">● {f.signature}  → {f.path}</Text>)}
        {s.warnings.slice(-3).map((w, i) => <Text key={i} color="yellow" wrap="truncate">warning: {w}</Text>)}
      </Box>
    </Box>
  );
}
