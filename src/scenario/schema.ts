// Validation of scenario documents. A malformed file gets an error that names the file, the
// JSON path and what was expected there. Sizes are bounded before any work: the text while
// it is parsed (./json.ts), an already-parsed value before its elements are looked at
// (./bounds.ts). Then the shape (./shape.ts), then the rules that span fields.
import { checkBounds, MAX_EXPECT_KEYS, MAX_SYMPTOM_CHARS, MAX_SYMPTOMS, MAX_FILE_BYTES, MAX_REAL_NOTES, MAX_REAL_SIGNATURES, MAX_SIGNATURE_CHARS, STRING_MAX } from './bounds.js';
import { count, ScenarioError } from './error.js';
import { parseBoundedJson } from './json.js';
import { arrayOf, bool, int, literal, object, oneOf, optional, record, str, tagged, type Check, type Ctx } from './shape.js';
import {
  MAX_EVENTS, MAX_FLAGS, MAX_IOAPIC_PINS, MAX_VCPUS, SCENARIO_VERSION,
  type Event, type EventKind, type Expectation, type MachineConfig, type Scenario,
} from './types.js';

export { ScenarioError } from './error.js';

const cpu = int(0, MAX_VCPUS - 1, `a vCPU number from 0 to ${MAX_VCPUS - 1}`);
const vector = int(0, 255, 'a vector from 0 to 255');
const apicId = int(0, 255, 'an APIC ID from 0 to 255');
const pin = int(0, MAX_IOAPIC_PINS - 1, `an IOAPIC pin from 0 to ${MAX_IOAPIC_PINS - 1}`);
const flag = int(0, MAX_FLAGS - 1, `a flag number from 0 to ${MAX_FLAGS - 1}`);

const EVENT_FIELDS: Record<EventKind, Parameters<typeof object>[1]> = {
  ipi: {
    cpu, vector, shorthand: optional(oneOf(['none', 'self', 'all', 'others'])),
    logical: optional(bool), dest: optional(apicId), nmi: optional(bool),
  },
  eoi: { cpu, assist: optional(bool) },
  tpr: { cpu, value: int(0, 255), via: oneOf(['cr8', 'mmio']) },
  cli: { cpu }, sti: { cpu }, step: { cpu }, hlt: { cpu }, iret: { cpu },
  read: { cpu, reg: oneOf(['irr', 'isr', 'tmr', 'ppr', 'tpr', 'esr']) },
  work: { cpu, flag }, wait: { cpu, flag },
  assist: { cpu, on: bool },
  vmentry: { cpu, inject: optional(int(16, 255, 'a vector from 16 to 255')) },
  l2: { cpu, op: oneOf(['step', 'vmcall']) },
  msi: { dest: apicId, vector, logical: optional(bool) },
  ioapic: { pin, op: oneOf(['assert', 'deassert', 'pulse', 'mask', 'unmask']) },
  exit: { cpu, reason: oneOf(['timer', 'io', 'cpuid', 'npf', 'pause']) },
  enter: { cpu }, enter_step: { cpu }, pirq: { cpu }, fault: { cpu },
};

const eventCheck = tagged<Event>('event', 'k', new Map(Object.entries(EVENT_FIELDS).map(
  ([k, fields]) => [k, object<Event>(`event '${k}'`, { k: literal(k), ...fields })],
)));

const machineCheck = object<MachineConfig>('the machine', {
  vcpus: int(1, MAX_VCPUS, `a vCPU count from 1 to ${MAX_VCPUS}`),
  apic: oneOf(['xapic', 'x2apic']),
  ioapic: arrayOf(object('an IOAPIC pin', {
    pin,
    vector: int(16, 255, 'a vector from 16 to 255'),
    dest: apicId,
    trigger: oneOf(['edge', 'level']),
    masked: bool,
  }), MAX_IOAPIC_PINS, 'pins'),
  nested: optional(object('the nested configuration', { exitOnIntr: bool, postedIntr: optional(bool) })),
  hyperv: optional(object('the Hyper-V configuration', { apicAssist: bool })),
});

const signature = str(MAX_SIGNATURE_CHARS, 1);

const realRecord = object('a real-replay record', {
  status: oneOf(['clean', 'divergent', 'error', 'inconclusive']),
  signatures: arrayOf(str(MAX_SIGNATURE_CHARS), MAX_REAL_SIGNATURES, 'signatures'),
  notes: arrayOf(str(STRING_MAX.real.note), MAX_REAL_NOTES, 'notes'),
  host: str(STRING_MAX.real.host),
  at: str(STRING_MAX.real.at),
});

const signatureObject = object<{ signature: string }>('an expectation', { signature });
const expectation: Check<Expectation> = {
  expected: `"clean" or {"signature": "<backend>/<variant>:..."}`,
  check(v, c) {
    if (v === 'clean') return 'clean';
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return signatureObject.check(v, c);
    return literal('clean', ` or {"signature": "<backend>/<variant>:..."}`).check(v, c);
  },
};

const scenarioCheck = object<Scenario>('a scenario', {
  irqdiff: literal(SCENARIO_VERSION, ' (the format version)'),
  name: optional(str(STRING_MAX.name)),
  description: optional(str(STRING_MAX.description)),
  source: optional(str(STRING_MAX.source)),
  machine: machineCheck,
  events: arrayOf(eventCheck, MAX_EVENTS, 'events'),
  found: optional(object('a finding', {
    backend: str(STRING_MAX.found.backend), variant: str(STRING_MAX.found.variant), signature: str(STRING_MAX.found.signature),
    message: str(STRING_MAX.found.message), symptoms: optional(arrayOf(str(MAX_SYMPTOM_CHARS), MAX_SYMPTOMS, 'symptoms')),
    seed: str(STRING_MAX.found.seed),
    originalEvents: int(0, Number.MAX_VALUE, 'a whole number ≥ 0'), foundAt: str(STRING_MAX.found.foundAt),
  })),
  real: optional(object('the real-replay records', { kvm: optional(realRecord), tcg: optional(realRecord) })),
  expect: optional(record('the expectations', { re: /^[a-z0-9_-]+\/[a-z0-9_.-]+$/, expected: '"backend/variant"' }, expectation, MAX_EXPECT_KEYS)),
});

/** Validate an already-parsed JSON value: bounds first, then the shape, then cross-field rules. */
export function validateScenario(value: unknown, file = '<scenario>'): Scenario {
  checkBounds(value, file);
  const c: Ctx = { file, path: [] };
  const s = scenarioCheck.check(value, c);
  checkCrossFields(s, file);
  return s;
}

function checkCrossFields(s: Scenario, file: string): void {
  const m: MachineConfig = s.machine;
  // A vector shared by a level-triggered pin and an edge source makes the EOI broadcast
  // depend on which message was accepted last (TMR is set per acceptance, SDM 10.8.4):
  // timing the architecture leaves open, and that no OS relies on.
  const levelVec = new Map<number, number>();
  m.ioapic.forEach((p, i) => { if (p.trigger === 'level') levelVec.set(p.vector, i); });
  m.ioapic.forEach((p, i) => {
    const li = levelVec.get(p.vector);
    if (li !== undefined && li !== i) throw new ScenarioError(file, `$.machine.ioapic[${i}].vector`, `vector ${p.vector} is also used by level-triggered pin ${m.ioapic[li]!.pin}; expected a vector of its own (a level vector must have no other source)`);
  });
  s.events.forEach((e, i) => {
    if ((e.k === 'ipi' && !e.nmi) || e.k === 'msi') {
      const li = levelVec.get(e.vector);
      if (li !== undefined) throw new ScenarioError(file, `$.events[${i}].vector`, `vector ${e.vector} is used by level-triggered IOAPIC pin ${m.ioapic[li]!.pin}; expected another vector (a level vector must have no other source)`);
    }
  });
  const pins = new Set<number>();
  m.ioapic.forEach((p, i) => {
    if (pins.has(p.pin)) throw new ScenarioError(file, `$.machine.ioapic[${i}].pin`, `pin ${p.pin} is configured twice; expected each pin once`);
    pins.add(p.pin);
  });
  s.events.forEach((e: Event, i) => {
    const at = `$.events[${i}]`;
    if ('cpu' in e && e.cpu >= m.vcpus) throw new ScenarioError(file, `${at}.cpu`, `vCPU ${e.cpu} does not exist (machine has ${m.vcpus}); expected 0 to ${m.vcpus - 1}`);
    if (e.k === 'tpr' && e.via === 'cr8' && (e.value & 0xf) !== 0) throw new ScenarioError(file, `${at}.value`, 'a CR8 write sets TPR[7:4] only: expected a multiple of 16');
    if (e.k === 'ioapic' && !pins.has(e.pin)) throw new ScenarioError(file, `${at}.pin`, `IOAPIC pin ${e.pin} is not configured in $.machine.ioapic; expected one of: ${[...pins].join(', ') || '(none configured)'}`);
    if ((e.k === 'vmentry' || e.k === 'l2') && !m.nested) throw new ScenarioError(file, `${at}.k`, `'${e.k}' needs $.machine.nested; expected a nested machine`);
    if (e.k === 'ipi' && (e.shorthand ?? 'none') === 'none' && e.dest === undefined) throw new ScenarioError(file, `${at}.dest`, 'an IPI without shorthand needs a destination: expected an APIC ID from 0 to 255');
    if (e.k === 'ipi' && e.logical && m.apic === 'x2apic' && e.dest !== undefined && e.dest > 0xff) throw new ScenarioError(file, `${at}.dest`, 'logical destination out of range: expected 0 to 255');
  });
}

/** Parse scenario text (JSON, optionally with a UTF-8 byte-order mark) under the size limits. */
export function parseScenario(text: string, file = '<scenario>'): Scenario {
  if (text.length > MAX_FILE_BYTES) throw new ScenarioError(file, '', `too large: ${count(text.length)} characters > ${count(MAX_FILE_BYTES)}`);
  return validateScenario(parseBoundedJson(text, file), file);
}
