// Worker-thread entry of a campaign job (one per core). It owns its guided corpus and
// saves it to <out>/queue-<job>.ndjson now and then (atomically), so a resumed campaign
// starts from what it had learnt.
import { parentPort, workerData } from 'node:worker_threads';
import { allBackends } from '../backends/load.js';
import { parseScenario } from '../scenario/schema.js';
import type { Scenario } from '../scenario/types.js';
import { writeAtomic } from '../store/files.js';
import { queueFile } from './campaign.js';
import { guardTargets, runJob, type JobHandle, type JobParams } from './job.js';
import { resolveTargets } from './targets.js';
import { threadCpuMs } from './thread-cpu.js';

export interface WorkerData {
  filters: string[];
  modules: string[];
  out: string;
  /** Saved corpus per target key (unchecked JSON from the queue file). */
  corpus: Record<string, unknown[]> | undefined;
  params: Omit<JobParams, 'known' | 'stop' | 'corpus' | 'onCandidate'> & { known: string[] };
  stop: Int32Array;
  /** Date.now() when the parent spawned the worker (start-up cost). */
  spawnedAt: number;
}

const SAVE_EVERY_MS = 10_000;

function loadCorpus(raw: WorkerData['corpus'], file: string): Record<string, Scenario[]> {
  const out: Record<string, Scenario[]> = {};
  for (const [k, list] of Object.entries(raw ?? {})) {
    for (const s of list) {
      try { (out[k] ??= []).push(parseScenario(JSON.stringify(s), file)); } catch { /* a bad entry costs only itself */ }
    }
  }
  return out;
}

async function main(): Promise<void> {
  const data = workerData as WorkerData;
  // Steps are read by the guided engine and by --coverage only.
  const { targets, steps } = guardTargets(resolveTargets(await allBackends(data.modules), data.filters), data.params.engine === 'guided' || data.params.track === true);
  const file = queueFile(data.out, data.params.job);
  const params: JobParams = {
    ...data.params, known: new Set(data.params.known), stop: data.stop, corpus: loadCorpus(data.corpus, file),
    // The parent isolates each new cause once for all workers.
    onCandidate: (c) => parentPort!.postMessage({ type: 'candidate', candidate: c }),
  };
  const startupMs = Date.now() - data.spawnedAt;
  let lastSave = Date.now();
  let handle: JobHandle | undefined;
  const save = (corpus: Record<string, Scenario[]>) => {
    const lines: string[] = [];
    for (const [target, list] of Object.entries(corpus)) for (const scenario of list) lines.push(JSON.stringify({ target, scenario }));
    try { writeAtomic(file, lines.join('\n') + '\n'); } catch (err) { parentPort!.postMessage({ type: 'warning', message: (err as Error).message }); }
  };
  const stats = runJob(targets, params,
    (f) => parentPort!.postMessage({ type: 'finding', finding: f }),
    (s, h) => {
      handle = h;
      s.startupMs = startupMs;
      parentPort!.postMessage({ type: 'progress', job: params.job, stats: s });
      if (params.engine === 'guided' && Date.now() - lastSave >= SAVE_EVERY_MS) { lastSave = Date.now(); save(h.corpus()); }
    },
    () => Date.now(), steps);
  if (params.engine === 'guided' && handle) save(handle.corpus());
  const cpu = threadCpuMs(); // start-up included
  if (cpu !== undefined) stats.cpuMs = cpu;
  stats.startupMs = startupMs;
  parentPort!.postMessage({ type: 'done', job: params.job, stats });
}

main().catch((err: unknown) => {
  parentPort!.postMessage({ type: 'error', message: (err as Error).stack ?? String(err) });
});
