// `irqdiff triage` on findings others wrote: a signature without ':' (the signature is an
// opaque string to the screen), escapes in a finding's message and name, an unknown
// backend, a FIFO among the files. Nothing crashes and nothing reaches the screen raw.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import React from 'react';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { baremetal } from '../../src/backends/baremetal/index.js';
import type { Scenario } from '../../src/scenario/types.js';
import { scenarioText } from '../../src/store/files.js';
import { loadItems, Triage } from '../../src/tui/triage.js';

const tick = (ms = 40) => new Promise((r) => setTimeout(r, ms));
const ESC = '\u001b';

function finding(signature: string, backend = 'baremetal', message = 'demo'): Scenario {
  return {
    irqdiff: 1, name: `n${ESC}[2J`, machine: { vcpus: 2, apic: 'x2apic', ioapic: [] },
    events: [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }],
    found: { backend, variant: 'sdm', signature, message, seed: 's', originalEvents: 3, foundAt: 'now' },
  };
}

/** What Ink drew, without its own colour codes: nothing from the files may remain. */
const strip = (frame: string) => frame.replace(/\u001b\[[0-9;]*m/g, '');

describe('triage on hostile findings', () => {
  it('shows a signature without ":" and escaped messages, and names an unknown backend', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqdiff-triage-hostile-'));
    writeFileSync(join(dir, 'a.json'), scenarioText(finding('nocolon', 'baremetal', `m${ESC}]0;PWNED\u0007${ESC}[2J`)));
    writeFileSync(join(dir, 'b.json'), scenarioText(finding(`vmware/x:lost:${ESC}[5m`, `vmware${ESC}[H`)));
    if (spawnSync('mkfifo', [join(dir, 'c.json')]).status !== 0) writeFileSync(join(dir, 'c.json'), '{');
    const items = loadItems(dir);
    const ui = render(<Triage items={items} backends={[baremetal]} corpusDir={join(dir, 'corpus')} dir={dir} width={200} height={40} />);
    await tick();
    let frame = strip(ui.lastFrame()!);
    expect(frame).not.toContain(ESC);
    expect(frame).toContain('3 root causes, 2 UNEXPECTED');
    expect(frame).toMatch(/▶ UNEXPECTED\s+baremetal\/sdm\s+\?\s+1 new\s.*nocolon/);
    ui.stdin.write('\r'); // the reproducer view: the recorded message, escaped
    await tick(200);
    frame = strip(ui.lastFrame()!);
    expect(frame).not.toContain(ESC);
    expect(frame).toContain('REPLAY DIFFERS: recorded nocolon (m\\x1b]0;PWNED\\x07\\x1b[2J)');
    ui.stdin.write('\u001b');
    await tick();
    ui.stdin.write('j\r');
    await tick(200);
    frame = strip(ui.lastFrame()!);
    expect(frame).not.toContain(ESC);
    expect(frame).toContain("$.found.backend: unknown backend 'vmware\\x1b[H'");
    ui.stdin.write('\u001b');
    await tick();
    ui.stdin.write('j');
    await tick();
    frame = strip(ui.lastFrame()!);
    expect(frame).toMatch(/▶ unreadable\s+.*\?/);
    expect(frame).toMatch(/c\.json/);
    ui.unmount();
  });
});
