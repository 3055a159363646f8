// `irqdiff triage` without a terminal (a pipe, CI, a script) or with --list / --json: the
// same rows as the screen, as text or NDJSON, instead of Ink's raw-mode error.
import type { Backend } from '../backends/api.js';
import { jsonLine } from '../cli/output.js';
import { shown } from '../scenario/sanitize.js';
import { corpusSignatures } from '../store/corpus.js';
import { buildBuckets, LABEL_TEXT, loadCampaignHits, loadItems, type Bucket } from './findings.js';
import { loadStatuses, STATUS_LABEL } from './status.js';

export function bucketRow(b: Bucket): string {
  return `${LABEL_TEXT[b.label].padEnd(10)} ${shown(b.target, 24).padEnd(20)} ${shown(b.kind, 12).padEnd(10)} ${String(b.hits).padStart(7)}  ${STATUS_LABEL[b.status.status].padEnd(6)} ${shown(b.tag, 200)}`;
}

export function printTriageList(dir: string, corpusDir: string, backends: Backend[], json: boolean, out: (l: string) => void): void {
  const { map, warning } = loadStatuses(dir);
  const buckets = buildBuckets(loadItems(dir), backends, corpusSignatures(corpusDir), map, loadCampaignHits(dir));
  if (json) {
    for (const b of buckets) {
      out(jsonLine({
        signature: b.signature, label: b.label, target: b.target, kind: b.kind, tag: b.tag, count: b.hits,
        firstSeen: b.firstSeen, lastSeen: b.lastSeen, events: b.events, status: b.status, files: b.items.map((i) => i.file),
        ...(b.items[0]?.error ? { error: b.items[0].error } : {}),
      }));
    }
    return;
  }
  if (warning) out(`warning: ${warning}`);
  const unexpected = buckets.filter((b) => b.label === 'unexpected').length;
  out(`irqdiff triage ${shown(dir, 200)}: ${buckets.length} root causes, ${unexpected} UNEXPECTED (a terminal shows them interactively; --json for programs)`);
  out(`${'label'.padEnd(10)} ${'variant'.padEnd(20)} ${'kind'.padEnd(10)} ${'hits'.padStart(7)}  ${'status'.padEnd(6)} tag`);
  for (const b of buckets) {
    out(bucketRow(b));
    out(`           → ${shown(b.items[0]!.file, 300)}`);
  }
}
