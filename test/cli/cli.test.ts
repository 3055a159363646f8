// The command line as a user meets it: help, exit codes, errors that name the file and
// field, a campaign that writes atomically and resumes, a user's own backend module.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve('bin/irqdiff.js');
function irqdiff(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tmp = () => mkdtempSync(join(tmpdir(), 'irqdiff-cli-'));

describe('irqdiff CLI', () => {
  it('prints help for every command and exits 0; no command is a usage error', () => {
    for (const c of ['fuzz', 'run', 'replay', 'minimize', 'list-backends']) {
      const r = irqdiff(c, '--help');
      expect(r.code, c).toBe(0);
      expect(r.out, c).toMatch(/^usage: irqdiff/);
    }
    expect(irqdiff('--help').code).toBe(0);
    expect(irqdiff().code).toBe(2);
  });

  it('rejects unknown commands, backends and options with exit 2', () => {
    expect(irqdiff('frobnicate').err).toMatch(/unknown command 'frobnicate'/);
    const b = irqdiff('fuzz', '--backend', 'vmware', '--time', '1s');
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/unknown backend 'vmware'/);
    expect(irqdiff('fuzz', '--backend', 'baremetal/nope').err).toMatch(/has no variant 'nope'/);
    expect(irqdiff('fuzz', '--bogus').code).toBe(2);
    expect(irqdiff('fuzz', '--time', 'soon').err).toMatch(/bad duration 'soon'/);
  });

  it('names the file and JSON path of a malformed scenario', () => {
    const d = tmp();
    const f = join(d, 'bad.json');
    writeFileSync(f, JSON.stringify({ irqdiff: 1, machine: { vcpus: 2, apic: 'x2apic', ioapic: [] }, events: [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }, { k: 'eoi', cpu: 5 }] }));
    const r = irqdiff('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}: $.events[1].cpu: vCPU 5 does not exist`);
    const missing = irqdiff('run', join(d, 'nope.json'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('nope.json');
  });

  it('runs a campaign that writes its state atomically and resumes with the same seed', () => {
    const d = tmp();
    const first = irqdiff('fuzz', '--backend', 'baremetal', '--time', '2s', '--jobs', '2', '--seed', '7', '--out', d);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/done: \d+ interleavings, \d+ events .* 0 divergent/);
    const state = JSON.parse(readFileSync(join(d, 'campaign.json'), 'utf8')) as { seed: string; iters: number[] };
    expect(state.seed).toBe('7');
    expect(state.iters.every((n) => n > 0)).toBe(true);
    // A corrupt file in the output directory is reported by name and left untouched.
    writeFileSync(join(d, 'garbage.json'), '{ not json');
    const second = irqdiff('fuzz', '--backend', 'baremetal', '--time', '1s', '--jobs', '2', '--seed', '7', '--out', d);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/resumed at iterations/);
    expect(second.out).toMatch(/garbage\.json/);
    expect(readFileSync(join(d, 'garbage.json'), 'utf8')).toBe('{ not json');
  });

  it('loads a user backend module, and names the module and field when it is malformed', () => {
    const d = tmp();
    const mod = join(d, 'my-model.mjs');
    writeFileSync(mod, `import { baremetal } from ${JSON.stringify(resolve('dist/backends/baremetal/index.js'))};\nexport default { ...baremetal, name: 'mymodel' };\n`);
    const list = irqdiff('list-backends', '--backend-module', mod);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^mymodel — /m);
    const f = irqdiff('fuzz', '--backend-module', mod, '--backend', 'mymodel', '--time', '1s', '--jobs', '1', '--out', join(d, 'out'));
    expect(f.code, f.err).toBe(0);
    const bad = join(d, 'bad.mjs');
    writeFileSync(bad, 'export default { name: "x", variants: [] };\n');
    const r = irqdiff('list-backends', '--backend-module', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.mjs: backend export: 'variants' must be a non-empty array/);
    expect(existsSync(join(d, 'out', 'campaign.json'))).toBe(true);
  });
});
