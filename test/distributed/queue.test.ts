// A distributed campaign on a real Redis: a coordinator and two worker processes on this
// machine; one worker is killed with SIGKILL in the middle of a unit and the coordinator is
// killed and restarted; every root cause that the same seeds show when run locally is
// found exactly once, with the exact count of interleavings that showed it. Needs Redis:
// IRQDIFF_TEST_REDIS=redis://127.0.0.1:PORT (what .ci/run exports), or a redis-server binary
// to start one here; without either the tests skip and say so.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { runScenario } from '../../src/engine/session.js';
import { generateAndRun } from '../../src/gen/generator.js';
import { minimize } from '../../src/minimizer/minimize.js';
import { findTarget } from '../../src/distributed/engine.js';
import { listJson, readScenarioFile } from '../../src/store/files.js';

const BIN = resolve('bin/irqdiff.js');
const hasServer = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
const given = process.env.IRQDIFF_TEST_REDIS;
const skip = !given && !hasServer;
if (skip) console.warn('test/distributed/queue.test.ts: skipped: IRQDIFF_TEST_REDIS is not set and no redis-server binary is installed (apt-get install redis-server, or run .ci/run)');

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port')))); });
  });
}

interface Proc { child: ChildProcess; lines: string[]; exit: Promise<number | null>; waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray> }
const procs: Proc[] = [];

function irqdiff(args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { re: RegExp; done: (m: RegExpMatchArray) => void }[] = [];
  const onLine = (l: string) => {
    lines.push(l);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = l.match(waiters[i]!.re);
      if (m) { waiters[i]!.done(m); waiters.splice(i, 1); }
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', (l) => onLine(`stderr: ${l}`));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const p: Proc = {
    child, lines, exit,
    waitFor: (re, ms) => new Promise((res, rej) => {
      for (const l of lines) { const m = l.match(re); if (m) return res(m); }
      const t = setTimeout(() => rej(new Error(`timed out waiting for ${re} in:\n${lines.slice(-20).join('\n')}`)), ms);
      waiters.push({ re, done: (m) => { clearTimeout(t); res(m); } });
    }),
  };
  procs.push(p);
  return p;
}

let url = given ?? '';
let server: ChildProcess | undefined;

describe.skipIf(skip)('distributed campaign on Redis', () => {
  beforeAll(async () => {
    if (given) return;
    const port = await freePort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}/0`;
    for (let i = 0; i < 50; i++) {
      const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
      r.on('error', () => undefined); // not up yet
      try { await r.connect(); await r.ping(); r.disconnect(); return; } catch { r.disconnect(); await new Promise((x) => setTimeout(x, 100)); }
    }
    throw new Error('redis-server did not start');
  });
  afterAll(() => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    server?.kill('SIGKILL');
  });

  it('worker and coordinator killed with SIGKILL: every root cause of the same seeds run locally found exactly once', async () => {
    const Q = `t16-${process.pid}-${Date.now()}`;
    const out = mkdtempSync(join(tmpdir(), 'irqdiff-dist-'));
    const N = 12000;
    const specs = ['bhyve/prefix', 'kvm/v4.10'];
    const common = ['--queue', url, '--name', Q];
    const worker = () => irqdiff(['worker', ...common, '--jobs', '1', '--lock-ms', '1500', '--stalled-ms', '500']);
    const coordinator = () => irqdiff(['fuzz', ...common, ...specs.flatMap((s) => ['--backend', s]), '--iterations', String(N), '--unit-size', '1500', '--seed', 't16', '--out', out]);
    const a = worker();
    const b = worker();
    const c1 = coordinator();
    // Kill worker A in the middle of its first unit: its lock expires and B takes the unit over.
    const [, killedUnit] = await a.waitFor(/^start unit (u-[0-9a-f]+)/, 60_000);
    a.child.kill('SIGKILL');
    expect(await a.exit).toBe(null);
    // Kill the coordinator once it has reported a finding, and start it again.
    await c1.waitFor(/^NEW /, 120_000);
    c1.child.kill('SIGKILL');
    await c1.exit;
    const c2 = coordinator();
    expect(await c2.exit, c2.lines.join('\n')).not.toBe(2);
    await c2.waitFor(/^done: /, 1000);
    expect(c2.lines.join('\n')).toMatch(/resuming campaign/);
    b.child.kill('SIGTERM');
    expect(await b.exit).toBe(0);

    // The unit A was running when it died was run again by B, and counted once.
    const r = new Redis(url);
    const keys = await r.keys(`irqdiff:${Q}:c:*:results`);
    expect(keys.length).toBe(1);
    const res = JSON.parse((await r.hget(keys[0]!, killedUnit!))!) as { worker: string };
    expect(res.worker.endsWith(`:${b.child.pid}`)).toBe(true);
    r.disconnect();

    // The same seeds, run here as the local engine runs them.
    const counts: Record<string, number> = {};
    const firstSeeds: Record<string, number[]> = {};
    for (let i = 0; i < N; i++) {
      const t = findTarget(BACKENDS, specs[i % specs.length]!);
      const { result } = generateAndRun(`t16:0:${i}`, t.backend, t.variant, { maxEvents: 40 });
      for (const d of result.divergences) {
        counts[d.signature] = (counts[d.signature] ?? 0) + 1;
        const s = firstSeeds[d.signature] ?? (firstSeeds[d.signature] = []);
        if (s.length < 3) s.push(i);
      }
    }
    // Buckets: one per root cause, each with exactly the local count (no unit lost or merged twice).
    const buckets = readFileSync(join(out, 'buckets.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { signature: string; count: number; workers: string[] });
    expect(Object.fromEntries(buckets.map((x) => [x.signature, x.count]))).toEqual(counts);
    // Reproducers: one file per root cause that the local engine can minimize, announced once.
    const local = new Set<string>();
    for (const [sig, seeds] of Object.entries(firstSeeds)) {
      for (const i of seeds) {
        const t = findTarget(BACKENDS, specs[i % specs.length]!);
        const { scenario } = generateAndRun(`t16:0:${i}`, t.backend, t.variant, { maxEvents: 40 });
        const m = minimize(scenario, t.backend, t.variant, sig);
        if (runScenario(m.scenario, t.backend, t.variant).primary?.signature === sig) { local.add(sig); break; }
      }
    }
    const files = listJson(out).map((f) => readScenarioFile(f).found!.signature);
    expect(new Set(files).size).toBe(files.length);
    // On a mismatch, say what the coordinator said about minimizations (failed tries, foreign causes).
    const notes = [...c1.lines, ...c2.lines].filter((l) => /warn|fail|another|minimiz/i.test(l)).join('\n');
    expect(new Set(files), notes).toEqual(local);
    const announced = [...c1.lines, ...c2.lines].filter((l) => l.startsWith('NEW ')).map((l) => l.split(/\s+/).find((w) => w.includes(':'))!);
    expect(new Set(announced).size).toBe(announced.length);
    for (const s of announced) expect(local.has(s)).toBe(true);
  }, 400_000);

  it('a worker running other model code refuses: at start, and for a job made by another model (which it leaves queued)', async () => {
    const Q = `t16m-${process.pid}-${Date.now()}`;
    const r = new Redis(url, { maxRetriesPerRequest: null });
    await r.set(`irqdiff:${Q}:model`, 'ee'.repeat(16));
    const w1 = irqdiff(['worker', '--queue', url, '--name', Q, '--jobs', '1']);
    expect(await w1.exit).toBe(2);
    expect(w1.lines.join('\n')).toMatch(/made for model eeee.*this worker runs model .*refusing it/);
    await r.del(`irqdiff:${Q}:model`);
    const q = new Queue(Q, { connection: r, prefix: 'irqdiff' });
    const id = `u-${'7'.repeat(24)}`;
    await q.add('unit', { kind: 'unit', id, campaign: 'cd'.repeat(12), model: 'ee'.repeat(16), seed: 's', stream: 0, target: 'kvm/v4.10', first: 0, stride: 1, count: 10, maxEvents: 40 }, { jobId: id });
    const w2 = irqdiff(['worker', '--queue', url, '--name', Q, '--jobs', '1']);
    expect(await w2.exit).toBe(2);
    expect(w2.lines.join('\n')).toMatch(new RegExp(`job ${id} was made for model e{32}, this worker runs model [0-9a-f]{32}: refusing it`));
    expect(['delayed', 'waiting']).toContain(await q.getJobState(id));
    await q.close();
    r.disconnect();
  }, 60_000);

  it('a wrong address or scheme is one line and exit 2', () => {
    const x = spawnSync(process.execPath, [BIN, 'worker', '--queue', 'redis://:hunter2@127.0.0.1:1/0'], { encoding: 'utf8', timeout: 30_000 });
    expect(x.status).toBe(2);
    expect(x.stderr).toMatch(/^irqdiff: cannot use Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0: /);
    expect(x.stderr).not.toContain('hunter2');
    const y = spawnSync(process.execPath, [BIN, 'fuzz', '--queue', 'http://x/0'], { encoding: 'utf8', timeout: 30_000 });
    expect(y.status).toBe(2);
    expect(y.stderr.trim().split('\n')).toHaveLength(1);
  });
});
