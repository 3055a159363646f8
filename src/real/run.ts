// Replay scenarios on a real hypervisor: compile, boot in batches, judge.
import { readFileSync } from 'node:fs';
import { parseScenario } from '../scenario/schema.js';
import type { Scenario } from '../scenario/types.js';
import type { Divergence } from '../oracle/divergence.js';
import { buildGuest } from './build.js';
import { type Accel, type BatchParams, type BatchTiming, type Compiled, type EventNote, compileScenario } from './compile.js';
import { judgeScenario, type JudgeResult } from './judge.js';
import { type AccelCaps, bootBatch, kvmUnusable, probeAccel, qemuAvailable, type CpuLog } from './qemu.js';

export interface RealOptions {
  /** Scenarios per QEMU boot (default 200). */
  batchSize?: number;
  /** Path of a prebuilt kernel.elf (default: build harness/guest/). */
  kernel?: string;
  /** Progress messages (default: none). */
  log?: (msg: string) => void;
  /** Run the kernel in no-IRET mode even where IRET works (tests the KVM-PVM fallback on TCG). */
  forceNoIret?: boolean;
}

export interface RealResult {
  file: string;
  name?: string;
  accel: Accel;
  /** 'clean', 'divergent', 'error' (the harness could not run or read it), 'inconclusive'. */
  status: JudgeResult['status'];
  notes: EventNote[];
  /** Events of the scenario, and per kind (exit events by reason) those skipped / merged. */
  events: number;
  skipped: Record<string, number>;
  merged: Record<string, number>;
  observations: CpuLog[] | null;
  divergences: Divergence[];
  problems: string[];
  info: string[];
}

export class RealUnavailable extends Error {
  constructor(message: string) { super(message); this.name = 'RealUnavailable'; }
}

export function checkAccel(accel: Accel): void {
  if (!qemuAvailable()) throw new RealUnavailable('qemu-system-x86_64 not found: install qemu-system-x86 (apt-get install -y qemu-system-x86)');
  const why = accel === 'kvm' ? kvmUnusable() : null;
  if (why) throw new RealUnavailable(why);
}

/** Harness timing per accelerator (docs/real-replay.md). TCG delivers every message inside the
 *  sender's instruction, so a wait needs no settle time; hardware posting can lag by microseconds.
 *  The KVM drain's backstop is 50 ms: KVM-PVM injects a pending vector only at an exit to QEMU or
 *  the end of an emulation batch, and 5 ms left vectors in IRR after drains that had several to
 *  deliver (real-fuzz seed rk1 #174: 2 of 12 runs; reported as lost:*); the
 *  drain ends as soon as IRR has been quiet, so the backstop costs nothing where IRR empties. */
export function timingFor(accel: Accel): BatchTiming {
  return accel === 'kvm'
    ? { graceUs: 2000, waitTimeoutUs: 300000, drainUs: 50000, settleUs: 20, quietUs: 300 }
    : { graceUs: 3000, waitTimeoutUs: 1000000, drainUs: 10000, settleUs: 0, quietUs: 200 };
}

export interface Prepared { kernel: string; caps: AccelCaps }

export async function prepare(accel: Accel, opts: RealOptions = {}): Promise<Prepared> {
  checkAccel(accel);
  const kernel = opts.kernel ?? buildGuest();
  let caps = await probeAccel(accel, kernel);
  if (opts.forceNoIret && caps.iret) caps = { ...caps, iret: false, note: `${accel}: no-IRET mode forced (--no-iret): interrupt frames are popped with POPF, NMIs are skipped, HLT is emulated by a wait` };
  if (caps.note) opts.log?.(caps.note);
  return { kernel, caps };
}

export function compileFor(s: Scenario, p: Prepared): Compiled {
  return compileScenario(s, { accel: p.caps.accel, x2apicAvailable: p.caps.x2apic, noIret: !p.caps.iret });
}

/** Run compiled scenarios; returns observations or an error string per item. */
export async function runCompiled(p: Prepared, items: Compiled[], opts: RealOptions = {}): Promise<({ cpus: CpuLog[] } | { error: string })[]> {
  const out: ({ cpus: CpuLog[] } | { error: string })[] = new Array(items.length);
  const size = opts.batchSize ?? 200;
  // One machine size per boot: scenario vCPUs + the harness CPU, grouped by APIC mode.
  const groups = new Map<string, number[]>();
  items.forEach((c, i) => {
    const k = `${c.machine.vcpus}/${c.machine.apic}`;
    const g = groups.get(k) ?? [];
    g.push(i);
    groups.set(k, g);
  });
  const t = timingFor(p.caps.accel);
  const runChunk = async (idx: number[]): Promise<void> => {
    if (!idx.length) return;
    const first = items[idx[0]!]!;
    const params: BatchParams = { ...t, x2apic: first.machine.apic === 'x2apic', ncpus: first.machine.vcpus + 1, noIret: !p.caps.iret };
    const perScn = (t.drainUs + 5 * t.graceUs) / 1000 + 50;
    const budget = 20000 + idx.length * perScn + idx.reduce((a, i) => a + countWaits(items[i]!) * t.waitTimeoutUs / 1000, 0);
    const r = await bootBatch(p.caps.accel, p.kernel, idx.map((i) => items[i]!), params, budget);
    let missing = 0;
    idx.forEach((itemIdx, k) => {
      const o = r.parsed.scenarios.get(k);
      if (o) out[itemIdx] = { cpus: o.cpus };
      else missing++;
    });
    if (!missing) return;
    const why = r.timedOut ? `timed out after ${budget} ms` : `exit ${r.exitCode}${r.parsed.fatal ? `: ${r.parsed.fatal}` : ''}${/KVM internal error/.test(r.serial) ? ': KVM internal error' : ''}`;
    const rest = idx.filter((i) => !out[i]);
    if (rest.length === 1 || rest.length === idx.length && idx.length === 1) {
      for (const i of rest) out[i] = { error: `the guest did not report this scenario (${why})` };
      return;
    }
    opts.log?.(`boot failed after ${idx.length - rest.length}/${idx.length} scenarios (${why}); retrying the rest in halves`);
    const half = Math.ceil(rest.length / 2);
    await runChunk(rest.slice(0, half));
    await runChunk(rest.slice(half));
  };
  for (const g of groups.values()) {
    for (let i = 0; i < g.length; i += size) await runChunk(g.slice(i, i + size));
  }
  return out;
}

function countWaits(c: Compiled): number {
  let n = 0;
  for (const p of c.programs) for (const op of p) if (op.sem.k === 'guest' && op.sem.ev.k === 'wait') n++;
  return n;
}

/** Per-kind counts of the events a compiled scenario skipped or merged. */
export function eventCounts(c: Compiled): Pick<RealResult, 'events' | 'skipped' | 'merged'> {
  const skipped: Record<string, number> = {}, merged: Record<string, number> = {};
  for (const n of c.notes) {
    if (n.index < 0) continue;
    const key = n.key ?? n.k;
    if (n.action === 'skipped') skipped[key] = (skipped[key] ?? 0) + 1;
    else if (n.action === 'merged') merged[key] = (merged[key] ?? 0) + 1;
  }
  return { events: c.events, skipped, merged };
}

/** "enter_step ×5, pirq ×1" */
export function fmtCounts(m: Record<string, number>): string {
  return Object.entries(m).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => `${k} ×${v}`).join(', ');
}

export function judgeOne(c: Compiled, o: { cpus: CpuLog[] } | { error: string }, accel: Accel, file: string, name?: string): RealResult {
  const base = { file, name, accel, notes: c.notes, ...eventCounts(c) };
  if ('error' in o) return { ...base, status: 'error', observations: null, divergences: [], problems: [o.error], info: [] };
  const j = judgeScenario(c, { index: 0, cpus: o.cpus }, { variant: accel });
  return { ...base, status: j.status, observations: o.cpus, divergences: j.divergences, problems: j.problems, info: j.info };
}

/** Replay scenario files on a real hypervisor and judge what the guest observed. */
export async function runReal(files: string[], accel: Accel, opts: RealOptions = {}): Promise<RealResult[]> {
  const scenarios = files.map((f) => parseScenario(readFileSync(f, 'utf8'), f));
  return runScenarios(scenarios.map((s, i) => ({ file: files[i]!, scenario: s })), accel, opts);
}

/**
 * Why a scenario is not replayed at all (its file is reported 'inconclusive' with this reason), or null. A nested
 * machine's meaning is L1 running an L2 (VM entries, L2 instructions, L1's VMCS controls such as nested.ackOnExit):
 * the guest kernel has no VMX code, and replaying the file flat without its L2 would judge another scenario.
 */
export function notReplayable(s: Scenario): string | null {
  return s.machine.nested ? 'not replayed: a nested machine (L1 runs an L2); the guest kernel (harness/guest) has no VMX, and the file without its L2 would be another scenario' : null;
}

export async function runScenarios(list: { file: string; scenario: Scenario }[], accel: Accel, opts: RealOptions = {}, prepared?: Prepared): Promise<RealResult[]> {
  const out: RealResult[] = new Array(list.length);
  const run: number[] = [];
  list.forEach((x, i) => {
    const why = notReplayable(x.scenario);
    if (why === null) { run.push(i); return; }
    out[i] = {
      file: x.file, name: x.scenario.name, accel, status: 'inconclusive', notes: [{ index: -1, k: 'vmentry', action: 'skipped', reason: why }],
      events: x.scenario.events.length, skipped: {}, merged: {}, observations: null, divergences: [], problems: [why], info: [],
    };
  });
  if (run.length === 0) return out;
  const p = prepared ?? await prepare(accel, opts);
  const compiled = run.map((i) => compileFor(list[i]!.scenario, p));
  if (!p.caps.iret) for (const c of compiled) c.notes.unshift({ index: -1, k: 'iret', action: 'mapped', reason: p.caps.note });
  const obs = await runCompiled(p, compiled, opts);
  compiled.forEach((c, k) => { const i = run[k]!; out[i] = judgeOne(c, obs[k]!, accel, list[i]!.file, list[i]!.scenario.name); });
  return out;
}
