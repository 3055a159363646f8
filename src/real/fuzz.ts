// Real-hypervisor fuzzing: generate guest-level scenarios, replay them on each accelerator,
// re-run divergent ones to tell reproducible from flaky, minimize the reproducible ones on
// the real guest and write them out.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import type { Event, IoapicPin, Scenario } from '../scenario/types.js';
import { validateScenario } from '../scenario/schema.js';
import type { Accel } from './compile.js';
import { compileFor, judgeOne, prepare, type Prepared, type RealOptions, type RealResult, runCompiled } from './run.js';

export interface GenOptions {
  allowNmi: boolean;
  /** Also draw run-time programming (issue 8): lapic_write, ioapic_write, lvt_lint. Off by default,
   *  so a seed gives the scenarios it gave before. */
  programming?: boolean;
}

const VECTORS = [0x31, 0x32, 0x3f, 0x41, 0x42, 0x51, 0x61, 0x62, 0x81, 0x91, 0xa1, 0xc1, 0xe1, 0xe2, 0xf1];
const PIN_VECTORS = [0x55, 0xb5];
const REGS = ['irr', 'isr', 'tmr', 'ppr', 'tpr', 'esr'] as const;

/** A guest-level scenario whose vCPUs take turns: each turn ends with work/wait, so the
 *  cross-vCPU order of the events is the order of the list. */
export function generateScenario(rng: () => number, name: string, opts: GenOptions): Scenario {
  const int = (n: number) => Math.floor(rng() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const vcpus = rng() < 0.7 ? 2 : 3;
  const apic = rng() < 0.5 ? 'x2apic' : 'xapic';
  const ioapic: IoapicPin[] = [];
  if (rng() < 0.35) {
    const np = 1 + int(2);
    // Pin vectors have no other source (a level vector must not, see the schema).
    for (let k = 0; k < np; k++) ioapic.push({ pin: k + 1, vector: PIN_VECTORS[k]!, dest: int(vcpus), trigger: rng() < 0.5 ? 'edge' : 'level', masked: rng() < 0.2 });
  }
  const events: Event[] = [];
  // Run-time programming keeps within what validation accepts: a pin keeps its vector and trigger
  // (a level vector has no other source), LINT entries are edge-triggered, ID/LDR/DFR are xAPIC only.
  const programmingEvent = (cpu: number): Event => {
    const r = rng();
    if (r < 0.25) return { k: 'lapic_write', cpu, reg: 'svr', value: rng() < 0.5 ? 0xff : 0x1ff };
    if (r < 0.35) return { k: 'lapic_write', cpu, reg: 'esr', value: 0 };
    if (r < 0.6 && apic === 'xapic') {
      const w = rng();
      if (w < 0.3 && !ioapic.length) return { k: 'lapic_write', cpu, reg: 'id', value: (int(vcpus + 1) << 24) >>> 0 };
      if (w < 0.7) return { k: 'lapic_write', cpu, reg: 'ldr', value: ((1 << int(8)) << 24) >>> 0 };
      return { k: 'lapic_write', cpu, reg: 'dfr', value: rng() < 0.7 ? 0xffffffff : 0x0fffffff };
    }
    if (r < 0.85 && ioapic.length && cpu === 0) {
      const p = pick(ioapic);
      return { k: 'ioapic_write', cpu, pin: p.pin, vector: p.vector, dest: int(vcpus + 1), trigger: p.trigger, masked: rng() < 0.3 };
    }
    return { k: 'lvt_lint', cpu, pin: rng() < 0.5 ? 0 : 1, vector: pick(VECTORS), trigger: 'edge', masked: rng() < 0.5, nmi: rng() < 0.2 };
  };
  let active = 0;
  let flag = 0;
  const turns = 2 + int(4);
  for (let t = 0; t < turns; t++) {
    const cpu = active;
    const len = 2 + int(6);
    for (let k = 0; k < len; k++) {
      const r = rng();
      const other = (cpu + 1 + int(vcpus - 1)) % vcpus;
      if (r < 0.28) {
        const sh = rng();
        if (sh < 0.45) events.push({ k: 'ipi', cpu, vector: pick(VECTORS), dest: other });
        else if (sh < 0.7) events.push({ k: 'ipi', cpu, vector: pick(VECTORS), shorthand: 'self' });
        else if (sh < 0.8) events.push({ k: 'ipi', cpu, vector: pick(VECTORS), shorthand: rng() < 0.5 ? 'all' : 'others' });
        else if (sh < 0.9) events.push({ k: 'ipi', cpu, vector: pick(VECTORS), logical: true, dest: 1 << int(vcpus) });
        else events.push({ k: 'ipi', cpu, vector: pick(VECTORS), dest: cpu });
      } else if (r < 0.32 && opts.allowNmi) events.push({ k: 'ipi', cpu, vector: 0, nmi: true, dest: rng() < 0.5 ? other : cpu });
      else if (r < 0.44) events.push({ k: 'eoi', cpu });
      else if (r < 0.52) events.push({ k: 'iret', cpu });
      else if (r < 0.58) {
        // A real MOV to CR8 half the time (TPR[7:4]; the 64-bit guest kernel executes it).
        if (rng() < 0.5) events.push({ k: 'tpr', cpu, value: int(16) * 16, via: 'cr8' });
        else events.push({ k: 'tpr', cpu, value: int(16) * 16 + (rng() < 0.2 ? int(16) : 0), via: 'mmio' });
      }
      else if (r < 0.64) events.push({ k: 'cli', cpu });
      else if (r < 0.72) events.push({ k: 'sti', cpu });
      else if (r < 0.76) events.push({ k: 'step', cpu });
      else if (r < 0.86) events.push({ k: 'read', cpu, reg: pick(REGS) });
      else if (r < 0.89) events.push({ k: 'hlt', cpu });
      else if (r < 0.93) events.push({ k: 'msi', dest: 1 + int(vcpus - 1), vector: pick(VECTORS) });
      else if (r < 0.97 && ioapic.length && cpu === 0) {
        const p = pick(ioapic);
        events.push({ k: 'ioapic', pin: p.pin, op: pick(['assert', 'deassert', 'pulse', 'mask', 'unmask'] as const) });
      } else events.push({ k: 'exit', cpu, reason: pick(['io', 'cpuid', 'pause', 'npf'] as const) });
      if (opts.programming && rng() < 0.12) events.push(programmingEvent(cpu));
    }
    if (t < turns - 1 && flag < 15) {
      const next = (active + 1 + int(vcpus - 1)) % vcpus;
      events.push({ k: 'work', cpu: active, flag });
      events.push({ k: 'wait', cpu: next, flag });
      flag++;
      active = next;
    }
  }
  return validateScenario({ irqdiff: 1, name, source: 'irqdiff real-fuzz', machine: { vcpus, apic, ioapic }, events }, name);
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export interface FuzzFinding {
  accel: Accel;
  signature: string;
  scenario: string;
  /** reproductions / re-runs */
  rate: string;
  flaky: boolean;
  minimized?: string;
  minimizedEvents?: number;
  message: string;
}

export interface FuzzStats {
  accel: Accel;
  total: number;
  clean: number;
  divergent: number;
  error: number;
  inconclusive: number;
  /** clean / (clean + divergent + error): a guest that crashed or could not be read does not agree */
  agreement: number;
  seconds: number;
  events: number;
  skippedEvents: number;
  mergedEvents: number;
  mappedEvents: number;
  /** Per event kind (exit events by reason). */
  skipped: Record<string, number>;
  merged: Record<string, number>;
  signatures: Record<string, number>;
  /** Every divergent scenario: its index in the generated sequence and its signatures. */
  divergentScenarios: { index: number; signatures: string[] }[];
  /** Every scenario the harness could not judge (status error), with why. */
  errorScenarios: { index: number; problems: string[] }[];
  caps: string;
}

export interface FuzzReport { seed: string; count: number; stats: FuzzStats[]; findings: FuzzFinding[] }

export interface RealFuzzOptions extends RealOptions {
  accels: Accel[];
  count: number;
  seed: string;
  out: string;
  /** Re-runs of a divergent scenario (default 5). */
  reruns?: number;
  /** At most this many distinct signatures are re-run and minimized per accelerator (default 6). */
  maxFindings?: number;
  /** Boots the minimizer may spend per finding (default 15). */
  minimizeBoots?: number;
  /** Draw run-time programming events too (GenOptions.programming). */
  programming?: boolean;
}

async function runMany(p: Prepared, scns: Scenario[], opts: RealOptions, label: string): Promise<RealResult[]> {
  const compiled = scns.map((s) => compileFor(s, p));
  const obs = await runCompiled(p, compiled, opts);
  return compiled.map((c, i) => judgeOne(c, obs[i]!, p.caps.accel, label, scns[i]!.name));
}

const sigsOf = (r: RealResult): string[] => r.divergences.map((d) => d.signature);

/** Delete events while the divergence persists; every candidate runs on the real guest. */
export async function minimizeReal(p: Prepared, s: Scenario, signature: string, opts: RealOptions & { boots: number }): Promise<Scenario> {
  let cur = s;
  let boots = 0;
  let chunk = Math.max(1, Math.floor(cur.events.length / 2));
  while (chunk >= 1 && boots < opts.boots) {
    const cands: Scenario[] = [];
    for (let i = 0; i < cur.events.length; i += chunk) {
      cands.push({ ...cur, events: [...cur.events.slice(0, i), ...cur.events.slice(i + chunk)] });
    }
    const res = await runMany(p, cands, opts, 'minimize');
    boots++;
    const k = res.findIndex((r) => sigsOf(r).includes(signature));
    if (k >= 0) {
      cur = cands[k]!;
      chunk = Math.min(chunk, Math.max(1, Math.floor(cur.events.length / 2)));
    } else if (chunk === 1) break;
    else chunk = Math.max(1, Math.floor(chunk / 2));
  }
  return cur;
}

export async function realFuzz(opts: RealFuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => {});
  mkdirSync(opts.out, { recursive: true });
  const report: FuzzReport = { seed: opts.seed, count: opts.count, stats: [], findings: [] };
  for (const accel of opts.accels) {
    const p = await prepare(accel, opts);
    const rng = seedrandom(`${opts.seed}`);
    const scns: Scenario[] = [];
    for (let i = 0; i < opts.count; i++) scns.push(generateScenario(rng, `real-fuzz-${opts.seed}-${i}`, { allowNmi: p.caps.iret, programming: opts.programming }));
    const t0 = Date.now();
    log(`${accel}: running ${scns.length} scenarios (x2apic ${p.caps.x2apic ? 'yes' : 'no → xapic'}, iret ${p.caps.iret ? 'yes' : 'no'})`);
    const res = await runMany(p, scns, opts, 'fuzz');
    const st: FuzzStats = {
      accel, total: res.length, clean: 0, divergent: 0, error: 0, inconclusive: 0, agreement: 0,
      divergentScenarios: [], errorScenarios: [],
      seconds: (Date.now() - t0) / 1000, events: 0, skippedEvents: 0, mergedEvents: 0, mappedEvents: 0, skipped: {}, merged: {}, signatures: {},
      caps: `x2apic=${p.caps.x2apic} iret=${p.caps.iret}${p.caps.note ? ` (${p.caps.note})` : ''}`,
    };
    res.forEach((r, index) => {
      if (r.status === 'divergent') st.divergentScenarios.push({ index, signatures: sigsOf(r) });
      if (r.status === 'error') st.errorScenarios.push({ index, problems: r.problems });
    });
    for (const r of res) {
      st[r.status]++;
      st.events += r.events;
      for (const n of r.notes) if (n.index >= 0 && n.action === 'mapped') st.mappedEvents++;
      for (const [k, v] of Object.entries(r.skipped)) { st.skipped[k] = (st.skipped[k] ?? 0) + v; st.skippedEvents += v; }
      for (const [k, v] of Object.entries(r.merged)) { st.merged[k] = (st.merged[k] ?? 0) + v; st.mergedEvents += v; }
      for (const s of new Set(sigsOf(r))) st.signatures[s] = (st.signatures[s] ?? 0) + 1;
    }
    st.agreement = st.clean + st.divergent + st.error ? st.clean / (st.clean + st.divergent + st.error) : 1;
    report.stats.push(st);
    log(`${accel}: clean ${st.clean}, divergent ${st.divergent}, error ${st.error}, inconclusive ${st.inconclusive} in ${st.seconds.toFixed(1)} s`);
    // One representative per signature: re-run, then minimize what reproduces every time.
    const seen = new Set<string>();
    const reruns = opts.reruns ?? 5;
    for (let i = 0; i < res.length; i++) {
      const r = res[i]!;
      const sig = sigsOf(r)[0];
      if (!sig || seen.has(sig)) continue;
      if (seen.size >= (opts.maxFindings ?? 6)) break;
      seen.add(sig);
      const s = scns[i]!;
      const again = await runMany(p, Array.from({ length: reruns }, () => s), opts, 'rerun');
      const hits = again.filter((x) => sigsOf(x).includes(sig)).length;
      const base = `${accel}-${sig.split(':').slice(1).join('-').replace(/[^a-z0-9+_-]/gi, '_')}`;
      const file = join(opts.out, `${base}.json`);
      const finding: FuzzFinding = { accel, signature: sig, scenario: file, rate: `${hits}/${reruns}`, flaky: hits < reruns, message: r.divergences[0]!.message };
      writeAtomic(file, JSON.stringify({ ...s, description: `real-fuzz seed ${opts.seed} #${i}: ${finding.message}` }, null, 2) + '\n');
      // What the guest observed, for reading the finding (not a scenario file).
      writeAtomic(join(opts.out, `${base}.obs.json`), JSON.stringify({ scenario: s.name, divergences: r.divergences, notes: r.notes, observations: r.observations }, null, 1) + '\n');
      if (!finding.flaky) {
        const min = await minimizeReal(p, s, sig, { ...opts, boots: opts.minimizeBoots ?? 15 });
        const confirm = await runMany(p, [min, min, min], opts, 'confirm');
        const ok = confirm.filter((x) => sigsOf(x).includes(sig)).length;
        const minFile = join(opts.out, `${base}.min.json`);
        const minMsg = confirm.flatMap((x) => x.divergences).find((d) => d.signature === sig)?.message ?? finding.message;
        const doc: Scenario = {
          ...min, name: `${base}-min`,
          description: `Minimized on the real guest (${accel}) from real-fuzz seed ${opts.seed} #${i}; reproduces ${ok}/3 after minimizing. ${minMsg}`,
          expect: { [`real/${accel}`]: { signature: sig } },
        };
        writeAtomic(minFile, JSON.stringify(doc, null, 2) + '\n');
        finding.minimized = minFile;
        finding.minimizedEvents = min.events.length;
      }
      report.findings.push(finding);
      log(`${accel}: ${sig} reproduces ${finding.rate}${finding.minimized ? `, minimized to ${finding.minimizedEvents} events` : ''}`);
    }
  }
  writeAtomic(join(opts.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}
