// Distributed campaigns without Redis: units cover exactly the local engine's seeds, the
// merge counts each job once, jobs and results from the queue are checked before use, the
// model hash follows the model code, and a Redis password never reaches the screen.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { findTarget, runUnit, minimizeFinding } from '../../src/distributed/engine.js';
import { Merge } from '../../src/distributed/merge.js';
import { modelHash } from '../../src/distributed/model.js';
import { checkJobData, checkResult, ProtocolError, rowUnits, type UnitResult } from '../../src/distributed/protocol.js';
import { parseQueueUrl, QueueUrlError } from '../../src/distributed/redis.js';
import { generateAndRun } from '../../src/gen/generator.js';

const M = 'ab'.repeat(16);
const C = 'cd'.repeat(12);
const SPECS = ['bhyve/prefix', 'kvm/v4.10', 'bhyve/fixed'];

describe('work units', () => {
  it('rows of units run exactly the seeds of local job 0, each once, each on the variant the local engine gives it', () => {
    const N = 1000;
    const seen = new Map<number, string>();
    for (let row = 0; row < 10; row++) {
      for (const u of rowUnits(C, M, 's', SPECS, 37, 40, N, row)) {
        for (let m = 0; m < u.count; m++) {
          const i = u.first + m * u.stride;
          expect(seen.has(i), `iteration ${i} twice`).toBe(false);
          seen.set(i, u.target);
        }
      }
    }
    expect(seen.size).toBe(N);
    for (const [i, t] of seen) expect(t).toBe(SPECS[i % SPECS.length]);
    // Unit ids are stable (idempotent enqueue) and distinct.
    const ids = [0, 1, 2].flatMap((r) => rowUnits(C, M, 's', SPECS, 37, 40, N, r).map((u) => u.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(rowUnits(C, M, 's', SPECS, 37, 40, N, 1)[0]!.id).toBe(ids[3]);
  });

  it('a unit reports what generateAndRun finds on the same seeds: every root cause, counted per interleaving', () => {
    const [u] = rowUnits(C, M, 'unit-test', ['kvm/v4.10'], 300, 40, undefined, 0);
    const r = runUnit(BACKENDS, u!);
    const t = findTarget(BACKENDS, 'kvm/v4.10');
    const want: Record<string, number> = {};
    let events = 0;
    for (let i = 0; i < 300; i++) {
      const { result } = generateAndRun(`unit-test:0:${i}`, t.backend, t.variant, { maxEvents: 40 });
      events += result.eventsRun;
      for (const d of result.divergences) want[d.signature] = (want[d.signature] ?? 0) + 1;
    }
    expect(r.scenarios).toBe(300);
    expect(r.events).toBe(events);
    expect(Object.fromEntries(Object.entries(r.hits).map(([k, v]) => [k, v.count]))).toEqual(want);
    for (const h of Object.values(r.hits)) expect(h.seeds.length).toBeLessThanOrEqual(3);
  });

  it('a minimization job rebuilds the interleaving from its seed and keeps the root cause first (kvm/v4.10 pir-on-kick-noop)', () => {
    const [u] = rowUnits(C, M, 'unit-test', ['kvm/v4.10'], 2000, 40, undefined, 0);
    const r = runUnit(BACKENDS, u!);
    const sig = 'kvm/v4.10:stuck:pir-on-kick-noop';
    expect(r.hits[sig], 'the documented v4.10 bug shows in 2000 interleavings').toBeDefined();
    const m = minimizeFinding(BACKENDS, { kind: 'minimize', id: `m-${'0'.repeat(24)}-0`, campaign: C, model: M, target: 'kvm/v4.10', signature: sig, attempt: 0, seed: 'unit-test', stream: 0, iter: r.hits[sig]!.seeds[0]!, maxEvents: 40 }, '2026-01-01T00:00:00.000Z');
    expect(m.ok).toBe(true);
    expect(m.scenario!.found!.signature).toBe(sig);
    expect(m.scenario!.expect).toEqual({ 'kvm/v4.10': { signature: sig } });
  });
});

describe('the merge', () => {
  const unit = (id: string, worker: string, hits: UnitResult['hits']): UnitResult => ({ kind: 'unit', id, target: 'kvm/v4.10', scenarios: 10, events: 100, divergent: 2, hits, worker });
  it('merges a job id once however often its result is logged, and keeps workers and lowest seeds per root cause', () => {
    const g = new Merge();
    const sig = 'kvm/v4.10:stuck:pir-on-kick-noop';
    expect(g.unit(unit('u-1', 'a:1', { [sig]: { count: 2, seeds: [7, 9] } }))).toBe(true);
    expect(g.unit(unit('u-1', 'b:2', { [sig]: { count: 2, seeds: [7, 9] } }))).toBe(false); // retried after a stall
    expect(g.unit(unit('u-2', 'b:2', { [sig]: { count: 1, seeds: [3] } }))).toBe(true);
    expect(g.scenarios).toBe(20);
    const b = g.buckets.get(sig)!;
    expect(b.count).toBe(3);
    expect([...b.workers].sort()).toEqual(['a:1', 'b:2']);
    expect(b.seeds).toEqual([3, 7, 9]);
  });
});

describe('what comes from the queue', () => {
  const good = { kind: 'unit', id: `u-${'1'.repeat(24)}`, campaign: C, model: M, seed: 's', stream: 0, target: 'kvm/v4.10', first: 0, stride: 3, count: 10, maxEvents: 40 };
  it('a job names a variant and seeds; anything else in it is dropped, and a bad field is named', () => {
    const d = checkJobData({ ...good, module: '/tmp/evil.js', code: 'process.exit()' }, 'job x');
    expect(Object.keys(d).sort()).toEqual(Object.keys(good).sort());
    expect(() => checkJobData({ ...good, target: '../../x/y' }, 'job x')).toThrow(/job x: field 'target'/);
    expect(() => checkJobData({ ...good, count: 1e9 }, 'job x')).toThrow(/field 'count'/);
    expect(() => checkJobData({ ...good, seed: 'a\x1b[2Jb' }, 'job x')).toThrow(/field 'seed'/);
    expect(() => checkJobData({ ...good, kind: 'shell' }, 'job x')).toThrow(ProtocolError);
  });
  it('a result is bounded, and a reproducer in it goes through the scenario loader', () => {
    expect(() => checkResult('x'.repeat(6 * 1024 * 1024), 'r')).toThrow(/too large/);
    expect(() => checkResult('{', 'r')).toThrow(/not JSON/);
    const bad = JSON.stringify({ kind: 'minimize', id: `m-${'1'.repeat(24)}-0`, signature: 'kvm/v4.10:stuck:x', attempt: 0, ok: true, scenario: { irqdiff: 1, machine: { vcpus: 99 }, events: [] } });
    expect(() => checkResult(bad, 'r')).toThrow(/vcpus/);
  });
});

describe('the model version', () => {
  it('changes with the model code and with a --backend-module, not with other files', () => {
    const root = mkdtempSync(join(tmpdir(), 'irqdiff-model-'));
    mkdirSync(join(root, 'oracle')); mkdirSync(join(root, 'cli'));
    writeFileSync(join(root, 'oracle', 'a.js'), 'export const a = 1;\n');
    writeFileSync(join(root, 'cli', 'main.js'), 'x\n');
    const h0 = modelHash(root);
    writeFileSync(join(root, 'cli', 'main.js'), 'y\n');
    expect(modelHash(root)).toBe(h0);
    writeFileSync(join(root, 'oracle', 'a.js'), 'export const a = 2;\n');
    const h1 = modelHash(root);
    expect(h1).not.toBe(h0);
    const mod = join(root, 'mine.js');
    writeFileSync(mod, 'export default {};\n');
    expect(modelHash(root, [mod])).not.toBe(h1);
  });
});

describe('the Redis URL', () => {
  it('may carry a password and TLS; the password is never shown', () => {
    const u = parseQueueUrl('rediss://:s3cret@example.test:6380/2');
    expect(u.db).toBe(2);
    expect(u.shown).not.toContain('s3cret');
    expect(u.shown).toContain('***');
    expect(parseQueueUrl('redis://127.0.0.1:6379').db).toBe(0);
    expect(() => parseQueueUrl('http://x/0')).toThrow(QueueUrlError);
    expect(() => parseQueueUrl('redis://h/abc')).toThrow(/database/);
  });
});
