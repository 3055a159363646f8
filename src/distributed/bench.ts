// Throughput of a distributed campaign against the local engine on this machine:
//   node dist/distributed/bench.js --queue redis://127.0.0.1:PORT/0 [--time 30] [--procs 1,2,4]
//                                  [--overhead ITERATIONS] [--backend B/V]...
// Local: `irqdiff fuzz --time T` (one job per core). Distributed: P worker processes of one
// thread each and a coordinator for the same time. Overhead per unit: the same N interleavings
// on one single-thread worker in units of 50 and of N/4 (the difference per extra unit).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const BIN = resolve(fileURLToPath(new URL('../../bin/irqdiff.js', import.meta.url)));
const a = parseArgs({ options: { queue: { type: 'string' }, time: { type: 'string' }, procs: { type: 'string' }, overhead: { type: 'string' }, known: { type: 'string' }, backend: { type: 'string', multiple: true } } }).values;
if (!a.queue) { console.error('bench: --queue redis://HOST:PORT/DB is required'); process.exit(2); }
const T = Number(a.time ?? 30);
const procs = (a.procs ?? '1,2,4').split(',').map(Number);
const backends = (a.backend ?? []).flatMap((b) => ['--backend', b]);

// CPU seconds as well as wall time: on a shared machine the wall rate says as much about the
// neighbours as about us; events per CPU second compare the engines' own cost.
let lastCpu = 0;
function irqdiff(args: string[]): string {
  const f = join(mkdtempSync(join(tmpdir(), 'irqdiff-time-')), 'cpu');
  const r = spawnSync('/usr/bin/time', ['-o', f, '-f', '%U %S', process.execPath, BIN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status === 2) throw new Error(`irqdiff ${args.join(' ')}: ${r.stderr}`);
  const [u, sy] = readFileSync(f, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  lastCpu = u! + sy!;
  return r.stdout;
}
/** utime + stime of a live process (all its threads), in seconds. */
function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}
const eventsOf = (text: string): number => Number((/this run \d+ units, (\d+) events/.exec(text) ?? /done: \d+ interleavings, (\d+) events/.exec(text))?.[1] ?? NaN);
const rate = (text: string): number => Number(/\((\d+) events\/s[;)]/.exec(text)?.[1] ?? NaN);
// --known DIR: every run starts from a copy of DIR (a campaign directory), so root causes found
// there are not minimized again and the runs measure fuzzing, not a burst of first minimizations.
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'irqdiff-bench-'));
  if (a.known) cpSync(a.known, d, { recursive: true });
  return d;
};
const unitsRate = (text: string): number => Number(/units (\d+) events\/s/.exec(text)?.[1] ?? NaN);

function workers(n: number, q: string): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, [BIN, 'worker', '--queue', a.queue!, '--name', q, '--jobs', '1', '--quiet'], { stdio: 'ignore' }));
}
async function stop(ws: ChildProcess[]): Promise<number> {
  const cpu = ws.reduce((acc, w) => acc + cpuOf(w.pid!), 0);
  await Promise.all(ws.map((w) => new Promise<void>((r) => { w.on('exit', () => r()); w.kill('SIGTERM'); })));
  return cpu;
}

async function main(): Promise<void> {
  const rows: string[] = [];
  const r0 = new Redis(a.queue!);
  const redisPid = Number(/process_id:(\d+)/.exec(await r0.info('server'))?.[1]);
  r0.disconnect();
  let out = tmp();
  const ltext = irqdiff(['fuzz', '--time', `${T}s`, '--out', out, ...backends]);
  const local = rate(ltext);
  const localPerCpu = eventsOf(ltext) / lastCpu;
  rmSync(out, { recursive: true, force: true });
  rows.push(`local engine (fuzz --time ${T}s, jobs = cores)   ${local} events/s   1.00   ${Math.round(localPerCpu)} events per CPU second (${lastCpu.toFixed(1)} CPU s)   1.00`);
  for (const p of procs) {
    const q = `bench-${process.pid}-${p}`;
    const ws = workers(p, q);
    out = tmp();
    const redis0 = cpuOf(redisPid);
    const text = irqdiff(['fuzz', '--queue', a.queue!, '--name', q, '--time', `${T}s`, '--out', out, ...backends]);
    const cpu = lastCpu + (await stop(ws)) + cpuOf(redisPid) - redis0;
    const perCpu = eventsOf(text) / cpu;
    rmSync(out, { recursive: true, force: true });
    const r = rate(text);
    const u = unitsRate(text);
    rows.push(`${p} worker process${p > 1 ? 'es' : ''} (1 thread each)   ${r} events/s   ${(r / local).toFixed(2)}   (until the last unit: ${u} events/s, ${(u / local).toFixed(2)})   ${Math.round(perCpu)} events per CPU second (${cpu.toFixed(1)} CPU s: workers, coordinator, redis)   ${(perCpu / localPerCpu).toFixed(2)}`);
  }
  if (a.overhead) {
    const N = Number(a.overhead);
    const time = async (unit: number): Promise<{ s: number; cpu: number; units: number }> => {
      const q = `bench-${process.pid}-u${unit}`;
      const ws = workers(1, q);
      const dir = tmp();
      const redis0 = cpuOf(redisPid);
      const t0 = Date.now();
      const text = irqdiff(['fuzz', '--queue', a.queue!, '--name', q, '--iterations', String(N), '--unit-size', String(unit), '--out', dir, ...backends]);
      const s = (Date.now() - t0) / 1000;
      const cpu = lastCpu + (await stop(ws)) + cpuOf(redisPid) - redis0;
      rmSync(dir, { recursive: true, force: true });
      return { s, cpu, units: Number(/units: (\d+) merged/.exec(text)?.[1] ?? NaN) };
    };
    const big = await time(Math.ceil(N / 4));
    const small = await time(50);
    const extra = small.units - big.units;
    rows.push(`overhead: ${N} interleavings in ${big.units} units ${big.s.toFixed(1)} s (${big.cpu.toFixed(1)} CPU s), in ${small.units} units ${small.s.toFixed(1)} s (${small.cpu.toFixed(1)} CPU s): ${(((small.s - big.s) / extra) * 1000).toFixed(1)} ms wall and ${(((small.cpu - big.cpu) / extra) * 1000).toFixed(1)} ms CPU per extra unit`);
  }
  for (const r of rows) console.log(r);
}

main().catch((err: unknown) => { console.error(err); process.exit(2); });
