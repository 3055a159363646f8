// Throughput of a distributed campaign against the local engine on this machine:
//   node dist/distributed/bench.js --queue redis://127.0.0.1:PORT/0 [--time 30] [--procs 1,2,4]
//                                  [--overhead ITERATIONS] [--backend B/V]...
// Local: `irqdiff fuzz --time T` (one job per core). Distributed: P worker processes of one
// thread each and a coordinator for the same time. Overhead per unit: the same N interleavings
// on one single-thread worker in units of 50 and of N/4 (the difference per extra unit).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
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

function irqdiff(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status === 2) throw new Error(`irqdiff ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const rate = (text: string): number => Number(/\((\d+) events\/s\)/.exec(text)?.[1] ?? NaN);
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
async function stop(ws: ChildProcess[]): Promise<void> {
  await Promise.all(ws.map((w) => new Promise<void>((r) => { w.on('exit', () => r()); w.kill('SIGTERM'); })));
}

async function main(): Promise<void> {
  const rows: string[] = [];
  let out = tmp();
  const local = rate(irqdiff(['fuzz', '--time', `${T}s`, '--out', out, ...backends]));
  rmSync(out, { recursive: true, force: true });
  rows.push(`local engine (fuzz --time ${T}s, jobs = cores)   ${local} events/s   1.00`);
  for (const p of procs) {
    const q = `bench-${process.pid}-${p}`;
    const ws = workers(p, q);
    out = tmp();
    const text = irqdiff(['fuzz', '--queue', a.queue!, '--name', q, '--time', `${T}s`, '--out', out, ...backends]);
    await stop(ws);
    rmSync(out, { recursive: true, force: true });
    const r = rate(text);
    const u = unitsRate(text);
    rows.push(`${p} worker process${p > 1 ? 'es' : ''} (1 thread each)   ${r} events/s   ${(r / local).toFixed(2)}   (until the last unit: ${u} events/s, ${(u / local).toFixed(2)})`);
  }
  if (a.overhead) {
    const N = Number(a.overhead);
    const time = (unit: number): { s: number; units: number } => {
      const q = `bench-${process.pid}-u${unit}`;
      const ws = workers(1, q);
      const dir = tmp();
      const t0 = Date.now();
      const text = irqdiff(['fuzz', '--queue', a.queue!, '--name', q, '--iterations', String(N), '--unit-size', String(unit), '--out', dir, ...backends]);
      const s = (Date.now() - t0) / 1000;
      void stop(ws);
      rmSync(dir, { recursive: true, force: true });
      return { s, units: Number(/units: (\d+) merged/.exec(text)?.[1] ?? NaN) };
    };
    const big = time(Math.ceil(N / 4));
    const small = time(50);
    rows.push(`overhead: ${N} interleavings in ${big.units} units ${big.s.toFixed(1)}s, in ${small.units} units ${small.s.toFixed(1)}s: ${(((small.s - big.s) / (small.units - big.units)) * 1000).toFixed(1)} ms per extra unit`);
  }
  for (const r of rows) console.log(r);
}

main().catch((err: unknown) => { console.error(err); process.exit(2); });
