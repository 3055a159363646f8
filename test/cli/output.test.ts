// The command line for people and for programs: --version, NDJSON for fuzz, run, run --check
// and list-backends, list-backends one line per variant, triage without a terminal printing
// the list (not Ink's raw-mode error), fuzz --tui piped falling back to plain lines without
// escape sequences, exports (lanes <= 72 columns, a vitest test that passes, a C test).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bhyve } from '../../src/backends/bhyve/index.js';
import { readScenarioFile, scenarioText } from '../../src/store/files.js';

const BIN = resolve('bin/irqdiff.js');
function irqdiff(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const json = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const BHYVE = 'corpus/bhyve/bhyve-svm-lost-ipi.json';

function campaignDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'irqdiff-out-'));
  const s = readScenarioFile(BHYVE);
  mkdirSync(join(dir, 'bhyve', 'prefix'), { recursive: true });
  writeFileSync(join(dir, 'bhyve', 'prefix', 'stuck-1.json'), scenarioText({ irqdiff: 1, machine: s.machine, events: s.events,
    found: { backend: 'bhyve', variant: 'prefix', signature: 'bhyve/prefix:stuck:collapsed-into-taken-v_irq', message: 'm', seed: 's', originalEvents: 30, foundAt: '2026-11-21T00:00:00Z' } }));
  return dir;
}

describe('output for people and programs', () => {
  it('--version prints the package version', () => {
    const r = irqdiff(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(`irqdiff ${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version}`);
  });

  it('list-backends: one line per variant with causes grouped by class; --verbose has the evidence; --json all of it', () => {
    const r = irqdiff(['list-backends']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines.filter((l) => l.startsWith('  bhyve/'))).toHaveLength(bhyve.variants.length);
    expect(r.out).toMatch(/^ {2}bhyve\/prefix\s+buggy .*bugs stuck: collapsed-into-taken-v_irq {2}deviations stuck: /m);
    const verbose = irqdiff(['list-backends', '--verbose']).out;
    expect(verbose).toMatch(/expects stuck:collapsed-into-taken-v_irq — Between the guest taking V/);
    expect(r.out.length * 5).toBeLessThan(verbose.length);
    const all = json(irqdiff(['list-backends', '--json']).out)[0] as unknown as { name: string; variants: { name: string; expectedBugs: unknown[] }[] }[];
    expect(all.find((b) => b.name === 'bhyve')!.variants.map((v) => v.name)).toEqual(bhyve.variants.map((v) => v.name));
  });

  it('run --json and run --check --json: one object per file and variant', () => {
    const r = irqdiff(['run', BHYVE, '--json']);
    expect(r.code).toBe(1);
    const rows = json(r.out);
    // One row per variant the file expects, each with the outcome the corpus records.
    const expect_ = readScenarioFile(BHYVE).expect!;
    expect(rows.map((x) => [x.target, x.signature])).toEqual(Object.entries(expect_).map(([k, e]) => [k, e === 'clean' ? null : e.signature]));
    expect(rows[0]).toMatchObject({ target: 'bhyve/prefix', signature: 'bhyve/prefix:stuck:collapsed-into-taken-v_irq', result: 'divergent' });
    const n = Object.keys(expect_).length;
    const c = irqdiff(['run', '--check', '--json', BHYVE]);
    expect(c.code).toBe(0);
    const out = json(c.out);
    expect(out.filter((x) => x.status === 'ok')).toHaveLength(n);
    expect(out.at(-1)).toEqual({ summary: true, passed: n, failed: 0, bad: 0 });
  });

  it('fuzz --json: NDJSON start, findings, done; fuzz --tui piped: plain lines, no escapes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqdiff-fz-'));
    const r = irqdiff(['fuzz', '--json', '--backend', 'bhyve/prefix', '--time', '2s', '--jobs', '1', '--out', join(dir, 'a')]);
    const rows = json(r.out);
    expect(rows[0]!.type).toBe('start');
    expect(rows.at(-1)!.type).toBe('done');
    expect(rows.some((x) => x.type === 'finding' && typeof x.signature === 'string' && typeof x.class === 'string')).toBe(true);
    const t = irqdiff(['fuzz', '--tui', '--backend', 'baremetal', '--time', '1s', '--jobs', '1', '--out', join(dir, 'b')]);
    expect(t.code).toBe(0);
    expect(t.out).toContain('(--tui needs a terminal: plain status lines follow)');
    expect(t.out).toMatch(/^done: \d+ interleavings/m);
    expect(t.out).not.toContain('\u001b');
  });

  it('triage without a terminal prints the list, or NDJSON with --json, instead of crashing', () => {
    const dir = campaignDir();
    const r = irqdiff(['triage', dir, '--corpus', join(dir, 'none')]);
    expect(r.code).toBe(0);
    expect(r.err).not.toMatch(/Raw mode/);
    expect(r.out).toMatch(/1 root causes, 0 UNEXPECTED/);
    expect(r.out).toMatch(/^doc\. bug\s+bhyve\/prefix\s+stuck\s+1\s+new\s+collapsed-into-taken-v_irq/m);
    const j = json(irqdiff(['triage', dir, '--json']).out);
    expect(j[0]).toMatchObject({ signature: 'bhyve/prefix:stuck:collapsed-into-taken-v_irq', label: 'expected', count: 1, status: { status: 'new' } });
    expect(irqdiff(['triage', join(dir, 'nope')]).code).toBe(2);
  });

  it('export: a <=72-column lane diagram, a vitest regression test, a kvm-unit-tests C test, the scenario', () => {
    const lanes = irqdiff(['export', BHYVE, '--format', 'lanes']);
    expect(lanes.code).toBe(0);
    for (const l of lanes.out.split('\n')) expect(l.length).toBeLessThanOrEqual(72);
    expect(lanes.out).toMatch(/^!! +8 /m);
    expect(lanes.out).toMatch(/^>> +13 /m);
    const v = irqdiff(['export', BHYVE, '--format', 'vitest']).out;
    expect(v).toContain("expect(r.primary?.signature ?? 'clean').toBe(\"bhyve/prefix:stuck:collapsed-into-taken-v_irq\")");
    const c = irqdiff(['export', BHYVE, '--format', 'c']).out;
    expect(c).toContain('#include "apic.h"');
    expect(c).toContain('handle_irq(0x41, handler);');
    // Bare metal takes 0x41 twice on vCPU1 (bhyve/prefix takes it once: the bug).
    expect(c).toContain('report(delivered[1][0x41] == 2');
    expect(c).toMatch(/\{ OP_IPI, 0x41, 1, 0 \| APIC_DM_FIXED \}/);
    const s = irqdiff(['export', BHYVE, '--format', 'json']).out;
    expect(JSON.parse(s).events).toHaveLength(17);
    expect(irqdiff(['export', BHYVE, '--format', 'pdf']).code).toBe(2);
  });

  it('the exported vitest test passes', async () => {
    const dir = mkdtempSync(join(resolve('test'), '.export-'));
    try {
      const file = join(dir, 'x.test.ts');
      expect(irqdiff(['export', BHYVE, '--format', 'vitest', '--out', file]).code).toBe(0);
      writeFileSync(file, readFileSync(file, 'utf8').replace(/'\.\.\/src\//g, "'../../src/"));
      const r = spawnSync(process.execPath, [resolve('node_modules/vitest/vitest.mjs'), 'run', file], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    } finally {
      spawnSync('rm', ['-rf', dir]);
    }
  });
});
