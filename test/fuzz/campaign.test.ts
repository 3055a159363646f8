// Overnight-run behaviour, through the command line as a user meets it: an iteration budget
// gives byte-identical reproducers; a campaign directory is resumed, never silently
// discarded; kill -9 loses at most the last seconds; SIGINT saves and says how to resume;
// a backend that throws is a crash finding, not a dead campaign.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve('bin/irqdiff.js');
function irqdiff(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tmp = () => mkdtempSync(join(tmpdir(), 'irqdiff-camp-'));

/** Every reproducer below `dir` (not the campaign's own files), path → bytes. */
function reproducers(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, n.name);
      if (n.isDirectory()) walk(p);
      else if (n.name.endsWith('.json') && n.name !== 'campaign.json') out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

interface State { seed: string; workers: number; iters: number[]; execs: number; buckets: Record<string, { count: number; reproducer: string; seeds: string[]; firstSeen: string }> }
const state = (d: string) => JSON.parse(readFileSync(join(d, 'campaign.json'), 'utf8')) as State;

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('campaign', () => {
  it('gives byte-identical reproducers for the same seed, workers and --iterations', () => {
    const a = tmp(), b = tmp();
    const run = (d: string) => irqdiff('fuzz', '--backend', 'kvm/v4.10', '--backend', 'xen/first', '--iterations', '240', '--workers', '2', '--seed', '5', '--out', d);
    const ra = run(a);
    expect(ra.code, ra.err).toBeLessThan(2);
    const rb = run(b);
    expect(rb.code, rb.err).toBeLessThan(2);
    const fa = reproducers(a);
    expect(Object.keys(fa).length).toBeGreaterThan(0);
    expect(reproducers(b)).toEqual(fa);
    expect(state(a).execs).toBe(240);
    expect(state(a).iters).toEqual([120, 120]);
    // Buckets name the reproducer of each root cause, and the iterations that hit it.
    for (const bk of Object.values(state(a).buckets)) {
      expect(bk.count).toBeGreaterThan(0);
      expect(bk.seeds[0]).toMatch(/^5:[01]:\d+$/);
    }
    expect(Object.values(state(a).buckets).some((bk) => bk.reproducer !== '' && existsSync(join(a, bk.reproducer)))).toBe(true);
    // A finished iteration budget is not run again on --resume.
    const again = irqdiff('fuzz', '--resume', '--out', a);
    expect(again.code, again.err).toBeLessThan(2);
    expect(state(a).execs).toBe(240);
  }, 300_000);

  it('refuses another seed, worker count or backend set into a campaign directory; --resume takes its settings', () => {
    const d = tmp();
    const first = irqdiff('fuzz', '--backend', 'baremetal', '--iterations', '40', '--workers', '1', '--seed', '9', '--out', d);
    expect(first.code, first.err).toBe(0);
    const before = readFileSync(join(d, 'campaign.json'), 'utf8');
    const seed = irqdiff('fuzz', '--backend', 'baremetal', '--iterations', '40', '--workers', '1', '--seed', '10', '--out', d);
    expect(seed.code).toBe(2);
    expect(seed.err).toMatch(/campaign\.json: \$\.seed: this directory holds a campaign with seed 9, not 10.*--resume/);
    const workers = irqdiff('fuzz', '--backend', 'baremetal', '--iterations', '40', '--workers', '2', '--seed', '9', '--out', d);
    expect(workers.err).toMatch(/\$\.workers: .*workers 1, not 2/);
    const backends = irqdiff('fuzz', '--backend', 'bhyve/fixed', '--iterations', '40', '--workers', '1', '--seed', '9', '--out', d);
    expect(backends.err).toMatch(/\$\.targets: .*baremetal/);
    expect(readFileSync(join(d, 'campaign.json'), 'utf8')).toBe(before);
    // --resume continues it with its own seed, workers and backends, and a bigger budget.
    const resumed = irqdiff('fuzz', '--resume', '--iterations', '60', '--out', d);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toMatch(/resumed at iterations 40/);
    expect(resumed.out).toMatch(/baremetal\/.*seed 9/);
    expect(state(d).execs).toBe(60);
    // Nothing to resume, and a corrupt resume point, are clear errors.
    expect(irqdiff('fuzz', '--resume', '--out', tmp()).err).toMatch(/no campaign to resume/);
    writeFileSync(join(d, 'campaign.json'), '{ "seed": 3');
    const bad = irqdiff('fuzz', '--backend', 'baremetal', '--out', d, '--time', '1s');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/campaign\.json: .*resume point, left untouched/);
  }, 240_000);

  it('survives kill -9: the state saved soon after start resumes, findings intact', async () => {
    const d = tmp();
    const child = spawn(process.execPath, [BIN, 'fuzz', '--backend', 'kvm/v4.10', '--time', '120s', '--workers', '2', '--seed', '4', '--out', d], { stdio: 'ignore' });
    await until(() => existsSync(join(d, 'campaign.json')) && state(d).iters.every((n) => n > 0), 60_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const s = state(d);
    const files = reproducers(d);
    for (const [f, text] of Object.entries(files)) expect(() => JSON.parse(text), f).not.toThrow();
    const r = irqdiff('fuzz', '--resume', '--time', '2s', '--out', d);
    expect(r.code, r.err).toBeLessThan(2);
    expect(r.out).toContain(`resumed at iterations ${s.iters.join(', ')}`);
    const after = state(d);
    expect(after.execs).toBeGreaterThan(s.execs);
    for (let j = 0; j < 2; j++) expect(after.iters[j]).toBeGreaterThan(s.iters[j]!);
  }, 240_000);

  it('stops cleanly on SIGINT: state saved, summary printed, says how to resume', async () => {
    const d = tmp();
    const child = spawn(process.execPath, [BIN, 'fuzz', '--backend', 'baremetal', '--time', '120s', '--workers', '2', '--out', d], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    await until(() => existsSync(join(d, 'campaign.json')) && state(d).iters.every((n) => n > 0), 60_000);
    const t0 = Date.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(code).toBe(0);
    expect(out).toMatch(/done: \d+ interleavings/);
    expect(out).toMatch(/stopped by SIGINT: state saved; rerun with --resume/);
    expect(state(d).execs).toBeGreaterThan(0);
    expect(readFileSync(join(d, 'stats.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { rssMB: number }).every((l) => l.rssMB > 0)).toBe(true);
  }, 120_000);

  it('turns an exception inside a --backend-module into a crash finding with its scenario and seed', () => {
    const d = tmp();
    const mod = join(d, 'throwing.mjs');
    writeFileSync(mod, `import { baremetal } from ${JSON.stringify(resolve('dist/backends/baremetal/index.js'))};
function explode_on_third_hlt(state) { if (++state.hlts === 3) throw new TypeError('model bug'); }
export default { ...baremetal, name: 'thrower', create(variant, machine, sink) {
  const inner = baremetal.create(variant, machine, sink);
  const state = { hlts: 0 };
  return Object.assign(Object.create(inner), { apply(ev, i) { if (ev.k === 'hlt') explode_on_third_hlt(state); inner.apply(ev, i); } });
} };
`);
    const r = irqdiff('fuzz', '--backend-module', mod, '--backend', 'thrower', '--iterations', '150', '--workers', '1', '--out', join(d, 'out'));
    expect(r.code, r.err).toBe(1); // a new UNEXPECTED root cause, and the campaign finished
    expect(r.out).toMatch(/UNEXPECTED\s+thrower\/[^:]+:crash:exception-explode_on_third_hlt/);
    const files = Object.entries(reproducers(join(d, 'out')));
    expect(files.length).toBeGreaterThan(0);
    const s = JSON.parse(files[0]![1]) as { events: { k: string }[]; found: { seed: string; message: string } };
    expect(s.found.seed).toMatch(/^1:0:\d+$/);
    expect(s.found.message).toMatch(/TypeError: model bug/);
    expect(s.events.filter((e) => e.k === 'hlt').length).toBe(3); // minimized to what throws
    expect(state(join(d, 'out')).execs).toBe(150);
  }, 240_000);

  it('checks --out before the run: an unwritable directory is exit 2 with one clear line', () => {
    const r = irqdiff('fuzz', '--backend', 'baremetal', '--time', '1s', '--out', '/proc/irqdiff-nope');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^irqdiff: cannot write \/proc\/irqdiff-nope: /);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});
