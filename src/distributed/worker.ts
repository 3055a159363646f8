// `irqdiff worker`: takes units and minimizations from the queue and runs them on all of
// this machine's cores. Results are stored under the job id with HSETNX before the job
// completes, so a job run twice (its worker stalled or died after the run) counts once.
import { hostname } from 'node:os';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { keys, PREFIX } from './keys.js';
import { ThreadPool } from './pool.js';
import { checkJobData, ProtocolError, type JobData } from './protocol.js';

export interface WorkerOptions {
  queue: string;
  threads: number;
  modules: string[];
  model: string;
  lockMs: number;
  stalledMs: number;
}

export class ModelMismatch extends Error {}

export const mismatchText = (where: string, theirs: string, mine: string) =>
  `${where} was made for model ${theirs}, this worker runs model ${mine}: refusing it. ` +
  'Build the coordinator and every worker from the same commit (and the same --backend-module files).';

export async function checkQueueModel(redis: Redis, o: WorkerOptions): Promise<void> {
  const theirs = await redis.get(keys(o.queue).model);
  if (theirs !== null && theirs !== o.model) throw new ModelMismatch(mismatchText(`the campaign on queue '${o.queue}'`, theirs.slice(0, 40), o.model));
}

/** Runs until `stop` resolves or a job made for another model arrives (then rejects with ModelMismatch). */
export async function runWorker(redis: Redis, o: WorkerOptions, log: (l: string) => void, stop: Promise<void>): Promise<void> {
  await checkQueueModel(redis, o);
  const me = `${hostname()}:${process.pid}`;
  const k = keys(o.queue);
  const pool = new ThreadPool(o.threads, o.modules);
  let refused: ModelMismatch | undefined;
  let wake!: () => void;
  const refusedP = new Promise<void>((r) => { wake = r; });

  const processor = async (job: Job, token?: string): Promise<string> => {
    let data: JobData;
    try {
      data = checkJobData(job.data, `job ${String(job.id).slice(0, 80)}`);
    } catch (err) {
      if (err instanceof ProtocolError) throw new UnrecoverableError(err.message);
      throw err;
    }
    if (data.model !== o.model) {
      // Give the job back untouched (no attempt used) for a worker of the right model, and stop.
      if (!refused) { refused = new ModelMismatch(mismatchText(`job ${data.id}`, data.model, o.model)); wake(); }
      await job.moveToDelayed(Date.now() + 2000, token);
      throw new DelayedError();
    }
    const ck = k.campaign(data.campaign);
    if ((await redis.hexists(ck.results, data.id)) === 1) return 'already done';
    const t0 = Date.now();
    log(`start ${data.kind} ${data.id} ${data.target}${data.kind === 'unit' ? ` iterations ${data.first}+${data.stride}×${data.count}` : ` ${data.signature}`}`);
    const r = await pool.run(data);
    r.worker = me;
    r.ms = Date.now() - t0;
    await redis.multi().hsetnx(ck.results, data.id, JSON.stringify(r)).rpush(ck.log, data.id).exec();
    log(`done  ${data.kind} ${data.id} in ${r.ms} ms`);
    return 'ok';
  };

  const w = new Worker(o.queue, processor, {
    connection: redis, prefix: PREFIX, concurrency: o.threads,
    lockDuration: o.lockMs, stalledInterval: o.stalledMs, maxStalledCount: 10,
  });
  w.on('error', (err) => log(`warning: ${err.message.slice(0, 300)}`));
  const beat = async () => {
    await redis.hset(k.workers, me, JSON.stringify({ threads: o.threads, model: o.model, seen: Date.now() })).catch(() => undefined);
  };
  await beat();
  const timer = setInterval(() => { void beat(); }, 2000);
  try {
    await Promise.race([stop, refusedP]);
  } finally {
    clearInterval(timer);
    // A refusing worker must not finish what it holds of the right model either: close at once
    // would abandon jobs (they stall and are retried); a normal stop lets running jobs finish.
    await w.close(refused !== undefined);
    await pool.close();
    await redis.hdel(k.workers, me).catch(() => undefined);
  }
  if (refused) throw refused;
}
