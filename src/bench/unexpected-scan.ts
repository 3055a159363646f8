// Which root causes the generator reaches that no variant documents: seeds `${prefix}:${i}` for i < N
// on every target (default: every variant of every hypervisor backend), with GenOptions as given
// (--shared: the sharedVectors rate, issue 8; default: the default campaign's, SHARED_RATE). Prints each UNEXPECTED signature with its count and
// the seed of its shortest scenario (regenerate it with generateAndRun and the same options).
//   node dist/bench/unexpected-scan.js [--seeds 3000] [--prefix sh] [--shared 1] [--backend NAME[/VARIANT]]...
import { BACKENDS } from '../backends/registry.js';
import { classify } from '../fuzz/classify.js';
import { resolveTargets } from '../fuzz/targets.js';
import { DEFAULT_GEN, generateAndRun } from '../gen/generator.js';
import { benchArgs } from './args.js';

const { values } = benchArgs('node dist/bench/unexpected-scan.js [--seeds 3000] [--prefix sh] [--shared 1] [--backend NAME[/VARIANT]]...', { seeds: { type: 'string' }, prefix: { type: 'string' }, shared: { type: 'string' }, backend: { type: 'string', multiple: true } });
const n = Number(values.seeds ?? 3000);
const prefix = values.prefix ?? 'sh';
const opts = { ...DEFAULT_GEN, sharedVectors: values.shared === undefined ? DEFAULT_GEN.sharedVectors : Number(values.shared) };
const found = new Map<string, { n: number; seed: string; len: number }>();
let runs = 0;
for (const t of resolveTargets(BACKENDS, (values.backend as string[] | undefined) ?? [])) {
  for (let i = 0; i < n; i++) {
    const seed = `${prefix}:${i}`;
    const { scenario, result } = generateAndRun(seed, t.backend, t.variant, opts);
    runs++;
    for (const d of result.divergences) {
      if (classify(BACKENDS, d.signature) !== 'unexpected') continue;
      const e = found.get(d.signature) ?? { n: 0, seed, len: scenario.events.length };
      e.n++;
      if (scenario.events.length < e.len) { e.seed = seed; e.len = scenario.events.length; }
      found.set(d.signature, e);
    }
  }
}
console.log(`${runs} interleavings (seeds ${prefix}:0..${n - 1}, sharedVectors ${opts.sharedVectors}): ${found.size} unexpected signatures`);
for (const [sig, e] of [...found].sort()) console.log(`  ${sig}  ${e.n}  e.g. ${e.seed} (${e.len} events)`);
