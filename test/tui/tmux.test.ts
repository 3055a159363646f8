// The terminal screens in a real terminal at 80×24 and 120×40: tmux runs irqdiff under
// script(1), which logs every byte written, send-keys types, capture-pane reads what a person
// would see. A full-screen clear (ESC[2J, which Ink emits when a frame is as tall as the
// terminal) flickers and wipes the scrollback: the log must hold none. (CI=true makes Ink print
// only the final frame, as it does for any non-interactive run; a person at a terminal has no
// CI variable, so the test removes it.)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readScenarioFile, scenarioText } from '../../src/store/files.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0 && spawnSync('script', ['--version']).status === 0;
const BIN = resolve('bin/irqdiff.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLEAR = '\u001b[2J';

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

async function waitFor(session: string, re: RegExp, ms = 30000): Promise<string> {
  const end = Date.now() + ms;
  let screen = '';
  while (Date.now() < end) {
    screen = tmux('capture-pane', '-p', '-t', session);
    if (re.test(screen)) return screen;
    await sleep(100);
  }
  throw new Error(`screen never matched ${re}:\n${screen}`);
}

const clears = (log: string) => readFileSync(log, 'utf8').split(CLEAR).length - 1;

function campaignDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'irqdiff-tmux-'));
  const s = readScenarioFile('corpus/bhyve/bhyve-svm-lost-ipi.json');
  mkdirSync(join(dir, 'bhyve', 'prefix'), { recursive: true });
  writeFileSync(join(dir, 'bhyve', 'prefix', 'stuck-1.json'), scenarioText({ irqdiff: 1, machine: s.machine, events: s.events,
    found: { backend: 'bhyve', variant: 'prefix', signature: 'bhyve/prefix:stuck:collapsed-into-taken-v_irq', message: 'm', seed: 's', originalEvents: 30, foundAt: '2026-11-21T00:00:00Z' } }));
  for (const [name, vec] of [['one', 0x41], ['two', 0x51]] as const) {
    writeFileSync(join(dir, `${name}.json`), scenarioText({
      irqdiff: 1, machine: { vcpus: 2, apic: 'x2apic', ioapic: [] }, events: [{ k: 'ipi', cpu: 0, vector: vec, dest: 1 }],
      found: { backend: 'baremetal', variant: 'sdm', signature: `baremetal/sdm:lost:${name}`, message: 'm', seed: 's', originalEvents: 3, foundAt: 'now' },
    }));
  }
  return dir;
}

describe.skipIf(!hasTmux)('terminal screens under tmux', () => {
  if (!hasTmux) console.warn('tmux or script(1) not installed: skipping the real-terminal tests (bash harness/setup.sh installs tmux)');

  for (const [w, h] of [[80, 24], [120, 40]] as const) {
    it(`triage at ${w}×${h}: list, held keys, reproducer view, help, quit — no full-screen clear`, async () => {
      const dir = campaignDir();
      const log = join(dir, 'tty.log');
      const session = `irqdiff-triage-${process.pid}-${w}`;
      tmux('new-session', '-d', '-s', session, '-x', String(w), '-y', String(h),
        `script -q -f -c "env -u CI node ${BIN} triage ${dir} --corpus ${join(dir, 'corpus')}" ${log}; sleep 30`);
      try {
        let screen = await waitFor(session, /irqdiff triage 1\/3 — 3 root causes, 2 UNEXPECTED/);
        expect(screen).toMatch(/▶ UNEXPECTED\s+baremetal\/sdm\s+lost/);
        tmux('send-keys', '-t', session, 'jj'); // typed fast: both presses count
        screen = await waitFor(session, /irqdiff triage 3\/3/);
        expect(screen).toMatch(/▶ doc\. bug\s+bhyve\/prefix/);
        tmux('send-keys', '-t', session, 'Home');
        await waitFor(session, /irqdiff triage 1\/3/);
        tmux('send-keys', '-t', session, 'End');
        await waitFor(session, /irqdiff triage 3\/3/);
        tmux('send-keys', '-t', session, 'Enter');
        screen = await waitFor(session, /hv\/hw\/dev/);
        expect(screen).toContain('Documented bug');
        tmux('send-keys', '-t', session, 'd');
        screen = await waitFor(session, /▶>>\s+13 /);
        tmux('send-keys', '-t', session, 'Escape');
        await waitFor(session, /irqdiff triage 3\/3/);
        tmux('send-keys', '-t', session, '?');
        await waitFor(session, /keys \(any key returns\)/);
        tmux('send-keys', '-t', session, 'x');
        await waitFor(session, /irqdiff triage 3\/3/);
        tmux('send-keys', '-t', session, 'q');
        await sleep(500);
        expect(clears(log)).toBe(0);
      } finally {
        spawnSync('tmux', ['kill-session', '-t', session]);
      }
    });

    it(`fuzz --tui at ${w}×${h}: bounded live part, findings with labels above it, no full-screen clear`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'irqdiff-tmux-fuzz-'));
      const log = join(out, 'tty.log');
      const session = `irqdiff-fuzz-${process.pid}-${w}`;
      tmux('new-session', '-d', '-s', session, '-x', String(w), '-y', String(h),
        `script -q -f -c "env -u CI node ${BIN} fuzz --tui --backend bhyve --time 4s --jobs 1 --out ${out}/c" ${log}; sleep 30`);
      try {
        const live = await waitFor(session, /elapsed, \d+s left/);
        expect(live).toMatch(/irqdiff fuzz: \d+ variants \(bhyve\/prefix, bhyve\//);
        const done = await waitFor(session, /^done: \d+ interleavings/m);
        expect(done).toMatch(/NEW (documented bug|documented deviation)\s+bhyve\//);
        expect(clears(log)).toBe(0);
      } finally {
        spawnSync('tmux', ['kill-session', '-t', session]);
      }
    });
  }
});
