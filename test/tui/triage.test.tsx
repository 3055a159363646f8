// The triage screen as a person sees it at 80×24 (ink-testing-library renders the frames):
// UNEXPECTED first, held keys counted, Home/End, next UNEXPECTED, search and filters, status
// kept on disk, the reproducer view with the stuck point and the divergence, promotion with a
// name and a description that refuses duplicates and never overwrites, export.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import React from 'react';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { baremetal } from '../../src/backends/baremetal/index.js';
import { bhyve } from '../../src/backends/bhyve/index.js';
import { readScenarioFile, scenarioText } from '../../src/store/files.js';
import type { Scenario } from '../../src/scenario/types.js';
import { loadItems, Triage } from '../../src/tui/triage.js';
import { loadStatuses } from '../../src/tui/status.js';
import { rawPresses } from '../../src/tui/keys.js';

const tick = (ms = 40) => new Promise((r) => setTimeout(r, ms));
const backends = [baremetal, bhyve];
const BHYVE_SIG = 'bhyve/prefix:stuck:collapsed-into-taken-v_irq';

function baremetalFinding(tag: string): Scenario {
  return {
    irqdiff: 1, name: tag, machine: { vcpus: 2, apic: 'x2apic', ioapic: [] },
    events: [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }, { k: 'pirq', cpu: 1 }],
    found: { backend: 'baremetal', variant: 'sdm', signature: `baremetal/sdm:stuck:${tag}`, message: 'demo', seed: 's:0:1', originalEvents: 9, foundAt: `2026-11-21T00:00:0${tag.length % 10}Z` },
  };
}

/** The historical bhyve PR 215972 reproducer, as the campaign writes a finding. */
function bhyveFinding(): Scenario {
  const s = readScenarioFile('corpus/bhyve/bhyve-svm-lost-ipi.json');
  return { irqdiff: 1, machine: s.machine, events: s.events, found: { backend: 'bhyve', variant: 'prefix', signature: BHYVE_SIG, message: 'lost', seed: 's', originalEvents: 40, foundAt: '2026-11-21T00:00:00Z' } };
}

function campaign(): { dir: string; corpus: string } {
  const dir = mkdtempSync(join(tmpdir(), 'irqdiff-triage-'));
  mkdirSync(join(dir, 'bhyve', 'prefix'), { recursive: true });
  writeFileSync(join(dir, 'bhyve', 'prefix', 'stuck-1.json'), scenarioText(bhyveFinding()));
  // 12 documented-looking rows would hide the UNEXPECTED ones on a sort by variant.
  for (const t of ['aa', 'bbb', 'cccc', 'ddddd']) writeFileSync(join(dir, `${t}.json`), scenarioText(baremetalFinding(t)));
  return { dir, corpus: join(mkdtempSync(join(tmpdir(), 'irqdiff-corpus-')), 'corpus') };
}

function mount(dir: string, corpus: string, width = 80, height = 24) {
  return render(<Triage items={loadItems(dir)} backends={backends} corpusDir={corpus} dir={dir} statuses={loadStatuses(dir).map} width={width} height={height} color={false} />);
}

const lines = (frame: string) => frame.split('\n');

describe('keys', () => {
  it('counts a held key that arrives as one chunk, and decodes Home/End', () => {
    expect(rawPresses('jjjj')).toEqual([{ name: 'j', count: 4 }]);
    expect(rawPresses('\u001b[B\u001b[B\u001b[B')).toEqual([{ name: 'down', count: 3 }]);
    expect(rawPresses('\u001b[H')).toEqual([{ name: 'home', count: 1 }]);
    expect(rawPresses('\u001b[4~')).toEqual([{ name: 'end', count: 1 }]);
    expect(rawPresses('\u001bOF')).toEqual([{ name: 'end', count: 1 }]);
    expect(rawPresses('kj')).toEqual([{ name: 'k', count: 1 }, { name: 'j', count: 1 }]);
  });
});

describe('triage screen at 80×24', () => {
  it('lists UNEXPECTED first with a position counter, fits the screen, counts held keys, Home/End and u', async () => {
    const { dir, corpus } = campaign();
    const ui = mount(dir, corpus);
    await tick();
    let frame = ui.lastFrame()!;
    expect(lines(frame).length).toBeLessThanOrEqual(23); // one short of the terminal: no full-screen clear
    for (const l of lines(frame)) expect(l.length).toBeLessThanOrEqual(80);
    expect(frame).toContain('5 root causes, 4 UNEXPECTED');
    expect(frame).toMatch(/▶ UNEXPECTED\s+baremetal\/sdm\s+stuck\s+1 new\s+aa/);
    expect(frame).toContain('1/5');
    ui.stdin.write('jjj'); // one input event, three presses
    await tick();
    expect(ui.lastFrame()!).toContain('4/5');
    ui.stdin.write('\u001b[F'); // End
    await tick();
    frame = ui.lastFrame()!;
    expect(frame).toContain('5/5');
    expect(frame).toMatch(/▶ doc\. bug\s+bhyve\/prefix/);
    ui.stdin.write('u'); // next UNEXPECTED wraps to the first
    await tick();
    expect(ui.lastFrame()!).toContain('1/5');
    ui.stdin.write('\u001b[H'); // Home
    ui.stdin.write('?');
    await tick();
    expect(ui.lastFrame()!).toContain('u next UNEXPECTED');
    ui.stdin.write(' ');
    await tick();
    expect(ui.lastFrame()!).toContain('1/5');
    ui.unmount();
  });

  it('searches and filters by label; status and comments are kept in the campaign directory', async () => {
    const { dir, corpus } = campaign();
    const ui = mount(dir, corpus);
    await tick();
    ui.stdin.write('/');
    await tick();
    ui.stdin.write('ccc');
    await tick();
    ui.stdin.write('\r');
    await tick();
    let frame = ui.lastFrame()!;
    expect(frame).toContain('/ccc');
    expect(frame).toContain('1/1');
    ui.stdin.write('\u001b');
    await tick();
    ui.stdin.write('l'); // label = UNEXPECTED
    await tick();
    expect(ui.lastFrame()!).toMatch(/triage 1\/4 .*label=UNEXPECTED/);
    ui.stdin.write('l'); // label = documented bug
    await tick();
    frame = ui.lastFrame()!;
    expect(frame).toMatch(/1\/1/);
    ui.stdin.write('s');
    await tick();
    ui.stdin.write('f');
    await tick();
    ui.stdin.write('c');
    await tick();
    ui.stdin.write('fixed by r328622');
    await tick();
    ui.stdin.write('\r');
    await tick();
    frame = ui.lastFrame()!;
    expect(frame).toMatch(/doc\. bug\s+bhyve\/prefix\s+stuck\s+1 fixed/);
    expect(frame).toContain('“fixed by r328622”');
    const saved = loadStatuses(dir).map[BHYVE_SIG]!;
    expect(saved.status).toBe('fixed');
    expect(saved.comment).toBe('fixed by r328622');
    ui.unmount();
    // Reopened: the status is still there.
    const again = mount(dir, corpus);
    await tick();
    again.stdin.write('\u001b[F');
    await tick();
    expect(again.lastFrame()!).toMatch(/bhyve\/prefix\s+stuck\s+1 fixed/);
    again.unmount();
  });

  it('reproducer view: lanes, the stuck point and the divergence, registers with differences, the documented reason', async () => {
    const { dir, corpus } = campaign();
    const ui = mount(dir, corpus);
    await tick();
    ui.stdin.write('\u001b[F');
    await tick();
    ui.stdin.write('\r');
    await tick(200);
    let frame = ui.lastFrame()!;
    expect(lines(frame).length).toBeLessThanOrEqual(23);
    expect(frame).toMatch(/vCPU0\s+│vCPU1\s+│hv\/hw\/dev/);
    // PR 215972: 0x41 sent twice, delivered once; bhyve's documented cause.
    expect(frame).toContain('0x41 was sent 2 times and delivered 1 time on vCPU1');
    expect(frame).toContain('Documented bug');
    ui.stdin.write('d');
    await tick();
    frame = ui.lastFrame()!;
    expect(frame).toMatch(/▶>>\s+13 /);
    ui.stdin.write('x');
    await tick();
    frame = ui.lastFrame()!;
    expect(frame).toMatch(/▶!!\s+8 /);
    // The second 0x41 is pending at the reference; bhyve collapsed it into the bit it had already taken.
    expect(frame).toMatch(/v1 guest\s+ref IRR 41! ISR 41 .*\| bhyve IRR — ISR 41/);
    ui.stdin.write('kk');
    await tick();
    expect(ui.lastFrame()!).toMatch(/▶\s+6 IPI 0x41/);
    ui.stdin.write('\u001b');
    await tick();
    expect(ui.lastFrame()!).toContain('5/5');
    ui.unmount();
  });

  it('promotes with a name and a description, refuses a duplicate expectation, never overwrites; exports lanes', async () => {
    const { dir, corpus } = campaign();
    mkdirSync(join(corpus, 'bhyve'), { recursive: true });
    writeFileSync(join(corpus, 'bhyve', 'taken.json'), '{"kept": true}');
    const ui = mount(dir, corpus, 200, 40); // wide: the messages name long temporary paths
    await tick();
    ui.stdin.write('\u001b[F');
    await tick();
    const promote = async (name: string, desc: string) => {
      ui.stdin.write('p'); await tick();
      for (let i = 0; i < 60; i++) ui.stdin.write('\u007f');
      await tick();
      ui.stdin.write(name); await tick();
      ui.stdin.write('\r'); await tick();
      ui.stdin.write(desc); await tick();
      ui.stdin.write('\r'); await tick(300);
      return ui.lastFrame()!;
    };
    let frame = await promote('taken', 'same name as a corpus file');
    expect(frame).toMatch(/cannot promote: .*taken\.json: it already exists/);
    expect(readFileSync(join(corpus, 'bhyve', 'taken.json'), 'utf8')).toBe('{"kept": true}');
    frame = await promote('bhyve-pr215972', 'second IPI collapses into a taken V_IRQ');
    expect(frame).toMatch(/promoted to .*bhyve-pr215972\.json/);
    const promoted = readScenarioFile(join(corpus, 'bhyve', 'bhyve-pr215972.json'));
    expect(promoted.description).toBe('second IPI collapses into a taken V_IRQ');
    // Its outcome on every bhyve variant: the bug on prefix, clean on the fix.
    expect(Object.keys(promoted.expect!).sort()).toEqual(bhyve.variants.map((v) => `bhyve/${v.name}`).sort());
    expect(promoted.expect!['bhyve/prefix']).toEqual({ signature: BHYVE_SIG });
    expect(promoted.expect!['bhyve/fixed']).toBe('clean');
    frame = await promote('again', 'a duplicate');
    expect(frame).toMatch(/refused: the corpus already expects this root cause/);
    expect(existsSync(join(corpus, 'bhyve', 'again.json'))).toBe(false);
    ui.stdin.write('e'); await tick();
    ui.stdin.write('l'); await tick(300);
    frame = ui.lastFrame()!;
    expect(frame).toContain('exported lanes: ');
    const text = readFileSync(join(dir, 'exports', 'bhyve_prefix_stuck_collapsed_into_taken_v_irq.txt'), 'utf8');
    for (const l of text.split('\n')) expect(l.length).toBeLessThanOrEqual(72);
    expect(text).toMatch(/^!! +8 /m);
    expect(text).toMatch(/^>> +13 /m);
    ui.unmount();
  });
});
