// Is a signature one of its variant's documented bugs, a documented deviation, or new?
import type { Backend } from '../backends/api.js';
import { matchesPrefix, type DivergenceKind } from '../oracle/divergence.js';

export type Class = 'expected' | 'known' | 'unexpected';

export function classify(backends: Backend[], signature: string): Class {
  const [bv = '', kind = '', ...shape] = signature.split(':');
  const [b, v] = bv.split('/');
  const info = backends.find((x) => x.name === b)?.variants.find((x) => x.name === v);
  if (!info) return 'unexpected';
  const d = { kind: kind as DivergenceKind, shape: shape.join(':') };
  if (info.expectedBugs.some((e) => matchesPrefix(d, e.signature))) return 'expected';
  if ((info.knownDeviations ?? []).some((e) => matchesPrefix(d, e.signature))) return 'known';
  return 'unexpected';
}

export const CLASS_LABEL: Record<Class, string> = {
  expected: 'documented bug      ',
  known: 'documented deviation',
  unexpected: 'UNEXPECTED          ',
};
