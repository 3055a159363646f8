// The guided engine's energy schedule (session 10): where feedback resumes. A feature's weight
// is 2^level / hits²; with ENERGY the level rises with resumptions that found new guide features
// and falls after dry ones, within bounds, from counts alone; the default (ENERGY_OFF) is 1/hits².
import { describe, expect, it } from 'vitest';
import { Guide } from '../../src/coverage/coverage.js';
import { ENERGY, ENERGY_OFF, Schedule } from '../../src/fuzz/schedule.js';
import { makeRng } from '../../src/gen/generator.js';

/** A guide with the given hit counts on features 0..n-1, all covered. */
function guideWith(hits: number[]): Guide {
  const g = new Guide(16);
  hits.forEach((h, f) => { g.hits[f] = h; g.covered.push(f); });
  return g;
}

function draws(s: Schedule, g: Guide, n: number, owned: (f: number) => boolean = () => true): number[] {
  const rng = makeRng('sched');
  const out = new Array<number>(g.covered.length).fill(0);
  for (let i = 0; i < n; i++) { const f = s.pick(g, owned, rng); if (f !== undefined) out[f]!++; }
  return out;
}

describe('energy schedule', () => {
  it('by default, without energy, draws with weight 1/hits² (the session-8 schedule) and credit changes nothing', () => {
    const g = guideWith([1, 2, 10]);
    const s = new Schedule(16);
    expect(s.p).toEqual(ENERGY_OFF);
    for (let i = 0; i < 50; i++) { s.credit(2, 5); s.credit(0, 0); }
    const c = draws(s, g, 20000);
    // Weights 1, 1/4, 1/100 of 1.26.
    expect(c[0]! / 20000).toBeCloseTo(1 / 1.26, 1);
    expect(c[1]! / 20000).toBeCloseTo(0.25 / 1.26, 1);
    expect(c[2]!).toBeLessThan(400);
  });

  it('never draws a feature without an owner, and none when no covered feature has one', () => {
    const g = guideWith([1, 1, 1]);
    const s = new Schedule(16, ENERGY);
    expect(draws(s, g, 500, (f) => f === 2).slice(0, 2)).toEqual([0, 0]);
    expect(s.pick(g, () => false, makeRng('x'))).toBeUndefined();
  });

  it('a feature whose resumptions keep finding new ones outweighs rarer ones, up to 2^lmax', () => {
    // The case it was built for: a state reached by 200 runs (passed through, not resumed
    // from) against fresh ones reached once. 1/hits² alone draws it 1 time in 40,000.
    const g = guideWith([200, 1]);
    const s = new Schedule(16, ENERGY);
    expect(draws(s, g, 2000)[0]).toBeLessThan(5);
    for (let i = 0; i < 40; i++) s.credit(0, 3);
    // 2^16 / 200² ≈ 1.64 against 1: drawn about 62 % of the time, and no more (bounded).
    const c = draws(s, g, 4000);
    expect(c[0]! / 4000).toBeGreaterThan(0.55);
    expect(c[0]! / 4000).toBeLessThan(0.7);
  });

  it('dry resumptions lower the level by one per `fruitless`, down to lmin; a gain resets the count', () => {
    const g = guideWith([1, 1]);
    const s = new Schedule(16, ENERGY);
    // Three dry resumptions do not lower it yet; a gain in between restarts the count.
    for (let i = 0; i < ENERGY.fruitless - 1; i++) s.credit(0, 0);
    s.credit(0, 1);
    for (let i = 0; i < ENERGY.fruitless - 1; i++) s.credit(0, 0);
    let c = draws(s, g, 4000);
    expect(c[0]! / 4000).toBeCloseTo(2 / 3, 1); // level 1 against 0
    for (let i = 0; i < 1000; i++) s.credit(0, 0);
    c = draws(s, g, 8000);
    // Floor 2^lmin = 1/16 against 1: about 5.9 %, never starved to nothing.
    expect(c[0]! / 8000).toBeGreaterThan(0.04);
    expect(c[0]! / 8000).toBeLessThan(0.08);
  });
});
