// Exports of a reproducer: the scenario JSON, a vitest regression test, the <=72-column lane
// diagram, and a standalone C test in the style of kvm-unit-tests' x86/apic.c.
import type { Backend } from '../backends/api.js';
import type { Scenario } from '../scenario/types.js';
import { scenarioText } from '../store/files.js';
import { replay } from '../tui/replay.js';
import { cTest } from './ctest.js';
import { laneDiagram } from './lanes.js';

export const FORMATS = ['json', 'vitest', 'lanes', 'c'] as const;
export type Format = (typeof FORMATS)[number];
export const FORMAT_EXT: Record<Format, string> = { json: '.json', vitest: '.test.ts', lanes: '.txt', c: '.c' };

/** A name usable as an identifier and a file name. */
export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60) || 'reproducer';
}

export function exportScenario(s: Scenario, format: Format, backend: Backend, variant: string, backends: readonly Backend[]): string {
  const name = slug(s.name ?? s.found?.signature ?? 'reproducer');
  switch (format) {
    case 'json': return scenarioText(s);
    case 'lanes': {
      const r = replay(s, backend, variant);
      const head = [`irqdiff reproducer ${s.name ?? ''} on ${backend.name}/${variant}`.trim().slice(0, 72)];
      return [...head, '', ...laneDiagram(r, s.machine.vcpus), ''].join('\n');
    }
    case 'vitest': {
      const r = replay(s, backend, variant);
      const expected = r.result.primary?.signature ?? 'clean';
      const body = JSON.stringify({ ...s, expect: undefined, real: undefined }, null, 1).replace(/\n/g, '\n  ');
      return `// Regression test exported by irqdiff: ${backend.name}/${variant} must give ${expected}.
import { describe, expect, it } from 'vitest';
import { allBackends } from '../src/backends/load.js';
import { runScenario } from '../src/engine/session.js';
import type { Scenario } from '../src/scenario/types.js';

const scenario = ${body} as Scenario;

describe('${name}', () => {
  it('${backend.name}/${variant}: ${expected}', async () => {
    const backend = (await allBackends([])).find((b) => b.name === ${JSON.stringify(backend.name)})!;
    const r = runScenario(scenario, backend, ${JSON.stringify(variant)});
    expect(r.primary?.signature ?? 'clean').toBe(${JSON.stringify(expected)});
  });
});
`;
    }
    case 'c': return cTest(s, name, backends);
  }
}
