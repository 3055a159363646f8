// 256-bit vector bitmaps (IRR, ISR, TMR, PIR, VIRR...) as 8 x 32-bit words, the
// same layout as the APIC register page. Plain helpers shared by the reference and
// every backend; they hold no state of their own.

export type VecSet = Uint32Array;

export function vecSet(): VecSet {
  return new Uint32Array(8);
}

export function vsHas(s: VecSet, v: number): boolean {
  return (s[v >>> 5]! & (1 << (v & 31))) !== 0;
}

export function vsAdd(s: VecSet, v: number): void {
  s[v >>> 5]! |= 1 << (v & 31);
}

export function vsDel(s: VecSet, v: number): void {
  s[v >>> 5]! &= ~(1 << (v & 31));
}

/** Set v and report whether it was already set (atomic test-and-set in the real code). */
export function vsTestAndAdd(s: VecSet, v: number): boolean {
  const w = v >>> 5;
  const bit = 1 << (v & 31);
  const was = (s[w]! & bit) !== 0;
  s[w]! |= bit;
  return was;
}

/** Highest set vector, or -1 when empty. */
export function vsHighest(s: VecSet): number {
  for (let w = 7; w >= 0; w--) {
    const x = s[w]!;
    if (x !== 0) return (w << 5) + 31 - Math.clz32(x);
  }
  return -1;
}

export function vsEmpty(s: VecSet): boolean {
  return (s[0]! | s[1]! | s[2]! | s[3]! | s[4]! | s[5]! | s[6]! | s[7]!) === 0;
}

export function vsClear(s: VecSet): void {
  s.fill(0);
}

export function vsOr(dst: VecSet, src: VecSet): void {
  for (let w = 0; w < 8; w++) dst[w]! |= src[w]!;
}

export function vsEqual(a: VecSet, b: VecSet): boolean {
  for (let w = 0; w < 8; w++) if (a[w] !== b[w]) return false;
  return true;
}

/** a ⊆ b */
export function vsSubset(a: VecSet, b: VecSet): boolean {
  for (let w = 0; w < 8; w++) if ((a[w]! & ~b[w]!) !== 0) return false;
  return true;
}

export function vsList(s: VecSet): number[] {
  const out: number[] = [];
  for (let w = 0; w < 8; w++) {
    let x = s[w]!;
    while (x !== 0) {
      const low = x & -x;
      out.push((w << 5) + 31 - Math.clz32(low));
      x ^= low;
    }
  }
  return out;
}

export function vsFromList(list: readonly number[]): VecSet {
  const s = vecSet();
  for (const v of list) vsAdd(s, v);
  return s;
}

/** Render as a short hex list, e.g. "{0x41,0x51}". */
export function vsFormat(s: VecSet): string {
  return '{' + vsList(s).map(hex).join(',') + '}';
}

export function hex(v: number): string {
  return '0x' + v.toString(16).padStart(2, '0');
}

/** Priority class of a vector (SDM 10.8.3: bits 7:4). */
export function prioClass(v: number): number {
  return v >>> 4;
}

/**
 * PPR from TPR and the highest in-service vector (SDM 10.8.3.1). When the TPR class is
 * at least the ISRV class, PPR = TPR (model choice A1: keep TPR[3:0]); otherwise ISRV & 0xf0.
 */
export function computePpr(tpr: number, isrv: number): number {
  const isrClass = isrv < 0 ? 0 : isrv >>> 4;
  return (tpr >>> 4) >= isrClass ? tpr & 0xff : (isrv & 0xf0);
}
