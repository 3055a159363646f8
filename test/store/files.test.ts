// Files from strangers and directories others filled: reading is bounded before any work,
// walks stay in their tree and never block or loop, writes fail at once with a clear error,
// and promotion never replaces a corpus file or writes through a link.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baremetal } from '../../src/backends/baremetal/index.js';
import type { Scenario } from '../../src/scenario/types.js';
import { promote } from '../../src/store/corpus.js';
import { ensureDir, loadKnown, OutputError, readScenarioFile, scenarioText, walkJson, writeAtomic, writeNew } from '../../src/store/files.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'irqdiff-store-'));
const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;
const finding = (backend = 'baremetal'): Scenario => ({
  irqdiff: 1, machine: { vcpus: 2, apic: 'x2apic', ioapic: [] }, events: [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }],
  found: { backend, variant: 'sdm', signature: 'baremetal/sdm:lost:ipi', message: 'm', seed: 's', originalEvents: 3, foundAt: 'now' },
});

function thrown(f: () => unknown): Error {
  try { f(); } catch (e) { return e as Error; }
  throw new Error('expected an error');
}

describe('directory walks', () => {
  it('detect loops through symbolic links and skip links that leave the tree, with a reason', () => {
    const d = tmp();
    mkdirSync(join(d, 'a', 'b'), { recursive: true });
    writeFileSync(join(d, 'a', 'b', 'x.json'), '{}');
    symlinkSync('..', join(d, 'a', 'b', 'up'));       // a loop: back to a/
    symlinkSync('../..', join(d, 'a', 'b', 'up2'));   // a second one, to the root
    const outside = tmp();
    writeFileSync(join(outside, 'secret.json'), '{}');
    symlinkSync(outside, join(d, 'elsewhere'));
    symlinkSync(join(outside, 'secret.json'), join(d, 'leak.json'));
    symlinkSync(join(d, 'a', 'b', 'x.json'), join(d, 'alias.json')); // inside: followed
    const w = walkJson(d);
    expect(w.files).toEqual([join(d, 'a', 'b', 'x.json'), join(d, 'alias.json')]);
    const why = Object.fromEntries(w.skipped.map((s) => [s.file.slice(d.length + 1), s.why]));
    expect(why['a/b/up']).toMatch(/^directory loop: already visited as /);
    expect(why['a/b/up2']).toMatch(/^directory loop/);
    expect(why['elsewhere']).toBe(`symbolic link leads out of ${d}`);
    expect(why['leak.json']).toBe(`symbolic link leads out of ${d}`);
  });

  it.skipIf(!hasMkfifo)('skip a FIFO named *.json instead of blocking on it', () => {
    const d = tmp();
    spawnSync('mkfifo', [join(d, 'pipe.json')]);
    writeFileSync(join(d, 'ok.json'), scenarioText(finding()));
    const w = walkJson(d);
    expect(w.files).toEqual([join(d, 'ok.json')]);
    expect(w.skipped).toEqual([{ file: join(d, 'pipe.json'), why: 'a FIFO, not a regular file' }]);
    // Read directly, it is refused at once too (opening it for reading would wait for a writer).
    expect(thrown(() => readScenarioFile(join(d, 'pipe.json'))).message).toMatch(/pipe\.json: \(document\): cannot read: a FIFO, not a regular file$/);
    const known = loadKnown(d);
    expect(known.signatures).toEqual(new Set(['baremetal/sdm:lost:ipi']));
    expect(known.bad.map((b) => b.error)).toEqual([`${join(d, 'pipe.json')}: a FIFO, not a regular file`]);
  });
});

describe('reading a scenario file', () => {
  it('refuses an oversized file from its size, before reading it', () => {
    const d = tmp();
    const f = join(d, 'huge.json');
    writeFileSync(f, '');
    truncateSync(f, 10 * 1024 * 1024); // sparse: nothing to read would be fast either way if it were read
    expect(thrown(() => readScenarioFile(f)).message).toBe(`${f}: (document): too large: 10,485,760 bytes > 4,194,304`);
  });

  it('refuses a directory and a device, and names the missing file', () => {
    expect(thrown(() => readScenarioFile(tmp())).message).toMatch(/cannot read: a directory, not a regular file$/);
    expect(thrown(() => readScenarioFile('/dev/zero')).message).toBe('/dev/zero: (document): cannot read: a character device, not a regular file');
    expect(thrown(() => readScenarioFile('/nonexistent/x.json')).message).toBe('/nonexistent/x.json: (document): cannot read: ENOENT (no such file or directory)');
  });

  it('accepts a byte-order mark', () => {
    const f = join(tmp(), 'bom.json');
    writeFileSync(f, '\ufeff' + scenarioText(finding()));
    expect(readScenarioFile(f).found?.signature).toBe('baremetal/sdm:lost:ipi');
  });
});

describe('writing', () => {
  it('fails at once, with the path, where a directory cannot be created (Node’s own recursive mkdir spins on /proc)', () => {
    const e = thrown(() => writeAtomic('/proc/irqdiff-nope/campaign.json', '{}'));
    expect(e).toBeInstanceOf(OutputError);
    expect(e.message).toBe('cannot write /proc/irqdiff-nope: cannot create directory /proc/irqdiff-nope: ENOENT (no such file or directory)');
    const d = tmp();
    writeFileSync(join(d, 'file'), '');
    expect(thrown(() => ensureDir(join(d, 'file', 'sub'))).message).toMatch(/file exists and is not a directory$/);
  });

  it('writeNew never replaces a file, a directory or a link, and leaves no temp file', () => {
    const d = tmp();
    writeNew(join(d, 'a.json'), 'one');
    expect(thrown(() => writeNew(join(d, 'a.json'), 'two')).message).toMatch(/a\.json: it already exists; not overwritten$/);
    expect(readFileSync(join(d, 'a.json'), 'utf8')).toBe('one');
    symlinkSync(join(d, 'nowhere'), join(d, 'b.json'));
    expect(() => writeNew(join(d, 'b.json'), 'x')).toThrow(/already exists/);
    expect(existsSync(join(d, 'nowhere'))).toBe(false);
    expect(readdirSync(d).sort()).toEqual(['a.json', 'b.json']);
  });
});

describe('promotion to the corpus', () => {
  it('never overwrites a corpus file of the same name', () => {
    const d = tmp();
    const corpus = join(d, 'corpus');
    mkdirSync(join(corpus, 'baremetal'), { recursive: true });
    writeFileSync(join(corpus, 'baremetal', 'f.json'), 'precious');
    writeFileSync(join(d, 'f.json'), scenarioText(finding()));
    const e = thrown(() => promote(join(d, 'f.json'), [baremetal], corpus));
    expect(e.message).toBe(`cannot write ${join(corpus, 'baremetal', 'f.json')}: it already exists; not overwritten`);
    expect(readFileSync(join(corpus, 'baremetal', 'f.json'), 'utf8')).toBe('precious');
    writeFileSync(join(d, 'g.json'), scenarioText(finding()));
    expect(promote(join(d, 'g.json'), [baremetal], corpus)).toBe(join(corpus, 'baremetal', 'g.json'));
  });

  it('never writes through a symbolic link planted as corpus/<backend>/', () => {
    const d = tmp();
    const corpus = join(d, 'corpus');
    const victim = tmp();
    mkdirSync(corpus);
    symlinkSync(victim, join(corpus, 'baremetal'));
    writeFileSync(join(d, 'f.json'), scenarioText(finding()));
    expect(thrown(() => promote(join(d, 'f.json'), [baremetal], corpus)).message).toBe(`cannot write ${join(corpus, 'baremetal')}: it is a symbolic link; promotion writes only inside the corpus directory`);
    expect(readdirSync(victim)).toEqual([]);
  });

  it('names the file and field of a finding whose backend is unknown', () => {
    const d = tmp();
    writeFileSync(join(d, 'f.json'), scenarioText(finding('vmware\u001b[2J')));
    expect(thrown(() => promote(join(d, 'f.json'), [baremetal], join(d, 'corpus'))).message)
      .toBe(`${join(d, 'f.json')}: $.found.backend: unknown backend 'vmware\\x1b[2J'; expected one of baremetal`);
    expect(existsSync(join(d, 'corpus'))).toBe(false);
  });
});
