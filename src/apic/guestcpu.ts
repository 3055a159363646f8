// The guest's architectural core state that decides whether it can take an interrupt:
// RFLAGS.IF, the STI shadow, NMI blocking, HLT, and the stack of interrupt frames its
// handlers are running in. Shared helper: the reference owns one per vCPU, and every
// backend owns one per vCPU as the guest register state it keeps (VMCB save area, VMCS
// guest-state area). Both see the same guest instructions and the same deliveries, so
// the two copies agree unless a backend delivers where the architecture forbids it.

export interface Frame {
  vector: number;
  nmi: boolean;
  /** RFLAGS.IF pushed by the interrupt; IRET restores it. */
  savedIF: boolean;
  /** The handler has written EOI (fixed interrupts only). */
  eoied: boolean;
}

const MAX_FRAMES = 64;

export class GuestCpu {
  IF = true;
  /** STI shadow: the boundary before the next instruction blocks maskable interrupts (SDM STI). */
  shadow = false;
  halted = false;
  nmiBlocked = false;
  /** Last TPR value the guest wrote (the guest's own bookkeeping for its idle routine). */
  tpr = 0;
  /** Fixed interrupts taken whose EOI the guest has not yet written (handler returned without EOI). */
  owedEoi = 0;
  readonly frames: Frame[] = [];

  reset(): void {
    this.IF = true; this.shadow = false; this.halted = false; this.nmiBlocked = false;
    this.tpr = 0; this.owedEoi = 0; this.frames.length = 0;
  }

  /** Maskable interrupts may be recognised at the current boundary (SDM 6.8.1, 6.8.3). */
  interruptible(): boolean {
    return this.IF && !this.shadow;
  }

  /** NMI may be recognised (not blocked, model choice A3: blocked in the STI shadow). */
  nmiWindow(): boolean {
    return !this.nmiBlocked && !this.shadow;
  }

  /** Every guest instruction ends a shadow that the previous instruction opened. */
  beginInstruction(): void {
    this.shadow = false;
  }

  cli(): void {
    this.IF = false;
  }

  sti(): void {
    // Only an STI that changes IF from 0 to 1 opens a shadow (SDM STI).
    if (!this.IF) {
      this.IF = true;
      this.shadow = true;
    }
  }

  hlt(): void {
    this.halted = true;
  }

  /** The core takes an interrupt: push a frame, clear IF (interrupt gate), wake from HLT. */
  take(vector: number, nmi: boolean): void {
    if (this.frames.length >= MAX_FRAMES) this.frames.shift();
    this.frames.push({ vector, nmi, savedIF: this.IF, eoied: nmi });
    this.IF = false;
    this.shadow = false;
    this.halted = false;
    if (nmi) this.nmiBlocked = true;
    else this.owedEoi++;
  }

  /**
   * INT n (SDM 6.4.2, 6.12.1): the handler is entered through an interrupt gate (IF cleared,
   * *choice*: the guest's IDT has interrupt gates only); nothing is owed to the APIC, so the
   * frame counts as EOI'd. NMI blocking is untouched (INT 2 does not block NMIs).
   */
  softInt(vector: number): void {
    if (this.frames.length >= MAX_FRAMES) this.frames.shift();
    this.frames.push({ vector, nmi: false, savedIF: this.IF, eoied: true });
    this.IF = false;
    this.shadow = false;
  }

  /** The guest writes EOI: marks the innermost fixed-interrupt frame as done. */
  eoi(): void {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i]!;
      if (!f.nmi && !f.eoied) {
        f.eoied = true;
        break;
      }
    }
    if (this.owedEoi > 0) this.owedEoi--;
  }

  /** IRET: pop the innermost frame and restore IF; any IRET unblocks NMIs (SDM 6.7.1). Returns false if no frame. */
  iret(): boolean {
    const f = this.frames.pop();
    if (!f) return false;
    this.IF = f.savedIF;
    this.nmiBlocked = false;
    return true;
  }

  top(): Frame | undefined {
    return this.frames[this.frames.length - 1];
  }

  copyFrom(o: GuestCpu): void {
    this.IF = o.IF; this.shadow = o.shadow; this.halted = o.halted; this.nmiBlocked = o.nmiBlocked;
    this.tpr = o.tpr; this.owedEoi = o.owedEoi;
    this.frames.length = 0;
    for (const f of o.frames) this.frames.push({ ...f });
  }
}

/**
 * Execute the guest instructions that touch only the core (cli, sti, step, hlt, iret).
 * Returns false when the instruction is not one of them. The caller has already checked
 * that the guest is running and not halted, and has called beginInstruction().
 */
export function execCoreInstruction(g: GuestCpu, k: string): boolean {
  switch (k) {
    case 'cli': g.cli(); return true;
    case 'sti': g.sti(); return true;
    case 'hlt': g.hlt(); return true;
    case 'iret': g.iret(); return true;
    case 'step': case 'work': case 'wait': return true;
    default: return false;
  }
}
