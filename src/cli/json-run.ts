// `irqdiff run --json`: one NDJSON object per (file, variant) with the outcome and every
// root cause, instead of the trace. Exit 1 if one was divergent.
import type { Backend } from '../backends/api.js';
import { supportsOn } from '../backends/features.js';
import { runScenario } from '../engine/session.js';
import type { Target } from '../fuzz/targets.js';
import type { Scenario } from '../scenario/types.js';
import { readScenarioFile } from '../store/files.js';
import { jsonLine } from './output.js';

type Pick = (file: string, s: Scenario, backends: Backend[], filters: string[]) => Target[];

export function runJson(files: string[], backends: Backend[], filters: string[], pick: Pick, out: (l: string) => void): number {
  let divergent = false;
  for (const file of files) {
    const s = readScenarioFile(file);
    for (const t of pick(file, s, backends, filters)) {
      const target = `${t.backend.name}/${t.variant}`;
      const unsupported = supportsOn(t.backend, s.machine, t.variant);
      if (unsupported) { out(jsonLine({ file, target, skipped: unsupported })); continue; }
      const r = runScenario(s, t.backend, t.variant);
      if (r.primary) divergent = true;
      out(jsonLine({
        file, target, result: r.primary ? 'divergent' : 'clean', signature: r.primary?.signature ?? null,
        divergences: r.divergences.map((d) => ({ signature: d.signature, message: d.message, symptoms: d.symptoms })),
        eventsRun: r.eventsRun, exits: r.exits, deliveries: r.deliveries,
      }));
    }
  }
  return divergent ? 1 : 0;
}
