// `irqdiff fuzz --queue URL`: the coordinator of a campaign spread over many machines. It
// enqueues work units (a range of seeds × one backend variant, with idempotent job ids),
// merges what workers send back into buckets (one per root cause, with the workers and
// seeds that hit it), has each new root cause minimized once (a job of its own, one id per
// root cause and try) and writes reproducers into the same campaign directory layout as a
// local `irqdiff fuzz --out DIR`. Its state is Redis plus that directory: killed and
// restarted with the same arguments, it reads the results log again and carries on.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Backend } from '../backends/api.js';
import { checkWritableDir, crashPath, loadKnown, resolveTargets, scenarioText, writeAtomic } from './engine.js';
import { keys, PREFIX } from './keys.js';
import { Merge, type Bucket } from './merge.js';
import { campaignId, checkResult, minimizeId, rowUnits, type MinimizeData, type UnitData } from './protocol.js';

export interface CoordinatorOptions {
  queue: string;
  /** For messages and the state file: the URL without its password. */
  shownUrl: string;
  backends: Backend[];
  filters: string[];
  model: string;
  seed: string;
  /** Budget: a time (seconds) or a number of interleavings (the first N of stream 0). */
  seconds?: number;
  iterations?: number;
  unitSize: number;
  maxEvents: number;
  out: string;
  reportEveryMs: number;
  /** After the budget: how long to wait for running units and minimizations. */
  graceMs: number;
}

export interface CoordinatorEvent {
  kind: 'finding' | 'progress' | 'warning' | 'info';
  text: string;
  path?: string;
  signature?: string;
}

export interface CoordinatorSummary {
  campaign: string;
  scenarios: number;
  events: number;
  divergent: number;
  /** Merged in this run of the coordinator (the others were merged before a restart). */
  sessionEvents: number;
  sessionUnits: number;
  /** From the start to the last unit merged in this run (minimizations may run on after it). */
  unitsPhaseMs: number;
  units: number;
  unitMs: number;
  newFindings: { signature: string; path: string }[];
  elapsedMs: number;
  perTarget: Record<string, [number, number, number]>;
  bySignature: Record<string, number>;
  buckets: number;
  failed: string[];
  pending: number;
  workers: Record<string, number>;
  duplicatesIgnored: number;
}

const UNIT_JOB: JobsOptions = { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: 1000 };
/** Minimizations go to the head of the queue: a finding should not wait behind the backlog. */
const MIN_JOB: JobsOptions = { ...UNIT_JOB, lifo: true };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runCoordinator(redis: Redis, o: CoordinatorOptions, listen: (e: CoordinatorEvent) => void, stop: { requested: boolean }): Promise<CoordinatorSummary> {
  const started = Date.now();
  const targets = resolveTargets(o.backends, o.filters);
  const specs = targets.map((t) => `${t.backend.name}/${t.variant}`);
  const n = specs.length;
  const U = o.unitSize;
  const campaign = campaignId(o.model, o.seed, specs, U, o.maxEvents);
  const k = keys(o.queue);
  const ck = k.campaign(campaign);
  checkWritableDir(o.out);
  const known = loadKnown(o.out);
  for (const b of known.bad) listen({ kind: 'warning', text: `skipping unreadable file ${b.error}` });
  const queue = new Queue(o.queue, { connection: redis, prefix: PREFIX });
  queue.on('error', (err) => listen({ kind: 'warning', text: `queue: ${err.message.slice(0, 300)}` }));

  await redis.set(k.model, o.model);
  await redis.hsetnx(ck.meta, 'next', '0');
  await redis.hset(ck.meta, { seed: o.seed, targets: specs.join(','), unitSize: String(U), maxEvents: String(o.maxEvents), model: o.model });
  let next = Number(await redis.hget(ck.meta, 'next')) || 0;
  const resumedAt = next;

  const merge = new Merge();
  const summary: CoordinatorSummary = {
    campaign, scenarios: 0, events: 0, divergent: 0, sessionEvents: 0, sessionUnits: 0, unitsPhaseMs: 0, units: 0, unitMs: 0, newFindings: [], elapsedMs: 0,
    perTarget: {}, bySignature: {}, buckets: 0, failed: [], pending: 0, workers: {}, duplicatesIgnored: 0,
  };
  const outstandingUnits = new Set<string>();
  const outstandingMin = new Map<string, MinimizeData>();
  const failed = new Set<string>();
  const written = new Set<string>();
  let logPos = 0;
  let replaying = true;
  let dirty = true;

  const rowUnitsOf = (row: number): UnitData[] => rowUnits(campaign, o.model, o.seed, specs, U, o.maxEvents, o.iterations, row);
  const lastRow = o.iterations === undefined ? Infinity : Math.ceil(o.iterations / (n * U));

  const addUnit = async (u: UnitData) => {
    if (merge.merged.has(u.id) || failed.has(u.id)) return;
    await queue.add('unit', u, { ...UNIT_JOB, jobId: u.id });
    outstandingUnits.add(u.id);
  };

  const bucketsChanged = () => { dirty = true; };

  // The next try at minimizing a root cause, from the next interleaving that showed it.
  const considerMinimize = async (b: Bucket) => {
    if (known.signatures.has(b.signature) || written.has(b.signature)) { b.state = 'done'; return; }
    if (b.state === 'done' || b.state === 'queued') return;
    // With --iterations the tries wait for every unit: a bucket's seeds are then its lowest ones
    // whatever order the units finished in, so the reproducers are those the local engine finds
    // from the same seeds (a try from whichever seed came first made them depend on timing).
    if (lastRow !== Infinity && !(next >= lastRow && outstandingUnits.size === 0)) return;
    const attempt = b.state === 'failed' ? b.attempt + 1 : 0;
    if (attempt > 2 || attempt >= b.seeds.length) return; // out of tries, or waiting for another seed
    const m: MinimizeData = {
      kind: 'minimize', id: minimizeId(campaign, b.signature, attempt), campaign, model: o.model, target: b.target,
      signature: b.signature, attempt, seed: o.seed, stream: 0, iter: b.seeds[attempt]!, maxEvents: o.maxEvents,
    };
    b.attempt = attempt;
    b.state = 'queued';
    if (merge.merged.has(m.id)) return; // its result is already in the log: replayed below
    await queue.add('minimize', m, { ...MIN_JOB, jobId: m.id });
    outstandingMin.set(m.id, m);
  };

  const record = (sig: string, text: string, events: number, original: number, target: string) => {
    const [backend, variant] = target.split('/') as [string, string];
    const path = crashPath(o.out, backend, variant, sig.split(':')[1]!, sig);
    written.add(sig);
    if (known.signatures.has(sig)) return;
    if (!existsSync(path)) writeAtomic(path, text);
    known.signatures.add(sig);
    summary.newFindings.push({ signature: sig, path });
    listen({ kind: 'finding', text: `${sig}  (${original} → ${events} events)`, path, signature: sig });
  };

  // Read results logged since the last look (all of them after a restart) and fold them in.
  const pull = async () => {
    for (;;) {
      const ids = await redis.lrange(ck.log, logPos, logPos + 499);
      if (ids.length === 0) return;
      logPos += ids.length;
      const fresh = ids.filter((id) => !merge.merged.has(id));
      summary.duplicatesIgnored += ids.length - fresh.length;
      const texts = fresh.length ? await redis.hmget(ck.results, ...fresh) : [];
      for (let i = 0; i < fresh.length; i++) {
        const id = fresh[i]!;
        const text = texts[i];
        if (text === null || text === undefined) continue;
        let r;
        try { r = checkResult(text, `result ${id.slice(0, 40)}`); } catch (err) {
          // A malformed result (ProtocolError, or a ScenarioError from its reproducer) is skipped, said once.
          if (!(err instanceof Error)) throw err;
          listen({ kind: 'warning', text: err.message.slice(0, 500) });
          merge.merged.add(id);
          continue;
        }
        if (r.id !== id) { listen({ kind: 'warning', text: `result ${id.slice(0, 40)}: field 'id': names another job; ignored` }); merge.merged.add(id); continue; }
        if (r.kind === 'unit') {
          if (!merge.unit(r)) continue;
          outstandingUnits.delete(id);
          if (!replaying) { summary.sessionEvents += r.events; summary.sessionUnits++; summary.unitsPhaseMs = Date.now() - started; }
          if (!replaying) for (const sig of Object.keys(r.hits)) await considerMinimize(merge.buckets.get(sig)!);
        } else {
          if (!merge.minimize(r)) continue;
          outstandingMin.delete(id);
          const b = merge.buckets.get(r.signature);
          if (r.ok && r.scenario && b) {
            if (`${r.scenario.found?.backend}/${r.scenario.found?.variant}` !== b.target || r.scenario.found?.signature !== r.signature) {
              listen({ kind: 'warning', text: `result ${id}: reproducer names another root cause; ignored` });
              b.state = 'failed';
            } else record(r.signature, scenarioText(r.scenario), r.scenario.events.length, r.scenario.found.originalEvents, b.target);
          }
          if (b && !replaying) await considerMinimize(b);
        }
        bucketsChanged();
      }
    }
  };

  // Jobs that failed for good (a backend exception, say) or vanished (removed by hand): said once, or added again.
  const audit = async () => {
    for (const id of [...outstandingUnits, ...outstandingMin.keys()]) {
      if (merge.merged.has(id)) { outstandingUnits.delete(id); outstandingMin.delete(id); continue; }
      const st = await queue.getJobState(id);
      if (st === 'failed') {
        const job = await queue.getJob(id);
        const why = (job?.failedReason ?? 'failed').slice(0, 300);
        failed.add(id);
        summary.failed.push(`${id}: ${why}`);
        listen({ kind: 'warning', text: `job ${id} failed for good: ${why}` });
        outstandingUnits.delete(id);
        const m = outstandingMin.get(id);
        if (m) {
          outstandingMin.delete(id);
          const b = merge.buckets.get(m.signature);
          if (b) { b.state = 'failed'; await considerMinimize(b); }
        }
      } else if (st === 'unknown') {
        // Finished and removed, its result not pulled yet; or really gone: then again.
        if ((await redis.hexists(ck.results, id)) === 1) continue;
        const m = outstandingMin.get(id);
        if (m) await queue.add('minimize', m, { ...MIN_JOB, jobId: id });
        else {
          const row = rowOf.get(id);
          if (row) await queue.add('unit', row, { ...UNIT_JOB, jobId: id });
        }
      }
    }
  };
  const rowOf = new Map<string, UnitData>();

  // 1. What happened before (a restart): the whole log, then holes below the cursor.
  await pull();
  replaying = false;
  for (const b of merge.buckets.values()) await considerMinimize(b);
  if (resumedAt > 0) listen({ kind: 'info', text: `resuming campaign ${campaign}: ${merge.units} units merged before, ${resumedAt} rows enqueued` });
  for (let row = 0; row < Math.min(next, lastRow); row++) {
    for (const u of rowUnitsOf(row)) { rowOf.set(u.id, u); await addUnit(u); }
  }

  const deadline = o.seconds === undefined ? Infinity : started + o.seconds * 1000;
  let lastReport = Date.now();
  let lastAudit = Date.now();
  let lastState = 0;
  let threads = 0;
  let liveWorkers = 0;
  let graceUntil = Infinity;
  let removedWaiting = false;
  let minimizeStarted = false;

  const saveState = () => {
    const lines = [...merge.buckets.values()].sort((a, b) => (a.signature < b.signature ? -1 : 1)).map((b) => {
      const [backend, variant] = b.target.split('/') as [string, string];
      const path = crashPath(o.out, backend, variant, b.signature.split(':')[1]!, b.signature);
      return JSON.stringify({
        signature: b.signature, count: b.count, workers: [...b.workers].sort(),
        seeds: b.seeds.map((i) => `${o.seed}:0:${i}`), reproducer: existsSync(path) ? path : null, minimization: b.state,
      });
    });
    writeAtomic(join(o.out, 'buckets.ndjson'), lines.join('\n') + (lines.length ? '\n' : ''));
    writeAtomic(join(o.out, 'distributed.ndjson'), JSON.stringify({
      campaign, queue: o.queue, redis: o.shownUrl, model: o.model, seed: o.seed, targets: specs, unitSize: U, maxEvents: o.maxEvents,
      rowsEnqueued: next, unitsMerged: merge.units, interleavings: merge.scenarios, events: merge.events, updated: new Date().toISOString(),
    }) + '\n');
    dirty = false;
  };

  for (;;) {
    const now = Date.now();
    const stopping = stop.requested || now >= deadline;
    // 2. Keep enough units queued for every live worker thread, whole rows at a time.
    if (!stopping) {
      const ahead = Math.max(n, 2 * threads, 4);
      while (next < lastRow && outstandingUnits.size < ahead) {
        for (const u of rowUnitsOf(next)) { rowOf.set(u.id, u); await addUnit(u); }
        next++;
        await redis.hset(ck.meta, 'next', String(next));
      }
    } else if (!removedWaiting) {
      // Out of budget: units not started yet are taken back (a later run with the same
      // arguments enqueues them again); running ones finish and are merged.
      removedWaiting = true;
      graceUntil = now + o.graceMs;
      for (const id of [...outstandingUnits]) {
        if ((await queue.remove(id)) === 1) outstandingUnits.delete(id);
      }
    }
    await pull();
    // The units are all merged (--iterations): the deferred minimizations start now.
    if (lastRow !== Infinity && !minimizeStarted && next >= lastRow && outstandingUnits.size === 0) {
      minimizeStarted = true;
      for (const b of merge.buckets.values()) await considerMinimize(b);
    }
    if (now - lastAudit >= 2000) {
      lastAudit = now;
      await audit();
      const ws = await redis.hgetall(k.workers);
      threads = 0; liveWorkers = 0;
      for (const v of Object.values(ws)) {
        try {
          const w = JSON.parse(v) as { threads?: unknown; seen?: unknown };
          if (typeof w.seen === 'number' && now - w.seen < 10_000 && typeof w.threads === 'number') { liveWorkers++; threads += Math.min(w.threads, 1024); }
        } catch { /* a stranger's entry: not a worker */ }
      }
    }
    if (dirty && now - lastState >= 2000) { lastState = now; saveState(); }
    if (now - lastReport >= o.reportEveryMs) {
      lastReport = now;
      const secs = (now - started) / 1000;
      listen({ kind: 'progress', text: `${secs.toFixed(0)}s: ${merge.scenarios} interleavings, ${merge.events} events (${Math.round(summary.sessionEvents / secs)}/s), ${merge.divergent} divergent, ${merge.buckets.size} root causes; units ${merge.units} merged, ${outstandingUnits.size} queued or running; minimizing ${outstandingMin.size}; ${liveWorkers} workers (${threads} threads)` });
    }
    const finished = (next >= lastRow || removedWaiting) && outstandingUnits.size === 0 && outstandingMin.size === 0;
    if (finished) break;
    if (now >= graceUntil) {
      listen({ kind: 'warning', text: `stopping with ${outstandingUnits.size} units and ${outstandingMin.size} minimizations unfinished: they stay queued, and the same command later collects them` });
      break;
    }
    await sleep(outstandingUnits.size + outstandingMin.size > 0 ? 200 : 50);
  }
  await pull();
  saveState();
  await queue.close();
  Object.assign(summary, {
    scenarios: merge.scenarios, events: merge.events, divergent: merge.divergent, units: merge.units, unitMs: merge.unitMs,
    perTarget: merge.perTarget, bySignature: merge.bySignature, buckets: merge.buckets.size,
    pending: outstandingUnits.size + outstandingMin.size, workers: Object.fromEntries(merge.workers), elapsedMs: Date.now() - started,
  });
  return summary;
}
