// Malformed-input fuzz of the scenario loader (run outside the suite): mutated corpus and
// generated scenarios, text-level damage, and arbitrary JSON, each fed to parseScenario.
// Counts what came back: accepted, rejected with a ScenarioError, or any other exception
// (a bug); checks every error message (bounded, no raw control characters, says what was
// expected); records the slowest inputs and re-measures the worst ones, one per fresh
// process, for time and peak memory.
//   node dist/bench/loader-fuzz.js [--inputs 100000] [--seed S] [--max-bytes N] [--worst K] [--keep DIR]
//   node dist/bench/loader-fuzz.js --one FILE        (one input in this process: time, memory)
//   node dist/bench/loader-fuzz.js --at-bounds [--runs 5]  (the costliest inputs the limits
//     admit, each built to 4 MiB, each measured alone in fresh processes: median time, peak RSS)
//   --compare OTHER/dist/scenario/schema.js: also run another build's parseScenario on every
//   input and count where the two disagree (accept/reject, or the validated value)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKENDS } from '../backends/registry.js';
import { generateAndRun, makeRng } from '../gen/generator.js';
import { parseScenario, ScenarioError } from '../scenario/schema.js';
import { benchArgs } from './args.js';

const { values } = benchArgs('node dist/bench/loader-fuzz.js [--inputs N] [--seed S] [--max-bytes N] [--worst N] [--keep DIR] [--one FILE] [--compare FILE] [--at-bounds] [--runs N]', {
    inputs: { type: 'string' }, seed: { type: 'string' }, 'max-bytes': { type: 'string' },
    worst: { type: 'string' }, keep: { type: 'string' }, one: { type: 'string' }, compare: { type: 'string' },
    'at-bounds': { type: 'boolean' }, runs: { type: 'string' },
});

if (values.one !== undefined) {
  // One input, measured alone: the loader's cost above a warmed-up baseline.
  const text = readFileSync(values.one, 'utf8');
  parseScenario('{"irqdiff":1,"machine":{"vcpus":1,"apic":"xapic","ioapic":[]},"events":[]}', 'warm.json');
  const rssBefore = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  let outcome = 'accepted';
  try { parseScenario(text, 'input.json'); } catch (err) { outcome = err instanceof ScenarioError ? 'rejected' : `OTHER ${(err as Error).name}`; }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const maxRss = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ ms, outcome, bytes: Buffer.byteLength(text), peakRssMB: maxRss / 2 ** 20, aboveBaselineMB: (maxRss - rssBefore) / 2 ** 20 }));
  process.exit(0);
}

if (values['at-bounds']) {
  atBounds();
  process.exit(0);
}

/** The most expensive documents the limits let through, or let be read to the end. */
function atBounds(): void {
  const MiB = 4 * 1024 * 1024;
  const M = JSON.stringify({ vcpus: 8, apic: 'x2apic', ioapic: [] });
  const fill = (head: string, unit: string, tail: string) => head + unit.repeat(Math.floor((MiB - head.length - tail.length) / unit.length)) + tail;
  const ipi = JSON.stringify({ k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'none', logical: false, dest: 1, nmi: false });
  const events4096 = `[${Array(4096).fill(ipi).join(',')}]`;
  const sig = 'k'.repeat(500);
  const expect = `{${Array.from({ length: 256 }, (_, i) => `"b${i}/v":{"signature":"${sig}"}`).join(',')}}`;
  const found = JSON.stringify({ backend: 'b'.repeat(64), variant: 'v'.repeat(64), signature: sig, message: 'm'.repeat(8000), seed: 's'.repeat(200), originalEvents: 1, foundAt: 'f'.repeat(100) });
  const note = JSON.stringify('n'.repeat(1990) + '\u001b');
  const realHead = `{"irqdiff":1,"name":"${'n'.repeat(200)}","description":"${'d'.repeat(20000)}","source":"${'s'.repeat(2000)}","machine":${M},"events":${events4096},"found":${found},"expect":${expect},"real":{"tcg":{"status":"clean","signatures":[${Array(64).fill(JSON.stringify(sig)).join(',')}],"host":"h","at":"a","notes":[`;
  const notesFit = Math.min(4104, Math.floor((MiB - realHead.length - 200) / (note.length + 1)));
  const cases: [string, string][] = [
    ['largest valid document: 4,096 IPIs, every string and list at its limit, notes to 4 MiB', `${realHead}${Array(notesFit).fill(note).join(',')}]}}}`],
    ['100,000 empty objects (the value budget), then one more', fill(`{"irqdiff":1,"machine":${M},"events":[`, '[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}],', '0]}')],
    ['100,000 zeros in nested arrays, then one more', fill(`{"irqdiff":1,"machine":${M},"events":[`, `[${Array(24).fill(0).join(',')}],`, '0]}')],
    ['4,096 valid events, the last one invalid', `{"irqdiff":1,"machine":${M},"events":[${Array(4095).fill(ipi).join(',')},{"k":"ipi","cpu":0,"vector":999,"dest":1}]}`],
    ['4 MiB string where 200 characters are allowed', fill('{"irqdiff":1,"name":"', 'x', '"}')],
    ['4 MiB of escapes in one string', fill('{"irqdiff":1,"description":"', '\\u001b', '"}')],
    ['4 MiB of whitespace around a valid document', fill('{"irqdiff":1,"machine":' + M + ',"events":[]', ' ', '}')],
    ['a 4 MiB number', fill(`{"irqdiff":1,"machine":${M},"events":[{"k":"step","cpu":0.`, '0', '}]}')],
    ['a syntax error at the end of 4 MiB (line and column counted)', fill('{"irqdiff":1,"machine":' + M + ',"events":[', '{"k":"step","cpu":0},\n', '}')],
    ['a duplicate key at the end of 4 MiB', fill(`{"irqdiff":1,"machine":${M},"description":"${'d'.repeat(100)}","events":[`, '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],', '0],"irqdiff":1}')],
    ['a million-element array (counted to the end, not built)', fill(`{"irqdiff":1,"machine":${M},"events":[`, '1,', '1]}')],
  ];
  const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'loader-bounds-'));
  mkdirSync(dir, { recursive: true });
  const runs = Number(values.runs ?? 5);
  const self = fileURLToPath(import.meta.url);
  console.log(`loader at its bounds: each input alone in ${runs} fresh processes (median time; peak RSS, max over runs; baseline RSS of an empty document in the same process)`);
  cases.forEach(([what, text], i) => {
    const f = join(dir, `bound-${i}.json`);
    writeFileSync(f, text);
    const rs: { ms: number; outcome: string; peakRssMB: number; aboveBaselineMB: number }[] = [];
    for (let r = 0; r < runs; r++) {
      const p = spawnSync(process.execPath, [self, '--one', f], { encoding: 'utf8', timeout: 600_000 });
      rs.push(JSON.parse(p.stdout) as (typeof rs)[number]);
    }
    const ms = rs.map((r) => r.ms).sort((a, b) => a - b)[Math.floor(runs / 2)]!;
    const peak = Math.max(...rs.map((r) => r.peakRssMB));
    const above = Math.max(...rs.map((r) => r.aboveBaselineMB));
    console.log(`  ${what}\n    ${Buffer.byteLength(text).toLocaleString('en-US')} bytes, ${rs[0]!.outcome}: ${ms.toFixed(1)} ms, peak RSS ${peak.toFixed(0)} MB (+${above.toFixed(0)} MB)`);
  });
}

const inputs = Number(values.inputs ?? 100_000);
const seed = values.seed ?? 'loader-fuzz';
const maxBytes = Number(values['max-bytes'] ?? 6 * 2 ** 20);
const worstK = Number(values.worst ?? 8);
const rng = makeRng(seed);
const int = (n: number) => Math.floor(rng() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

// ---- seeds: the corpus, generated findings, and hand-written documents using every field
function corpusSeeds(dir: string): unknown[] {
  const out: unknown[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.json')) out.push(JSON.parse(readFileSync(p, 'utf8')));
    }
  };
  walk(dir);
  return out;
}
const seeds: unknown[] = corpusSeeds('corpus');
for (const b of BACKENDS) {
  for (const v of b.variants) {
    for (let i = 0; i < 4; i++) {
      const g = generateAndRun(`lf:${i}`, b, v.name);
      seeds.push({ ...g.scenario, found: { backend: b.name, variant: v.name, signature: `${b.name}/${v.name}:lost:ipi`, message: 'vector 0x41 never delivered', seed: `lf:${i}`, originalEvents: g.scenario.events.length, foundAt: '2026-01-01T00:00:00Z' } });
    }
  }
}
seeds.push({
  irqdiff: 1, name: 'all fields', description: 'd', source: 's',
  machine: { vcpus: 4, apic: 'xapic', ioapic: [{ pin: 2, vector: 0x60, dest: 1, trigger: 'level', masked: false }], nested: { exitOnIntr: true }, hyperv: { apicAssist: true } },
  events: [
    { k: 'ipi', cpu: 0, vector: 0x41, shorthand: 'none', logical: false, dest: 1, nmi: false }, { k: 'eoi', cpu: 1, assist: true },
    { k: 'tpr', cpu: 0, value: 0x20, via: 'cr8' }, { k: 'read', cpu: 0, reg: 'isr' }, { k: 'work', cpu: 0, flag: 1 }, { k: 'wait', cpu: 1, flag: 1 },
    { k: 'assist', cpu: 1, on: true }, { k: 'vmentry', cpu: 0, inject: 0x30 }, { k: 'l2', cpu: 0, op: 'vmcall' }, { k: 'msi', dest: 1, vector: 0x42 },
    { k: 'ioapic', pin: 2, op: 'pulse' }, { k: 'exit', cpu: 1, reason: 'npf' }, { k: 'enter_step', cpu: 1 }, { k: 'fault', cpu: 0 },
  ],
  found: { backend: 'kvm', variant: 'v4.11', signature: 'kvm/v4.11:lost:ipi', message: 'm', seed: 's', originalEvents: 9, foundAt: 'now' },
  expect: { 'kvm/v4.11': { signature: 'kvm/v4.11:lost:ipi' }, 'kvm/v4.15': 'clean' },
  real: { tcg: { status: 'clean', signatures: [], notes: ['n'], host: 'h', at: 'now' } },
});

// ---- random values
const NASTY = ['\u001b[2J', '\u001b]0;title\u0007', '\u009b31m', '\u0000', '\r', '\n', '\u202e', '\ud800', '__proto__', 'constructor', 'toString', '"', '\\', 'é', '😀', ':', '/', '..', ''];
const KEYS = ['irqdiff', 'name', 'machine', 'events', 'expect', 'found', 'real', 'vcpus', 'apic', 'ioapic', 'k', 'cpu', 'vector', 'dest', 'signature', 'backend', 'pin', 'kvm', 'tcg', 'notes', 'bhyve/prefix', 'kvm/v4.11'];
function randString(): string {
  const r = rng();
  if (r < 0.3) return pick(NASTY) + pick(NASTY);
  if (r < 0.6) return pick(['ipi', 'eoi', 'tpr', 'x2apic', 'xapic', 'edge', 'level', 'clean', 'cr8', 'irr', 'step', 'kvm', 'bhyve/prefix:lost:ipi', 'bhyve/fixed']);
  let s = '';
  for (let i = int(12); i > 0; i--) s += String.fromCharCode(int(4) === 0 ? int(0x20) : 0x20 + int(0x2000));
  return s;
}
function randNumber(): number {
  return pick([0, -1, 1, 7, 8, 15, 16, 255, 256, 4096, 4097, 0.5, -0.0, 1e308, -1e308, 2 ** 53, 2 ** 31, int(300), int(10)]);
}
function randValue(depth: number): unknown {
  const r = rng();
  if (depth <= 0 || r < 0.5) {
    const t = int(5);
    return t === 0 ? null : t === 1 ? rng() < 0.5 : t === 2 ? randNumber() : randString();
  }
  if (r < 0.75) return Array.from({ length: int(5) }, () => randValue(depth - 1));
  const o: Record<string, unknown> = {};
  for (let i = int(5); i > 0; i--) Object.defineProperty(o, rng() < 0.5 ? pick(KEYS) : randString(), { value: randValue(depth - 1), enumerable: true, writable: true, configurable: true });
  return o;
}

// ---- value-level mutations of a seed
type Node = { parent: Record<string, unknown> | unknown[]; key: string | number };
function nodes(v: unknown, out: Node[] = []): Node[] {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push({ parent: v, key: i }); nodes(x, out); });
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push({ parent: v as Record<string, unknown>, key: k }); nodes(x, out); }
  return out;
}
function set(n: Node, value: unknown): void {
  if (Array.isArray(n.parent)) n.parent[n.key as number] = value;
  else Object.defineProperty(n.parent, n.key, { value, enumerable: true, writable: true, configurable: true });
}
function get(n: Node): unknown { return (n.parent as Record<string | number, unknown>)[n.key]; }

/** Something big (up to about maxBytes when serialized): the size bounds' adversaries. */
function big(): unknown {
  const n = Math.max(1, Math.floor((maxBytes / 8) * rng() * rng()));
  switch (int(6)) {
    case 0: return new Array<number>(n).fill(1);
    case 1: return Array.from({ length: Math.min(n, 2e5) }, () => ({ k: 'step', cpu: 0 }));
    case 2: return 'x'.repeat(n * 4);
    case 3: { const o: Record<string, unknown> = {}; for (let i = 0; i < Math.min(n / 2, 2e5); i++) o[`b${i}/v`] = { sig: 1 }; return o; }
    case 4: return `\u0001DEEP${Math.min(n, 2e5)}\u0001`; // spliced in as text: too deep for JSON.stringify
    default: return '\u001b[2J'.repeat(n);
  }
}

function mutateValue(doc: unknown): string {
  const v = structuredClone(doc) as Record<string, unknown>;
  for (let steps = 1 + int(3); steps > 0; steps--) {
    const all = nodes(v);
    if (all.length === 0) break;
    const n = pick(all);
    const r = rng();
    if (r < 0.3) set(n, randValue(2));
    else if (r < 0.42 && !Array.isArray(n.parent)) delete (n.parent as Record<string, unknown>)[n.key];
    else if (r < 0.52 && Array.isArray(n.parent)) n.parent.splice(n.key as number, 0, ...Array.from({ length: 1 + int(3) }, () => structuredClone(get(n))));
    else if (r < 0.62) { const target = Array.isArray(get(n)) || (get(n) && typeof get(n) === 'object') ? get(n) as Record<string, unknown> : n.parent; if (!Array.isArray(target)) Object.defineProperty(target, rng() < 0.6 ? pick(KEYS) : randString(), { value: randValue(1), enumerable: true, writable: true, configurable: true }); }
    else if (r < 0.72) set(n, typeof get(n) === 'number' ? randNumber() : randString());
    else if (r < 0.75) { set(n, big()); break; } // the last step: big values are not walked again
    else if (r < 0.85) set(n, structuredClone(get(pick(all))));
    else { const k = pick(KEYS); v[k] = rng() < 0.5 ? randValue(2) : get(pick(all)); }
  }
  let text = JSON.stringify(v, null, rng() < 0.3 ? 2 : undefined) ?? 'null';
  text = text.replace(/"\\u0001DEEP(\d+)\\u0001"/, (_m, d: string) => '['.repeat(Number(d)) + '0' + ']'.repeat(Number(d)));
  if (rng() < 0.05) text = '\ufeff' + text;
  if (rng() < 0.05) text = text.replace(/^\{/, '{"irqdiff": 1, '); // a duplicate key
  return text;
}

// ---- text-level damage
const TOKENS = ['{', '}', '[', ']', '"', ',', ':', '\\', '\\u', '\\ud800', '0', '-', '1e999', 'true', 'nul', '\u0000', '\ufeff', '\u001b', ' ', '"k":', '"events":[', '"__proto__":{}'];
function mutateText(doc: unknown): string {
  let t = JSON.stringify(doc, null, rng() < 0.5 ? 2 : undefined);
  for (let steps = 1 + int(4); steps > 0; steps--) {
    const at = int(t.length + 1);
    const r = rng();
    if (r < 0.3) t = t.slice(0, at) + pick(TOKENS) + t.slice(at);
    else if (r < 0.5) t = t.slice(0, at) + t.slice(at + 1 + int(8));
    else if (r < 0.6) t = t.slice(0, at);
    else if (r < 0.75) { const len = 1 + int(40); t = t.slice(0, at) + t.slice(at, at + len).repeat(1 + int(4)) + t.slice(at); }
    else if (r < 0.9) t = t.slice(0, at) + String.fromCharCode(int(0x100)) + t.slice(at + 1);
    else t = '\ufeff' + t;
  }
  return t;
}

function makeInput(): string {
  const r = rng();
  const text = r < 0.6 ? mutateValue(pick(seeds)) : r < 0.9 ? mutateText(pick(seeds)) : JSON.stringify(randValue(5)) ?? 'null';
  return text.length > maxBytes ? text.slice(0, maxBytes) : text;
}

// ---- the run
type Parse = (text: string, file: string) => unknown;
const other: Parse | undefined = values.compare === undefined ? undefined
  : ((await import(new URL(values.compare, `file://${process.cwd()}/`).href)) as { parseScenario: Parse }).parseScenario;
const disagree = new Map<string, { n: number; example: string }>();
const compare = (text: string, mine: unknown, mineErr: string | undefined) => {
  let theirs: unknown;
  let theirErr: string | undefined;
  try { theirs = other!(text, 'fuzz.json'); } catch (err) { theirErr = (err as Error).message; }
  let key: string | undefined;
  if (mineErr === undefined && theirErr !== undefined) key = `only this build accepts (other: ${theirErr.replace(/^fuzz\.json: /, '').replace(/\d+/g, 'N').slice(0, 70)})`;
  else if (mineErr !== undefined && theirErr === undefined) key = `only the other accepts (this: ${mineErr.replace(/^fuzz\.json: /, '').replace(/\d+/g, 'N').slice(0, 70)})`;
  else if (mineErr === undefined && JSON.stringify(mine) !== JSON.stringify(theirs)) key = 'both accept, different values';
  if (key === undefined) return;
  const d = disagree.get(key) ?? { n: 0, example: text.slice(0, 160) };
  d.n++;
  disagree.set(key, d);
};
const stats = { accepted: 0, rejected: 0, other: 0, invalidInput: 0, over1000: 0, rawControl: 0, noExpected: 0 };
const others: string[] = [];
const samples = new Map<string, string>();
const slow: { ms: number; text: string }[] = [];
let totalMs = 0;
let biggest = 0;
// Warm up the JIT so the first inputs are not counted as slow.
for (let i = 0; i < 200; i++) { try { parseScenario(JSON.stringify(seeds[i % seeds.length]), 'warm.json'); } catch { /* seeds are valid */ } }
const started = Date.now();
for (let i = 0; i < inputs; i++) {
  const text = makeInput();
  biggest = Math.max(biggest, text.length);
  const t0 = process.hrtime.bigint();
  let result: unknown;
  let error: string | undefined;
  try {
    result = parseScenario(text, 'fuzz.json');
    stats.accepted++;
  } catch (err) {
    error = (err as Error).message;
    if (err instanceof ScenarioError) {
      stats.rejected++;
      const m = err.message;
      if (/Invalid input/.test(m)) stats.invalidInput++;
      if (m.length > 1000) stats.over1000++;
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f-\u009f]/.test(m)) stats.rawControl++;
      if (!/expected|not valid JSON|duplicate key| > [\d,]+|more than [\d,]+|cannot read/i.test(m)) { stats.noExpected++; if (samples.size < 40) samples.set(err.detail.replace(/\d+/g, 'N').slice(0, 120), m.slice(0, 300)); }
    } else {
      stats.other++;
      if (others.length < 10) others.push(`${(err as Error).stack ?? String(err)}\n  input: ${text.slice(0, 300)}`);
    }
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (other) compare(text, result, error);
  totalMs += ms;
  if (slow.length < worstK || ms > slow[slow.length - 1]!.ms) {
    slow.push({ ms, text });
    slow.sort((a, b) => b.ms - a.ms);
    if (slow.length > worstK) slow.pop();
  }
  if ((i + 1) % 20000 === 0) console.error(`  ${i + 1} inputs, ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const fmt = (n: number) => n.toLocaleString('en-US');
console.log(`loader fuzz: seed ${seed}, ${fmt(inputs)} inputs (largest ${fmt(biggest)} chars), ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`  accepted ${fmt(stats.accepted)}, rejected with a ScenarioError ${fmt(stats.rejected)}, OTHER EXCEPTIONS ${fmt(stats.other)}`);
console.log(`  messages: ${fmt(stats.invalidInput)} say "Invalid input", ${fmt(stats.over1000)} over 1,000 chars, ${fmt(stats.rawControl)} hold raw control characters, ${fmt(stats.noExpected)} say nothing expected`);
console.log(`  time per input: mean ${(totalMs / inputs).toFixed(3)} ms, worst ${slow[0]?.ms.toFixed(1)} ms`);
for (const o of others) console.log(`  other exception:\n${o}`);
if (other) {
  console.log(`  compared with ${values.compare}: ${fmt([...disagree.values()].reduce((a, d) => a + d.n, 0))} disagreements`);
  for (const [k, d] of [...disagree].sort((a, b) => b[1].n - a[1].n)) console.log(`    ${fmt(d.n)}  ${k}\n        e.g. ${JSON.stringify(d.example)}`);
}
for (const [k, m] of samples) console.log(`  no "expected": ${JSON.stringify(k)} e.g. ${JSON.stringify(m)}`);

// The slowest inputs, each alone in a fresh process: time and peak memory.
const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'loader-fuzz-'));
mkdirSync(dir, { recursive: true });
const self = fileURLToPath(import.meta.url);
console.log(`  the ${slow.length} slowest inputs, re-run one per process (kept in ${dir}):`);
slow.forEach((s, i) => {
  const f = join(dir, `slow-${i}.json`);
  writeFileSync(f, s.text);
  const r = spawnSync(process.execPath, [self, '--one', f], { encoding: 'utf8', timeout: 600_000 });
  console.log(`    ${f}: ${fmt(s.text.length)} chars, in-run ${s.ms.toFixed(1)} ms, alone ${r.stdout.trim() || `failed: ${r.stderr.slice(0, 200)}`}`);
});
process.exitCode = stats.other === 0 ? 0 : 1;
