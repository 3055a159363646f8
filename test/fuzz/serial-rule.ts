// The static, serial campaign the worker tests compare against: every job's share run in this
// thread, and per cause the reproducer the serial rule gives (the cause's occurrences in
// (iteration, job) order, the first ISOLATE_TRIES tried in turn, the first that isolates kept).
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { Backend } from '../../src/backends/api.js';
import { isolate, ISOLATE_TRIES, type Candidate } from '../../src/fuzz/isolate.js';
import { guardTargets, runJob } from '../../src/fuzz/job.js';
import { share } from '../../src/fuzz/state.js';
import { resolveTargets } from '../../src/fuzz/targets.js';
import { crashPath, scenarioText } from '../../src/store/files.js';

export interface SerialRun {
  /** Signature → reproducer text. */
  expected: Map<string, string>;
  /** Signature → occurrences over all jobs. */
  counts: Record<string, number>;
  /** Signature → the first two seeds per job, in job order. */
  seeds: Record<string, string[]>;
}

export function serialRule(backends: Backend[], filters: string[], seed: string, workers: number, iterations: number, maxEvents: number): SerialRun {
  const { targets } = guardTargets(resolveTargets(backends, filters), false);
  const byKey = new Map(targets.map((t) => [`${t.backend.name}/${t.variant}`, t]));
  const candidates: Candidate[] = [];
  const counts: Record<string, number> = {};
  const seeds: Record<string, string[]> = {};
  for (let job = 0; job < workers; job++) {
    const st = runJob(targets, {
      seed, job, startIter: 0, endIter: share(iterations, workers, job), deadline: Infinity, maxEvents, known: new Set(), engine: 'random',
      onCandidate: (c) => candidates.push(c),
    }, () => {}, () => {}, () => 0);
    for (const [sig, h] of Object.entries(st.hits)) { counts[sig] = (counts[sig] ?? 0) + h.count; (seeds[sig] ??= []).push(...h.seeds.slice(0, 2)); }
  }
  candidates.sort((a, b) => a.iter - b.iter || a.job - b.job);
  const expected = new Map<string, string>();
  for (const sig of new Set(candidates.map((c) => c.signature))) {
    for (const c of candidates.filter((x) => x.signature === sig).slice(0, ISOLATE_TRIES)) {
      const s = isolate(c, byKey.get(c.target)!, true);
      if (s) { expected.set(sig, scenarioText(s)); break; }
    }
  }
  return { expected, counts, seeds };
}

/** Every expected reproducer is in the campaign directory, byte for byte. */
export function expectReproducers(out: string, expected: Map<string, string>): void {
  for (const [sig, text] of expected) {
    const [target, cause] = sig.split(':', 2) as [string, string];
    const [backend, variant] = target.split('/') as [string, string];
    expect(readFileSync(crashPath(out, backend, variant, cause, sig), 'utf8'), sig).toBe(text);
  }
}
