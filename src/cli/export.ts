// `irqdiff export FILE --format json|vitest|lanes|c [--backend NAME/VARIANT] [--out FILE]`.
import type { Backend } from '../backends/api.js';
import { supportsOn } from '../backends/features.js';
import { exportScenario, FORMATS, type Format } from '../export/formats.js';
import { resolveTargets } from '../fuzz/targets.js';
import { ScenarioError } from '../scenario/error.js';
import { shown } from '../scenario/sanitize.js';
import { readScenarioFile, writeAtomic } from '../store/files.js';
import { foundTarget } from './file-targets.js';

export function exportFile(file: string, format: string, backends: Backend[], target: string | undefined, outFile: string | undefined, out: (l: string) => void): number {
  if (!(FORMATS as readonly string[]).includes(format)) throw new ScenarioError('--format', '', `unknown format ${JSON.stringify(shown(format, 40))}; expected one of ${FORMATS.join(', ')}`);
  const s = readScenarioFile(file);
  const t = target !== undefined ? resolveTargets(backends, [target])[0]
    : s.found ? foundTarget(file, backends, s.found)
    : s.expect && Object.keys(s.expect).length > 0 ? resolveTargets(backends, [Object.keys(s.expect)[0]!])[0] : undefined;
  if (!t) throw new ScenarioError(file, '$.found', 'missing: give --backend NAME/VARIANT to export on');
  const why = supportsOn(t.backend, s.machine, t.variant);
  if (why) throw new ScenarioError(file, '$.machine', `${t.backend.name}/${t.variant} cannot run this machine (${why})`);
  const text = exportScenario(s, format as Format, t.backend, t.variant, backends);
  if (outFile !== undefined) { writeAtomic(outFile, text); out(`wrote ${shown(outFile, 300)}`); }
  else out(text.replace(/\n$/, ''));
  return 0;
}
