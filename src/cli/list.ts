// `irqdiff list-backends`: one line per variant by default (status, the commit modelled, the
// documented causes grouped by class), the evidence with --verbose, everything with --json.
import type { Backend, CauseDoc } from '../backends/api.js';
import { jsonLine } from './output.js';

/** "stuck: a, b · read: c": causes grouped by their class (the part before ':'). */
export function groupCauses(docs: readonly CauseDoc[]): string {
  const by = new Map<string, string[]>();
  for (const d of docs) {
    const j = d.cause.indexOf(':');
    const cls = j < 0 ? d.cause : d.cause.slice(0, j);
    const tag = j < 0 ? '' : d.cause.slice(j + 1);
    const list = by.get(cls) ?? [];
    list.push(tag);
    by.set(cls, list);
  }
  return [...by].map(([cls, tags]) => `${cls}: ${tags.join(', ')}`).join(' · ');
}

/** The commit part of a source line, short: "r328622 (…)" up to the first ';'. */
function shortSource(source: string): string {
  const head = source.split(';')[0]!.trim();
  return head.length > 60 ? head.slice(0, 59) + '…' : head;
}

export function listBackends(backends: readonly Backend[], mode: 'concise' | 'verbose' | 'json', out: (l: string) => void): void {
  if (mode === 'json') {
    out(jsonLine(backends.map((b) => ({
      name: b.name, description: b.description,
      variants: b.variants.map((v) => ({ name: v.name, status: v.status, source: v.source, summary: v.summary, expectedBugs: v.expectedBugs, knownDeviations: v.knownDeviations ?? [] })),
    }))));
    return;
  }
  for (const b of backends) {
    out(`${b.name} — ${b.description}`);
    for (const v of b.variants) {
      const name = `${b.name}/${v.name}`;
      if (mode === 'verbose') {
        out(`  ${name.padEnd(26)} [${v.status}] ${v.source}`);
        out(`  ${''.padEnd(26)} ${v.summary}`);
        for (const e of v.expectedBugs) out(`  ${''.padEnd(26)} expects ${e.cause} — ${e.why}`);
        for (const e of v.knownDeviations ?? []) out(`  ${''.padEnd(26)} known deviation ${e.cause} — ${e.why}`);
        continue;
      }
      const bugs = v.expectedBugs.length > 0 ? `  bugs ${groupCauses(v.expectedBugs)}` : '';
      const dev = (v.knownDeviations ?? []).length > 0 ? `  deviations ${groupCauses(v.knownDeviations!)}` : '';
      out(`  ${name.padEnd(26)} ${v.status.padEnd(5)} ${shortSource(v.source)}${bugs}${dev}`);
    }
  }
  if (mode === 'concise') out('(--verbose: the source read and why each cause happens; --json: all of it for programs)');
}
