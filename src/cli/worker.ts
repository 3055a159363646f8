// The distributed commands: `irqdiff fuzz --queue URL ...` (the coordinator) and
// `irqdiff worker --queue URL` (runs units on all cores). Kept out of main.ts, which only
// dispatches here.
import { cpus } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { allBackends } from '../backends/load.js';
import { runCoordinator } from '../distributed/coordinator.js';
import { corpusSignatures, DEFAULT_GEN, parseDuration, rateAlarms, resolveTargets, runsOf } from '../distributed/engine.js';
import { modelHash, ownRoot } from '../distributed/model.js';
import { connect, parseQueueUrl, QueueUrlError } from '../distributed/redis.js';
import { ModelMismatch, runWorker } from '../distributed/worker.js';
import { shown } from '../scenario/sanitize.js';
import { findingLine, printAlarms, tallyFindings } from './findings.js';
import { emphasis, useColor } from './output.js';

/** Thrown for bad arguments; main.ts turns it into one line and exit 2. */
export class DistributedUsageError extends Error {}

export const HELP_FUZZ_QUEUE = `usage: irqdiff fuzz --queue redis://[:PASSWORD@]HOST[:PORT][/DB] [--name QUEUE]
                   [--backend NAME[/VARIANT]]... [--time 30s|10m|8h | --iterations N] [--seed N]
                   [--out DIR] [--corpus DIR] [--unit-size N] [--max-events N] [--backend-module FILE]...

The coordinator of a campaign over many machines (workers: 'irqdiff worker --queue URL').
It enqueues work units of --unit-size interleavings (default 2048) of one backend variant,
merges the buckets workers send back (root cause → workers and seeds that hit it, in
<out>/buckets.ndjson), has each new root cause minimized once, and writes reproducers into
--out (default crashes/) exactly as a local campaign does, so 'irqdiff triage' works on it.
--iterations N runs the first N interleavings (the seeds of a local job 0), else --time.
Restarted with the same arguments it continues the same campaign. rediss:// uses TLS.
Never expose Redis without a password: anyone who can write to it can fill your buckets.
Exit: as 'irqdiff fuzz' (1: a new UNEXPECTED root cause or a rate jump), 2 usage or Redis error.`;

export const HELP_WORKER = `usage: irqdiff worker --queue redis://[:PASSWORD@]HOST[:PORT][/DB] [--name QUEUE] [--jobs N]
                     [--backend-module FILE]... [--lock-ms MS] [--stalled-ms MS] [--quiet]

Takes work units and minimizations from the queue and runs them on --jobs worker threads
(default: one per core) until stopped (SIGINT/SIGTERM finish the running units first). A
worker killed outright loses nothing: its units are handed to another worker once their
lock (--lock-ms, default 30000) has expired, found by a check every --stalled-ms.
Jobs name backend variants and seeds, never code: a variant of a --backend-module must be
loaded from this machine's own disk. A worker whose model code (dist/ and its modules)
differs from the coordinator's refuses to work and exits 2.`;

const COMMON: ParseArgsConfig['options'] = {
  help: { type: 'boolean', short: 'h' },
  'backend-module': { type: 'string', multiple: true },
  queue: { type: 'string' },
  name: { type: 'string' },
};

function args(argv: string[], options: ParseArgsConfig['options']) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new DistributedUsageError((err as Error).message);
  }
}

function intOpt(v: unknown, name: string, lo: number, hi: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new DistributedUsageError(`${name} must be a whole number from ${lo} to ${hi}`);
  return n;
}

function queueName(v: unknown): string {
  const q = (v as string | undefined) ?? 'irqdiff';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(q)) throw new DistributedUsageError('--name must be 1 to 64 characters [A-Za-z0-9_.-]');
  return q;
}

/** Whether `irqdiff fuzz` was asked to coordinate a queue. */
export const wantsQueue = (argv: string[]): boolean => argv.some((a) => a === '--queue' || a.startsWith('--queue='));

export async function cmdFuzzQueue(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, {
    backend: { type: 'string', multiple: true }, time: { type: 'string' }, iterations: { type: 'string' }, seed: { type: 'string' },
    out: { type: 'string' }, corpus: { type: 'string' }, 'unit-size': { type: 'string' }, 'max-events': { type: 'string' }, grace: { type: 'string' },
  });
  if (a.values.help) { out(HELP_FUZZ_QUEUE); return 0; }
  if (a.positionals.length > 0) throw new DistributedUsageError(`fuzz: unexpected argument '${shown(a.positionals[0]!, 100)}'`);
  const url = parseQueueUrl(String(a.values.queue));
  const queue = queueName(a.values.name);
  const modules = (a.values['backend-module'] as string[] | undefined) ?? [];
  const filters = (a.values.backend as string[] | undefined) ?? [];
  if (a.values.time !== undefined && a.values.iterations !== undefined) throw new DistributedUsageError('fuzz: give --time or --iterations, not both');
  let seconds: number | undefined;
  try { seconds = a.values.iterations === undefined ? parseDuration((a.values.time as string | undefined) ?? '30s') : undefined; } catch (err) { throw new DistributedUsageError((err as Error).message); }
  const iterations = a.values.iterations === undefined ? undefined : intOpt(a.values.iterations, '--iterations', 1, 1e12, 0);
  const unitSize = intOpt(a.values['unit-size'], '--unit-size', 1, 1_000_000, 2048);
  const maxEvents = intOpt(a.values['max-events'], '--max-events', 4, 4000, DEFAULT_GEN.maxEvents);
  const graceMs = intOpt(a.values.grace, '--grace', 0, 86_400, 120) * 1000;
  const seed = (a.values.seed as string | undefined) ?? '1';
  if (!/^[\x20-\x7e]{0,100}$/.test(seed)) throw new DistributedUsageError('--seed must be printable text of at most 100 characters');
  const outDir = (a.values.out as string | undefined) ?? 'crashes';
  const corpus = corpusSignatures((a.values.corpus as string | undefined) ?? 'corpus');
  const backends = await allBackends(modules);
  const targets = resolveTargets(backends, filters);
  if (targets.length === 0) throw new DistributedUsageError('fuzz: no backend variant to run');
  const model = modelHash(ownRoot(), modules);
  const redis = await connect(url);
  const stop = { requested: false };
  const onSignal = () => {
    if (stop.requested) process.exit(130);
    stop.requested = true;
    out('stopping: taking back queued units, waiting for running ones (again to quit at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const emph = (t: string) => emphasis(t, useColor(process.stdout));
  out(`irqdiff fuzz --queue ${url.shown} (queue '${queue}'): ${targets.length} variants, ${iterations !== undefined ? `${iterations} interleavings` : `${seconds}s`}, units of ${unitSize}, seed ${seed}, model ${model.slice(0, 12)}, out ${outDir}/`);
  let summary;
  try {
    summary = await runCoordinator(redis, {
      queue, shownUrl: url.shown, backends, filters, model, seed, seconds, iterations, unitSize, maxEvents, out: outDir, reportEveryMs: 5000, graceMs,
    }, (e) => {
      if (e.kind === 'finding') out(findingLine(backends, corpus, e.signature!, e.text, e.path ?? '', emph));
      else out(e.kind === 'warning' ? `warning: ${shown(e.text, 1000)}` : shown(e.text, 1000));
    }, stop);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    redis.disconnect();
  }
  const secs = summary.elapsedMs / 1000;
  const { classes, unexpected } = tallyFindings(backends, summary.newFindings, corpus);
  const alarms = maxEvents === DEFAULT_GEN.maxEvents ? rateAlarms(backends, summary.bySignature, runsOf(summary.perTarget)) : [];
  out(`done: ${summary.scenarios} interleavings, ${summary.events} events; this run ${summary.sessionUnits} units, ${summary.sessionEvents} events in ${secs.toFixed(1)}s (${Math.round(summary.sessionEvents / secs)} events/s; units ${Math.round(summary.sessionEvents / Math.max(summary.unitsPhaseMs / 1000, 0.001))} events/s), ${summary.divergent} divergent; ${summary.buckets} root causes, ${summary.newFindings.length} new (${classes.unexpected} UNEXPECTED, ${classes.expected} documented bugs, ${classes.known} documented deviations, ${classes.corpus} in corpus)`);
  out(`  units: ${summary.units} merged, ${summary.duplicatesIgnored} duplicate results ignored, ${summary.failed.length} failed, ${summary.pending} unfinished; workers: ${Object.entries(summary.workers).map(([w, u]) => `${shown(w, 100)} ${u}`).join(', ') || 'none'}`);
  for (const [k, [sc, ev, dv]] of Object.entries(summary.perTarget)) out(`  ${k.padEnd(28)} ${String(sc).padStart(9)} interleavings ${String(ev).padStart(11)} events ${String(dv).padStart(8)} divergent`);
  for (const f of summary.failed) out(`failed: ${shown(f, 400)}`);
  printAlarms(alarms, unexpected, out, emph);
  if (unexpected.length > 0 || alarms.length > 0) out(`read them with: irqdiff triage ${outDir}`);
  return unexpected.length > 0 || alarms.length > 0 ? 1 : 0;
}

export async function cmdWorker(argv: string[], out: (l: string) => void, err: (l: string) => void): Promise<number> {
  const a = args(argv, { jobs: { type: 'string' }, 'lock-ms': { type: 'string' }, 'stalled-ms': { type: 'string' }, quiet: { type: 'boolean' } });
  if (a.values.help) { out(HELP_WORKER); return 0; }
  if (a.positionals.length > 0) throw new DistributedUsageError(`worker: unexpected argument '${shown(a.positionals[0]!, 100)}'`);
  if (a.values.queue === undefined) throw new DistributedUsageError('worker: --queue redis://HOST:PORT/DB is required');
  const url = parseQueueUrl(String(a.values.queue));
  const queue = queueName(a.values.name);
  const modules = (a.values['backend-module'] as string[] | undefined) ?? [];
  const threads = intOpt(a.values.jobs, '--jobs', 1, 256, Math.max(1, cpus().length));
  const lockMs = intOpt(a.values['lock-ms'], '--lock-ms', 500, 3_600_000, 30_000);
  const stalledMs = intOpt(a.values['stalled-ms'], '--stalled-ms', 250, 3_600_000, 30_000);
  await allBackends(modules); // a module that does not load is a usage error now, not in a thread later
  const model = modelHash(ownRoot(), modules);
  const redis = await connect(url);
  let stopNow!: () => void;
  const stop = new Promise<void>((r) => { stopNow = r; });
  const onSignal = () => { out('stopping: finishing running units'); stopNow(); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  out(`irqdiff worker: queue '${queue}' on ${url.shown}, ${threads} threads, model ${model.slice(0, 12)}`);
  try {
    await runWorker(redis, { queue, threads, modules, model, lockMs, stalledMs }, a.values.quiet ? () => undefined : (l) => out(l), stop);
  } catch (e) {
    if (e instanceof ModelMismatch) { err(`irqdiff worker: ${e.message}`); return 2; }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    redis.disconnect();
  }
  return 0;
}

export const isDistributedError = (e: unknown): e is Error => e instanceof DistributedUsageError || e instanceof QueueUrlError;
