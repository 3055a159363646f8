// Boots the guest test kernel under qemu-system-x86_64 (KVM or TCG) with a batch module and
// parses what every vCPU observed from the serial output.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Accel, type BatchParams, type Compiled, OP, encodeBatch } from './compile.js';

export const QEMU = 'qemu-system-x86_64';

/** Log record tags (harness/guest/defs.h). */
export const LG = {
  DELIVER: 0x01, NMI: 0x02, READ: 0x03, WAITTO: 0x04, HLTSTUCK: 0x05, END: 0x06, DRAINISR: 0x07,
  DDELIVER: 0x08, DNMI: 0x09, ENMI: 0x0a, SPURIOUS: 0x0b, ERROR: 0x0c, WDSWALLOW: 0x0d, TRUNC: 0x0e,
  WDWAKE: 0x0f, DRAINEND: 0x10,
} as const;
/** Harness error codes (defs.h ERR_*). */
export const ERR = { EXCEPTION: 1, DEPTH: 2, BARRIER: 3, LOGFULL: 4, NOX2APIC: 5 } as const;
export const POS_END_MODE = 0x1fff;

export type Reg = 'irr' | 'isr' | 'tmr' | 'ppr' | 'tpr' | 'esr' | 'id' | 'version' | 'ldr' | 'dfr' | 'svr' | 'ioapic-id' | 'ioapic-version' | 'redir-lo' | 'redir-hi' | 'tmcct' | 'ioapic-arb';
// Index = REG_CODE in compile.ts (harness/guest/defs.h REG_*).
// 15 is ESR read without the harness's write first; the register field is bits 23:16 of the record.
const REG_NAMES: readonly Reg[] = ['irr', 'isr', 'tmr', 'ppr', 'tpr', 'esr', 'id', 'version', 'ldr', 'dfr', 'svr', 'ioapic-id', 'ioapic-version', 'redir-lo', 'redir-hi', 'esr', 'tmcct', 'ioapic-arb'];

/** One thing a vCPU observed, in its order. */
export type ObsRecord =
  | { t: 'deliver'; vector: number; pos: number; nmi: boolean }
  | { t: 'read'; reg: Reg; pos: number; value: number | number[] }
  | { t: 'wait-timeout'; pos: number }
  /** The HLT at pos never woke; IRR and PPR as the guest read them when it gave up. */
  | { t: 'hlt-stuck'; pos: number; irr: number[]; ppr: number }
  /** The watchdog ended the HLT before pos although IRR held a deliverable vector. */
  | { t: 'wd-wake'; pos: number }
  /** IRR when the drain ended. */
  | { t: 'drain-end'; irr: number[] }
  | { t: 'end'; pos: number; depth: number }
  | { t: 'drain-isr'; isr: number[] }
  | { t: 'drain-deliver'; vector: number; nmi: boolean }
  | { t: 'end-nmi' }
  | { t: 'spurious'; pos: number }
  | { t: 'error'; code: number; extra: number }
  | { t: 'wd-swallow'; pos: number };

export interface CpuLog { cpu: number; err: number; spurious: number; records: ObsRecord[] }
export interface ScenarioObs { index: number; cpus: CpuLog[] }

export function decodeCpuWords(words: number[]): ObsRecord[] {
  const out: ObsRecord[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const tag = w >>> 24;
    const pos = w & 0x1fff;
    switch (tag) {
      case LG.DELIVER: out.push({ t: 'deliver', vector: (w >>> 16) & 0xff, pos, nmi: false }); break;
      case LG.NMI: out.push({ t: 'deliver', vector: 2, pos, nmi: true }); break;
      case LG.READ: {
        const reg = REG_NAMES[(w >>> 16) & 0xff] ?? 'esr';
        if (reg === 'irr' || reg === 'isr' || reg === 'tmr') { out.push({ t: 'read', reg, pos, value: words.slice(i + 1, i + 9) }); i += 8; }
        else { out.push({ t: 'read', reg, pos, value: words[i + 1] ?? 0 }); i += 1; }
        break;
      }
      case LG.WAITTO: out.push({ t: 'wait-timeout', pos }); break;
      case LG.HLTSTUCK: out.push({ t: 'hlt-stuck', pos, irr: words.slice(i + 1, i + 9), ppr: words[i + 9] ?? 0 }); i += 9; break;
      case LG.WDWAKE: out.push({ t: 'wd-wake', pos }); break;
      case LG.DRAINEND: out.push({ t: 'drain-end', irr: words.slice(i + 1, i + 9) }); i += 8; break;
      case LG.END: out.push({ t: 'end', pos, depth: (w >>> 16) & 0x1f }); break;
      case LG.DRAINISR: out.push({ t: 'drain-isr', isr: words.slice(i + 1, i + 9) }); i += 8; break;
      case LG.DDELIVER: out.push({ t: 'drain-deliver', vector: (w >>> 16) & 0xff, nmi: false }); break;
      case LG.DNMI: out.push({ t: 'drain-deliver', vector: 2, nmi: true }); break;
      case LG.ENMI: out.push({ t: 'end-nmi' }); break;
      case LG.SPURIOUS: out.push({ t: 'spurious', pos }); break;
      case LG.ERROR: out.push({ t: 'error', code: w & 0xffffff, extra: words[i + 1] ?? 0 }); i += 1; break;
      case LG.WDSWALLOW: out.push({ t: 'wd-swallow', pos }); break;
      default: out.push({ t: 'error', code: 0xbad, extra: w }); break;
    }
  }
  return out;
}

/** Parse the serial output of one boot. */
export function parseSerial(text: string): { ready: boolean; done: boolean; x2apicCpuid: boolean | null; scenarios: Map<number, ScenarioObs>; fatal: string | null } {
  const scenarios = new Map<number, ScenarioObs>();
  let cur: ScenarioObs | null = null;
  let ready = false, done = false, fatal: string | null = null;
  let x2apicCpuid: boolean | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^.*?(IRQDIFF|FATAL|NOX2APIC)/, '$1').trim();
    const m = /x2apic-cpuid=(\d)/.exec(raw);
    if (m) x2apicCpuid = m[1] === '1';
    if (line.startsWith('IRQDIFF READY')) { ready = true; continue; }
    if (line.startsWith('FATAL') || line.startsWith('NOX2APIC')) { fatal = line; continue; }
    if (raw.startsWith('DONE')) { done = true; continue; }
    const parts = raw.trim().split(' ');
    if (parts[0] === 'S' && parts.length >= 3) { cur = { index: Number(parts[1]), cpus: [] }; continue; }
    if (parts[0] === 'C' && cur && parts.length >= 4) {
      const words = parts.slice(4).map((h) => parseInt(h, 16) >>> 0);
      cur.cpus.push({ cpu: Number(parts[1]), err: parseInt(parts[2]!, 16), spurious: Number(parts[3]), records: decodeCpuWords(words) });
      continue;
    }
    if (parts[0] === 'F' && cur) { scenarios.set(cur.index, cur); cur = null; continue; }
  }
  return { ready, done, x2apicCpuid, scenarios, fatal };
}

export function qemuAvailable(): boolean {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

export function kvmAvailable(): boolean {
  return kvmUnusable() === null;
}

/** Why QEMU cannot use /dev/kvm here (absent, or present but not openable read-write as QEMU
 *  opens it), or null. */
export function kvmUnusable(dev = '/dev/kvm'): string | null {
  if (!existsSync(dev)) return `${dev} is absent: KVM replay is not possible on this machine`;
  try {
    closeSync(openSync(dev, 'r+'));
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    return `${dev} is present but cannot be opened read-write (${code}): KVM replay is not possible for this user`;
  }
}

/** Which KVM the host runs, from its loaded modules: the outcomes of the same scenario differ
 *  (docs/real-replay.md, "What this machine's KVM-PVM shows"). */
export type KvmFlavour = 'pvm' | 'vmx' | 'svm' | 'unknown';
export function kvmFlavour(sysModule = '/sys/module'): KvmFlavour {
  if (existsSync(`${sysModule}/kvm_pvm`)) return 'pvm';
  if (existsSync(`${sysModule}/kvm_intel`)) return 'vmx';
  if (existsSync(`${sysModule}/kvm_amd`)) return 'svm';
  return 'unknown';
}

export interface BootResult {
  exitCode: number | null;
  timedOut: boolean;
  serial: string;
  stderr: string;
  parsed: ReturnType<typeof parseSerial>;
  ms: number;
}

export function qemuArgs(accel: Accel, smp: number, kernel: string, batch: string): string[] {
  return [
    '-accel', accel === 'kvm' ? 'kvm' : 'tcg,thread=multi',
    // TCG: 'max' is every feature this QEMU's TCG implements (x2APIC from QEMU 8.1 on; 7.2 has none).
    '-cpu', accel === 'kvm' ? 'qemu64,+x2apic' : 'max',
    '-smp', String(smp), '-m', '64',
    '-display', 'none', '-nodefaults', '-serial', 'stdio', '-monitor', 'none',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
    '-device', 'pc-testdev',
    '-kernel', kernel, '-initrd', batch, '-no-reboot',
  ];
}

/** Boot one batch. Never throws for guest trouble: the caller looks at the result. */
export async function bootBatch(accel: Accel, kernel: string, items: Compiled[], params: BatchParams, timeoutMs: number): Promise<BootResult> {
  const dir = mkdtempSync(join(tmpdir(), 'irqdiff-real-'));
  const batchFile = join(dir, 'batch.bin');
  writeFileSync(batchFile, encodeBatch(items, params));
  const t0 = Date.now();
  try {
    return await new Promise<BootResult>((resolvePromise) => {
      const child = spawn(QEMU, qemuArgs(accel, params.ncpus, kernel, batchFile), { stdio: ['ignore', 'pipe', 'pipe'] });
      let serial = '', stderr = '', timedOut = false;
      child.stdout.setEncoding('latin1');
      child.stderr.setEncoding('utf8');
      // On an emulation failure KVM stops the VM and QEMU waits forever: end it at once.
      let failing = false;
      const watch = () => {
        if (!failing && /KVM internal error/.test(serial.slice(-4096) + stderr.slice(-4096))) {
          failing = true;
          setTimeout(() => child.kill('SIGKILL'), 300);
        }
      };
      child.stdout.on('data', (d: string) => { serial += d; watch(); });
      child.stderr.on('data', (d: string) => { if (stderr.length < 100000) stderr += d; watch(); });
      const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
      const finish = (code: number | null) => {
        clearTimeout(timer);
        resolvePromise({ exitCode: code, timedOut, serial, stderr, parsed: parseSerial(serial), ms: Date.now() - t0 });
      };
      child.on('error', (err) => { stderr += String(err); finish(null); });
      child.on('close', (code) => finish(code));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the accelerator offers our guest, learned by booting it (cached per process). */
export interface AccelCaps { accel: Accel; x2apic: boolean; iret: boolean; note: string }
const capsCache = new Map<Accel, AccelCaps>();

export async function probeAccel(accel: Accel, kernel: string): Promise<AccelCaps> {
  const hit = capsCache.get(accel);
  if (hit) return hit;
  // A scenario whose handler returns with IRET: self-IPI, then the program's iret op. The OUT
  // after the ICR write is an exit to QEMU: KVM-PVM injects a pending interrupt only when the vCPU
  // re-enters from such an exit (docs/real-replay.md), and without it the self-IPI was taken only
  // in the drain, so the iret op popped no frame and the probe tested nothing.
  const probe: Compiled = {
    machine: { vcpus: 1, apic: 'xapic', ioapic: [] }, pins: [], notes: [], events: 5, deviceCpu: 0,
    programs: [[
      { code: OP.IPI, a: 0, b: 0, data: 0x44040, event: 0, sem: { k: 'nop' } },
      { code: OP.OUT, a: 0, b: 0, data: 0, event: 1, sem: { k: 'nop' } },
      { code: OP.NOP, a: 0, b: 0, data: 0, event: 2, sem: { k: 'nop' } },
      { code: OP.EOI, a: 0, b: 0, data: 0, event: 3, sem: { k: 'nop' } },
      { code: OP.IRET, a: 0, b: 0, data: 0, event: 4, sem: { k: 'nop' } },
    ]],
  };
  const params: BatchParams = { x2apic: false, ncpus: 2, graceUs: 2000, waitTimeoutUs: 100000, drainUs: 2000, settleUs: 0, quietUs: 100, noIret: false };
  const r = await bootBatch(accel, kernel, [probe], params, 60000);
  if (!r.parsed.ready) {
    throw new Error(`${accel}: the guest kernel did not start (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''}):\n${r.stderr.slice(0, 2000)}\n${r.serial.slice(-2000)}`);
  }
  const x2apic = r.parsed.x2apicCpuid === true;
  // IRET ran only if the self-IPI opened a frame: taken in the program (the iret op pops it) or in
  // the drain (its handler returns with IRETQ).
  const taken = (r.parsed.scenarios.get(0)?.cpus[0]?.records ?? []).some((x) => (x.t === 'deliver' || x.t === 'drain-deliver') && x.vector === 0x40);
  const iret = r.parsed.done && r.exitCode === 33 && taken;
  const note = iret ? '' : /KVM internal error/.test(r.serial + r.stderr)
    ? `${accel} cannot run a protected-mode IRET in our guest (KVM internal error: emulation failure); interrupt frames are popped with POPF, NMIs are skipped, HLT is emulated by a wait`
    : r.parsed.done && r.exitCode === 33
      ? `${accel}: the IRET probe's self-IPI was never taken, so IRET is untested; running without IRET`
      : `${accel}: IRET probe failed (exit ${r.exitCode}); running without IRET`;
  const caps: AccelCaps = { accel, x2apic, iret, note };
  capsCache.set(accel, caps);
  return caps;
}
