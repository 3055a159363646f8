// Divergences and their identity. A finding's identity is its root cause — where the
// mechanism went wrong — never the source of the vector or the pair of vectors that showed
// it (docs/oracle.md, "Buckets are root causes"). A divergence therefore has two parts:
//
//   - the *cause*  "<class>:<tag>": the rule family that was broken and the mechanism tag
//     (the backend's whereStuck tag for a held interrupt, the delivery path for a delivery
//     the architecture forbids, the crash site, the violated invariant, the shape of a bad
//     register value). It names the bucket: "<backend>/<variant>:<class>:<tag>".
//   - the *symptoms*: what the guest saw of that cause in one run ("late:ipi",
//     "priority-inversion:msi<ipi", "read-mismatch:irr", "lost:nmi"). Consequences of a
//     cause ride with it as symptoms instead of opening buckets of their own.

/** What the guest saw (the symptom). */
export type DivergenceKind =
  /** The reference still expects a delivery after the drain, with spontaneous exits. */
  | 'lost'
  /** Not taken at the instruction boundary where bare metal takes it (or only after an unrelated exit). */
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
  /** A maskable interrupt taken while an NMI was due and could be taken (REF-DISP-4). */
  | 'nmi-order'
  /** A lower vector was taken while a higher, due, deliverable one was pending. */
  | 'priority-inversion'
  /** A guest read of IRR/ISR/TMR/PPR/TPR/ESR returned what bare metal cannot return. */
  | 'read-mismatch'
  /** The guest core (IF, handler frames, NMI blocking, HLT) went where its instructions and deliveries cannot take it. */
  | 'core'
  /** The in-service register differs from bare metal at the boundary after an EOI (REF-EOI-3). */
  | 'isr'
  /** An enabled guest instruction on a running vCPU was never executed (REF-CORE-2). */
  | 'dropped'
  /** The hypervisor crashed the domain or hit an assertion. */
  | 'crash'
  /** What L1 observes of its L2 breaks a VMX/SVM architectural guarantee. */
  | 'l1-invariant'
  /** An exit storm (or interrupt storm) with no progress: the drain did not settle. */
  | 'livelock';

/**
 * Root-cause classes, the first half of a cause. Declarations in a variant's expectedBugs /
 * knownDeviations name a class and a tag; a class alone never documents anything.
 */
export const CAUSE_CLASSES = [
  /** An interrupt bare metal would have taken is held by the mechanism (tag: the backend's whereStuck). */
  'stuck',
  /** Delivered where the core blocks maskable interrupts: IF = 0 or an STI shadow (tag: delivery path). */
  'masked',
  /** Delivered at or below PPR (tag: delivery path). */
  'masked-ppr',
  /** NMI delivered while NMIs are blocked (tag: delivery path). */
  'nmi-blocked',
  /** A lower interrupt taken first where the higher one was not held anywhere (tag: delivery path). */
  'priority',
  /** Delivered again with nothing pending (tag: delivery path). */
  'duplicate',
  /** Delivered without ever being sent (tag: delivery path). */
  'spurious',
  /** The I/O APIC sent a message the 82093AA would not have sent (tag: which rule). */
  'ioapic',
  /** A register read returned a value bare metal cannot return (tag: register and shape). */
  'read',
  /** The guest core state diverged (tag: what diverged). */
  'core',
  /** An EOI did not retire what it retires on bare metal (tag: the shape, or the backend's explain). */
  'eoi',
  /** An enabled guest instruction was not executed (tag: the instruction). */
  'dropped',
  /** The hypervisor crashed (tag: the crash site). */
  'crash',
  /** An L1-visible VMX/SVM guarantee broke (tag: the invariant). */
  'l1-invariant',
  /** The drain did not settle (tag: the dominant VM exit, or interrupt-storm). */
  'livelock',
] as const;
export type CauseClass = (typeof CAUSE_CLASSES)[number];

export interface Divergence {
  /** The symptom under which the cause was first seen. */
  kind: DivergenceKind;
  /** "<class>:<tag>". */
  cause: string;
  /** "<backend>/<variant>:<class>:<tag>": the bucket. */
  signature: string;
  cpu: number;
  /** Index of the scenario event at which it was first detected (negative: during the drain). */
  at: number;
  /** Human-readable detail of the first symptom, with vectors. */
  message: string;
  /** Every symptom of this cause seen in the run ("late:ipi", "lost:ipi", "read-mismatch:irr", ...), first first. */
  symptoms: string[];
}

/** Mechanism tags: short, printable, stable. Anything else is folded to '-'. */
export function tagOf(s: string): string {
  const t = s.replace(/[^A-Za-z0-9_.:@-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  return (t.length > 80 ? t.slice(0, 80) : t) || 'unnamed';
}

export function makeCause(cls: CauseClass, tag: string): string {
  return `${cls}:${tagOf(tag)}`;
}

export function makeSignature(backend: string, variant: string, cause: string): string {
  return `${backend}/${variant}:${cause}`;
}

export interface ParsedSignature {
  backend: string;
  variant: string;
  /** "<class>:<tag>" */
  cause: string;
  cls: string;
  tag: string;
}

/** Split "<backend>/<variant>:<class>:<tag>"; the tag may itself contain ':'. Null when malformed. */
export function parseSignature(sig: string): ParsedSignature | null {
  const i = sig.indexOf(':');
  if (i < 0) return null;
  const bv = sig.slice(0, i);
  const cause = sig.slice(i + 1);
  const slash = bv.indexOf('/');
  const j = cause.indexOf(':');
  if (slash <= 0 || slash === bv.length - 1 || j <= 0 || j === cause.length - 1) return null;
  return { backend: bv.slice(0, slash), variant: bv.slice(slash + 1), cause, cls: cause.slice(0, j), tag: cause.slice(j + 1) };
}

/**
 * The oracle's own names for how a register read differs from bare metal (its fallback when the
 * backend's explain names no path). They describe a whole kind of read — any ISR read with a vector
 * too many, any PPR read that differs — so a declaration of one would hide every future bug that
 * shows the same way: a declaration names the mechanism instead, which the backend's explain must
 * show it took. (`<register>-mismatch` of the programmed registers counts too.)
 */
export const READ_SHAPES: ReadonlySet<string> = new Set([
  'isr-mismatch', 'isr-missing', 'isr-stale',
  'irr-extra', 'irr-illegal-vector', 'irr-never-sent', 'irr-stale',
  'tmr-clear-for-level', 'tmr-cleared-after-eoi', 'tmr-level-pin-before-acceptance', 'tmr-set-without-level-message',
  'ppr-low-nibble-lost', 'ppr-mismatch', 'tpr-low-nibble-lost', 'tpr-mismatch',
  'esr-mismatch', 'esr-riv-missing', 'esr-siv-missing', 'esr-extra-bits',
  'redir-dest-mismatch', 'redir-entry-mismatch', 'redir-remote-irr-missing', 'redir-remote-irr-stale',
  'apic-version-impossible', 'ioapic-id-reserved-bits', 'ioapic-version-impossible',
  'ioapic-id-mismatch', 'ioapic-arb-mismatch', 'ioapic-arb-reserved-bits', 'ioapic-version-changed',
]);

/** Is `tag` a register-read shape (READ_SHAPES, or a programmed register's `<reg>-mismatch`)? */
export function isReadShape(tag: string): boolean {
  return READ_SHAPES.has(tag) || /^[a-z0-9]+-mismatch$/.test(tag);
}

/** Is "<class>:<tag>" a well-formed, tagged cause (what a declaration must be)? */
export function isTaggedCause(cause: string): boolean {
  const j = cause.indexOf(':');
  if (j <= 0) return false;
  const cls = cause.slice(0, j);
  const tag = cause.slice(j + 1);
  return (CAUSE_CLASSES as readonly string[]).includes(cls) && tag.length > 0 && tagOf(tag) === tag && !tag.startsWith('untagged')
    && !isReadShape(tag);
}
