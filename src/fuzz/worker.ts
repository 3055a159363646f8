// Worker-thread entry of a campaign job (one per core). It owns its guided corpus and
// saves it to <out>/queue-<job>.ndjson now and then (atomically), so a resumed campaign
// starts from what it had learnt. It also isolates (minimizes) the root causes the parent
// hands it, between two of its own runs and, once its iterations are done, until the parent
// says there is nothing left: minimization runs on the campaign's cores, not on a third
// thread beside them, and no worker sits idle while the parent minimizes.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Backend } from '../backends/api.js';
import { allBackends } from '../backends/load.js';
import { parseScenario } from '../scenario/schema.js';
import type { Scenario } from '../scenario/types.js';
import { writeAtomic } from '../store/files.js';
import { queueFile } from './campaign.js';
import { isolate, type Candidate } from './isolate.js';
import { guardTargets, MIN_SPLIT, runJob, type Cursor, type IterRange, type JobHandle, type JobParams } from './job.js';
import { resolveTargets, type Target } from './targets.js';
import { threadCpuMs } from './thread-cpu.js';

/** Parent → worker, on the task port: isolate one occurrence (a root cause's next try), or stop serving. */
export type TaskMessage =
  | { type: 'isolate'; id: number; candidate: Candidate; iterationBudget: boolean }
  /** Work stealing (random engine, iteration budget): give the back half of the current range to another worker. */
  | { type: 'split'; id: number }
  /** The answer to this worker's 'idle': a range to run, or none (its job is then done). */
  | { type: 'range'; range: IterRange | undefined }
  | { type: 'exit' };

/** Worker → parent, the answer to 'split': the range given away (the worker keeps [iter, range.start)), or none. */
export interface SplitMessage { type: 'split'; id: number; range: IterRange | undefined }


/** Worker → parent, the answer to an 'isolate' task: the reproducer, or none if this try failed. */
export interface IsolatedMessage {
  type: 'isolated';
  id: number;
  signature: string;
  scenario: Scenario | undefined;
  /** Thread CPU (ms) the isolation took. */
  cpuMs: number | undefined;
  error?: string;
}

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
  /** Isolation tasks from the parent (transferred). */
  tasks: MessagePort;
  /** Per worker: tasks posted on its port and not yet taken (the parent adds and notifies, the worker subtracts). */
  taskCount: Int32Array;
  /** Work stealing: when this worker's range is done it asks the parent for part of another's (random engine, iteration budget). */
  steal: boolean;
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

/**
 * Runs the parent's tasks on this thread: isolations (on its own copy of the models), and,
 * with work stealing, splits of its current range and the ranges the parent hands it.
 */
function server(backends: Backend[], data: WorkerData): { poll(cur?: Cursor): void; nextRange(cur: Cursor): IterRange | undefined; serve(): void } {
  // Guarded like the job's targets (an exception is a crash finding) but without the step tap:
  // minimization runs must not count in the job's coverage.
  let byKey: Map<string, Target> | undefined;
  const targetOf = (key: string): Target | undefined => {
    if (!byKey) {
      byKey = new Map();
      for (const t of guardTargets(resolveTargets(backends, data.filters), false).targets) byKey.set(`${t.backend.name}/${t.variant}`, t);
    }
    return byKey.get(key);
  };
  const { tasks, taskCount } = data;
  const job = data.params.job;
  let cursor: Cursor | undefined;
  let answer: { range: IterRange | undefined } | undefined;
  const run = (m: TaskMessage) => {
    if (m.type === 'exit') {
      // The thread's whole CPU time, isolations after its job included.
      parentPort!.postMessage({ type: 'bye', job, cpuMs: threadCpuMs() });
      tasks.close();
      return;
    }
    if (m.type === 'split') {
      // Keep [iter, mid), give [mid, end) away: the iterations keep their job and seeds, so
      // which thread runs them changes nothing they find (the parent orders by (iteration, job)).
      let range: IterRange | undefined;
      const c = cursor;
      if (c && c.end - c.iter >= MIN_SPLIT) {
        const mid = c.iter + Math.ceil((c.end - c.iter) / 2);
        range = { job: c.job, start: mid, end: c.end };
        c.end = mid;
      }
      parentPort!.postMessage({ type: 'split', id: m.id, range } satisfies SplitMessage);
      return;
    }
    if (m.type === 'range') { answer = { range: m.range }; return; }
    const c0 = threadCpuMs();
    const t = targetOf(m.candidate.target);
    let scenario: Scenario | undefined;
    let error: string | undefined;
    try {
      scenario = t ? isolate(m.candidate, t, m.iterationBudget) : undefined;
    } catch (err) {
      // A failed try, as when the parent isolated: the next occurrence is tried.
      error = (err as Error).stack ?? String(err);
    }
    const c1 = threadCpuMs();
    const reply: IsolatedMessage = { type: 'isolated', id: m.id, signature: m.candidate.signature, scenario, cpuMs: c0 !== undefined && c1 !== undefined ? c1 - c0 : undefined };
    if (error !== undefined) reply.error = error.slice(0, 2000);
    parentPort!.postMessage(reply);
  };
  const poll = (cur?: Cursor) => {
    if (cur) cursor = cur;
    // Between runs: one atomic load when there is nothing to do.
    if (Atomics.load(taskCount, job) === 0) return;
    for (let r = receiveMessageOnPort(tasks); r; r = receiveMessageOnPort(tasks)) {
      Atomics.sub(taskCount, job, 1);
      run(r.message as TaskMessage);
    }
  };
  return {
    poll,
    // Ask the parent for another range and wait for it (the runs are synchronous), serving
    // isolations and answering splits (nothing left to give) meanwhile.
    nextRange: (cur) => {
      cursor = cur;
      answer = undefined;
      parentPort!.postMessage({ type: 'idle', job });
      for (;;) {
        poll();
        // (Set by run(), inside poll: TypeScript cannot see that.)
        const got = answer as { range: IterRange | undefined } | undefined;
        if (got) return got.range;
        Atomics.wait(taskCount, job, 0, 1000);
      }
    },
    // After the job: every task as it comes, until 'exit' closes the port (the thread then ends).
    serve: () => {
      cursor = undefined;
      tasks.on('message', (m: TaskMessage) => { Atomics.sub(taskCount, job, 1); run(m); });
    },
  };
}

async function main(): Promise<void> {
  const data = workerData as WorkerData;
  const backends = await allBackends(data.modules);
  // Steps are read by the guided engine and by --coverage only.
  const { targets, steps } = guardTargets(resolveTargets(backends, data.filters), data.params.engine === 'guided' || data.params.track === true);
  const file = queueFile(data.out, data.params.job);
  const tasks = server(backends, data);
  const params: JobParams = {
    ...data.params, known: new Set(data.params.known), stop: data.stop, corpus: loadCorpus(data.corpus, file),
    // The parent chooses which occurrence of each new cause is isolated, once for all workers.
    onCandidate: (c) => parentPort!.postMessage({ type: 'candidate', candidate: c }),
    poll: tasks.poll,
    nextRange: data.steal ? tasks.nextRange : undefined,
  };
  const startupMs = Date.now() - data.spawnedAt;
  let lastSave = Date.now();
  let handle: JobHandle | undefined;
  // Corpus entries never change once admitted (mutation copies), so each is serialized once: a
  // full corpus (256 per variant, ~16 MB over all variants) otherwise cost ~200 ms of this
  // thread's CPU at every save.
  const lineOf = new WeakMap<Scenario, string>();
  const save = (corpus: Record<string, Scenario[]>) => {
    const lines: string[] = [];
    for (const [target, list] of Object.entries(corpus)) {
      for (const scenario of list) {
        let line = lineOf.get(scenario);
        if (line === undefined) lineOf.set(scenario, line = JSON.stringify({ target, scenario }));
        lines.push(line);
      }
    }
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
  tasks.serve();
}

main().catch((err: unknown) => {
  parentPort!.postMessage({ type: 'error', message: (err as Error).stack ?? String(err) });
  // Without a job there is nothing to serve: the parent requeues what it had handed us.
  (workerData as WorkerData).tasks.close();
});
