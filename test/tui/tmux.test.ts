// The terminal screens in a real terminal: tmux runs irqdiff, send-keys types, capture-pane
// reads what a person would see. (CI=true makes Ink print only the final frame, as it does for
// any non-interactive run; a person at a terminal has no CI variable, so the test removes it.)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarioText } from '../../src/store/files.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const BIN = resolve('bin/irqdiff.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

async function waitFor(session: string, re: RegExp, ms = 15000): Promise<string> {
  const end = Date.now() + ms;
  let screen = '';
  while (Date.now() < end) {
    screen = tmux('capture-pane', '-p', '-t', session);
    if (re.test(screen)) return screen;
    await sleep(100);
  }
  throw new Error(`screen never matched ${re}:\n${screen}`);
}

describe.skipIf(!hasTmux)('terminal screens under tmux', () => {
  if (!hasTmux) console.warn('tmux not installed: skipping the real-terminal tests (bash harness/setup.sh installs it)');

  it('triage: shows findings, moves the selection, quits on q', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqdiff-tmux-'));
    for (const [name, vec] of [['one', 0x41], ['two', 0x51]] as const) {
      writeFileSync(join(dir, `${name}.json`), scenarioText({
        irqdiff: 1, machine: { vcpus: 2, apic: 'x2apic', ioapic: [] }, events: [{ k: 'ipi', cpu: 0, vector: vec, dest: 1 }],
        found: { backend: 'baremetal', variant: 'sdm', signature: `baremetal/sdm:lost:${name}`, message: 'm', seed: 's', originalEvents: 3, foundAt: 'now' },
      }));
    }
    const session = `irqdiff-triage-${process.pid}`;
    tmux('new-session', '-d', '-s', session, '-x', '140', '-y', '40', `env -u CI node ${BIN} triage ${dir} --corpus ${join(dir, 'corpus')}`);
    try {
      let screen = await waitFor(session, /irqdiff triage — 2 findings/);
      expect(screen).toMatch(/▶ lost\s+baremetal\/sdm\s+one/);
      expect(screen).toContain('IPI 0x41 → vCPU1');
      tmux('send-keys', '-t', session, 'Down');
      screen = await waitFor(session, /▶ lost\s+baremetal\/sdm\s+two/);
      expect(screen).toContain('IPI 0x51 → vCPU1');
      tmux('send-keys', '-t', session, 'q');
      await waitFor(session, /\$ ?$|^$/m, 5000).catch(() => '');
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  });

  it('fuzz --tui: the live dashboard shows throughput and per-variant counts, then the summary', async () => {
    const out = mkdtempSync(join(tmpdir(), 'irqdiff-tmux-fuzz-'));
    const session = `irqdiff-fuzz-${process.pid}`;
    tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '30', `env -u CI node ${BIN} fuzz --tui --backend baremetal --time 3s --jobs 1 --out ${out}; sleep 30`);
    try {
      const live = await waitFor(session, /events\/s/);
      expect(live).toMatch(/irqdiff fuzz: 1 variants \(baremetal\/sdm\)/);
      const done = await waitFor(session, /^done: \d+ interleavings/m);
      expect(done).toMatch(/baremetal\/sdm\s+\d+ run\s+0 divergent/);
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  });
});
