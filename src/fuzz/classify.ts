// Is a finding's root cause one of its variant's documented bugs, a documented deviation,
// a cause that a corpus reproducer already expects, or new (UNEXPECTED: a person should read
// it)? Declarations are exact causes ("<class>:<tag>"): nothing covers a whole class.
import type { Backend, CauseDoc, VariantInfo } from '../backends/api.js';
import { parseSignature } from '../oracle/divergence.js';

export type Class = 'expected' | 'known' | 'corpus' | 'unexpected';

export function variantOf(backends: readonly Backend[], backend: string, variant: string): VariantInfo | undefined {
  return backends.find((x) => x.name === backend)?.variants.find((x) => x.name === variant);
}

/** The declaration documenting a signature's cause on its own variant, if any. */
export function docFor(backends: readonly Backend[], signature: string): { doc: CauseDoc; cls: 'expected' | 'known' } | undefined {
  const p = parseSignature(signature);
  if (!p) return undefined;
  const info = variantOf(backends, p.backend, p.variant);
  if (!info) return undefined;
  const e = info.expectedBugs.find((d) => d.cause === p.cause);
  if (e) return { doc: e, cls: 'expected' };
  const k = (info.knownDeviations ?? []).find((d) => d.cause === p.cause);
  if (k) return { doc: k, cls: 'known' };
  return undefined;
}

/**
 * `corpus`: signatures that reproducers in corpus/ expect (their root cause is documented by
 * a reproducer even if the variant does not declare it).
 */
export function classify(backends: readonly Backend[], signature: string, corpus?: ReadonlySet<string>): Class {
  const d = docFor(backends, signature);
  if (d) return d.cls;
  if (corpus?.has(signature)) return 'corpus';
  return 'unexpected';
}

export const CLASS_LABEL: Record<Class, string> = {
  expected: 'documented bug      ',
  known: 'documented deviation',
  corpus: 'in corpus           ',
  unexpected: 'UNEXPECTED          ',
};
