// Time for the fuzzer to find each documented bug from scratch: for each seed, generate
// interleavings for the variant until a run shows the bug's root cause; report the median
// over seeds, and the minimized length.
//   node dist/bench/time-to-find.js [--seeds 10] [--backend NAME/VARIANT]...
import { BACKENDS } from '../backends/registry.js';
import { resolveTargets } from '../fuzz/targets.js';
import { generateAndRun } from '../gen/generator.js';
import { minimize } from '../minimizer/minimize.js';
import { benchArgs } from './args.js';

const { values } = benchArgs('node dist/bench/time-to-find.js [--seeds 10] [--limit N] [--backend NAME/VARIANT]...', { seeds: { type: 'string' }, backend: { type: 'string', multiple: true }, limit: { type: 'string' } });
const seeds = Number(values.seeds ?? 10);
const limit = Number(values.limit ?? 2_000_000);
const filters = (values.backend as string[] | undefined) ?? [];
const targets = resolveTargets(BACKENDS, filters).filter((t) => t.backend.variants.find((v) => v.name === t.variant)!.expectedBugs.length > 0);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

for (const t of targets) {
  const info = t.backend.variants.find((v) => v.name === t.variant)!;
  for (const bug of info.expectedBugs) {
    const times: number[] = [];
    const iters: number[] = [];
    const lengths: number[] = [];
    let misses = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const t0 = performance.now();
      let found = false;
      for (let i = 0; i < limit; i++) {
        const { scenario, result } = generateAndRun(`ttf:${seed}:${i}`, t.backend, t.variant);
        const d = result.divergences.find((x) => x.cause === bug.cause);
        if (d) {
          times.push(performance.now() - t0);
          iters.push(i + 1);
          lengths.push(minimize(scenario, t.backend, t.variant, d.signature).after);
          found = true;
          break;
        }
      }
      if (!found) misses++;
    }
    const name = `${t.backend.name}/${t.variant} ${bug.cause}`;
    if (times.length === 0) { console.log(`${name.padEnd(50)} NOT FOUND in ${limit} interleavings x ${seeds} seeds`); continue; }
    console.log(`${name.padEnd(50)} median ${median(times).toFixed(1)} ms, ${median(iters)} interleavings (${times.length}/${seeds} seeds${misses ? `, ${misses} missed` : ''}); minimized length median ${median(lengths)} events (min ${Math.min(...lengths)})`);
  }
}
