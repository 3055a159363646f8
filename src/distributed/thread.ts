// A worker thread of `irqdiff worker`: runs units and minimizations with the backends this
// machine has on disk (the built-ins and its own --backend-module files, never code from the queue).
import { parentPort, workerData } from 'node:worker_threads';
import type { Backend } from '../backends/api.js';
import { allBackends } from '../backends/load.js';
import { minimizeFinding, runUnit } from './engine.js';
import type { JobData, JobResult } from './protocol.js';

export interface ThreadData { modules: string[] }
export type ThreadRequest = { seq: number; job: JobData; now: string };
export type ThreadReply = { seq: number; result?: JobResult; error?: string };

const port = parentPort!;
let backends: Promise<Backend[]> | undefined;

port.on('message', (req: ThreadRequest) => {
  backends ??= allBackends((workerData as ThreadData).modules);
  backends.then((bs) => {
    const result = req.job.kind === 'unit' ? runUnit(bs, req.job) : minimizeFinding(bs, req.job, req.now);
    port.postMessage({ seq: req.seq, result } satisfies ThreadReply);
  }).catch((err: unknown) => {
    port.postMessage({ seq: req.seq, error: ((err as Error).message ?? String(err)).slice(0, 2000) } satisfies ThreadReply);
  });
});
