// What the fuzz commands print about findings, shared by the local campaign (`irqdiff fuzz`) and
// the distributed coordinator (`fuzz --queue`): the line per new finding, the tally by class, and
// the closing RATE JUMP / UNEXPECTED lines. Signatures, texts and paths may come from a results
// log or from Redis, so every one is sanitized before it reaches the terminal.
import type { Backend } from '../backends/api.js';
import { CLASS_LABEL, classify, type Class } from '../fuzz/classify.js';
import type { RateAlarm } from '../fuzz/rates.js';
import { shown } from '../scenario/sanitize.js';

export interface Finding { signature: string; path: string }

/** The line announcing one new finding (emphasized when UNEXPECTED). */
export function findingLine(backends: readonly Backend[], corpus: ReadonlySet<string>, signature: string, text: string, path: string, emph: (t: string) => string): string {
  const c = classify(backends, signature, corpus);
  const line = `NEW  ${CLASS_LABEL[c]}  ${shown(text, 1000)}\n     → ${shown(path, 500)}`;
  return c === 'unexpected' ? emph(line) : line;
}

/** New findings counted by class, and the UNEXPECTED ones. */
export function tallyFindings(backends: readonly Backend[], findings: readonly Finding[], corpus: ReadonlySet<string>): { classes: Record<Class, number>; unexpected: Finding[] } {
  const classes: Record<Class, number> = { expected: 0, known: 0, corpus: 0, unexpected: 0 };
  const unexpected: Finding[] = [];
  for (const f of findings) {
    const c = classify(backends, f.signature, corpus);
    classes[c]++;
    if (c === 'unexpected') unexpected.push(f);
  }
  return { classes, unexpected };
}

/** The lines a person must read: rate jumps of documented causes, then the UNEXPECTED findings. */
export function printAlarms(alarms: readonly RateAlarm[], unexpected: readonly Finding[], out: (l: string) => void, emph: (t: string) => string): void {
  for (const r of alarms) {
    out(emph(`RATE JUMP  ${shown(r.signature, 300)}: in ${r.observed} of ${r.runs} interleavings, ${r.ratio.toFixed(0)}x its recorded rate ${r.recorded.toExponential(1)} — a new cause may share this documented symptom`));
  }
  for (const f of unexpected) out(emph(`UNEXPECTED  ${shown(f.signature, 300)}\n            → ${shown(f.path, 500)}`));
}
