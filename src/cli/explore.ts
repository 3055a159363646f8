// `irqdiff explore --backend B/V --depth N`: exhaustive breadth-first exploration (see
// src/explore/explore.ts). Per root cause: the shortest interleaving over the alphabet, or
// "none up to depth N"; beside it, the length of the corpus reproducer expecting that cause
// (what the minimizer produced), so the minimizer can be certified against it.
import { parseArgs } from 'node:util';
import { allBackends } from '../backends/load.js';
import { explore } from '../explore/explore.js';
import { resolveTargets } from '../fuzz/targets.js';
import { shown } from '../scenario/sanitize.js';
import { readScenarioFile, walkJson } from '../store/files.js';

export const EXPLORE_HELP = `usage: irqdiff explore --backend NAME[/VARIANT]... [--depth N] [--vcpus N] [--vectors 0x41,0x51]
                      [--nested] [--hyperv] [--msi] [--max-states N] [--corpus DIR] [--backend-module FILE]...

Enumerates every interleaving of a small alphabet (per vCPU: IPIs of the given vectors to the
next vCPU, EOI, IRET, STI, step, HLT, a timer exit, enter, enter_step, a pending physical
interrupt; L2 step and VM entry when nested; --msi adds device MSIs) up to --depth (default 4), breadth first, on the
smallest machine the backend accepts (--vcpus, default 2; no IOAPIC pins; --nested prefers
an L1 running an L2; --hyperv a Hyper-V guest using the APIC assist), skipping prefixes
whose backend + reference state was already reached. For each root cause: the shortest
interleaving found, and the length of the corpus reproducer (--corpus, default corpus/) that
expects it. Documented bugs never reached print "none up to depth N" (over this alphabet).`;

/** Shortest corpus reproducer per signature. */
function corpusLengths(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of walkJson(dir).files) {
    let s;
    try { s = readScenarioFile(f); } catch { continue; }
    for (const e of Object.values(s.expect ?? {})) {
      if (e === 'clean') continue;
      const n = out.get(e.signature);
      if (n === undefined || s.events.length < n) out.set(e.signature, s.events.length);
    }
  }
  return out;
}

export async function cmdExplore(argv: string[], out: (l: string) => void, usage: (m: string) => Error): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, allowPositionals: false, strict: true, options: {
      help: { type: 'boolean', short: 'h' }, backend: { type: 'string', multiple: true }, depth: { type: 'string' }, vcpus: { type: 'string' },
      vectors: { type: 'string' }, nested: { type: 'boolean' }, hyperv: { type: 'boolean' }, msi: { type: 'boolean' }, 'max-states': { type: 'string' }, corpus: { type: 'string' }, 'backend-module': { type: 'string', multiple: true },
    } });
  } catch (err) { throw usage((err as Error).message); }
  const v = a.values;
  if (v.help) { out(EXPLORE_HELP); return 0; }
  const num = (x: string | undefined, d: number, lo: number, hi: number, name: string) => {
    const n = x === undefined ? d : Number(x);
    if (!Number.isInteger(n) || n < lo || n > hi) throw usage(`explore: --${name} must be a whole number from ${lo} to ${hi}`);
    return n;
  };
  const depth = num(v.depth, 4, 1, 12, 'depth');
  const vcpus = num(v.vcpus, 2, 1, 4, 'vcpus');
  const maxStates = num(v['max-states'], 200_000, 1, 10_000_000, 'max-states');
  const vectors = (v.vectors ?? '0x41').split(',').map((x) => Number(x));
  if (vectors.some((x) => !Number.isInteger(x) || x < 16 || x > 255)) throw usage('explore: --vectors must be vectors 16..255, e.g. 0x41,0x51');
  if (!v.backend || v.backend.length === 0) throw usage('explore: --backend NAME[/VARIANT] is required');
  const backends = await allBackends(v['backend-module'] ?? []);
  const targets = resolveTargets(backends, v.backend);
  const corpus = corpusLengths(v.corpus ?? 'corpus');
  for (const t of targets) {
    const key = `${t.backend.name}/${t.variant}`;
    const info = t.backend.variants.find((x) => x.name === t.variant)!;
    const t0 = performance.now();
    const r = explore(t.backend, t.variant, { depth, vcpus, vectors, maxStates, nested: v.nested === true, hyperv: v.hyperv === true, msi: v.msi === true });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    out(`== ${key} [${info.status}]: ${r.machine.vcpus} vCPUs ${r.machine.apic}${r.machine.nested ? ' nested' : ''}${r.machine.hyperv ? ' hyperv' : ''}, ${r.alphabet.length} letters, depth ${r.completeDepth} complete${r.truncated ? ` (state bound ${maxStates} hit before depth ${depth})` : ''}, ${r.states} states, ${r.runs} runs, ${secs}s`);
    const causes = new Set([...r.shortest.keys(), ...info.expectedBugs.map((b) => b.cause)]);
    for (const c of [...causes].sort()) {
      const ev = r.shortest.get(c);
      const documented = info.expectedBugs.some((b) => b.cause === c) ? 'documented bug' : (info.knownDeviations ?? []).some((b) => b.cause === c) ? 'deviation' : 'OTHER';
      const corpusLen = corpus.get(`${key}:${c}`);
      const shortest = ev ? `shortest ${ev.length}` : `none up to depth ${r.completeDepth}`;
      out(`  ${shown(c, 120).padEnd(58)} ${documented.padEnd(14)} ${shortest.padEnd(22)} corpus reproducer ${corpusLen ?? '-'}`);
      if (ev) out(`  ${''.padEnd(58)} ${shown(ev.map((e) => JSON.stringify(e)).join(' '), 1500)}`);
    }
    if (r.shortest.size === 0) out(`  no divergence up to depth ${r.completeDepth}: clean over this alphabet and machine`);
  }
  return 0;
}
