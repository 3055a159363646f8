// Attach the measured rates (src/backends/<name>/rates.ts, written by `node dist/bench/rates.js
// --write`) to a backend's variant declarations, so a campaign can tell a documented cause
// that suddenly shows far more often (src/fuzz/rates.ts).
import type { VariantInfo } from './api.js';

export function withRates(variants: VariantInfo[], rates: Readonly<Record<string, Readonly<Record<string, number>>>>, sample: number): VariantInfo[] {
  return variants.map((v) => {
    const r = rates[v.name];
    if (!r) return v;
    const rate = (d: VariantInfo['expectedBugs'][number]) => (r[d.cause] === undefined ? d : { ...d, rate: r[d.cause] });
    return { ...v, ratesSample: sample, expectedBugs: v.expectedBugs.map(rate), knownDeviations: v.knownDeviations?.map(rate) };
  });
}
