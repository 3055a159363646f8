// jsfuzz target: bytes → scenario (src/gen/bytes.ts) on IRQDIFF_TARGET (backend/variant,
// default kvm/v4.11); throws — a jsfuzz "crash" — when the run shows IRQDIFF_CAUSE (a root
// cause "<class>:<tag>"), or any root cause when IRQDIFF_CAUSE is unset. Bundled to CommonJS
// by build.mjs so that jsfuzz's require hook instruments the models too (coverage feedback).
//   node harness/jsfuzz/build.mjs && npx jsfuzz harness/jsfuzz/target.cjs /tmp/jsfuzz-corpus
import { BACKENDS } from '../../dist/backends/registry.js';
import { runScenario } from '../../dist/engine/session.js';
import { scenarioFromBytes } from '../../dist/gen/bytes.js';

const [name, variant] = (process.env.IRQDIFF_TARGET ?? 'kvm/v4.11').split('/');
const backend = BACKENDS.find((b) => b.name === name);
if (!backend || !backend.variants.some((v) => v.name === variant)) throw new Error(`IRQDIFF_TARGET: no backend variant ${name}/${variant}`);
const cause = process.env.IRQDIFF_CAUSE;
export let runs = 0;

export function fuzz(buf) {
  const s = scenarioFromBytes(backend, buf, 40, variant);
  if (!s) return;
  runs++;
  const r = runScenario(s, backend, variant);
  const hit = r.divergences.find((d) => cause === undefined || d.cause === cause);
  if (hit) throw new Error(`${hit.signature} after ${runs} runs: ${JSON.stringify(s)}`);
}
