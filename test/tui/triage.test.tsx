// The triage screen as a person sees it (ink-testing-library renders the frames).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import React from 'react';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { baremetal } from '../../src/backends/baremetal/index.js';
import { scenarioText } from '../../src/store/files.js';
import type { Scenario } from '../../src/scenario/types.js';
import { loadItems, Triage } from '../../src/tui/triage.js';

const tick = () => new Promise((r) => setTimeout(r, 30));

function finding(sig: string): Scenario {
  return {
    irqdiff: 1, name: 'x', machine: { vcpus: 2, apic: 'x2apic', ioapic: [] },
    events: [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }, { k: 'pirq', cpu: 1 }],
    found: { backend: 'baremetal', variant: 'sdm', signature: sig, message: 'demo', seed: 's:0:1', originalEvents: 9, foundAt: '2026-11-21T00:00:00Z' },
    expect: { 'baremetal/sdm': { signature: sig } },
  };
}

describe('triage screen', () => {
  it('lists findings and unreadable files, shows the trace, scrolls, promotes to the corpus', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqdiff-triage-'));
    const corpus = join(dir, 'corpus');
    writeFileSync(join(dir, 'a.json'), scenarioText(finding('baremetal/sdm:stuck:untagged')));
    writeFileSync(join(dir, 'b.json'), '{"irqdiff": 1');
    const items = loadItems(dir);
    const ui = render(<Triage items={items} backends={[baremetal]} corpusDir={corpus} height={40} />);
    await tick(); // let the input hook attach
    let frame = ui.lastFrame()!;
    expect(frame).toContain('irqdiff triage — 2 findings');
    expect(frame).toMatch(/▶ stuck\s+baremetal\/sdm\s+untagged\s+2 ev/);
    expect(frame).toContain('unreadable');
    // The selected finding's trace: the event, the per-vCPU state, and the replay verdict.
    expect(frame).toContain('vCPU0 guest: IPI 0x41 → vCPU1');
    // The IPI is on the bus until vCPU1's pCPU takes it: shown as legal latency.
    expect(frame).toMatch(/vCPU1 guest\s+ref IRR \{\} bus \{0x41\}/);
    ui.stdin.write('p');
    await tick();
    frame = ui.lastFrame()!;
    expect(frame).toMatch(/promoted to .*corpus\/baremetal\/a\.json/);
    const promoted = JSON.parse(readFileSync(join(corpus, 'baremetal', 'a.json'), 'utf8')) as Scenario;
    expect(promoted.expect).toEqual({ 'baremetal/sdm': 'clean' });
    ui.stdin.write('\u001B[B'); // down arrow
    await tick();
    frame = ui.lastFrame()!;
    expect(frame).toMatch(/▶ unreadable/);
    expect(frame).toContain('cannot read');
    expect(readFileSync(join(dir, 'b.json'), 'utf8')).toBe('{"irqdiff": 1');
    ui.unmount();
  });
});
