// The triage list's model: findings grouped by root cause (their signature), each with its
// label (documented bug, documented deviation, in corpus, UNEXPECTED), variant, kind, count,
// first and last seen, and triage status. Plain data and pure functions: the TUI, the plain
// list and the HTML report all show the same rows.
import { readState } from '../fuzz/state.js';
import type { Backend } from '../backends/api.js';
import { classify, type Class } from '../fuzz/classify.js';
import { parseSignature } from '../oracle/divergence.js';
import type { Scenario } from '../scenario/types.js';
import { readScenarioFile, walkJson } from '../store/files.js';
import type { StatusEntry, StatusMap } from './status.js';

export interface Item {
  file: string;
  scenario?: Scenario;
  error?: string;
}

export interface Bucket {
  /** The root cause: "<backend>/<variant>:<class>:<tag>"; for an unreadable file, its path. */
  signature: string;
  label: Class | 'unreadable';
  target: string;
  backend: string;
  /** The divergence class ("stuck", "masked", ...) and the mechanism tag. */
  kind: string;
  tag: string;
  items: Item[];
  firstSeen: string;
  lastSeen: string;
  /** Interleavings that showed the cause over the campaign (campaign.json), else the files holding it. */
  hits: number;
  events: number;
  status: StatusEntry;
}

/** What the campaign directory's campaign.json says of each root cause, if it can be read. */
export type CampaignHits = Readonly<Record<string, { count: number; firstSeen: string; lastSeen: string }>>;

export function loadCampaignHits(dir: string): CampaignHits | undefined {
  try {
    return readState(dir)?.buckets;
  } catch {
    return undefined; // a damaged resume point is the campaign's business; triage shows the files
  }
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

/** UNEXPECTED first: the ones a person should read. */
export const LABEL_ORDER: Record<Bucket['label'], number> = { unexpected: 0, unreadable: 1, corpus: 2, expected: 3, known: 4 };
export const LABEL_TEXT: Record<Bucket['label'], string> = { unexpected: 'UNEXPECTED', unreadable: 'unreadable', corpus: 'in corpus', known: 'deviation', expected: 'doc. bug' };

export function buildBuckets(items: readonly Item[], backends: readonly Backend[], corpus: ReadonlySet<string>, statuses: StatusMap, hits?: CampaignHits): Bucket[] {
  const by = new Map<string, Bucket>();
  for (const it of items) {
    const f = it.scenario?.found;
    if (!f) {
      by.set(`file:${it.file}`, {
        signature: it.file, label: 'unreadable', target: '?', backend: '?', kind: it.error ? 'unreadable' : 'no finding', tag: '', items: [it],
        firstSeen: '', lastSeen: '', hits: 1, events: it.scenario?.events.length ?? 0, status: { status: 'new' },
      });
      continue;
    }
    let b = by.get(f.signature);
    if (!b) {
      const p = parseSignature(f.signature);
      b = {
        signature: f.signature, label: classify(backends, f.signature, corpus), target: `${f.backend}/${f.variant}`, backend: f.backend,
        kind: p?.cls ?? '?', tag: p?.tag ?? f.signature, items: [], firstSeen: f.foundAt, lastSeen: f.foundAt, hits: 0,
        events: it.scenario!.events.length, status: statuses[f.signature] ?? { status: 'new' },
      };
      by.set(f.signature, b);
    }
    b.items.push(it);
    if (f.foundAt < b.firstSeen) b.firstSeen = f.foundAt;
    if (f.foundAt > b.lastSeen) b.lastSeen = f.foundAt;
    b.events = Math.min(b.events, it.scenario!.events.length);
  }
  for (const b of by.values()) {
    const h = b.label === 'unreadable' ? undefined : hits?.[b.signature];
    b.hits = h?.count ?? b.items.length;
    if (h?.firstSeen) b.firstSeen = h.firstSeen;
    if (h?.lastSeen) b.lastSeen = h.lastSeen;
  }
  return sortBuckets([...by.values()], 'label');
}

export const SORTS = ['label', 'variant', 'kind', 'count', 'seen'] as const;
export type SortKey = (typeof SORTS)[number];

export function sortBuckets(list: Bucket[], key: SortKey): Bucket[] {
  const cmp: Record<SortKey, (a: Bucket, b: Bucket) => number> = {
    label: (a, b) => LABEL_ORDER[a.label] - LABEL_ORDER[b.label],
    variant: (a, b) => a.target.localeCompare(b.target),
    kind: (a, b) => a.kind.localeCompare(b.kind),
    count: (a, b) => b.hits - a.hits,
    seen: (a, b) => b.lastSeen.localeCompare(a.lastSeen),
  };
  // Ties: label, then signature, so the order never depends on the directory walk.
  return list.slice().sort((a, b) => cmp[key](a, b) || LABEL_ORDER[a.label] - LABEL_ORDER[b.label] || a.signature.localeCompare(b.signature));
}

export interface Filter {
  /** Free text: any word must appear in the signature, target, label or comment (case-insensitive). */
  search: string;
  label?: Bucket['label'];
  status?: StatusEntry['status'];
}

export function filterBuckets(list: readonly Bucket[], f: Filter): Bucket[] {
  const words = f.search.toLowerCase().split(/\s+/).filter(Boolean);
  return list.filter((b) => {
    if (f.label && b.label !== f.label) return false;
    if (f.status && b.status.status !== f.status) return false;
    const hay = `${b.signature} ${b.target} ${b.kind} ${LABEL_TEXT[b.label]} ${b.status.status} ${b.status.comment ?? ''}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** The index of the next UNEXPECTED bucket after `from`, wrapping; -1 if none. */
export function nextUnexpected(list: readonly Bucket[], from: number): number {
  for (let k = 1; k <= list.length; k++) {
    const i = (from + k) % list.length;
    if (list[i]!.label === 'unexpected') return i;
  }
  return -1;
}
