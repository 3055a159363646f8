// The generator's random stream: seedrandom 3.0.5's ARC4 generator (seedrandom(seed) with a
// string seed), reimplemented step for step so that the same seed gives the same doubles, bit
// for bit (test/gen/rng.test.ts checks it against the package over many seeds). Why not the
// package: per seed it builds the key as a JS array, runs String.fromCharCode over the key and
// the 256-byte state (to feed its global entropy pool, which a seeded stream never reads) and
// allocates closures; a campaign seeds one stream per interleaving, so that was a visible
// share of the loop. Here the state is a Uint8Array and seeding allocates nothing else.

const WIDTH = 256; // each ARC4 output is a byte
const MASK = WIDTH - 1;
const STARTDENOM = 2 ** 48; // 6 bytes start a double (seedrandom's `chunks`)
const SIGNIFICANCE = 2 ** 52;
const OVERFLOW = 2 ** 53;

/** Seed → key bytes, as seedrandom's mixkey (key length min(seed length, 256)); scratch. */
const KEY = new Int32Array(WIDTH);

export class Arc4 {
  private readonly s = new Uint8Array(WIDTH);
  private i = 0;
  private j = 0;

  constructor(seed: string) {
    this.seed(seed);
  }

  /** Reset to the stream of `seed` (same as a fresh seedrandom(seed)). */
  seed(seed: string): void {
    // mixkey: key[j & 255] = 255 & ((smear ^= key[j & 255] * 19) + charCode(j)); an unset key
    // byte is undefined there, and undefined * 19 is NaN, which ^ treats as 0.
    const len = seed.length;
    let smear = 0;
    for (let j = 0; j < len; j++) {
      const at = j & MASK;
      if (j >= WIDTH) smear ^= KEY[at]! * 19;
      KEY[at] = MASK & (smear + seed.charCodeAt(j));
    }
    let keylen = len < WIDTH ? len : WIDTH;
    // An empty key is the one byte 0 (seedrandom: `key = [keylen++]`).
    if (keylen === 0) { KEY[0] = 0; keylen = 1; }
    const s = this.s;
    for (let i = 0; i < WIDTH; i++) s[i] = i;
    let j = 0;
    for (let i = 0; i < WIDTH; i++) {
      const t = s[i]!;
      j = MASK & (j + KEY[i % keylen]! + t);
      s[i] = s[j]!;
      s[j] = t;
    }
    this.i = 0;
    this.j = 0;
    // RC4-drop[256]: seedrandom calls g(256) once and discards the result.
    this.drop(WIDTH);
  }

  private drop(count: number): void {
    const s = this.s;
    let i = this.i, j = this.j;
    while (count-- > 0) {
      i = MASK & (i + 1);
      const t = s[i]!;
      j = MASK & (j + t);
      s[i] = s[j]!;
      s[j] = t;
    }
    this.i = i; this.j = j;
  }

  /** ARC4 output bytes, big-endian into one integer (seedrandom's g(count), count <= 6). */
  g(count: number): number {
    const s = this.s;
    let i = this.i, j = this.j, r = 0;
    while (count-- > 0) {
      i = MASK & (i + 1);
      const t = s[i]!;
      j = MASK & (j + t);
      const u = s[j]!;
      s[i] = u;
      s[j] = t;
      r = r * WIDTH + s[MASK & (u + t)]!;
    }
    this.i = i; this.j = j;
    return r;
  }

  /** A double in [0, 1): seedrandom's prng(), the same float operations in the same order. */
  next(): number {
    let n = this.g(6);
    let d = STARTDENOM;
    let x = 0;
    while (n < SIGNIFICANCE) {
      n = (n + x) * WIDTH;
      d *= WIDTH;
      x = this.g(1);
    }
    while (n >= OVERFLOW) {
      n /= 2;
      d /= 2;
      x >>>= 1;
    }
    return (n + x) / d;
  }
}
