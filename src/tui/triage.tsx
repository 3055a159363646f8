// `irqdiff triage [DIR]`: the triage screen. A list of root causes (UNEXPECTED first) with
// sort, filters, search, position and triage status; Enter opens the reproducer view: lanes
// per vCPU plus the hypervisor/hardware, the reference's and the backend's registers after the
// step under the cursor with differences marked, the stuck point and the divergence, and a
// plain-words explanation. Fits 80×24: every line is cut to the width, and the screen is one
// line shorter than the terminal so Ink never clears it whole. Everything from a file is
// sanitized: a finding is a stranger's file.
import React, { useMemo, useState } from 'react';
import { Box, Text, useApp } from 'ink';
import type { Backend } from '../backends/api.js';
import { FORMATS, type Format } from '../export/formats.js';
import { hwText } from '../export/lanes.js';
import { shown } from '../scenario/sanitize.js';
import { readScenarioFile } from '../store/files.js';
import { exportTo, minimizeAgain, promoteNamed } from './actions.js';
import { buildBuckets, filterBuckets, LABEL_TEXT, loadCampaignHits, nextUnexpected, sortBuckets, SORTS, type Bucket, type Filter, type Item, type SortKey } from './findings.js';
import { useKeys } from './keys.js';
import { fmtVecs, replay, type CpuState, type Replay } from './replay.js';
import { saveStatuses, STATUS_LABEL, type Status, type StatusMap } from './status.js';

export { loadItems, type Item } from './findings.js';

/** A count in three columns: 999, 12k, 3M. */
const short = (n: number): string => (n < 1000 ? String(n) : n < 1e6 ? `${Math.round(n / 1000)}k` : `${Math.round(n / 1e6)}M`);

export interface TriageProps {
  items: Item[];
  backends: Backend[];
  corpusDir: string;
  /** The campaign directory: statuses and exports are written there. */
  dir?: string;
  corpus?: ReadonlySet<string>;
  statuses?: StatusMap;
  width?: number;
  height?: number;
  /** Colour off (NO_COLOR): differences are still marked with '!' and latency with '~'. */
  color?: boolean;
}

const LABEL_COLOR: Record<Bucket['label'], string | undefined> = { unexpected: 'red', unreadable: 'magenta', corpus: 'blue', expected: 'yellow', known: undefined };
const LABEL_CYCLE: (Bucket['label'] | undefined)[] = [undefined, 'unexpected', 'expected', 'known', 'corpus', 'unreadable'];
const STATUS_CYCLE: (Status | undefined)[] = [undefined, 'new', 'known', 'duplicate', 'fixed', 'wontfix'];
const STATUS_KEYS: Record<string, Status> = { n: 'new', k: 'known', d: 'duplicate', f: 'fixed', w: 'wontfix' };

const HELP_LINES = [
  'list:  ↑/↓ j/k move (held keys count)   PgUp/PgDn page   Home/End g/G first/last',
  '       u next UNEXPECTED   Enter open reproducer   / search   Esc clear search',
  '       l filter label   b filter backend   t filter status   o sort (label/variant/kind/count/seen)',
  'both:  s set status (n new, k known, d duplicate of, f fixed, w won\'t fix)   c comment',
  '       p promote to corpus (asks name, description)   e export (j json, v vitest, l lanes, c C)',
  '       m minimize again   ? this help   q quit',
  'view:  ←/→ or j/k step back/forward   d jump to divergence   x jump to stuck point',
  '       Home/End first/last step   Esc back to the list',
  'marks: >> first divergence   !! where the vector got stuck   41! differs   41~ on the bus (legal)',
];

type Prompt = { label: string; value: string; submit: (v: string) => void } | { label: string; choose: (key: string) => void };

function cut(s: string, w: number): string {
  return s.length <= w ? s : s.slice(0, Math.max(0, w - 1)) + '…';
}

export function Triage(p: TriageProps): React.ReactElement {
  const { exit } = useApp();
  const width = Math.max(40, p.width ?? 80);
  const height = Math.max(12, p.height ?? 24);
  const color = p.color ?? true;
  const dir = p.dir ?? '.';
  const [statuses, setStatuses] = useState<StatusMap>(() => ({ ...(p.statuses ?? {}) }));
  const [version, setVersion] = useState(0); // bumped when a finding file was rewritten
  const hits = useMemo(() => (p.dir ? loadCampaignHits(p.dir) : undefined), [p.dir, version]);
  const all = useMemo(() => buildBuckets(p.items, p.backends, p.corpus ?? new Set(), statuses, hits), [p.items, p.backends, p.corpus, statuses, hits, version]);
  const [sort, setSort] = useState<SortKey>('label');
  const [filter, setFilter] = useState<Filter>({ search: '' });
  const [backendFilter, setBackendFilter] = useState<string | undefined>(undefined);
  const list = useMemo(() => {
    const f = filterBuckets(sortBuckets(all, sort), filter);
    return backendFilter ? f.filter((b) => b.backend === backendFilter) : f;
  }, [all, sort, filter, backendFilter]);
  const [sel, setSel] = useState(0);
  const [mode, setMode] = useState<'list' | 'view' | 'help'>('list');
  const [step, setStep] = useState(0);
  const [prompt, setPrompt] = useState<Prompt | undefined>(undefined);
  const [message, setMessage] = useState('');
  const cur = list[Math.min(sel, Math.max(0, list.length - 1))];
  const scenario = cur?.items[0]?.scenario;
  const rep: Replay | string | undefined = useMemo(() => {
    if (mode !== 'view' || !cur) return undefined;
    const it = cur.items[0]!;
    if (it.error) return `cannot read ${shown(it.file, 300)}: ${shown(it.error, 600)}`;
    const f = it.scenario?.found;
    if (!f) return `${shown(it.file, 300)}: $.found: missing, nothing to replay it on`;
    const b = p.backends.find((x) => x.name === f.backend);
    if (!b) return `${shown(it.file, 300)}: $.found.backend: unknown backend '${shown(f.backend, 64)}'; expected one of ${p.backends.map((x) => x.name).join(', ')}`;
    if (!b.variants.some((v) => v.name === f.variant)) return `${shown(it.file, 300)}: $.found.variant: backend '${b.name}' has no variant '${shown(f.variant, 64)}'`;
    try { return replay(it.scenario!, b, f.variant); } catch (err) { return `replay failed: ${shown((err as Error).message, 600)}`; }
  }, [mode, cur, p.backends, version]);

  const setStatus = (sig: string, patch: Partial<StatusMap[string]>) => {
    const next = { ...statuses, [sig]: { ...(statuses[sig] ?? { status: 'new' as Status }), ...patch, at: new Date().toISOString() } };
    try { saveStatuses(dir, next); setStatuses(next); setMessage(`status saved in ${shown(dir, 100)}/triage.state`); } catch (err) { setMessage(`cannot save status: ${shown((err as Error).message, 300)}`); }
  };
  const target = () => {
    const f = scenario?.found;
    const b = f ? p.backends.find((x) => x.name === f.backend) : undefined;
    return f && b ? { f, b } : undefined;
  };

  const action = (name: string): boolean => {
    if (!cur) return false;
    if (name === 's') {
      setPrompt({ label: 'status: n new · k known · d duplicate of · f fixed · w won\'t fix', choose: (k) => {
        const st = STATUS_KEYS[k];
        if (!st) { setMessage('status unchanged'); return; }
        if (st === 'duplicate') setPrompt({ label: 'duplicate of (signature): ', value: '', submit: (v) => setStatus(cur.signature, { status: st, of: v.slice(0, 500) }) });
        else setStatus(cur.signature, { status: st });
      } });
    } else if (name === 'c') {
      setPrompt({ label: 'comment: ', value: statuses[cur.signature]?.comment ?? '', submit: (v) => setStatus(cur.signature, { comment: v.slice(0, 2000) }) });
    } else if (name === 'p') {
      if (!scenario?.found) { setMessage('not a readable finding: nothing to promote'); return true; }
      const suggested = `${cur.backend}-${cur.tag}`.slice(0, 60);
      setPrompt({ label: 'corpus name: ', value: suggested, submit: (nm) => setPrompt({ label: 'description: ', value: '', submit: (desc) => {
        if (!nm.trim() || !desc.trim()) { setMessage('promotion needs a name and a description'); return; }
        try { setMessage(`promoted to ${shown(promoteNamed(scenario, p.backends, p.corpusDir, nm, desc), 300)}`); } catch (err) { setMessage(`cannot promote: ${shown((err as Error).message, 400)}`); }
      } }) });
    } else if (name === 'e') {
      const t = target();
      if (!t || !scenario) { setMessage('not a readable finding: nothing to export'); return true; }
      setPrompt({ label: 'export: j json · v vitest · l lanes (72 col) · c kvm-unit-tests C', choose: (k) => {
        const fmt = ({ j: 'json', v: 'vitest', l: 'lanes', c: 'c' } as Record<string, Format>)[k];
        if (!fmt || !FORMATS.includes(fmt)) { setMessage('nothing exported'); return; }
        try { setMessage(`exported ${fmt}: ${shown(exportTo(dir, scenario, fmt, t.b, t.f.variant, p.backends), 300)}`); } catch (err) { setMessage(`cannot export: ${shown((err as Error).message, 400)}`); }
      } });
    } else if (name === 'm') {
      const t = target();
      if (!t || !scenario) { setMessage('not a readable finding: nothing to minimize'); return true; }
      const file = cur.items[0]!.file;
      let s = scenario;
      let round = 0;
      const start = s.events.length;
      // Rounds of a bounded number of runs, so the screen shows progress between them.
      const next = () => {
        round++;
        try {
          const r = minimizeAgain(file, s, t.b, 300);
          setMessage(`minimizing: round ${round}, ${start} → ${r.after} events (${r.runs} runs)`);
          if (r.after < r.before && round < 20) {
            // The rewritten file is the finding now: read back through the bounded reader.
            s = readScenarioFile(file);
            for (const it of p.items) if (it.file === file) it.scenario = s;
            setTimeout(next, 0);
          } else { setMessage(`minimized ${start} → ${r.after} events in ${round} round(s)${r.after < start ? `; ${shown(file, 200)} rewritten` : ''}`); setVersion((x) => x + 1); }
        } catch (err) { setMessage(`minimize failed: ${shown((err as Error).message, 300)}`); }
      };
      setMessage('minimizing: round 1…');
      setTimeout(next, 0);
    } else if (name === '?') setMode(mode === 'help' ? 'list' : 'help');
    else return false;
    return true;
  };

  useKeys((keys) => {
    if (prompt) {
      if ('choose' in prompt) { setPrompt(undefined); prompt.choose(keys[0]?.name ?? ''); return; }
      let value = prompt.value;
      for (const k of keys) {
        if (k.name === 'escape') { setPrompt(undefined); setMessage('cancelled'); return; }
        if (k.name === 'return') { setPrompt(undefined); prompt.submit(value); return; }
        if (k.name === 'backspace') value = value.slice(0, Math.max(0, value.length - k.count));
        else if (k.name.length === 1 || /^\p{L}$/u.test(k.name)) value = (value + k.name.repeat(k.count)).slice(0, 2000);
      }
      setPrompt({ ...prompt, value });
      return;
    }
    for (const k of keys) {
      if (k.name === 'q' || k.name === 'ctrl-c') { exit(); return; }
      if (mode === 'help') { setMode('list'); continue; }
      if (action(k.name)) continue;
      if (mode === 'view') {
        const r = typeof rep === 'object' ? rep : undefined;
        const n = r ? r.steps.length : 1;
        if (k.name === 'escape' || k.name === 'backspace') setMode('list');
        else if (k.name === 'right' || k.name === 'j' || k.name === 'down') setStep((x) => Math.min(n - 1, x + k.count));
        else if (k.name === 'left' || k.name === 'k' || k.name === 'up') setStep((x) => Math.max(0, x - k.count));
        else if (k.name === 'pagedown') setStep((x) => Math.min(n - 1, x + 10 * k.count));
        else if (k.name === 'pageup') setStep((x) => Math.max(0, x - 10 * k.count));
        else if (k.name === 'home' || k.name === 'g') setStep(0);
        else if (k.name === 'end' || k.name === 'G') setStep(n - 1);
        else if (k.name === 'd' && r) { if (r.divergenceAt >= 0) setStep(r.divergenceAt); else setMessage('clean: no divergence'); }
        else if (k.name === 'x' && r) { if (r.stuckAt >= 0) setStep(r.stuckAt); else setMessage('no stuck point told for this divergence'); }
        continue;
      }
      const page = Math.max(1, height - 6);
      const last = Math.max(0, list.length - 1);
      if (k.name === 'down' || k.name === 'j') setSel((x) => Math.min(last, x + k.count));
      else if (k.name === 'up' || k.name === 'k') setSel((x) => Math.max(0, x - k.count));
      else if (k.name === 'pagedown') setSel((x) => Math.min(last, x + page * k.count));
      else if (k.name === 'pageup') setSel((x) => Math.max(0, x - page * k.count));
      else if (k.name === 'home' || k.name === 'g') setSel(0);
      else if (k.name === 'end' || k.name === 'G') setSel(last);
      else if (k.name === 'u') { const i = nextUnexpected(list, sel); if (i >= 0) setSel(i); else setMessage('no UNEXPECTED root cause in this list'); }
      else if (k.name === 'return') { if (cur) { setMode('view'); setStep(0); } }
      else if (k.name === 'o') { setSort((s) => SORTS[(SORTS.indexOf(s) + 1) % SORTS.length]!); setSel(0); }
      else if (k.name === 'l') { setFilter((f) => ({ ...f, label: LABEL_CYCLE[(LABEL_CYCLE.indexOf(f.label) + 1) % LABEL_CYCLE.length] })); setSel(0); }
      else if (k.name === 't') { setFilter((f) => ({ ...f, status: STATUS_CYCLE[(STATUS_CYCLE.indexOf(f.status) + 1) % STATUS_CYCLE.length] })); setSel(0); }
      else if (k.name === 'b') {
        const names = [undefined, ...new Set(all.map((b) => b.backend))];
        setBackendFilter((x) => names[(names.indexOf(x) + 1) % names.length]); setSel(0);
      } else if (k.name === '/') setPrompt({ label: 'search: ', value: filter.search, submit: (v) => { setFilter((f) => ({ ...f, search: v })); setSel(0); } });
      else if (k.name === 'escape') { setFilter((f) => ({ ...f, search: '' })); setMessage('search cleared'); }
    }
  });

  const footer = prompt ? `${prompt.label}${'value' in prompt ? prompt.value + '▏' : ''}` : message || (mode === 'view' ? '←/→ step · d divergence · x stuck · s status · p promote · e export · m minimize · Esc list · ? keys' : '↵ open · u next UNEXPECTED · / search · l/b/t filter · o sort · s status · ? keys · q quit');
  if (mode === 'help') {
    return (
      <Box flexDirection="column">
        <Text bold>irqdiff triage — keys (any key returns)</Text>
        {HELP_LINES.map((l, i) => <Text key={i} wrap="truncate">{cut(l, width)}</Text>)}
      </Box>
    );
  }
  if (mode === 'view' && cur) return <ReproView bucket={cur} rep={rep} step={step} width={width} height={height} color={color} footer={footer} />;

  // List: title, header, rows, selected detail (2 lines), footer; height - 1 lines in all.
  const rows = Math.max(3, height - 6);
  const start = Math.max(0, Math.min(sel - Math.floor(rows / 2), list.length - rows));
  const wide = width >= 110;
  const unexpected = all.filter((b) => b.label === 'unexpected').length;
  const filters = [filter.label ? `label=${LABEL_TEXT[filter.label]}` : '', backendFilter ? `backend=${backendFilter}` : '', filter.status ? `status=${STATUS_LABEL[filter.status]}` : '', filter.search ? `/${filter.search}` : ''].filter(Boolean).join(' ');
  const title = `irqdiff triage ${list.length === 0 ? 0 : sel + 1}/${list.length} — ${all.length} root causes, ${unexpected} UNEXPECTED · sort ${sort}${filters ? ` · ${filters}` : ''}`;
  const head = `  ${'label'.padEnd(10)} ${'variant'.padEnd(18)} ${'kind'.padEnd(11)} ${'n'.padStart(3)} ${'status'.padEnd(9)}${wide ? ` ${'first seen'.padEnd(16)} ${'last seen'.padEnd(16)}` : ''} tag`;
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">{cut(title, width)}</Text>
      <Text dimColor wrap="truncate">{cut(head, width)}</Text>
      {list.slice(start, start + rows).map((b, k) => {
        const i = start + k;
        const st = b.status;
        const line = `${i === sel ? '▶' : ' '} ${LABEL_TEXT[b.label].padEnd(10)} ${cut(shown(b.target, 40), 18).padEnd(18)} ${cut(shown(b.kind, 20), 11).padEnd(11)} ${short(b.hits).padStart(3)} ${(st.status === 'duplicate' ? 'dup' : STATUS_LABEL[st.status]).padEnd(9)}${wide ? ` ${b.firstSeen.slice(0, 16).padEnd(16)} ${b.lastSeen.slice(0, 16).padEnd(16)}` : ''} ${shown(b.tag, 200)}`;
        return <Text key={b.signature} inverse={i === sel} color={color ? LABEL_COLOR[b.label] : undefined} wrap="truncate">{cut(line, width)}</Text>;
      })}
      {list.length === 0 ? <Text dimColor>{all.length === 0 ? 'no findings in this directory' : 'nothing matches the filters (Esc clears the search; l/b/t cycle back)'}</Text> : null}
      <Text wrap="truncate" dimColor>{cut(cur ? `${shown(cur.signature, 300)} · ${cur.hits} hits · ${cur.items.length} file(s) · ${cur.events} ev · seen ${cur.firstSeen.slice(0, 19)} … ${cur.lastSeen.slice(0, 19)}` : '', width)}</Text>
      <Text wrap="truncate" dimColor>{cut(cur ? `${shown(cur.items[0]!.file, 200)}${cur.status.of ? ` · duplicate of ${shown(cur.status.of, 120)}` : ''}${cur.status.comment ? ` · “${shown(cur.status.comment, 300)}”` : ''}` : '', width)}</Text>
      <Text wrap="truncate" color={prompt ? 'cyan' : undefined}>{cut(footer, width)}</Text>
    </Box>
  );
}

/** Vectors with marks: '!' differs from the reference, '~' differs only by legal bus latency. */
function vecs(list: readonly number[], diff: readonly number[], lat: readonly number[]): string {
  if (list.length === 0) return '—';
  return list.map((v) => v.toString(16).padStart(2, '0') + (diff.includes(v) ? '!' : lat.includes(v) ? '~' : '')).join(',');
}

function cpuLine(c: number, s: CpuState, backend: string): string {
  const d = s.diff;
  const ref = `ref IRR ${vecs(s.ref.irr, d.irr, s.latency)}${s.ref.bus.length ? ` bus ${fmtVecs(s.ref.bus)}~` : ''} ISR ${vecs(s.ref.isr, d.isr, [])} TMR ${fmtVecs(s.ref.tmr)} PPR ${s.ref.ppr.toString(16).padStart(2, '0')}`;
  const be = `${backend} IRR ${vecs(s.be.irr, d.irr, s.latency)} ISR ${vecs(s.be.isr, d.isr, [])} TMR n/a PPR ${s.be.ppr.toString(16).padStart(2, '0')}${d.ppr ? '!' : ''}`;
  return `v${c} ${s.where.padEnd(10)} ${ref} | ${be}${s.be.extra ? ` ${s.be.extra}` : ''}`;
}

function ReproView({ bucket, rep, step, width, height, color, footer }: { bucket: Bucket; rep: Replay | string | undefined; step: number; width: number; height: number; color: boolean; footer: string }): React.ReactElement {
  if (typeof rep !== 'object') {
    return (
      <Box flexDirection="column">
        <Text bold wrap="truncate">{cut(shown(bucket.signature, 300), width)}</Text>
        <Text color={color ? 'red' : undefined} wrap="wrap">{shown(rep ?? 'nothing to show', 1200)}</Text>
        <Text wrap="truncate">{cut(footer, width)}</Text>
      </Box>
    );
  }
  const s = rep.steps;
  const n = bucket.items[0]!.scenario!.machine.vcpus;
  const st = s[Math.min(step, s.length - 1)]!;
  const f = bucket.items[0]!.scenario!.found!;
  const got = rep.result.primary?.signature ?? 'clean';
  // A finding that no longer replays to its recorded root cause says so first, with the recorded message.
  const expl = got === f.signature ? rep.explanation.slice(0, height >= 30 ? 5 : 3)
    : [`REPLAY DIFFERS: recorded ${shown(f.signature, 200)} (${shown(f.message, 400)}), replay gives ${shown(got, 200)}`, ...rep.explanation.slice(0, 2)];
  // title + explanation + lane header + state (n) + notes (2) + footer, the rest for steps.
  const rows = Math.max(3, height - 1 - 1 - expl.length - 1 - n - 2 - 1);
  const first = Math.max(0, Math.min(step - Math.floor(rows / 2), s.length - rows));
  const lanes = n + 1;
  const lw = Math.max(8, Math.floor((width - 8 - lanes) / lanes));
  const laneRow = (text: string[]) => text.map((t) => cut(t, lw).padEnd(lw)).join('│');
  const cells = (k: number) => {
    const x = s[k]!;
    const c = Array.from({ length: lanes }, () => '');
    if (x.lane < 0) c[n] = x.index === -9999 ? 'final judgement' : hwText(x.event);
    else c[x.lane] = x.text.replace(/^vCPU\d+ (guest: )?/, '');
    for (const note of x.notes) if (note.text.startsWith('deliver ') && note.cpu >= 0 && note.cpu < n && !c[note.cpu]) c[note.cpu] = `◀ ${note.text.slice(8)}`;
    for (const r of x.reads) c[r.cpu] = `read ${r.reg.toUpperCase()} = ${r.value}`;
    return c;
  };
  const idx = (k: number) => { const i = s[k]!.index; return i >= 0 ? String(i) : i === -9999 ? 'end' : `d${-1 - i}`; };
  const notes = st.notes.filter((x) => x.text !== 'executed step').map((x) => `${x.cpu >= 0 ? `v${x.cpu} ` : ''}${x.text}`).join(' · ');
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">{cut(`${LABEL_TEXT[bucket.label]} ${shown(bucket.signature, 300)} · step ${step + 1}/${s.length}`, width)}</Text>
      {expl.map((l, i) => <Text key={i} wrap="truncate" color={i === 0 && color ? 'yellow' : undefined}>{cut(l, width)}</Text>)}
      <Text dimColor wrap="truncate">{cut(`        ${laneRow([...Array.from({ length: n }, (_, c) => `vCPU${c}`), 'hv/hw/dev'])}`, width)}</Text>
      {s.slice(first, first + rows).map((_, j) => {
        const k = first + j;
        const mark = k === rep.divergenceAt ? '>>' : k === rep.stuckAt ? '!!' : '  ';
        const line = `${k === step ? '▶' : ' '}${mark}${idx(k).padStart(4)} ${laneRow(cells(k))}`;
        return <Text key={k} inverse={k === step} color={color && k === rep.divergenceAt ? 'red' : color && k === rep.stuckAt ? 'yellow' : undefined} wrap="truncate">{cut(line, width)}</Text>;
      })}
      {st.state.map((c, i) => {
        const bad = c.diff.irr.length > 0 || c.diff.isr.length > 0 || c.diff.ppr;
        return <Text key={`s${i}`} wrap="truncate" color={color ? (bad ? 'red' : c.latency.length > 0 || c.ref.bus.length > 0 ? 'yellow' : undefined) : undefined}>{cut(cpuLine(i, c, rep.target.split('/')[0]!), width)}</Text>;
      })}
      <Text wrap="truncate" dimColor>{cut(notes || '(no hypervisor or guest activity at this step)', width)}</Text>
      <Text wrap="truncate" dimColor>{cut(st.state.some((c) => c.latency.length || c.ref.bus.length) ? '~ a message still on the bus: legal latency, not a divergence' : '', width)}</Text>
      <Text wrap="truncate">{cut(footer, width)}</Text>
    </Box>
  );
}
