// Worker-thread entry of a campaign job (one per core).
import { parentPort, workerData } from 'node:worker_threads';
import { allBackends } from '../backends/load.js';
import { runJob, type JobParams } from './job.js';
import { resolveTargets } from './targets.js';

export interface WorkerData {
  filters: string[];
  modules: string[];
  params: Omit<JobParams, 'known'> & { known: string[] };
}

async function main(): Promise<void> {
  const data = workerData as WorkerData;
  const targets = resolveTargets(await allBackends(data.modules), data.filters);
  const params: JobParams = { ...data.params, known: new Set(data.params.known) };
  const stats = runJob(targets, params,
    (f) => parentPort!.postMessage({ type: 'finding', finding: f }),
    (s) => parentPort!.postMessage({ type: 'progress', job: params.job, stats: s }),
    () => Date.now());
  parentPort!.postMessage({ type: 'done', job: params.job, stats });
}

main().catch((err: unknown) => {
  parentPort!.postMessage({ type: 'error', message: (err as Error).stack ?? String(err) });
});
