// Exhaustive exploration: the shortest interleaving of a documented bug over the alphabet is
// found breadth first and is never longer than the minimized corpus reproducer; a fixed
// variant shows nothing at that depth; dedup merges prefixes reaching the same state.
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { digest, explore } from '../../src/explore/explore.js';
import { runScenario } from '../../src/engine/session.js';

const kvm = BACKENDS.find((b) => b.name === 'kvm')!;

describe('explore', () => {
  it('finds the v4.10 kick race in 5 events (the corpus reproducer has 6), and none on v4.16', () => {
    const r = explore(kvm, 'v4.10', { depth: 5, vcpus: 2, vectors: [0x41], maxStates: 100_000 });
    const ev = r.shortest.get('stuck:pir-on-kick-noop');
    expect(ev?.length).toBe(5);
    expect(r.states).toBeLessThan(r.runs); // dedup at work
    // The interleaving found replays to the same root cause.
    expect(runScenario({ irqdiff: 1, machine: r.machine, events: ev! }, kvm, 'v4.10').primary?.cause).toBe('stuck:pir-on-kick-noop');
    const fixed = explore(kvm, 'v4.16', { depth: 5, vcpus: 2, vectors: [0x41], maxStates: 100_000 });
    expect(fixed.shortest.has('stuck:pir-on-kick-noop')).toBe(false);
    expect(fixed.completeDepth).toBe(5);
  }, 120_000);

  it('digests state canonically: equal structures agree, a changed field or cycle does not confuse it', () => {
    const a = { x: 1, s: new Set([1, 2]), t: new Uint32Array([3]), m: new Map([[1, 'a']]) };
    const b = { x: 1, s: new Set([1, 2]), t: new Uint32Array([3]), m: new Map([[1, 'a']]) };
    expect(digest(a, new Set())).toBe(digest(b, new Set()));
    b.t[0] = 4;
    expect(digest(a, new Set())).not.toBe(digest(b, new Set()));
    const c: { self?: unknown } = {};
    c.self = c;
    expect(digest(c, new Set())).toContain('@0');
  });
});
