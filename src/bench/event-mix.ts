// The generator's event mix: events by kind over N generated interleavings (generateAndRun with
// seeds `${prefix}:${i}`, round robin over the targets: by default those of a default campaign,
// every variant of every hypervisor backend), plus the two scenario-level properties of issue 8:
// scenarios where an edge source uses a level pin's vector (REF-ACC-4/REF-EOI-4), and timer
// counts, advances and deadlines at or above the largest hypervisor timer minimum (ACRN's, in
// clock units: MIN_TIMER_PERIOD_TICKS). Counts are deterministic for a build.
// --shared RATE draws shared vectors at that rate (GenOptions.sharedVectors; default: the default campaign's, SHARED_RATE;
// --shared 0: none, the streams before issue 8).
//   node dist/bench/event-mix.js [--scenarios 20000] [--prefix em] [--shared 0.3] [--backend NAME/VARIANT]...
import { MIN_TIMER_PERIOD_TICKS } from '../backends/acrn/timer.js';
import { BACKENDS } from '../backends/registry.js';
import { resolveTargets } from '../fuzz/targets.js';
import { DEFAULT_GEN, generateAndRun } from '../gen/generator.js';
import { sharesLevelVector } from '../gen/shared.js';
import { benchArgs } from './args.js';

function main(): void {
  const { values } = benchArgs('node dist/bench/event-mix.js [--scenarios 20000] [--prefix em] [--shared 0.3] [--backend NAME/VARIANT]...', { scenarios: { type: 'string' }, prefix: { type: 'string' }, shared: { type: 'string' }, backend: { type: 'string', multiple: true } });
  const n = Number(values.scenarios ?? 20000);
  const prefix = values.prefix ?? 'em';
  const opts = { ...DEFAULT_GEN, sharedVectors: values.shared === undefined ? DEFAULT_GEN.sharedVectors : Number(values.shared) };
  const targets = resolveTargets(BACKENDS, (values.backend as string[] | undefined) ?? []);
  const kinds = new Map<string, number>();
  let events = 0, shared = 0, withLevel = 0, longScenarios = 0;
  let counts = 0, longCounts = 0, advances = 0, longAdvances = 0, deadlines = 0, longDeadlines = 0;
  for (let i = 0; i < n; i++) {
    const t = targets[i % targets.length]!;
    const s = generateAndRun(`${prefix}:${i}`, t.backend, t.variant, opts).scenario;
    if (s.machine.ioapic.some((p) => p.trigger === 'level')) withLevel++;
    if (sharesLevelVector(s)) shared++;
    let long = false;
    for (const e of s.events) {
      events++;
      kinds.set(e.k, (kinds.get(e.k) ?? 0) + 1);
      if (e.k === 'timer_initial' && e.count > 0) { counts++; if (e.count >= MIN_TIMER_PERIOD_TICKS) { longCounts++; long = true; } }
      if (e.k === 'time') { advances++; if (e.advance >= MIN_TIMER_PERIOD_TICKS) { longAdvances++; long = true; } }
      if (e.k === 'tsc_deadline' && e.deadline > 0) { deadlines++; if (e.deadline >= MIN_TIMER_PERIOD_TICKS) longDeadlines++; }
    }
    if (long) longScenarios++;
  }
  const pct = (a: number, b: number): string => (b === 0 ? '-' : `${(100 * a / b).toFixed(2)}%`);
  console.log(`${n} scenarios, ${events} events, ${targets.length} targets (seeds ${prefix}:0..${n - 1}, sharedVectors ${opts.sharedVectors})`);
  for (const [k, c] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(14)} ${String(c).padStart(8)}  ${pct(c, events)}`);
  console.log(`scenarios with a level pin: ${withLevel}; an edge source shares a level pin's vector: ${shared} (${pct(shared, n)} of scenarios)`);
  console.log(`timer_initial counts > 0: ${counts}, >= ${MIN_TIMER_PERIOD_TICKS}: ${longCounts}; time advances: ${advances}, >= ${MIN_TIMER_PERIOD_TICKS}: ${longAdvances}; tsc deadlines > 0: ${deadlines}, >= ${MIN_TIMER_PERIOD_TICKS}: ${longDeadlines}`);
  console.log(`scenarios on the long clock scale: ${longScenarios} (${pct(longScenarios, n)})`);
}

main();
