// `irqdiff report DIR`: the campaign as one self-contained HTML page — inline CSS and SVG, no
// script, nothing fetched — for people who would rather look than read: root causes by label,
// a per-variant table, and each UNEXPECTED or documented-bug root cause with its lane diagram.
// Every string from a file is HTML-escaped (and sanitized of control characters) first.
import { join } from 'node:path';
import type { Backend } from '../backends/api.js';
import { supportsOn } from '../backends/features.js';
import { laneDiagram } from '../export/lanes.js';
import { shown } from '../scenario/sanitize.js';
import { corpusSignatures } from '../store/corpus.js';
import { writeAtomic } from '../store/files.js';
import { buildBuckets, LABEL_TEXT, loadCampaignHits, loadItems, type Bucket } from '../tui/findings.js';
import { replay } from '../tui/replay.js';
import { loadStatuses, STATUS_LABEL } from '../tui/status.js';

const esc = (s: string) => shown(s, 4000).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const COLOR: Record<Bucket['label'], string> = { unexpected: '#c62828', unreadable: '#6a1b9a', corpus: '#1565c0', expected: '#ef6c00', known: '#78909c' };
/** Buckets drawn in full; the rest are listed. Bounds the page for an overnight run. */
const MAX_DETAILED = 40;

function barChart(buckets: readonly Bucket[]): string {
  const labels = (Object.keys(COLOR) as Bucket['label'][]).map((l) => [l, buckets.filter((b) => b.label === l).length] as const);
  const max = Math.max(1, ...labels.map(([, n]) => n));
  const rows = labels.map(([l, n], i) => {
    const w = Math.round((360 * n) / max);
    return `<g transform="translate(0,${i * 26})"><text x="0" y="16" font-size="13">${LABEL_TEXT[l]}</text>`
      + `<rect x="110" y="3" width="${w}" height="18" fill="${COLOR[l]}"/><text x="${116 + w}" y="16" font-size="13">${n}</text></g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="520" height="${labels.length * 26}" role="img" aria-label="root causes by label">${rows.join('')}</svg>`;
}

export function renderReport(dir: string, corpusDir: string, backends: Backend[]): string {
  const buckets = buildBuckets(loadItems(dir), backends, corpusSignatures(corpusDir), loadStatuses(dir).map, loadCampaignHits(dir));
  const variants = [...new Set(buckets.map((b) => b.target))].sort();
  const table = variants.map((v) => {
    const mine = buckets.filter((b) => b.target === v);
    const cell = (l: Bucket['label']) => { const n = mine.filter((b) => b.label === l).length; return `<td${n && l === 'unexpected' ? ' class="hot"' : ''}>${n || ''}</td>`; };
    return `<tr><th>${esc(v)}</th>${cell('unexpected')}${cell('expected')}${cell('known')}${cell('corpus')}${cell('unreadable')}<td>${mine.length}</td></tr>`;
  }).join('\n');
  const detailed = buckets.filter((b) => b.label === 'unexpected' || b.label === 'expected').slice(0, MAX_DETAILED);
  const sections = detailed.map((b) => {
    const it = b.items[0]!;
    const s = it.scenario!;
    const be = backends.find((x) => x.name === b.backend);
    let diagram = '(backend not loaded: no replay)';
    let words = '';
    if (be && s.found && be.variants.some((v) => v.name === s.found!.variant) && supportsOn(be, s.machine, s.found.variant) === null) {
      try {
        const r = replay(s, be, s.found.variant);
        diagram = laneDiagram(r, s.machine.vcpus).join('\n');
        words = r.explanation.map((l) => `<p>${esc(l)}</p>`).join('');
      } catch (err) { diagram = `replay failed: ${(err as Error).message}`; }
    }
    return `<section id="${esc(b.signature).replace(/[^A-Za-z0-9_-]/g, '_')}"><h3><span class="tag" style="background:${COLOR[b.label]}">${LABEL_TEXT[b.label]}</span> ${esc(b.signature)}</h3>
<p class="meta">seen in ${b.hits} interleavings · ${b.items.length} file(s) · ${b.events} events · first seen ${esc(b.firstSeen)} · status ${STATUS_LABEL[b.status.status]}${b.status.comment ? ` — ${esc(b.status.comment)}` : ''} · <code>${esc(it.file)}</code></p>
${words}<pre>${esc(diagram).replace(/\\n/g, '\n')}</pre></section>`;
  }).join('\n');
  const rest = buckets.filter((b) => !detailed.includes(b)).map((b) => `<li><span class="tag" style="background:${COLOR[b.label]}">${LABEL_TEXT[b.label]}</span> ${esc(b.signature)}</li>`).join('\n');
  const unexpected = buckets.filter((b) => b.label === 'unexpected').length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>irqdiff report — ${esc(dir)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1000px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}h3{font-size:15px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{text-align:left}
td.hot{background:#ffcdd2;font-weight:bold}.tag{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}
pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px;line-height:1.25}.meta{color:#555;font-size:12px}
.big{font-size:28px;font-weight:bold}.bad{color:#c62828}
</style></head><body>
<h1>irqdiff campaign report: ${esc(dir)}</h1>
<p><span class="big${unexpected ? ' bad' : ''}">${unexpected} UNEXPECTED</span> of ${buckets.length} root causes on ${variants.length} variants.</p>
<h2>Root causes by label</h2>
${barChart(buckets)}
<p class="meta">Coverage over time: this campaign directory records no coverage samples.</p>
<h2>Per variant</h2>
<table><tr><th>variant</th><th>UNEXPECTED</th><th>doc. bug</th><th>deviation</th><th>in corpus</th><th>unreadable</th><th>all</th></tr>
${table}
</table>
<h2>Root causes with lane diagrams</h2>
${sections || '<p>No UNEXPECTED or documented-bug root cause.</p>'}
${buckets.length > detailed.length ? `<h2>Other root causes</h2><ul>${rest}</ul>` : ''}
</body></html>
`;
}

export function writeReport(dir: string, corpusDir: string, backends: Backend[], outFile?: string): string {
  const file = outFile ?? join(dir, 'report.html');
  writeAtomic(file, renderReport(dir, corpusDir, backends));
  return file;
}
