// The corpus is the regression suite: every reproducer's expectations must hold, on every
// backend variant it names (the same check as `irqdiff run --check corpus/**/*.json`).
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../src/backends/registry.js';
import { checkFile } from '../src/cli/check.js';
import { listJson, readScenarioFile } from '../src/store/files.js';

const files = listJson('corpus').filter((f) => readScenarioFile(f).expect !== undefined);

describe('corpus', () => {
  it('has reproducers', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const f of files) {
    it(f, () => {
      const outcomes = checkFile(f, BACKENDS);
      for (const o of outcomes) expect(`${o.target}: ${o.got}`).toBe(`${o.target}: ${o.expected}`);
    });
  }
});

// The triage fixtures that carry an `expect` (most assert their cause in test/oracle/pin-owner.test.ts instead) must
// not keep an old name once the cause is named: six did, session 9.
const fixtures = listJson('test/oracle/scenarios').filter((f) => readScenarioFile(f).expect !== undefined);
describe('test/oracle/scenarios expectations', () => {
  for (const f of fixtures) {
    it(f, () => {
      for (const o of checkFile(f, BACKENDS)) expect(`${o.target}: ${o.got}`).toBe(`${o.target}: ${o.expected}`);
    });
  }
});
