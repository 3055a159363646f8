// A scenario file is a stranger's file: its sizes are bounded before any work (each limit
// named in the error), a duplicate key is an error naming where, a byte-order mark is fine,
// and every message says what was expected, in one short line with nothing raw in it.
import { describe, expect, it } from 'vitest';
import { MAX_EXPECT_KEYS, MAX_FILE_BYTES, MAX_VALUES } from '../../src/scenario/bounds.js';
import { parseScenario, ScenarioError, validateScenario } from '../../src/scenario/schema.js';

const machine = '{"vcpus":2,"apic":"x2apic","ioapic":[]}';
const doc = (rest: string) => `{"irqdiff":1,"machine":${machine},${rest}}`;
const base = { irqdiff: 1, machine: { vcpus: 2, apic: 'x2apic', ioapic: [] }, events: [] as unknown[] };

function error(f: () => unknown): ScenarioError {
  try { f(); } catch (e) { if (e instanceof ScenarioError) return e; throw e; }
  throw new Error('expected a ScenarioError');
}
const textError = (text: string) => error(() => parseScenario(text, 'x.json'));
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('size limits, checked before the work they bound', () => {
  it('counts a million events without building them, and names the limit', () => {
    const text = doc(`"events":[${'1,'.repeat(999_999)}1]`);
    const t0 = performance.now();
    const e = textError(text);
    expect(e.message).toBe('x.json: $.events: too many events: 1,000,000 > 4,096');
    // Not a timing assertion of performance, a guard against building and validating all
    // the elements first (that took seconds and hundreds of MB).
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('bounds IOAPIC pins, expectation keys and vCPUs, each by name', () => {
    const pins = Array.from({ length: 30 }, (_, i) => ({ pin: i, vector: 0x30 + i, dest: 0, trigger: 'edge', masked: false }));
    expect(error(() => validateScenario({ ...base, machine: { ...base.machine, ioapic: pins } })).detail).toBe('too many IOAPIC pins: 30 > 24');
    const expectKeys = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`b${i}/v`, 'clean']));
    expect(textError(doc(`"events":[],"expect":${JSON.stringify(expectKeys)}`)).message).toBe(`x.json: $.expect: too many expectations: 300 > ${MAX_EXPECT_KEYS}`);
    expect(error(() => validateScenario({ ...base, expect: expectKeys })).detail).toBe('too many expectations: 300 > 256');
    expect(error(() => validateScenario({ ...base, machine: { ...base.machine, vcpus: 1_000_000 } })).message).toMatch(/\$\.machine\.vcpus: too many vCPUs: 1,000,000 > 8$/);
  });

  it('bounds every string a finding carries', () => {
    const found = { backend: 'kvm', variant: 'v4.11', signature: 'kvm/v4.11:lost:ipi', message: 'm', seed: 's', originalEvents: 3, foundAt: 'now' };
    for (const [field, max] of [['backend', 64], ['variant', 64], ['signature', 512], ['message', 8000], ['seed', 200], ['foundAt', 100]] as const) {
      const big = { ...found, [field]: 'x'.repeat(1_000_000) };
      const e = textError(doc(`"events":[],"found":${JSON.stringify(big)}`));
      expect(e.path).toBe(`$.found.${field}`);
      expect(e.detail).toBe(`too long: 1,000,000 characters > ${max.toLocaleString('en-US')}`);
      expect(error(() => validateScenario({ ...base, found: big })).path).toBe(`$.found.${field}`);
    }
    expect(textError(doc(`"name":"${'n'.repeat(201)}","events":[]`)).detail).toBe('too long: 201 characters > 200');
  });

  it('bounds the file, the nesting and the number of values', () => {
    expect(textError(' '.repeat(MAX_FILE_BYTES + 1)).detail).toBe('too large: 4,194,305 characters > 4,194,304');
    expect(textError(doc(`"events":[],"x":${'['.repeat(100_000)}${']'.repeat(100_000)}`)).detail).toBe('nested too deeply: more than 16 levels');
    const cyclic: Record<string, unknown> = { ...base };
    cyclic.real = cyclic;
    expect(error(() => validateScenario(cyclic)).detail).toBe('nested too deeply: more than 16 levels');
    const many = `[${'[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],'.repeat(4000)}0]`;
    expect(textError(doc(`"events":${many}`)).detail).toBe(`too many JSON values in the document: more than ${MAX_VALUES.toLocaleString('en-US')}`);
  });

  it('accepts a document exactly at its limits', () => {
    const events = Array.from({ length: 4096 }, () => ({ k: 'step', cpu: 0 }));
    expect(parseScenario(JSON.stringify({ ...base, name: 'n'.repeat(200), events }), 'x.json').events).toHaveLength(4096);
  });
});

describe('JSON details', () => {
  it('accepts a UTF-8 byte-order mark', () => {
    expect(parseScenario(`\ufeff${doc('"events":[]')}`, 'x.json').machine.vcpus).toBe(2);
  });

  it('rejects a duplicate key, naming its path (JSON.parse would keep the last silently)', () => {
    const e = textError(`{"irqdiff":1,"machine":{"vcpus":2,"apic":"x2apic","vcpus":8,"ioapic":[]},"events":[]}`);
    expect(e.path).toBe('$.machine.vcpus');
    expect(e.detail).toMatch(/^duplicate key 'vcpus'/);
    expect(textError(doc('"events":[{"k":"step","cpu":0,"cpu":1}]')).path).toBe('$.events[0].cpu');
  });

  it('treats "__proto__" as a plain (unknown) key', () => {
    const e = textError(doc('"events":[],"__proto__":{"expect":{"x/y":"clean"}}'));
    expect(e.detail).toMatch(/^unknown field '__proto__'/);
    expect(({} as Record<string, unknown>).expect).toBeUndefined();
  });

  it('names line and column of a syntax error', () => {
    expect(textError('{\n  "irqdiff": 1,\n  oops\n}').message).toBe("x.json: (document): not valid JSON: unexpected 'o'; expected a key in double quotes at line 3 column 3");
  });
});

describe('messages', () => {
  const cases: [unknown, string, RegExp][] = [
    [{ ...base, events: [{ k: 'ipi', cpu: 0, vector: 300, dest: 1 }] }, '$.events[0].vector', /^expected a vector from 0 to 255, got 300$/],
    [{ ...base, events: [{ k: 'ipi', cpu: '0', vector: 3, dest: 1 }] }, '$.events[0].cpu', /^expected a vCPU number from 0 to 7, got '0'$/],
    [{ ...base, events: [7] }, '$.events[0]', /^expected event: an object whose "k" is one of ipi, eoi, .*, got 7$/],
    [{ ...base, events: [{ cpu: 0 }] }, '$.events[0].k', /^missing event kind; expected one of ipi, eoi/],
    [{ ...base, events: [{ k: 'tpr', cpu: 0, value: 16 }] }, '$.events[0].via', /^missing; expected one of 'cr8', 'mmio'$/],
    [{ ...base, events: [{ k: 'eoi', cpu: 0, vectr: 1 }] }, '$.events[0]', /^unknown field 'vectr'; expected only the fields of event 'eoi': k, cpu, assist\?$/],
    [{ ...base, machine: { ...base.machine, apic: 'x3apic' } }, '$.machine.apic', /^expected one of 'xapic', 'x2apic', got 'x3apic'$/],
    [{ ...base, machine: [] }, '$.machine', /^expected the machine: an object with vcpus, apic, ioapic, nested\?, hyperv\?, apicIds\?, got an array$/],
    [{ ...base, expect: { 'kvm/v4.11': 'dirty' } }, '$.expect["kvm/v4.11"]', /^expected "clean" or \{"signature": .*\}, got 'dirty'$/],
    [{ ...base, expect: { 'kvm/v4.11': { sig: 'x' } } }, '$.expect["kvm/v4.11"]', /^unknown field 'sig'; expected only the fields of an expectation: signature$/],
    [{ ...base, expect: { kvm: 'clean' } }, '$.expect.kvm', /^expected a key "backend\/variant", got 'kvm'$/],
    [{ ...base, irqdiff: 2 }, '$.irqdiff', /^expected 1 \(the format version\), got 2$/],
    [[], '$', /^expected a scenario: an object with irqdiff, .*, got an array$/],
  ];
  it('say what was expected at the path', () => {
    for (const [v, path, detail] of cases) {
      const e = error(() => validateScenario(v, 'x.json'));
      expect(e.path, path).toBe(path);
      expect(e.detail, path).toMatch(detail);
    }
  });

  it('show hostile keys and values escaped and cut short', () => {
    const key = `\u001b]0;pwned\u0007\u001b[2J${'k'.repeat(200)}`; // under the key limit (256)
    const e = textError(doc(`"events":[{"k":"step","cpu":0,${JSON.stringify(key)}:1}]`));
    expect(e.message).not.toMatch(RAW_CONTROL);
    expect(e.message).toContain("unknown field '\\x1b]0;pwned\\x07\\x1b[2Jkkk");
    expect(e.message).toContain('…');
    expect(e.message.length).toBeLessThan(1000);
    const v = textError(doc('"events":[{"k":"read","cpu":0,"reg":"\\u009b2J\\u202eabc"}]'));
    expect(v.detail).toBe("expected one of 'irr', 'isr', 'tmr', 'ppr', 'tpr', 'esr', got '\\x9b2J\\u{202e}abc'");
    const file = error(() => parseScenario('{', 'evil\u001b[2J.json'));
    expect(file.message).toMatch(/^evil\\x1b\[2J\.json: /);
  });
});

describe('numbers in messages', () => {
  it('stay short however large the number', () => {
    const e = textError(`{"irqdiff":1,"machine":{"vcpus":1e308,"apic":"x2apic","ioapic":[]},"events":[]}`);
    expect(e.detail).toBe('too many vCPUs: 1e+308 > 8');
  });
});
