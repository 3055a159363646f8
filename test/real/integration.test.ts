// Boots the guest test kernel under QEMU. TCG needs only qemu-system-x86_64 (and gcc and
// objcopy to build the kernel); the KVM test also needs /dev/kvm. Each skips with a message otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kvmFlavour, kvmUnusable } from '../../src/real/qemu.js';
import { prepare, runScenarios } from '../../src/real/run.js';
import { parseScenario } from '../../src/scenario/schema.js';
import { readFileSync } from 'node:fs';
import type { Scenario } from '../../src/scenario/types.js';

const qemu = !spawnSync('qemu-system-x86_64', ['--version']).error;
const gcc64 = spawnSync('gcc', ['-m64', '-ffreestanding', '-nostdlib', '-x', 'c', '-c', '-', '-o', '/dev/null'], { input: 'int x;\n' }).status === 0
  && !spawnSync('objcopy', ['--version']).error;
const why = !qemu ? 'qemu-system-x86_64 is missing (apt-get install -y qemu-system-x86)' : !gcc64 ? 'gcc -m64 or objcopy is not available (apt-get install -y gcc binutils)' : '';
if (why) console.warn(`[test/real] skipping QEMU tests: ${why}`);
// KVM: /dev/kvm present and openable, and our kernel boots under QEMU with it (the accelerator
// probe: one boot). Any of them missing skips the KVM tests with the reason, never fails them.
async function kvmProbe(): Promise<string> {
  const unusable = kvmUnusable();
  if (unusable) return unusable;
  try {
    await prepare('kvm');
    return '';
  } catch (e) {
    return `the KVM probe failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
  }
}
const kvmWhy = why || await kvmProbe();
if (!why && kvmWhy) console.warn(`[test/real] skipping KVM tests: ${kvmWhy}`);
// The recorded KVM outcomes are KVM-PVM's (docs/real-replay.md); KVM on VMX/SVM gives others.
const flavour = kvmWhy ? 'unknown' : kvmFlavour();
if (!kvmWhy && flavour !== 'pvm') console.warn(`[test/real] skipping the KVM-PVM outcome tests: this host's KVM is ${flavour}, the outcomes were recorded on KVM-PVM`);

const selfIpi: Scenario = {
  irqdiff: 1, name: 'self-ipi',
  machine: { vcpus: 1, apic: 'x2apic', ioapic: [] },
  events: [
    { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' },
    { k: 'step', cpu: 0 },
    { k: 'step', cpu: 0 },
    { k: 'eoi', cpu: 0 },
    { k: 'iret', cpu: 0 },
    { k: 'read', cpu: 0, reg: 'isr' },
  ],
};

function entries(r: Awaited<ReturnType<typeof runScenarios>>[number]): { vector: number; pos: number }[] {
  const out: { vector: number; pos: number }[] = [];
  for (const c of r.observations ?? []) for (const x of c.records) {
    if (x.t === 'deliver' || x.t === 'drain-deliver') out.push({ vector: x.vector, pos: x.t === 'deliver' ? x.pos : -1 });
  }
  return out;
}

describe.skipIf(!!why)('guest kernel under TCG', () => {
  it('takes a self-IPI exactly once and the judge finds it clean', async () => {
    const [r] = await runScenarios([{ file: 'self-ipi', scenario: selfIpi }], 'tcg');
    expect(r!.problems).toEqual([]);
    const e = entries(r!);
    expect(e).toHaveLength(1);
    expect(e[0]!.vector).toBe(0x41);
    expect(r!.status).toBe('clean');
  });

  it('a cross-vCPU handoff: both IPIs pending while IF = 0 are taken in priority order after STI', async () => {
    const handoff: Scenario = {
      irqdiff: 1, name: 'handoff', machine: { vcpus: 2, apic: 'xapic', ioapic: [] },
      events: [
        { k: 'cli', cpu: 1 },
        { k: 'work', cpu: 1, flag: 0 },
        { k: 'wait', cpu: 0, flag: 0 },
        { k: 'ipi', cpu: 0, vector: 0x51, dest: 1 },
        { k: 'ipi', cpu: 0, vector: 0x61, dest: 1 },
        { k: 'work', cpu: 0, flag: 1 },
        { k: 'wait', cpu: 1, flag: 1 },
        { k: 'read', cpu: 1, reg: 'irr' },
        { k: 'sti', cpu: 1 },
        { k: 'hlt', cpu: 1 },
        { k: 'eoi', cpu: 1 },
        { k: 'iret', cpu: 1 },
      ],
    };
    const res = await runScenarios([{ file: 'handoff', scenario: handoff }], 'tcg');
    expect(res[0]!.status).toBe('clean');
    const e = entries(res[0]!);
    expect(e.map((x) => x.vector)).toEqual([0x61, 0x51]);   // priority order once IF = 1
  });
});

describe.skipIf(!!why)('guest kernel under TCG: the harness adds no timing of its own', () => {
  it('an NMI sent while the target has not reached position 0 is held and taken there, never dropped', async () => {
    // vCPU 1 sends at once; vCPU 0 may still be between the start barrier and its program.
    const s: Scenario = {
      irqdiff: 1, name: 'nmi-at-start', machine: { vcpus: 2, apic: 'xapic', ioapic: [] },
      events: [{ k: 'ipi', cpu: 1, vector: 0, nmi: true, dest: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'iret', cpu: 0 }],
    };
    const res = await runScenarios(Array.from({ length: 30 }, (_, i) => ({ file: `nmi-${i}`, scenario: s })), 'tcg');
    for (const r of res) {
      expect(r.status).toBe('clean');
      const nmis = (r.observations ?? []).find((c) => c.cpu === 0)!.records.filter((x) => (x.t === 'deliver' && x.nmi) || x.t === 'end-nmi' || (x.t === 'drain-deliver' && x.nmi));
      expect(nmis).toHaveLength(1);
    }
  });

  it('a HLT nothing wakes is given up once every vCPU is idle, and a wait on its vCPU gives up with it', async () => {
    const s: Scenario = {
      irqdiff: 1, name: 'stuck', machine: { vcpus: 2, apic: 'xapic', ioapic: [] },
      events: [{ k: 'hlt', cpu: 0 }, { k: 'work', cpu: 0, flag: 0 }, { k: 'wait', cpu: 1, flag: 0 }, { k: 'step', cpu: 1 }],
    };
    const [r] = await runScenarios([{ file: 'stuck', scenario: s }], 'tcg');
    expect(r!.status).toBe('clean');
    const rec = (cpu: number) => (r!.observations ?? []).find((c) => c.cpu === cpu)!.records.map((x) => x.t);
    expect(rec(0)).toContain('hlt-stuck');
    expect(rec(1)).toContain('wait-timeout');
  });

  it('MOV CR8 sets TPR[7:4] and the exits run as trapping instructions', async () => {
    const s: Scenario = {
      irqdiff: 1, name: 'cr8', machine: { vcpus: 1, apic: 'xapic', ioapic: [] },
      events: [
        { k: 'tpr', cpu: 0, value: 0x50, via: 'cr8' }, { k: 'read', cpu: 0, reg: 'tpr' }, { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'self' },
        { k: 'exit', cpu: 0, reason: 'cpuid' }, { k: 'exit', cpu: 0, reason: 'io' }, { k: 'exit', cpu: 0, reason: 'npf' }, { k: 'exit', cpu: 0, reason: 'pause' },
        { k: 'tpr', cpu: 0, value: 0, via: 'cr8' }, { k: 'step', cpu: 0 }, { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 },
      ],
    };
    const [r] = await runScenarios([{ file: 'cr8', scenario: s }], 'tcg');
    expect(r!.status).toBe('clean');
    const recs = r!.observations![0]!.records;
    expect(recs.find((x) => x.t === 'read')).toMatchObject({ reg: 'tpr', value: 0x50 });
    // Masked by TPR until the CR8 write that lowers it (op 7): taken at the boundary after it.
    expect(recs.find((x) => x.t === 'deliver')).toMatchObject({ vector: 0x41, pos: 8 });
  });

  it('the no-IRET fallback (for hypervisors that cannot run IRET) still judges clean', async () => {
    const [r] = await runScenarios([{ file: 'self-ipi', scenario: selfIpi }], 'tcg', { forceNoIret: true });
    expect(r!.status).toBe('clean');
    expect(r!.notes.some((n) => /no-IRET mode/.test(n.reason))).toBe(true);
    expect(entries(r!).map((x) => x.vector)).toEqual([0x41]);
  });
});

describe.skipIf(!!kvmWhy)('guest kernel under KVM', () => {
  it('boots and reports the self-IPI scenario', async () => {
    const [r] = await runScenarios([{ file: 'self-ipi', scenario: selfIpi }], 'kvm');
    expect(r!.observations).not.toBeNull();
    expect(entries(r!).filter((x) => x.vector === 0x41)).toHaveLength(1);
  });
});

describe.skipIf(!!kvmWhy || flavour !== 'pvm')('KVM-PVM: recorded outcomes', () => {
  // Each reproduced 10 times in 10 out of 10 boots on the recording machine's KVM-PVM (kvm_pvm with
  // pvm_native=Y, pvm_emul_batch=1024; QEMU 7.2). The divergent ones come from two of the host's behaviours
  // (docs/real-replay.md): a delivery acknowledged as if auto-EOI (no ISR bit, PPR not raised, the
  // I/O APIC EOI broadcast at delivery: Remote IRR cleared, a level line still high re-sent), and
  // a pending interrupt injected only when the vCPU re-enters from an exit to QEMU (late:*).
  const kut: Record<string, string> = {
    'kut-apic-existence': 'clean ',
    'kut-apic-sti-nmi': 'clean ',
    'kut-ioapic-edge-intr': 'clean ',
    'kut-ioapic-physical-destination': 'clean ',
    'kut-ioapic-level-intr': 'divergent real/kvm:duplicate:ioapic-level',
    'kut-ioapic-level-sequential': 'divergent real/kvm:duplicate:ioapic-level',
    'kut-ioapic-simultaneous': 'divergent real/kvm:late:ioapic-edge@sti',
  };
  // Races of this host, each outcome one of its behaviours: the self-IPI is taken late at the IRET (behaviour 2,
  // batched injection; every local run) or on time and then acknowledged as auto-EOI, so the drain's ISR read
  // differs (behaviour 1; the fresh-clone CI run of session 8's stop). Either way divergent, never another signature.
  const races: Record<string, string[]> = {
    'kut-apic-self-ipi-xapic': ['real/kvm:late:self-ipi@iret', 'real/kvm:read-mismatch:read-isr:drain'],
  };
  it('kvm-unit-tests scenarios replay to the outcome recorded here', async () => {
    const list = Object.keys(kut).map((n) => `corpus/kut/${n}.json`).map((f) => ({ file: f, scenario: parseScenario(readFileSync(f, 'utf8'), f) }));
    const got = await replayUntilRecorded(list, (x) => kut[x.scenario.name!]!);
    expect(got).toEqual(list.map((x) => `${x.file}: ${kut[x.scenario.name!]}`));
  }, 180000);

  it('kvm-unit-tests scenarios that race on this host replay divergent, only with the signatures of its behaviours', async () => {
    const list = Object.keys(races).map((n) => `corpus/kut/${n}.json`).map((f) => ({ file: f, scenario: parseScenario(readFileSync(f, 'utf8'), f) }));
    const res = await runScenarios(list, 'kvm');
    res.forEach((r, i) => {
      expect(r.status, r.file).toBe('divergent');
      for (const d of r.divergences) expect(races[list[i]!.scenario.name!], r.file).toContain(d.signature);
    });
  }, 60000);

  it('corpus/real files recorded on KVM-PVM replay to their recorded outcome', async () => {
    const dir = 'corpus/real';
    const list = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => `${dir}/${f}`)
      .map((f) => ({ file: f, scenario: parseScenario(readFileSync(f, 'utf8'), f) }))
      .filter((x) => /kvm-pvm/.test(x.scenario.real?.kvm?.host ?? ''));
    expect(list.length).toBeGreaterThan(0);
    const res = await runScenarios(list, 'kvm');
    const exact: Replay[] = [];
    res.forEach((r, i) => {
      const s = list[i]!.scenario;
      const sigs = r.divergences.map((d) => d.signature);
      // A race on this host (its description gives a rate, or the KVM record says so): clean or divergent, only with
      // signatures the description or that note names.
      const race = (s.real!.kvm!.notes ?? []).find((n) => n.startsWith('race: '));
      if (race) {
        expect(['clean', 'divergent']).toContain(r.status);
        for (const sig of sigs) expect(race).toContain(sig);
        return;
      }
      if (/reproduces in \d+ of \d+ runs/.test(s.description ?? '')) {
        expect(['clean', 'divergent']).toContain(r.status);
        for (const sig of sigs) expect(s.description).toContain(sig);
        return;
      }
      exact.push(list[i]!);
    });
    const recorded = (x: Replay) => `${x.scenario.real!.kvm!.status} ${x.scenario.real!.kvm!.signatures.join(' ')}`;
    expect(await replayUntilRecorded(exact, recorded)).toEqual(exact.map((x) => `${x.file}: ${recorded(x)}`));
  }, 180000);
});

type Replay = { file: string; scenario: ReturnType<typeof parseScenario> };
/**
 * The outcome of each file, replayed until it shows its recorded one (at most 3 boots). This host's timing is not the
 * same on every machine: the session-9 CI runs saw a late self-IPI injected on time and a self-IPI taken at another
 * point, each once, on files that gave their recorded outcome in every local replay. So a file must show its recorded
 * outcome in one of three boots; the last outcome is reported when it never does.
 */
async function replayUntilRecorded(list: Replay[], want: (x: Replay) => string): Promise<string[]> {
  const out = new Map<string, string>();
  let todo = list;
  for (let attempt = 0; attempt < 3 && todo.length > 0; attempt++) {
    const res = await runScenarios(todo, 'kvm');
    res.forEach((r, i) => out.set(r.file, `${r.file}: ${r.status} ${r.divergences.map((d) => d.signature).join(' ')}`));
    todo = todo.filter((x) => out.get(x.file) !== `${x.file}: ${want(x)}`);
  }
  return list.map((x) => out.get(x.file)!);
}

describe('corpus/real', () => {
  const dir = 'corpus/real';
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  it.each(files.length ? files : ['(none)'])('%s parses and has its real outcome recorded', (f) => {
    if (f === '(none)') return;
    const s = parseScenario(readFileSync(`${dir}/${f}`, 'utf8'), f);
    expect(s.expect).toBeUndefined(); // real-hypervisor findings: outcomes live in "real", not in model expectations
    expect(s.real?.tcg?.status).toBeDefined();
  });
});

describe.skipIf(!!why)('corpus/real under TCG', () => {
  // Each file replays to its recorded outcome; the ones whose description gives a rate may come out
  // clean, but never with another signature.
  const dir = 'corpus/real';
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => `${dir}/${f}`) : [];
  it('every file replays to its recorded TCG outcome', async () => {
    const list = files.map((f) => ({ file: f, scenario: parseScenario(readFileSync(f, 'utf8'), f) }));
    const res = await runScenarios(list, 'tcg');
    res.forEach((r, i) => {
      const rec = list[i]!.scenario.real!.tcg!;
      const sometimes = /reproduces in \d+ of \d+ runs/.test(list[i]!.scenario.description ?? '');
      const sigs = r.divergences.map((d) => d.signature);
      if (sometimes) {
        // A race in the hypervisor: clean, or divergent with the signature its description names.
        expect(['clean', 'divergent']).toContain(r.status);
        for (const sig of sigs) expect(list[i]!.scenario.description).toContain(sig);
        return;
      }
      expect(`${r.file}: ${r.status} ${sigs.join(' ')}`).toBe(`${r.file}: ${rec.status} ${rec.signatures.join(' ')}`);
    });
  });
});

describe.skipIf(!!why)('model reproducers as real guests under TCG', () => {
  // The judge's soundness on real runs: QEMU's TCG APIC is architectural for everything these
  // reproducers exercise, so each must come out clean, as recorded in its "real" field.
  const files = ['corpus/bhyve', 'corpus/kvm', 'corpus/kvm-nvmx'].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => `${d}/${f}`));
  // One exception since the guest kernel executes SVR writes (issue 8): QEMU's xAPIC accepts fixed
  // messages while software-disabled (apic_set_irq does not test SVR bit 8) and holds them, here a
  // self-IPI that the reference discards (REF-SVR-1, a *choice* for self-IPIs, as KVM's
  // __apic_accept_irq); the cross-vCPU form is corpus/real/qemu-tcg-fixed-ipi-accepted-while-sw-disabled.json.
  const qemuBug: Record<string, string> = { 'corpus/kvm/kvm-self-ipi-while-apic-sw-disabled.json': 'real/tcg:read-mismatch:read-irr:drain' };
  // Nested machines are not replayed (session 8): the guest kernel has no VMX, and the file without its
  // L2 would be another scenario; they come back inconclusive, saying why.
  it('every model reproducer is clean on TCG but the one QEMU disagrees with, nested ones not replayed', async () => {
    const list = files.map((f) => ({ file: f, scenario: parseScenario(readFileSync(f, 'utf8'), f) }));
    const res = await runScenarios(list, 'tcg');
    res.forEach((r, i) => {
      const want = qemuBug[r.file];
      if (list[i]!.scenario.machine.nested) {
        expect(`${r.file}: ${r.status} ${r.problems.join(' ')}`).toMatch(/: inconclusive not replayed: a nested machine/);
        return;
      }
      expect(`${r.file}: ${r.status} ${r.divergences.map((d) => d.signature).join(' ')}`).toBe(want ? `${r.file}: divergent ${want}` : `${r.file}: clean `);
    });
    expect(res.filter((r) => r.status === 'inconclusive').length).toBe(list.filter((x) => x.scenario.machine.nested).length);
  });
});

describe.skipIf(!!why)('corpus/kut as real guests under TCG', () => {
  // The kvm-unit-tests scenarios are clean on the reference; QEMU's TCG APIC and I/O APIC must
  // agree, with every register read and every register write the judge can follow executed by the
  // guest (only what a guest cannot express, or the judge cannot follow yet, is skipped — and said).
  // One disagreement is QEMU's: two xAPICs given the same ID by a guest write, and a physical IPI
  // to that ID reaches only one of them (corpus/real/qemu-tcg-aliased-physical-id.json).
  const files = readdirSync('corpus/kut').filter((f) => f.endsWith('.json')).map((f) => `corpus/kut/${f}`);
  const qemuBug: Record<string, string> = { 'corpus/kut/kut-apic-aliased-physical-ipi.json': 'real/tcg:lost:self-ipi@iret' };
  // What may still be skipped: hypervisor-level events, the timer, LINT lines, logical I/O APIC
  // entries, 32-bit destinations.
  const allowedSkips = /^(pirq|time|lvt_timer|timer_initial|tsc_deadline|lapic_read:tmcct|lint|ioapic_write:logical|ipi:dest32)$/;
  it('every kut scenario replays on TCG as recorded here, with its programmed registers read and written', async () => {
    const res = await runScenarios(files.map((f) => ({ file: f, scenario: parseScenario(readFileSync(f, 'utf8'), f) })), 'tcg');
    for (const r of res) {
      const want = qemuBug[r.file];
      const sigs = r.divergences.map((d) => d.signature).join(' ');
      expect(`${r.file}: ${r.status} ${sigs}`).toBe(want ? `${r.file}: divergent ${want}` : `${r.file}: clean `);
    }
    const skipped = res.flatMap((r) => {
      const s = parseScenario(readFileSync(r.file, 'utf8'), r.file);
      return r.notes.filter((n) => n.action === 'skipped').map((n) => {
        const e = s.events[n.index]!;
        const why = e.k === 'lapic_read' ? `:${e.reg}` : e.k === 'ioapic_write' && e.logical ? ':logical' : e.k === 'ipi' && (e.dest ?? 0) > 0xff ? ':dest32' : '';
        return `${e.k}${why}`;
      });
    });
    expect(skipped.filter((k) => !allowedSkips.test(k))).toEqual([]);
  });
});

describe.skipIf(!!why)('run-time programming on the guest kernel under TCG (issue 8)', () => {
  it('an APIC ID write: read back, the IPI to the new ID wakes the (emulated) HLT; the next scenario of the batch starts with the boot ID', async () => {
    const s: Scenario = {
      irqdiff: 1, name: 'id-write', machine: { vcpus: 2, apic: 'xapic', ioapic: [] },
      events: [
        { k: 'lapic_read', cpu: 1, reg: 'id' },
        { k: 'lapic_write', cpu: 1, reg: 'id', value: 0x02000000 },
        { k: 'lapic_read', cpu: 1, reg: 'id' },
        { k: 'work', cpu: 1, flag: 0 },
        { k: 'hlt', cpu: 1 },
        { k: 'wait', cpu: 0, flag: 0 },
        { k: 'ipi', cpu: 0, vector: 0x41, dest: 2 },
        { k: 'eoi', cpu: 1 }, { k: 'iret', cpu: 1 },
      ],
    };
    const res = await runScenarios([{ file: 'id-1', scenario: s }, { file: 'id-2', scenario: s }], 'tcg');
    for (const r of res) {
      expect(`${r.status} ${r.divergences.map((d) => d.signature).join(' ')}`).toBe('clean ');
      const recs = r.observations!.find((c) => c.cpu === 1)!.records;
      expect(recs.filter((x) => x.t === 'read').map((x) => (x.t === 'read' ? x.value : 0))).toEqual([0x01000000, 0x02000000]);
      expect(entries(r).map((x) => x.vector)).toEqual([0x41]);
    }
  });

  // (A message sent while the APIC is software-disabled is QEMU's disagreement:
  // corpus/real/qemu-tcg-fixed-ipi-accepted-while-sw-disabled.json, replayed by "corpus/real under TCG".)
  it('SVR disable and re-enable, ESR written then read, an LVT LINT0 write: executed, read back, clean', async () => {
    const s: Scenario = {
      irqdiff: 1, name: 'svr', machine: { vcpus: 1, apic: 'xapic', ioapic: [] },
      events: [
        { k: 'cli', cpu: 0 },
        { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0xff },
        { k: 'lapic_read', cpu: 0, reg: 'svr' },
        { k: 'step', cpu: 0 },
        { k: 'lapic_write', cpu: 0, reg: 'svr', value: 0x1ff },
        { k: 'lapic_write', cpu: 0, reg: 'esr', value: 0 },
        { k: 'read', cpu: 0, reg: 'esr' },
        { k: 'lvt_lint', cpu: 0, pin: 0, vector: 0x61, trigger: 'edge', masked: false },
        { k: 'ipi', cpu: 0, vector: 0x42, shorthand: 'self' },
        { k: 'sti', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'step', cpu: 0 }, { k: 'eoi', cpu: 0 }, { k: 'iret', cpu: 0 },
      ],
    };
    const [r] = await runScenarios([{ file: 'svr', scenario: s }], 'tcg');
    expect(`${r!.status} ${r!.divergences.map((d) => d.signature).join(' ')}`).toBe('clean ');
    expect(entries(r!).map((x) => x.vector)).toEqual([0x42]);
    expect(r!.notes.filter((n) => n.action === 'skipped')).toEqual([]);
    const reads = r!.observations![0]!.records.filter((x) => x.t === 'read').map((x) => (x.t === 'read' ? x.value : 0));
    expect(reads).toEqual([0xff, 0]);
  });

  it('a redirection-entry write moves a level pin to vCPU 1 with a new vector; the entry reads back as written', async () => {
    const s: Scenario = {
      irqdiff: 1, name: 'ioapic-write', machine: { vcpus: 2, apic: 'xapic', ioapic: [{ pin: 1, vector: 0x55, dest: 0, trigger: 'level', masked: true }] },
      events: [
        { k: 'ioapic_write', cpu: 0, pin: 1, vector: 0x56, dest: 1, trigger: 'level', masked: false },
        { k: 'ioapic', pin: 1, op: 'assert' },
        { k: 'ioapic_read', cpu: 0, reg: 'redir-hi', pin: 1 },
        { k: 'ioapic', pin: 1, op: 'deassert' },
        { k: 'ioapic_read', cpu: 0, reg: 'redir-lo', pin: 1 },
        { k: 'step', cpu: 1 }, { k: 'eoi', cpu: 1 }, { k: 'iret', cpu: 1 },
      ],
    };
    const [r] = await runScenarios([{ file: 'ioapic-write', scenario: s }], 'tcg');
    expect(`${r!.status} ${r!.divergences.map((d) => d.signature).join(' ')}`).toBe('clean ');
    expect(r!.notes.filter((n) => n.action === 'skipped')).toEqual([]);
    expect(entries(r!).map((x) => x.vector)).toEqual([0x56]);
    const reads = r!.observations!.find((c) => c.cpu === 0)!.records.filter((x) => x.t === 'read').map((x) => (x.t === 'read' ? x.value : 0));
    expect(reads[0]).toBe(0x01000000);
    expect((reads[1] as number) & ~0x5000).toBe(0x8056);     // level, unmasked, 0x56 (delivery status and Remote IRR are timing)
  });
});

describe.skipIf(!!why)('INT n on the guest kernel under TCG', () => {
  it('INT 0x80 enters its handler before the next op, inside a fused STI shadow too, and the judge finds it clean', async () => {
    const s: Scenario = {
      irqdiff: 1, name: 'int-n',
      machine: { vcpus: 1, apic: 'xapic', ioapic: [] },
      events: [
        { k: 'int', cpu: 0, vector: 0x80 }, { k: 'step', cpu: 0 }, { k: 'iret', cpu: 0 },
        { k: 'cli', cpu: 0 }, { k: 'sti', cpu: 0 }, { k: 'int', cpu: 0, vector: 0x81 }, { k: 'iret', cpu: 0 },
      ],
    };
    const [r] = await runScenarios([{ file: 'int-n', scenario: s }], 'tcg');
    expect(r!.status).toBe('clean');
    // ops: 0 int, 1 step, 2 iret, 3 cli, 4 sti (fused with 5), 5 int, 6 iret.
    expect(entries(r!)).toEqual([{ vector: 0x80, pos: 1 }, { vector: 0x81, pos: 6 }]);
  });
});
