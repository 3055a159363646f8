// The command line against hostile and broken files and unwritable outputs: every bad input
// or output is exit 2 with one clear line (file, field, what was expected; never a stack
// trace), nothing from a file reaches the terminal raw, `run --check` checks every file, and
// a campaign skips what it cannot read and still runs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve('bin/irqdiff.js');
function irqdiff(...args: string[]) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - t0 };
}
const tmp = () => mkdtempSync(join(tmpdir(), 'irqdiff-hostile-'));
const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/; // anything but \t and \n
const ESC = '\u001b';

const machine = { vcpus: 2, apic: 'x2apic', ioapic: [] };
const lostIpi = [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }, { k: 'pirq', cpu: 1 }, { k: 'enter', cpu: 1 }];
function file(dir: string, name: string, doc: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return p;
}
/** One line on stderr naming what went wrong, exit 2, no stack trace. */
function badInput(r: ReturnType<typeof irqdiff>, ...parts: string[]) {
  expect(r.code, r.err).toBe(2);
  expect(r.err.trimEnd().split('\n'), r.err).toHaveLength(1);
  expect(r.err).not.toMatch(/^\s+at /m);
  expect(r.err).not.toMatch(RAW);
  for (const p of parts) expect(r.err).toContain(p);
}

describe('nothing from a file reaches the terminal raw', () => {
  it('run: the scenario name, escapes shown escaped', () => {
    const f = file(tmp(), 'n.json', { irqdiff: 1, name: `evil${ESC}]0;PWNED\u0007${ESC}[2J${ESC}[H`, machine, events: lostIpi, expect: { 'bhyve/fixed': 'clean' } });
    const r = irqdiff('run', f);
    expect(r.code, r.err).toBe(0);
    expect(r.out).not.toMatch(RAW);
    expect(r.out).toContain('== bhyve/fixed: evil\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[H (2 vCPUs, x2apic) ==');
  });

  it('run --check: the expected signature', () => {
    const f = file(tmp(), 's.json', { irqdiff: 1, machine, events: lostIpi, expect: { 'bhyve/fixed': { signature: `bhyve/fixed:lost:${ESC}[31mRED` } } });
    const r = irqdiff('run', '--check', f);
    expect(r.code).toBe(1);
    expect(r.out).not.toMatch(RAW);
    expect(r.out).toContain('expected bhyve/fixed:lost:\\x1b[31mRED, got clean');
  });

  it('errors: keys, values and file names from the input', () => {
    const d = tmp();
    const r = irqdiff('run', file(d, `x${ESC}[2J.json`, { irqdiff: 1, machine, events: [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1, [`${ESC}]0;T\u0007`]: 1 }] }));
    badInput(r, 'x\\x1b[2J.json: $.events[0]: unknown field \'\\x1b]0;T\\x07\'; expected only the fields of event \'ipi\'');
  });
});

describe('run --check reports every file', () => {
  it('checks all of them: unreadable and malformed ones are BAD (exit 2), the rest still run', () => {
    const d = tmp();
    const broken = file(d, 'broken.json', '{"irqdiff": 1');
    const unknown = file(d, 'unknown.json', { irqdiff: 1, machine, events: lostIpi, expect: { 'vmware/esx': 'clean', 'bhyve/fixed': 'clean' } });
    const r = irqdiff('run', '--check', join(d, 'missing.json'), broken, unknown, 'corpus/bhyve/bhyve-svm-lost-ipi.json');
    expect(r.code).toBe(2);
    expect(r.out).toContain(`BAD   ${join(d, 'missing.json')}: (document): cannot read: ENOENT`);
    expect(r.out).toContain(`BAD   ${broken}: (document): not valid JSON`);
    expect(r.out).toContain(`BAD   ${unknown}: $.expect["vmware/esx"]: unknown backend 'vmware'; expected one of baremetal, bhyve, kvm, kvm-nvmx`);
    expect(r.out).toContain(`ok    ${unknown}  bhyve/fixed: clean`);
    expect(r.out).toMatch(/^ok {4}corpus\/bhyve\/bhyve-svm-lost-ipi\.json {2}bhyve\/prefix: /m);
    expect(r.out).toMatch(/^4 passed, 0 failed, 3 bad inputs/m);
  });

  it('exit 1 when only an expectation failed, 0 when all hold', () => {
    const d = tmp();
    const wrong = file(d, 'wrong.json', { irqdiff: 1, machine, events: lostIpi, expect: { 'bhyve/fixed': { signature: 'bhyve/fixed:lost:ipi' } } });
    expect(irqdiff('run', '--check', wrong, 'corpus/bhyve/bhyve-svm-lost-ipi.json').code).toBe(1);
    expect(irqdiff('run', '--check', 'corpus/bhyve/bhyve-svm-lost-ipi.json').code).toBe(0);
  });

  it('an unknown found.backend names the file and the field', () => {
    const f = file(tmp(), 'f.json', { irqdiff: 1, machine, events: lostIpi, found: { backend: `vmware${ESC}[2J`, variant: 'x', signature: 's', message: 'm', seed: '1', originalEvents: 3, foundAt: 'now' } });
    badInput(irqdiff('run', f), `${f}: $.found.backend: unknown backend 'vmware\\x1b[2J'`);
    badInput(irqdiff('minimize', f), `${f}: $.found.backend: unknown backend`);
  });
});

describe('bounds before work', () => {
  it('a huge file is refused from its size, at once', () => {
    const d = tmp();
    const f = join(d, 'huge.json');
    writeFileSync(f, '');
    truncateSync(f, 10 * 1024 * 1024);
    badInput(irqdiff('run', f), `${f}: (document): too large: 10,485,760 bytes > 4,194,304`);
  });

  it('a 2 MB file of a million events is refused naming the limit', () => {
    const f = file(tmp(), 'many.json', `{"irqdiff":1,"machine":${JSON.stringify(machine)},"events":[${'1,'.repeat(999_999)}1]}`);
    badInput(irqdiff('run', f), `${f}: $.events: too many events: 1,000,000 > 4,096`);
  });
});

describe('bad input and unwritable output: exit 2, one line', () => {
  it('minimize on a machine the backend does not support', () => {
    const f = file(tmp(), 'nested.json', { irqdiff: 1, machine: { ...machine, nested: { exitOnIntr: true } }, events: lostIpi });
    badInput(irqdiff('minimize', f, '--backend', 'bhyve/prefix'), `${f}: $.machine: bhyve/prefix cannot run this machine`);
  });

  it('minimize --out to a path that cannot be written, before minimizing', () => {
    const d = tmp();
    badInput(irqdiff('minimize', 'corpus/bhyve/bhyve-svm-lost-ipi.json', '--backend', 'bhyve/prefix', '--out', '/proc/irqdiff-x/min.json'),
      'cannot write /proc/irqdiff-x/min.json: cannot create directory /proc/irqdiff-x: ENOENT');
    writeFileSync(join(d, 'plain'), '');
    badInput(irqdiff('minimize', 'corpus/bhyve/bhyve-svm-lost-ipi.json', '--backend', 'bhyve/prefix', '--out', join(d, 'plain', 'min.json')), 'exists and is not a directory');
    badInput(irqdiff('minimize', 'corpus/bhyve/bhyve-svm-lost-ipi.json', '--backend', 'bhyve/prefix', '--out', d), `cannot write ${d}: it is a directory`);
  });

  it('fuzz --out /proc/x stops at once instead of spinning', () => {
    const r = irqdiff('fuzz', '--backend', 'baremetal', '--time', '2s', '--jobs', '1', '--out', '/proc/irqdiff-x');
    badInput(r, 'cannot write /proc/irqdiff-x: cannot create directory /proc/irqdiff-x: ENOENT');
    expect(r.ms).toBeLessThan(30_000);
  });
});

describe('a campaign directory others filled', () => {
  it('skips a giant file, a FIFO and a symlink loop with warnings, and still runs', () => {
    const d = tmp();
    const huge = join(d, 'huge.json');
    writeFileSync(huge, '');
    truncateSync(huge, 64 * 1024 * 1024);
    mkdirSync(join(d, 'sub'));
    symlinkSync('..', join(d, 'sub', 'up'));
    symlinkSync('../..', join(d, 'sub', 'up2'));
    if (hasMkfifo) spawnSync('mkfifo', [join(d, 'pipe.json')]);
    const r = irqdiff('fuzz', '--backend', 'baremetal', '--time', '2s', '--jobs', '1', '--out', d);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`warning: skipping unreadable file ${huge}: (document): too large: 67,108,864 bytes > 4,194,304`);
    expect(r.out).toMatch(/warning: .*sub\/up: directory loop/);
    expect(r.out).toMatch(/warning: .*sub\/up2: symbolic link leads out of/);
    if (hasMkfifo) expect(r.out).toMatch(/warning: .*pipe\.json: a FIFO, not a regular file/);
    const done = /done: (\d+) interleavings/.exec(r.out);
    expect(Number(done?.[1])).toBeGreaterThan(0);
    expect(readdirSync(d)).toContain('campaign.json');
  });
});
