// CLI for real-hypervisor replay (the lead wires it into the main CLI):
//   node dist/real/main.js real FILE... --accel kvm|tcg [--json]
//   node dist/real/main.js real-fuzz --accel kvm,tcg --count N --seed S --out DIR
// Exit codes: 0 clean, 1 divergence, 2 usage error (or the accelerator/QEMU is unavailable).
import { pathToFileURL } from 'node:url';
import type { Accel } from './compile.js';
import { realFuzz } from './fuzz.js';
import { recordReal } from './record.js';
import { fmtCounts, RealUnavailable, runReal } from './run.js';

export const USAGE = `usage:
  irqdiff real FILE... --accel kvm|tcg [--json] [--batch N] [--record]
      Replay scenario files in the guest test kernel under QEMU (KVM or TCG) and judge what
      the guest observed with the architectural reference. --record writes the outcome into
      each file's "real" field, next to the models' expectations.
  irqdiff real-fuzz --accel kvm,tcg --count N --seed S --out DIR [--findings N] [--programming]
      Generate N guest-level scenarios, run them on each accelerator, re-run divergent ones
      (flaky vs reproducible; at most N signatures per accelerator, default 6) and minimize
      the reproducible ones into DIR. The summary gives agreement, scenarios per second and
      the skipped events per kind. --programming also draws run-time programming
      (lapic_write, ioapic_write, lvt_lint).
exit codes: 0 clean, 1 divergence, 2 usage error or accelerator unavailable`;

class UsageError extends Error {}

function parseAccels(v: string | undefined, many: boolean): Accel[] {
  if (!v) throw new UsageError('--accel is required');
  const list = v.split(',').map((x) => x.trim()).filter(Boolean);
  if (!list.length || list.some((x) => x !== 'kvm' && x !== 'tcg')) throw new UsageError(`--accel: expected kvm or tcg${many ? ' (comma-separated)' : ''}, got '${v}'`);
  if (!many && list.length > 1) throw new UsageError('--accel: one accelerator for "real"');
  return list as Accel[];
}

function parseArgs(argv: string[]): { pos: string[]; flags: Map<string, string | true> } {
  const pos: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json' || a === '--help' || a === '-h' || a === '--record' || a === '--programming') { flags.set(a.replace(/^-+/, ''), true); continue; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) { flags.set(a.slice(2, eq), a.slice(eq + 1)); continue; }
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      flags.set(a.slice(2), v);
      i++;
      continue;
    }
    pos.push(a);
  }
  return { pos, flags };
}

function str(flags: Map<string, string | true>, k: string): string | undefined {
  const v = flags.get(k);
  return typeof v === 'string' ? v : undefined;
}

export async function realMain(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') { out(USAGE + '\n'); return cmd ? 0 : 2; }
    const { pos, flags } = parseArgs(rest);
    if (flags.has('help') || flags.has('h')) { out(USAGE + '\n'); return 0; }
    const log = (m: string) => err(`[real] ${m}\n`);
    if (cmd === 'real') {
      if (!pos.length) throw new UsageError('real: no scenario files');
      const accel = parseAccels(str(flags, 'accel'), false)[0]!;
      const batch = str(flags, 'batch');
      const batchSize = batch === undefined ? undefined : Number(batch);
      if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) throw new UsageError('--batch: expected a positive integer');
      const results = await runReal(pos, accel, { log, batchSize });
      if (flags.has('record')) for (const r of results) recordReal(r);
      if (flags.has('json')) out(JSON.stringify(results, null, 2) + '\n');
      else for (const r of results) {
        out(`${r.file}: ${r.status}\n`);
        const sk = Object.values(r.skipped).reduce((a, b) => a + b, 0), mg = Object.values(r.merged).reduce((a, b) => a + b, 0);
        out(`  events ${r.events}: skipped ${sk}${sk ? ` (${fmtCounts(r.skipped)})` : ''}, merged ${mg}${mg ? ` (${fmtCounts(r.merged)})` : ''}\n`);
        for (const n of r.notes) out(`  ${n.action} ${n.index >= 0 ? `event ${n.index} (${n.k})` : 'machine'}: ${n.reason}\n`);
        for (const d of r.divergences) out(`  DIVERGENCE ${d.signature}\n    ${d.message}\n`);
        for (const p of r.problems) out(`  problem: ${p}\n`);
        for (const i of r.info) out(`  info: ${i}\n`);
      }
      return results.some((r) => r.status === 'divergent') ? 1 : 0;
    }
    if (cmd === 'real-fuzz') {
      const accels = parseAccels(str(flags, 'accel'), true);
      const count = Number(str(flags, 'count') ?? '100');
      if (!Number.isInteger(count) || count < 1) throw new UsageError('--count: expected a positive integer');
      const seed = str(flags, 'seed') ?? '1';
      const dir = str(flags, 'out');
      if (!dir) throw new UsageError('--out DIR is required');
      const fstr = str(flags, 'findings');
      const maxFindings = fstr === undefined ? undefined : Number(fstr);
      if (maxFindings !== undefined && (!Number.isInteger(maxFindings) || maxFindings < 0)) throw new UsageError('--findings: expected a non-negative integer');
      const rep = await realFuzz({ accels, count, seed, out: dir, log, maxFindings, programming: flags.has('programming') });
      for (const s of rep.stats) {
        out(`${s.accel}: ${s.total} scenarios, clean ${s.clean}, divergent ${s.divergent}, error ${s.error}, inconclusive ${s.inconclusive}; agreement ${(100 * s.agreement).toFixed(2)}% (${s.seconds.toFixed(1)} s, ${(s.total / s.seconds).toFixed(1)} scenarios/s) [${s.caps}]\n`);
        out(`  events ${s.events}: skipped ${s.skippedEvents}${s.skippedEvents ? ` (${fmtCounts(s.skipped)})` : ''}, merged ${s.mergedEvents}${s.mergedEvents ? ` (${fmtCounts(s.merged)})` : ''}, mapped ${s.mappedEvents}\n`);
        for (const [sig, k] of Object.entries(s.signatures)) out(`  ${k} × ${sig}\n`);
      }
      for (const f of rep.findings) out(`${f.flaky ? 'FLAKY' : 'REPRODUCIBLE'} ${f.signature} ${f.rate} ${f.minimized ?? f.scenario}\n`);
      return rep.stats.some((s) => s.divergent > 0) ? 1 : 0;
    }
    throw new UsageError(`unknown command '${cmd}'`);
  } catch (e) {
    if (e instanceof UsageError) { err(`error: ${e.message}\n${USAGE}\n`); return 2; }
    if (e instanceof RealUnavailable) { err(`error: ${e.message}\n`); return 2; }
    throw e;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  realMain(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 2;
  });
}
