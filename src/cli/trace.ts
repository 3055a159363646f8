// `irqdiff run FILE`: replay a scenario on one backend variant and print a step-by-step
// trace: each event, what the hypervisor and the guest did, and for each vCPU the
// reference's and the backend's IRR/ISR/PPR, with the first divergence marked.
import { hex, vsEmpty, vsFormat } from '../apic/vecset.js';
import type { Backend } from '../backends/api.js';
import { Session, type RunResult } from '../engine/session.js';
import { formatEvent } from '../scenario/format.js';
import { shown } from '../scenario/sanitize.js';
import type { Event, Scenario } from '../scenario/types.js';

export function traceScenario(s: Scenario, backend: Backend, variant: string, out: (line: string) => void): RunResult {
  const session = new Session(backend, variant, s.machine);
  const o = session.oracle;
  const b = session.instance;
  let pending: string[] = [];
  let marked = false;
  o.listener = (cpu, what) => {
    const first = what.startsWith('DIVERGENCE') && !marked;
    if (first) marked = true;
    pending.push(`${first ? '>>> ' : '      '}${cpu >= 0 ? `[vCPU${cpu}] ` : ''}${what}`);
  };
  const state = () => {
    for (let c = 0; c < s.machine.vcpus; c++) {
      const r = o.ref.cpus[c]!;
      const snap = b.snapshot(c);
      const where = b.where(c) + (b.inL2(c) ? '/L2' : '') + (b.guest(c).halted ? '/hlt' : '');
      // Messages still on the bus (legal latency) and optional instances (REF-ACC-3) are shown apart.
      const bus = vsEmpty(r.inflight.bits) && r.nmiInflight === 0 ? '' : ` bus ${vsFormat(r.inflight.bits)}${r.nmiInflight ? '+NMI' : ''}`;
      const opt = vsEmpty(r.extra.bits) ? '' : ` maybe ${vsFormat(r.extra.bits)}`;
      out(`        vCPU${c} ${where.padEnd(10)} ref IRR ${vsFormat(r.irr)}${bus}${opt} ISR ${vsFormat(r.isr)} PPR ${hex(r.ppr())} | ${backend.name} IRR ${vsFormat(snap.irr)} ISR ${vsFormat(snap.isr)} PPR ${hex(snap.ppr)}${snap.extra ? ' ' + snap.extra : ''}`);
    }
  };
  const flush = () => { for (const l of pending) out(l); pending = []; };
  out(`== ${backend.name}/${variant}: ${shown(s.name ?? 'scenario')} (${s.machine.vcpus} vCPUs, ${s.machine.apic}) ==`);
  s.events.forEach((e: Event, i) => {
    out(`${String(i).padStart(4)}  ${formatEvent(e)}`);
    session.apply(e, i);
    flush();
    state();
  });
  out('      -- drain: canonical idle, no spontaneous exits, then timer ticks --');
  session.onApply = (e, i) => {
    // Drain events that only let a guest spin are not shown.
    if (pending.every((l) => l.endsWith('executed step'))) { pending = []; return; }
    out(`  d${-1 - i}`.padEnd(6) + formatEvent(e));
    flush();
  };
  const result = session.finish();
  flush();
  state();
  out(result.primary ? `RESULT: divergent — ${result.primary.signature}` : 'RESULT: clean');
  for (const d of result.divergences) out(`  ${shown(d.signature, 500)}: ${shown(d.message, 1000)}  [${shown(d.symptoms.join(' '), 500)}]`);
  return result;
}
