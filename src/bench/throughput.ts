// Throughput benchmark: reference + backend + oracle, events per second on one core.
// Scenarios are generated first (outside the timed region) and then replayed, so the
// figure is the cost of running an interleaving, not of generating it. Prints the median
// of several rounds per backend variant; this machine is noisy, ratios and medians only.
//   node dist/bench/throughput.js [--rounds 7] [--scenarios 4000] [--backend NAME[/VARIANT]]...
import { BACKENDS } from '../backends/registry.js';
import { runScenario } from '../engine/session.js';
import { resolveTargets } from '../fuzz/targets.js';
import { generateAndRun } from '../gen/generator.js';
import type { Scenario } from '../scenario/types.js';
import { benchArgs } from './args.js';

const { values } = benchArgs('node dist/bench/throughput.js [--rounds 7] [--scenarios 4000] [--backend NAME[/VARIANT]]...', { rounds: { type: 'string' }, scenarios: { type: 'string' }, backend: { type: 'string', multiple: true } });
const rounds = Number(values.rounds ?? 7);
const count = Number(values.scenarios ?? 4000);
const filters = (values.backend as string[] | undefined) ?? [];
const targets = filters.length > 0 ? resolveTargets(BACKENDS, filters) : [...resolveTargets(BACKENDS, []), ...resolveTargets(BACKENDS, ['baremetal'])];

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

console.log(`throughput: ${count} scenarios per round, ${rounds} rounds, median events/s (scenario + drain events)`);
for (const t of targets) {
  const scenarios: Scenario[] = [];
  for (let i = 0; i < count; i++) scenarios.push(generateAndRun(`bench:${i}`, t.backend, t.variant).scenario);
  // Warm up the JIT.
  for (const s of scenarios.slice(0, 500)) runScenario(s, t.backend, t.variant);
  const rates: number[] = [];
  let events = 0;
  for (let r = 0; r < rounds; r++) {
    events = 0;
    const t0 = process.hrtime.bigint();
    for (const s of scenarios) events += runScenario(s, t.backend, t.variant).eventsRun;
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push(events / (ns / 1e9));
  }
  const lo = Math.min(...rates), hi = Math.max(...rates);
  console.log(`${(t.backend.name + '/' + t.variant).padEnd(28)} ${Math.round(median(rates)).toLocaleString('en-US').padStart(12)} events/s  (min ${Math.round(lo).toLocaleString('en-US')}, max ${Math.round(hi).toLocaleString('en-US')}, ${events} events/round)`);
}
