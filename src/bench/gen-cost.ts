// The generator's own cost over replay, measured in one process in alternating rounds: each
// round replays N pre-generated interleavings (a Session fed their events, then the drain:
// exactly the model, oracle and drain work of generating them) and generates the same N from
// their seeds (generateAndRun). On a shared, loaded machine the load drifts by the second;
// rounds this short and side by side see the same load, so the per-round ratio is steadier
// than figures from separate processes. Both paths call the same raw backends, so mixing them
// in one process does not make either's call sites more polymorphic than the other's.
//   node dist/bench/gen-cost.js [--iterations 4000] [--rounds 15] [--backend NAME/VARIANT]...
import { readFileSync } from 'node:fs';
import { BACKENDS } from '../backends/registry.js';
import { Session } from '../engine/session.js';
import { resolveTargets, type Target } from '../fuzz/targets.js';
import { generateAndRun } from '../gen/generator.js';
import type { Scenario } from '../scenario/types.js';
import { benchArgs } from './args.js';

const { values } = benchArgs('node dist/bench/gen-cost.js [--iterations N] [--rounds N] [--backend NAME[/VARIANT]]...', { iterations: { type: 'string' }, rounds: { type: 'string' }, backend: { type: 'string', multiple: true } });
const n = Number(values.iterations ?? 4000);
const rounds = Number(values.rounds ?? 15);
const filters = (values.backend as string[] | undefined) ?? ['kvm/v4.16', 'bhyve/fixed', 'xen/4.22', 'acrn/v3.3-adv'];
const targets = resolveTargets(BACKENDS, filters);

const cpuSec = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; };
/** CPU of this thread alone (utime + stime, clock ticks of 10 ms): without the GC and JIT helper threads. */
const threadSec = (): number => { const f = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const k = s.length; return k % 2 ? s[(k - 1) / 2]! : (s[k / 2 - 1]! + s[k / 2]!) / 2; };

const work: { t: Target; seed: string; s: Scenario }[] = [];
for (let i = 0; i < n; i++) { const t = targets[i % targets.length]!; const seed = `tp:0:${i}`; work.push({ t, seed, s: generateAndRun(seed, t.backend, t.variant).scenario }); }

function replay(): number {
  let ev = 0;
  for (const { t, s } of work) {
    const session = new Session(t.backend, t.variant, s.machine);
    for (let i = 0; i < s.events.length; i++) session.apply(s.events[i]!, i);
    ev += session.finish().eventsRun;
  }
  return ev;
}

function generate(): number {
  let ev = 0;
  for (const { t, seed } of work) ev += generateAndRun(seed, t.backend, t.variant).result.eventsRun;
  return ev;
}

// Warm-up (JIT) of both paths.
for (let r = 0; r < 3; r++) { replay(); generate(); }
const rep: number[] = [], gen: number[] = [], ratio: number[] = [], tratio: number[] = [];
let events = 0;
for (let r = 0; r < rounds; r++) {
  // Alternate which goes first, so neither always runs right after a GC of the other's garbage.
  const order = r % 2 === 0 ? [replay, generate] : [generate, replay];
  const cpu = new Map<() => number, [number, number]>();
  for (const f of order) { const c0 = cpuSec(), h0 = threadSec(); events = f(); cpu.set(f, [cpuSec() - c0, threadSec() - h0]); }
  const [rc, rt] = cpu.get(replay)!, [gc, gt] = cpu.get(generate)!;
  rep.push(rc); gen.push(gc); ratio.push(gc / rc); tratio.push(gt / rt);
}
const range = (xs: number[]) => `median ${median(xs).toFixed(2)}x (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;
console.log(`targets ${filters.join(' ')}; ${n} interleavings (${events} events) per round, ${rounds} rounds`);
console.log(`replay:         median ${(events / median(rep) / 1000).toFixed(0)}k events/CPU-s (process)`);
console.log(`generateAndRun: median ${(events / median(gen) / 1000).toFixed(0)}k events/CPU-s (process)`);
console.log(`generate / replay per round, process CPU: ${range(ratio)}`);
console.log(`generate / replay per round, main-thread CPU: ${range(tratio)}`);
