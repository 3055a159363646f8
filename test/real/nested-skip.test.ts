// Real replay does not run nested machines: the guest kernel has no VMX, and a nested file replayed
// without its L2 (vmentry, l2, fault skipped) would be judged as another scenario.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { notReplayable, runScenarios } from '../../src/real/run.js';
import { parseScenario } from '../../src/scenario/schema.js';

describe('real replay of nested files', () => {
  it('skips a nested file with its reason, without booting anything', async () => {
    const file = 'corpus/kvm/kvm-nested-ack-on-exit.json';
    const s = parseScenario(readFileSync(file, 'utf8'), file);
    // No QEMU is needed: nothing of the list is replayable, so nothing is prepared or booted.
    const [r] = await runScenarios([{ file, scenario: s }], 'tcg');
    expect(r!.status).toBe('inconclusive');
    expect(r!.problems[0]).toMatch(/nested machine/);
    expect(r!.observations).toBeNull();
  });

  it('replays flat machines', () => {
    const s = parseScenario(readFileSync('corpus/kut/kut-apic-self-ipi-xapic.json', 'utf8'));
    expect(notReplayable(s)).toBeNull();
  });
});
