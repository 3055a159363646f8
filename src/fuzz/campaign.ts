// A fuzzing campaign: N jobs (worker threads, one per core by default) for a time budget,
// findings deduplicated by signature across jobs and across earlier runs into the same
// output directory, each new one minimized and written atomically. Progress is saved in
// <out>/campaign.json so a campaign restarted with the same seed resumes where it stopped.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { crashPath, loadKnown, scenarioText, writeAtomic } from '../store/files.js';
import type { JobFinding, JobStats } from './job.js';
import type { WorkerData } from './worker.js';

export interface CampaignOptions {
  filters: string[];
  modules: string[];
  seed: string;
  seconds: number;
  jobs: number;
  out: string;
  maxEvents: number;
  /** How often progress is reported (ms). */
  reportEveryMs: number;
}

export interface CampaignEvent {
  kind: 'finding' | 'progress' | 'warning';
  text: string;
  path?: string;
  signature?: string;
  /** On progress: the running totals (live object; copy what you keep). */
  summary?: CampaignSummary;
  elapsedSeconds?: number;
}

export interface CampaignSummary {
  scenarios: number;
  events: number;
  divergent: number;
  newFindings: { signature: string; path: string }[];
  elapsedMs: number;
  perTarget: Record<string, [number, number, number]>;
  bySignature: Record<string, number>;
  resumedFrom: number[];
}

interface SavedState { seed: string; jobs: number; iters: number[] }

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`bad duration '${text}': expected e.g. 30s, 10m, 8h`);
  const n = Number(m[1]);
  return m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : n;
}

function loadState(out: string, seed: string, jobs: number): number[] {
  const p = join(out, 'campaign.json');
  if (!existsSync(p)) return new Array<number>(jobs).fill(0);
  try {
    const s = JSON.parse(readFileSync(p, 'utf8')) as SavedState;
    if (s.seed === seed && s.jobs === jobs && Array.isArray(s.iters) && s.iters.length === jobs) return s.iters;
  } catch {
    // A corrupt state file only costs the resume point; findings are in their own files.
  }
  return new Array<number>(jobs).fill(0);
}

export async function runCampaign(o: CampaignOptions, listen: (e: CampaignEvent) => void): Promise<CampaignSummary> {
  const started = Date.now();
  const known = loadKnown(o.out);
  for (const b of known.bad) listen({ kind: 'warning', text: `skipping unreadable file ${b.error}` });
  const iters = loadState(o.out, o.seed, o.jobs);
  const resumedFrom = iters.slice();
  const deadline = started + o.seconds * 1000;
  const stats: (JobStats | undefined)[] = new Array(o.jobs).fill(undefined);
  const summary: CampaignSummary = { scenarios: 0, events: 0, divergent: 0, newFindings: [], elapsedMs: 0, perTarget: {}, bySignature: {}, resumedFrom };
  const saveState = () => writeAtomic(join(o.out, 'campaign.json'), JSON.stringify({ seed: o.seed, jobs: o.jobs, iters } satisfies SavedState) + '\n');

  const onFinding = (f: JobFinding) => {
    if (known.signatures.has(f.signature)) return;
    known.signatures.add(f.signature);
    const fd = f.scenario.found!;
    const path = crashPath(o.out, fd.backend, fd.variant, f.signature.split(':')[1]!, f.signature);
    writeAtomic(path, scenarioText(f.scenario));
    summary.newFindings.push({ signature: f.signature, path });
    listen({ kind: 'finding', text: `${f.signature}  (${fd.originalEvents} → ${f.scenario.events.length} events)`, path, signature: f.signature });
  };
  const aggregate = () => {
    let sc = 0, ev = 0, dv = 0;
    const per: Record<string, [number, number, number]> = {};
    const sigs: Record<string, number> = {};
    for (const s of stats) {
      if (!s) continue;
      sc += s.scenarios; ev += s.events; dv += s.divergent;
      for (const [k, n] of Object.entries(s.bySignature)) sigs[k] = (sigs[k] ?? 0) + n;
      for (const [k, v] of Object.entries(s.perTarget)) {
        const acc = per[k] ?? [0, 0, 0];
        acc[0] += v[0]; acc[1] += v[1]; acc[2] += v[2];
        per[k] = acc;
      }
    }
    summary.scenarios = sc; summary.events = ev; summary.divergent = dv; summary.perTarget = per; summary.bySignature = sigs;
  };

  let lastSave = Date.now();
  let lastReport = Date.now();
  const onProgress = (job: number, s: JobStats) => {
    stats[job] = s;
    iters[job] = s.iter;
    aggregate();
    const now = Date.now();
    if (now - lastSave >= 5000) { lastSave = now; saveState(); }
    if (now - lastReport >= o.reportEveryMs) {
      lastReport = now;
      const secs = (now - started) / 1000;
      listen({ kind: 'progress', summary, elapsedSeconds: secs, text: `${secs.toFixed(0)}s: ${summary.scenarios} interleavings, ${summary.events} events (${Math.round(summary.events / secs)}/s), ${summary.divergent} divergent, ${known.signatures.size} signatures` });
    }
  };

  const workerUrl = new URL('./worker.js', import.meta.url);
  await Promise.all(iters.map((startIter, job) => new Promise<void>((resolve, reject) => {
    const data: WorkerData = {
      filters: o.filters, modules: o.modules,
      params: { seed: o.seed, job, startIter, deadline, maxEvents: o.maxEvents, known: [...known.signatures] },
    };
    const w = new Worker(workerUrl, { workerData: data });
    w.on('message', (m: { type: string; finding?: JobFinding; stats?: JobStats; job?: number; message?: string }) => {
      if (m.type === 'finding') onFinding(m.finding!);
      else if (m.type === 'progress' || m.type === 'done') onProgress(m.job!, m.stats!);
      else if (m.type === 'error') reject(new Error(`fuzz job ${job}: ${m.message}`));
    });
    w.on('error', reject);
    w.on('exit', () => resolve());
  })));
  aggregate();
  saveState();
  summary.elapsedMs = Date.now() - started;
  return summary;
}
