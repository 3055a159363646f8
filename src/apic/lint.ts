// The local interrupt pins LINT0/LINT1 and their LVT entries (SDM 10.5.1): fixed delivery,
// edge- or level-triggered, or NMI (edge). A level entry's Remote IRR (LVT bit 14) is set
// when the interrupt is accepted and cleared by the EOI of its vector; with the line still
// asserted it raises again. A plain helper: the reference and baremetal own two per vCPU;
// what it raises is delivered locally by its owner (no bus).

/** What a LINT pin raises: nothing, its fixed vector, or an NMI. */
export const enum Raise { None = 0, Fixed = 1, Nmi = 2 }

export class LintPin {
  vector = 0;
  level = false;
  /** Reset value: masked. */
  masked = true;
  nmi = false;
  line = false;
  remoteIrr = false;

  copyFrom(o: LintPin): void {
    this.vector = o.vector; this.level = o.level; this.masked = o.masked; this.nmi = o.nmi;
    this.line = o.line; this.remoteIrr = o.remoteIrr;
  }

  private levelFires(): Raise {
    if (!this.level || this.nmi || this.masked || !this.line || this.remoteIrr) return Raise.None;
    this.remoteIrr = true;
    return Raise.Fixed;
  }

  /** LVT write; an unmasked level entry with its line asserted raises at once. */
  write(vector: number, level: boolean, masked: boolean, nmi: boolean): Raise {
    this.vector = vector;
    this.level = level && !nmi; // NMI delivery is edge-only (SDM 10.5.1)
    this.masked = masked;
    this.nmi = nmi;
    if (!this.level) this.remoteIrr = false;
    return this.levelFires();
  }

  assert(): Raise {
    const rising = !this.line;
    this.line = true;
    if (this.masked) return Raise.None;
    if (this.level) return this.levelFires();
    return rising ? (this.nmi ? Raise.Nmi : Raise.Fixed) : Raise.None;
  }

  deassert(): void {
    this.line = false;
  }

  /** The EOI of `vector`: clears Remote IRR of a level entry with that vector, which may raise again. */
  eoi(vector: number): Raise {
    if (!this.level || !this.remoteIrr || this.vector !== vector) return Raise.None;
    this.remoteIrr = false;
    return this.levelFires();
  }
}
