// Divergence kinds and signatures. A signature names backend, variant, kind and the shape
// of what diverged (event kinds, vCPU roles, relative priorities, a mechanism tag), never
// raw vector numbers or step indices, so that one bug found by two seeds lands in one
// bucket. Format: "<backend>/<variant>:<kind>:<shape>".

export type DivergenceKind =
  /** The reference still expects a delivery after the drain, with spontaneous exits. */
  | 'lost'
  /** Delivered only after an unrelated VM exit (drain phase 2), not by the mechanism itself. */
  | 'late'
  /** Delivered although the reference has nothing of that vector pending, and it was delivered before. */
  | 'duplicate'
  /** Delivered although that vector was never sent. */
  | 'spurious'
  /** Delivered while RFLAGS.IF = 0. */
  | 'masked-if'
  /** Delivered in an STI shadow. */
  | 'masked-shadow'
  /** Delivered although its class is not above PPR. */
  | 'masked-ppr'
  /** NMI delivered while NMIs are blocked. */
  | 'nmi-blocked'
  /** A lower vector was taken while a higher, due, deliverable one was pending. */
  | 'priority-inversion'
  /** A guest read of IRR/ISR/TMR/PPR/TPR/ESR returned what bare metal cannot return. */
  | 'read-mismatch'
  /** The hypervisor crashed the domain or hit an assertion. */
  | 'crash'
  /** What L1 observes of its L2 breaks a VMX/SVM architectural guarantee. */
  | 'l1-invariant'
  /** An exit storm (or interrupt storm) with no progress: the drain did not settle. */
  | 'livelock';

export interface Divergence {
  kind: DivergenceKind;
  /** Shape part of the signature (no raw vectors). */
  shape: string;
  /** Full signature "<backend>/<variant>:<kind>:<shape>". */
  signature: string;
  cpu: number;
  /** Index of the scenario event at which it was detected (-1: during the drain). */
  at: number;
  /** Human-readable detail, with vectors. */
  message: string;
}

export function makeSignature(backend: string, variant: string, kind: DivergenceKind, shape: string): string {
  return `${backend}/${variant}:${kind}:${shape}`;
}

/** Does an expected-bug prefix ("lost:" or "lost:ipi") match a divergence? */
export function matchesPrefix(d: Pick<Divergence, 'kind' | 'shape'>, prefix: string): boolean {
  return `${d.kind}:${d.shape}`.startsWith(prefix);
}
