// Generator equivalence digest: for every registered backend variant (the bare-metal baseline
// included) and N seeds, one SHA-256 over the generated scenarios and their results, per variant
// and in total (src/gen/digest.ts). Run it before and after a change to src/gen that must not
// change what is generated, and compare the outputs (diff).
//   node dist/bench/gen-digest.js [--seeds 3000] [--backend NAME[/VARIANT]]...
import { parseArgs } from 'node:util';
import { BACKENDS } from '../backends/registry.js';
import { resolveTargets, TargetError } from '../fuzz/targets.js';
import { totalDigest, variantDigest } from '../gen/digest.js';

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({ options: { seeds: { type: 'string' }, backend: { type: 'string', multiple: true } } }));
  } catch (e) {
    console.error(`gen-digest: ${(e as Error).message}`);
    process.exit(2);
  }
  const seeds = Number(values.seeds ?? 3000);
  if (!Number.isInteger(seeds) || seeds < 1) { console.error('gen-digest: --seeds: a positive integer'); process.exit(2); }
  const filters = (values.backend as string[] | undefined) ?? [];
  let targets;
  try {
    // Every registered variant by default, baremetal too (resolveTargets leaves it out unless named).
    targets = resolveTargets(BACKENDS, filters.length > 0 ? filters : BACKENDS.map((b) => b.name));
  } catch (e) {
    if (e instanceof TargetError) { console.error(`gen-digest: --backend: ${e.message}`); process.exit(2); }
    throw e;
  }
  const parts: string[] = [];
  let events = 0;
  let interleavings = 0;
  const t0 = performance.now();
  for (const t of targets) {
    const d = variantDigest(t.backend, t.variant, seeds);
    parts.push(d.digest);
    events += d.events;
    interleavings += d.interleavings;
    console.log(`${`${t.backend.name}/${t.variant}`.padEnd(24)} ${d.digest}  ${d.interleavings} interleavings ${d.events} events`);
  }
  console.log(`${'total'.padEnd(24)} ${totalDigest(parts)}  ${interleavings} interleavings ${events} events`);
  console.error(`gen-digest: ${seeds} seeds x ${targets.length} variants in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
}

main();
