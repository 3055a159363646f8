// The loader against anything: arbitrary JSON, mutated real scenarios, damaged text and
// oversized documents. Whatever comes in, what comes out is a scenario or a ScenarioError
// (never another exception), whose message is one bounded line with nothing raw in it, and
// no input takes long (the bound is generous: it catches a loader that does unbounded work
// before its limits, as one did, not a slow machine).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../src/scenario/schema.js';

function corpus(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? corpus(p) : n.endsWith('.json') ? [readFileSync(p, 'utf8')] : [];
  });
}
const SEEDS = corpus('corpus');
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const PER_INPUT_MS = 2_000;

function load(text: string): void {
  const t0 = performance.now();
  try {
    parseScenario(text, 'fuzz.json');
  } catch (err) {
    if (!(err instanceof ScenarioError)) throw err;
    expect(err.message.length).toBeLessThanOrEqual(1_100);
    expect(err.message).not.toMatch(RAW);
  }
  expect(performance.now() - t0).toBeLessThan(PER_INPUT_MS);
}

/** Every place in a JSON value, to mutate one. */
function places(v: unknown, out: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = []) {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push({ parent: v, key: i }); places(x, out); });
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push({ parent: v as Record<string, unknown>, key: k }); places(x, out); }
  return out;
}

const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('replace', 'delete', 'add', 'duplicate'),
  key: fc.oneof(fc.string(), fc.constantFrom('k', 'cpu', 'vector', 'signature', '__proto__', 'constructor', 'events', 'expect')),
  value: fc.jsonValue({ maxDepth: 3 }),
});

describe('the scenario loader on hostile input', () => {
  it('arbitrary JSON values', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => load(JSON.stringify(v))), { numRuns: 500 });
  });

  it('real scenarios with some of their values replaced, removed, added or duplicated', () => {
    fc.assert(fc.property(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, muts) => {
      const doc = JSON.parse(seed) as unknown;
      for (const m of muts) {
        const all = places(doc);
        if (all.length === 0) break;
        const p = all[m.at % all.length]!;
        const container = p.parent as Record<string | number, unknown>;
        if (m.op === 'replace') container[p.key] = m.value;
        else if (m.op === 'delete' && !Array.isArray(p.parent)) delete container[p.key];
        else if (m.op === 'add' && !Array.isArray(p.parent)) Object.defineProperty(p.parent, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
        else if (Array.isArray(p.parent)) p.parent.push(structuredClone(p.parent[p.key as number]));
      }
      load(JSON.stringify(doc));
    }), { numRuns: 1_000 });
  });

  it('damaged text: insertions, deletions, truncation, a BOM, repeated keys', () => {
    const edit = fc.record({ at: fc.nat(), cut: fc.nat({ max: 12 }), insert: fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('{', '}', '[', ']', '"', ',', ':', '\\', '\\u', '\\ud800', '1e999', '-', '\ufeff', '"irqdiff": 1,', '"k":"ipi",')) });
    fc.assert(fc.property(fc.constantFrom(...SEEDS), fc.array(edit, { minLength: 1, maxLength: 5 }), (seed, edits) => {
      let t = seed;
      for (const e of edits) { const at = e.at % (t.length + 1); t = t.slice(0, at) + e.insert + t.slice(at + e.cut); }
      load(t);
    }), { numRuns: 1_000 });
  });

  it('oversized documents: long arrays, many keys, long strings, deep nesting, anywhere', () => {
    const where = fc.constantFrom('"events":', '"machine":{"vcpus":2,"apic":"x2apic","ioapic":', '"expect":', '"name":', '"found":', '"real":{"kvm":{"status":"clean","signatures":[],"host":"h","at":"a","notes":', '"zzz":');
    const big = fc.record({ n: fc.integer({ min: 0, max: 300_000 }), shape: fc.constantFrom('array', 'object', 'string', 'deep'), el: fc.jsonValue({ maxDepth: 1 }) });
    fc.assert(fc.property(where, big, (w, b) => {
      const el = JSON.stringify(b.el) ?? '0';
      const value = b.shape === 'array' ? `[${Array(b.n).fill(el).join(',')}]`
        : b.shape === 'object' ? `{${Array.from({ length: Math.min(b.n, 50_000) }, (_, i) => `"b${i}/v":${el}`).join(',')}}`
          : b.shape === 'string' ? `"${'\u001b'.repeat(b.n % 7)}${'x'.repeat(b.n)}"`
            : `${'['.repeat(b.n % 5_000)}${']'.repeat(b.n % 5_000)}`;
      const closing = w.startsWith('"machine"') ? '}' : w.startsWith('"real"') ? '}}' : '';
      const text = `{"irqdiff":1,${w.startsWith('"machine"') ? '' : '"machine":{"vcpus":2,"apic":"x2apic","ioapic":[]},'}${w.startsWith('"events"') ? '' : '"events":[],'}${w}${value}${closing}}`;
      load(text);
    }), { numRuns: 60 });
  });
});
