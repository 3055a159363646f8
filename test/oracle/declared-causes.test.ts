// A documented cause names a mechanism, never a whole kind of divergence (issue "Findings you can
// trust"): a declaration of a register-read shape such as read:isr-stale would classify every
// future bug that shows as a stale ISR read as known. Each backend's explain must name the path.
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { isReadShape, isTaggedCause } from '../../src/oracle/divergence.js';
import { declarationProblem } from '../../src/backends/load.js';

describe('declared causes are mechanisms', () => {
  it('no variant of any backend declares a register-read shape or an untagged class', () => {
    const bad: string[] = [];
    for (const b of BACKENDS) for (const v of b.variants) {
      for (const d of [...v.expectedBugs, ...(v.knownDeviations ?? [])]) if (!isTaggedCause(d.cause)) bad.push(`${b.name}/${v.name} ${d.cause}`);
    }
    expect(bad).toEqual([]);
  });

  it('the shapes the oracle falls back to are refused, mechanism tags are not', () => {
    for (const t of ['isr-stale', 'ppr-mismatch', 'tpr-mismatch', 'esr-riv-missing', 'tmr-cleared-after-eoi', 'ldr-mismatch', 'tmcct-mismatch']) {
      expect(isReadShape(t), t).toBe(true);
      expect(isTaggedCause(`read:${t}`), t).toBe(false);
    }
    for (const t of ['avoided-eoi-not-noticed', 'tpr-low-nibble-kept-across-cr8', 'tmr-cleared-by-eoi']) expect(isTaggedCause(`read:${t}`), t).toBe(true);
  });

  it('a --backend-module declaring one is refused with the field named', () => {
    const v = { name: 'x', status: 'clean', description: 'x', expectedBugs: [], knownDeviations: [{ cause: 'read:isr-stale', why: 'w' }] };
    expect(declarationProblem(v as never)).toMatchObject({ field: 'knownDeviations[0].cause' });
  });
});
