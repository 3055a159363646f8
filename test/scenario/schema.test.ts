// Bad input gets a clear error naming the file, the JSON path and what was expected.
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../src/scenario/schema.js';
import { MAX_EVENTS } from '../../src/scenario/types.js';

const base = { irqdiff: 1, machine: { vcpus: 2, apic: 'x2apic', ioapic: [] }, events: [] as unknown[] };
const parse = (v: unknown) => parseScenario(JSON.stringify(v), 'corpus/x.json');

function error(v: unknown): ScenarioError {
  try { parse(v); } catch (e) { return e as ScenarioError; }
  throw new Error('expected an error');
}

describe('scenario validation', () => {
  it('accepts a minimal scenario', () => {
    expect(parse({ ...base, events: [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }] }).events).toHaveLength(1);
  });

  it('names file and path for invalid JSON', () => {
    expect(() => parseScenario('{"irqdiff": 1,', 'corpus/broken.json')).toThrow(/^corpus\/broken\.json: \(document\): not valid JSON/);
  });

  it('names the field of a bad event', () => {
    const e = error({ ...base, events: [{ k: 'step', cpu: 0 }, { k: 'ipi', cpu: 0, vector: 300, dest: 1 }] });
    expect(e.file).toBe('corpus/x.json');
    expect(e.path).toBe('$.events[1].vector');
  });

  it('rejects unknown event kinds with the list of known ones', () => {
    const e = error({ ...base, events: [{ k: 'teleport', cpu: 0 }] });
    expect(e.path).toBe('$.events[0].k');
    expect(e.detail).toMatch(/unknown event kind; expected one of ipi, eoi/);
  });

  it('rejects events for vCPUs the machine does not have', () => {
    expect(error({ ...base, events: [{ k: 'eoi', cpu: 5 }] }).message).toMatch(/\$\.events\[0\]\.cpu: vCPU 5 does not exist \(machine has 2\)/);
  });

  it('rejects unknown fields and a wrong version', () => {
    expect(error({ ...base, events: [{ k: 'eoi', cpu: 0, extra: 1 }] }).path).toBe('$.events[0]');
    expect(error({ ...base, irqdiff: 2 }).path).toBe('$.irqdiff');
  });

  it('bounds sizes: events and vCPUs', () => {
    const many = Array.from({ length: MAX_EVENTS + 1 }, () => ({ k: 'step', cpu: 0 }));
    expect(error({ ...base, events: many }).path).toBe('$.events');
    expect(error({ ...base, machine: { ...base.machine, vcpus: 64 } }).path).toBe('$.machine.vcpus');
  });

  it('checks cross-field rules: CR8 values, IOAPIC pins, nested events', () => {
    expect(error({ ...base, events: [{ k: 'tpr', cpu: 0, value: 0x45, via: 'cr8' }] }).path).toBe('$.events[0].value');
    expect(error({ ...base, events: [{ k: 'ioapic', pin: 3, op: 'assert' }] }).path).toBe('$.events[0].pin');
    expect(error({ ...base, events: [{ k: 'vmentry', cpu: 0 }] }).detail).toMatch(/needs \$\.machine\.nested/);
    expect(error({ ...base, events: [{ k: 'ipi', cpu: 0, vector: 0x40 }] }).path).toBe('$.events[0].dest');
  });

  it('validates expectation keys', () => {
    expect(error({ ...base, expect: { bhyve: 'clean' } }).path).toBe('$.expect.bhyve');
    expect(parse({ ...base, expect: { 'bhyve/fixed': 'clean', 'bhyve/prefix': { signature: 'bhyve/prefix:lost:ipi' } } }).expect).toBeDefined();
  });
});
