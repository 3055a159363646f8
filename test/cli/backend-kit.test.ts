// The backend kit: a skeleton written by `irqdiff new-backend` loads as a .ts module, runs clean
// (it delegates to bare metal), and a module whose instance lacks a method is refused at load
// time with the file and the method named.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { BackendModuleError, loadBackendModule } from '../../src/backends/load.js';

const here = process.cwd();

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

describe('backend kit', () => {
  it('new-backend writes a skeleton that loads as a .ts module and never overwrites', async () => {
    // Inside the package so that `import ... from 'irqdiff'` resolves (self-reference through exports).
    const file = join(here, `.kit-${process.pid}-skeleton.ts`);
    try {
      const r = await cli(['new-backend', 'myhv', '--out', file]);
      expect(r.code).toBe(0);
      expect(readFileSync(file, 'utf8')).toContain("name: 'myhv'");
      const again = await cli(['new-backend', 'myhv', '--out', file]);
      expect(again.code).toBe(2);
      expect(again.err.join('\n')).toMatch(/exists; nothing written/);
      const b = await loadBackendModule(file);
      expect(b.name).toBe('myhv');
      expect(b.variants.map((v) => v.name)).toEqual(['main']);
      const run = await cli(['run', 'corpus/bhyve/bhyve-svm-lost-ipi.json', '--backend-module', file, '--backend', 'myhv/main']);
      expect(run.out.join('\n')).toMatch(/RESULT: clean/);
    } finally {
      (await import('node:fs')).rmSync(file, { force: true });
    }
  });

  it('a module whose instance lacks a method is refused at load, naming the method', async () => {
    const dir = mkdtempSync(join(here, '.kit-'));
    const file = join(dir, 'broken.mjs');
    writeFileSync(file, `export default { name: 'broken', description: 'x', variants: [{ name: 'v', source: 's', summary: 's', status: 'clean', expectedBugs: [] }],
      supports: () => null, create: () => ({ machine: {}, apply() {}, where() { return 'guest'; }, inL2() { return false; }, guest() { return {}; }, snapshot() { return {}; } }) };\n`);
    try {
      await expect(loadBackendModule(file)).rejects.toThrow(BackendModuleError);
      await expect(loadBackendModule(file)).rejects.toThrow(/backend instance: 'physPending' must be a method/);
    } finally {
      (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
    }
  });
});
