// The generator's ARC4 stream must be seedrandom's, double for double: every seed of every
// recorded rate, corpus reproducer and campaign names an interleaving through it.
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { makeRng } from '../../src/gen/generator.js';
import { Arc4 } from '../../src/gen/rng.js';

function seeds(): string[] {
  // Campaign-shaped seeds, the empty seed, the 256-byte key boundary (mixkey wraps and smears
  // past it), and long seeds with code units above 0xff (mixkey masks them).
  const out = ['', 'a', 'x'.repeat(255), 'y'.repeat(256), 'y'.repeat(257), 'tp:0:1', `${'zq'.repeat(300)}\u00e9\u20ac\ud83d\ude00`];
  for (let i = 0; i < 3000; i++) out.push(`${i % 3 === 0 ? 'rates' : 'seed'}:${i % 7}:${i}`);
  for (let k = 0; k < 60; k++) {
    let s = '';
    const len = (k * 37) % 700;
    for (let c = 0; c < len; c++) s += String.fromCharCode((c * 131 + k * 17) % 0x2000);
    out.push(s);
  }
  return out;
}

describe('generator rng', () => {
  it('gives seedrandom 3.0.5\'s doubles bit for bit', () => {
    let draws = 0;
    for (const s of seeds()) {
      const ref = seedrandom(s);
      const a = new Arc4(s);
      const b = makeRng(s);
      for (let q = 0; q < 40; q++) {
        const x = ref();
        expect(Object.is(a.next(), x), `seed ${JSON.stringify(s.slice(0, 30))} draw ${q}`).toBe(true);
        expect(Object.is(b(), x)).toBe(true);
        draws++;
      }
    }
    expect(draws).toBeGreaterThan(120_000);
  });

  it('reseeding gives the fresh stream of the new seed', () => {
    const a = new Arc4('first');
    for (let q = 0; q < 100; q++) a.next();
    a.seed('second');
    const ref = seedrandom('second');
    for (let q = 0; q < 100; q++) expect(a.next()).toBe(ref());
  });
});
