// Where a campaign worker's fixed cost goes: a fresh worker thread (a fresh V8 isolate, as a
// campaign spawns) loads the engine's modules, builds the guarded targets, then runs the random
// loop in rounds; after each stage it reports its own thread's CPU and the process's (the rest
// is V8's helper threads: the optimizing compiler, GC). The first rounds cost more than the
// steady state (interpreted code, then compiling); the sum of that excess is the per-isolate
// cost a second worker adds. Median of --runs fresh workers, one after the other.
//   node dist/bench/worker-startup.js [--runs 3] [--iterations 2000] [--rounds 10] [--backend NAME/VARIANT]...
// Flags for V8 go to node itself (node --single-threaded-gc dist/bench/worker-startup.js): a
// worker thread runs with its process's flags.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { threadCpuMs } from '../fuzz/thread-cpu.js';
import { benchArgs } from './args.js';

interface Args { iterations: number; rounds: number; filters: string[] }
interface Report { stage: string; threadMs: number; processMs: number; wallMs: number }

const processMs = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2; };

async function inWorker(a: Args & { spawnedAt: number; p0: number }): Promise<void> {
  // process.cpuUsage() in a worker counts the whole process, like the parent's.
  const report = (stage: string) => parentPort!.postMessage({ stage, threadMs: threadCpuMs() ?? NaN, processMs: processMs() - a.p0, wallMs: Date.now() - a.spawnedAt } satisfies Report);
  report('spawned');
  // The modules a campaign worker loads (worker.ts imports these and little else).
  const { allBackends } = await import('../backends/load.js');
  const job = await import('../fuzz/job.js');
  const { resolveTargets } = await import('../fuzz/targets.js');
  await import('../store/files.js');
  await import('../scenario/schema.js');
  report('modules loaded');
  const backends = await allBackends([]);
  const { targets } = job.guardTargets(resolveTargets(backends, a.filters), false);
  report('targets built');
  for (let r = 0; r < a.rounds; r++) {
    // One job over all rounds would be one call (as in a campaign); a call per round keeps the
    // rounds apart at the cost of a new on-stack-replacement compile of runJob per round.
    job.runJob(targets, {
      seed: 'ws', job: 0, startIter: r * a.iterations, endIter: (r + 1) * a.iterations, deadline: Infinity, maxEvents: 40,
      known: new Set(), engine: 'random', onCandidate: () => {},
    }, () => {}, () => {}, () => Date.now());
    report(`round ${r}`);
  }
}

async function main(): Promise<void> {
  const { values } = benchArgs('node dist/bench/worker-startup.js [--runs 3] [--iterations 2000] [--rounds 10] [--backend NAME[/VARIANT]]...', { runs: { type: 'string' }, iterations: { type: 'string' }, rounds: { type: 'string' }, backend: { type: 'string', multiple: true } });
  const a: Args = {
    iterations: Number(values.iterations ?? 2000), rounds: Number(values.rounds ?? 10),
    filters: (values.backend as string[] | undefined) ?? ['kvm/v4.16', 'bhyve/fixed', 'xen/4.22', 'acrn/v3.3-adv'],
  };
  const runs = Number(values.runs ?? 3);
  const rows: { ready: Report; thread: number[]; proc: number[] }[] = [];
  for (let k = 0; k < runs; k++) {
    const reps: Report[] = [];
    const p0 = processMs();
    await new Promise<void>((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { ...a, spawnedAt: Date.now(), p0 } });
      w.on('message', (m: Report) => reps.push(m));
      w.on('error', reject);
      w.on('exit', () => resolve());
    });
    const ready = reps.find((r) => r.stage === 'targets built')!;
    const rounds = reps.filter((r) => r.stage.startsWith('round'));
    const thread: number[] = [], proc: number[] = [];
    rounds.forEach((r, i) => { const prev = i === 0 ? ready : rounds[i - 1]!; thread.push(r.threadMs - prev.threadMs); proc.push(r.processMs - prev.processMs); });
    rows.push({ ready, thread, proc });
    const mods = reps.find((r) => r.stage === 'modules loaded')!;
    console.log(`run ${k + 1}: modules loaded ${mods.threadMs} ms thread CPU (${mods.processMs.toFixed(0)} process, ${mods.wallMs} wall); targets built ${ready.threadMs} ms thread (${ready.processMs.toFixed(0)} process); ` +
      `per ${a.iterations} iterations, thread CPU ${thread.join(' ')} ms, process CPU ${proc.map((x) => x.toFixed(0)).join(' ')} ms`);
  }
  // Steady state: the median round of the second half; the excess of the rounds over it is the warm-up.
  const steady = (xs: number[]) => median(xs.slice(Math.floor(xs.length / 2)));
  const excess = (xs: number[]) => xs.reduce((s, x) => s + x, 0) - xs.length * steady(xs);
  const readyT = median(rows.map((r) => r.ready.threadMs)), readyP = median(rows.map((r) => r.ready.processMs));
  const exT = median(rows.map((r) => excess(r.thread))), exP = median(rows.map((r) => excess(r.proc)));
  console.log(`median of ${runs}: start-up (modules, targets) ${readyT.toFixed(0)} ms thread CPU, ${readyP.toFixed(0)} ms process; ` +
    `warm-up over ${a.rounds * a.iterations} iterations ${exT.toFixed(0)} ms thread CPU (interpreted and baseline code) + ${(exP - exT).toFixed(0)} ms on helper threads (optimizing compiler) = ${exP.toFixed(0)} ms; ` +
    `steady state ${median(rows.map((r) => steady(r.thread))).toFixed(0)} ms thread, ${median(rows.map((r) => steady(r.proc))).toFixed(0)} ms process per ${a.iterations} iterations`);
  console.log(`fixed cost of a fresh worker: ${((readyP + exP) / 1000).toFixed(2)} CPU-s (process)`);
}

if (isMainThread) await main();
else await inWorker(workerData as Args & { spawnedAt: number; p0: number });
