// A reproducer as a plain-text lane diagram, at most 72 columns: one lane per vCPU for its
// guest instructions, one for the hypervisor, hardware and devices; the step where the vector
// got stuck marked '!!', the first divergence '>>'. Pasteable into a commit message or a
// mailing-list post as it is.
import { hex } from '../apic/vecset.js';
import type { Event } from '../scenario/types.js';
import type { Replay } from '../tui/replay.js';

export const LANE_WIDTH_MAX = 72;

/** Guest-lane text without the "vCPUn guest:" prefix the lane already says. */
function short(text: string): string {
  return text.replace(/^vCPU\d+ (guest|L1|L2|hv|pCPU)?:? ?/, (m, who: string | undefined) => (who === 'L1' || who === 'L2' ? `${who} ` : who === 'hv' ? 'hv ' : who === 'pCPU' ? 'pCPU ' : ''));
}

/** The hypervisor/hardware lane names the vCPU each step is for, tersely. */
export function hwText(e: Event): string {
  switch (e.k) {
    case 'exit': return `v${e.cpu} exit ${e.reason}`;
    case 'enter': return `v${e.cpu} entry`;
    case 'enter_step': return `v${e.cpu} entry step`;
    case 'pirq': return `v${e.cpu} pirq arrives`;
    case 'fault': return `v${e.cpu} EPT fault`;
    case 'msi': return `MSI ${hex(e.vector)}>${e.logical ? 'L' : 'v'}${e.dest}`;
    case 'ioapic': return `pin${e.pin} ${e.op}`;
    default: return `v${e.cpu} ${e.k}`;
  }
}

function cut(s: string, w: number): string {
  return s.length <= w ? s.padEnd(w) : s.slice(0, Math.max(0, w - 1)) + '~';
}

export function laneDiagram(r: Replay, vcpus: number, width = LANE_WIDTH_MAX): string[] {
  const lanes = vcpus + 1;
  const prefix = 7; // "!! 12 " / ">> d3  "
  const w = Math.max(6, Math.floor((width - prefix - (lanes - 1)) / lanes));
  const head = ' '.repeat(prefix) + [...Array.from({ length: vcpus }, (_, c) => cut(`vCPU${c}`, w)), cut('hv/hw/dev', w)].join('|');
  const out = [head, ' '.repeat(prefix) + Array.from({ length: lanes }, () => '-'.repeat(w)).join('+')];
  r.steps.forEach((st, k) => {
    const mark = k === r.divergenceAt ? '>>' : k === r.stuckAt ? '!!' : '  ';
    const idx = st.index >= 0 ? String(st.index) : st.index === -9999 ? 'end' : `d${-1 - st.index}`;
    const cells = Array.from({ length: lanes }, () => '');
    const lane = st.lane < 0 ? vcpus : st.lane;
    cells[lane] = st.lane < 0 ? hwText(st.event) : short(st.text);
    for (const n of st.notes) {
      if (n.text.startsWith('deliver ') && n.cpu >= 0 && n.cpu < vcpus && cells[n.cpu] === '') cells[n.cpu] = `<- ${n.text.slice(8)}`;
    }
    for (const rd of st.reads) if (cells[rd.cpu] !== undefined) cells[rd.cpu] = `${short(st.text)} = ${rd.value}`.trim();
    out.push(`${mark} ${idx.padStart(3)} ` + cells.map((c) => cut(c, w)).join('|'));
  });
  const p = r.result.primary;
  out.push('');
  out.push(p ? `>> ${p.signature}` : 'clean');
  if (r.stuckAt >= 0) out.push('!! where the vector got stuck');
  return out.map((l) => (l.length > width ? l.slice(0, width) : l.trimEnd()));
}
