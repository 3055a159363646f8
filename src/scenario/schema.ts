// Validation of scenario documents. A malformed file gets an error that names the file, the
// JSON path and what was expected there. Sizes are bounded before any work: the text while
// it is parsed (./json.ts), an already-parsed value before its elements are looked at
// (./bounds.ts). Then the shape (./shape.ts), then the rules that span fields.
import { checkBounds, MAX_EXPECT_KEYS, MAX_SYMPTOM_CHARS, MAX_SYMPTOMS, MAX_FILE_BYTES, MAX_REAL_NOTES, MAX_REAL_SIGNATURES, MAX_SIGNATURE_CHARS, STRING_MAX } from './bounds.js';
import { count, ScenarioError } from './error.js';
import { parseBoundedJson } from './json.js';
import { arrayOf, bool, int, literal, object, oneOf, optional, record, str, tagged, type Check, type Ctx } from './shape.js';
import {
  MAX_EVENTS, MAX_FLAGS, MAX_IOAPIC_PINS, MAX_TIME, MAX_VCPUS, SCENARIO_VERSION,
  type Event, type EventKind, type Expectation, type MachineConfig, type Scenario,
} from './types.js';

export { ScenarioError } from './error.js';

const cpu = int(0, MAX_VCPUS - 1, `a vCPU number from 0 to ${MAX_VCPUS - 1}`);
const vector = int(0, 255, 'a vector from 0 to 255');
const apicId = int(0, 255, 'an APIC ID from 0 to 255');
const pin = int(0, MAX_IOAPIC_PINS - 1, `an IOAPIC pin from 0 to ${MAX_IOAPIC_PINS - 1}`);
const flag = int(0, MAX_FLAGS - 1, `a flag number from 0 to ${MAX_FLAGS - 1}`);
const u32 = int(0, 0xffffffff, 'a 32-bit register value from 0 to 4294967295');
/** An ICR destination: 8 bits in xAPIC mode, 32 in x2APIC mode (checked against the machine below). */
const icrDest = int(0, 0xffffffff, 'a destination from 0 to 255 (xAPIC) or 0 to 4294967295 (x2APIC)');
const trigger = oneOf(['edge', 'level']);

const EVENT_FIELDS: Record<EventKind, Parameters<typeof object>[1]> = {
  ipi: {
    cpu, vector, shorthand: optional(oneOf(['none', 'self', 'all', 'others'])),
    logical: optional(bool), dest: optional(icrDest), nmi: optional(bool), lowest: optional(bool),
  },
  eoi: { cpu, assist: optional(bool) },
  tpr: { cpu, value: int(0, 255), via: oneOf(['cr8', 'mmio']) },
  cli: { cpu }, sti: { cpu }, step: { cpu }, hlt: { cpu }, iret: { cpu },
  read: { cpu, reg: oneOf(['irr', 'isr', 'tmr', 'ppr', 'tpr', 'esr']) },
  work: { cpu, flag }, wait: { cpu, flag },
  assist: { cpu, on: bool },
  lapic_write: { cpu, reg: oneOf(['id', 'ldr', 'dfr', 'svr', 'esr']), value: u32 },
  lapic_read: { cpu, reg: oneOf(['id', 'ldr', 'dfr', 'svr', 'version', 'tmcct']) },
  self_ipi: { cpu, vector },
  ioapic_write: {
    cpu, pin, vector: int(16, 255, 'a vector from 16 to 255'), dest: apicId, trigger, masked: bool,
    logical: optional(bool), lowest: optional(bool),
  },
  ioapic_read: { cpu, reg: oneOf(['id', 'version', 'arb', 'redir-lo', 'redir-hi']), pin: optional(pin) },
  ioapic_reg_write: { cpu, reg: oneOf(['id', 'version', 'arb']), value: u32 },
  lvt_timer: { cpu, vector, mode: oneOf(['oneshot', 'periodic', 'tsc-deadline']), masked: bool },
  timer_initial: { cpu, count: int(0, MAX_TIME, `a count from 0 to ${MAX_TIME}`) },
  tsc_deadline: { cpu, deadline: int(0, MAX_TIME, `a deadline from 0 to ${MAX_TIME} (logical clock units)`) },
  int: { cpu, vector },
  lvt_lint: { cpu, pin: int(0, 1, 'LINT pin 0 or 1'), vector, trigger, masked: bool, nmi: optional(bool) },
  lint: { cpu, pin: int(0, 1, 'LINT pin 0 or 1'), op: oneOf(['assert', 'deassert', 'pulse']) },
  time: { cpu, advance: int(1, MAX_TIME, `an advance from 1 to ${MAX_TIME} (logical clock units)`) },
  vmentry: { cpu, inject: optional(int(16, 255, 'a vector from 16 to 255')) },
  l2: { cpu, op: oneOf(['step', 'vmcall']) },
  msi: { dest: apicId, vector, logical: optional(bool), lowest: optional(bool) },
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
    trigger,
    masked: bool,
    logical: optional(bool),
    lowest: optional(bool),
  }), MAX_IOAPIC_PINS, 'pins'),
  nested: optional(object('the nested configuration', { exitOnIntr: bool, postedIntr: optional(bool), ackOnExit: optional(bool) })),
  hyperv: optional(object('the Hyper-V configuration', { apicAssist: bool })),
  apicIds: optional(arrayOf(u32, MAX_VCPUS, 'APIC IDs')),
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
  checkApicIds(m, file);
  checkLevelVectors(s, file);
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
    if (e.k === 'ipi' && m.apic === 'xapic' && e.dest !== undefined && e.dest > 0xff) throw new ScenarioError(file, `${at}.dest`, `xAPIC destinations are 8 bits: expected 0 to 255, got ${e.dest} (32-bit destinations need $.machine.apic "x2apic")`);
    if (e.k === 'ipi' && e.lowest && e.nmi) throw new ScenarioError(file, `${at}.lowest`, 'an IPI is either an NMI or lowest priority (one delivery mode): expected only one of nmi, lowest');
    if (e.k === 'ipi' && e.lowest && (e.shorthand ?? 'none') !== 'none') throw new ScenarioError(file, `${at}.shorthand`, 'lowest-priority delivery with a shorthand is invalid or model-specific (SDM 10.6.1, Table 10-3): expected a destination field');
    if ((e.k === 'ioapic_write' || e.k === 'ioapic_read') && e.pin !== undefined && !pins.has(e.pin)) throw new ScenarioError(file, `${at}.pin`, `IOAPIC pin ${e.pin} is not configured in $.machine.ioapic; expected one of: ${[...pins].join(', ') || '(none configured)'}`);
    if (e.k === 'ioapic_read') {
      const entry = e.reg === 'redir-lo' || e.reg === 'redir-hi';
      if (entry && e.pin === undefined) throw new ScenarioError(file, `${at}.pin`, `reading '${e.reg}' needs the pin whose redirection entry it reads: expected a configured pin`);
      if (!entry && e.pin !== undefined) throw new ScenarioError(file, `${at}.pin`, `the I/O APIC '${e.reg}' register belongs to no pin: expected no pin`);
    }
    if (e.k === 'self_ipi' && m.apic !== 'x2apic') throw new ScenarioError(file, `${at}.k`, 'the SELF_IPI register exists only in x2APIC mode (SDM 10.12.11): expected $.machine.apic "x2apic"');
    if (e.k === 'lapic_read' && e.reg === 'dfr' && m.apic === 'x2apic') throw new ScenarioError(file, `${at}.reg`, 'x2APIC mode has no DFR (SDM 10.12.1.2; RDMSR 0x80E #GPs): expected another register');
    if (e.k === 'lapic_write') checkLapicWrite(e, m, file, at);
  });
}

/** SDM 10.4.6, 10.6.2.2, 10.9, 10.5.3, 10.12: which register values a guest can write. */
function checkLapicWrite(e: Extract<Event, { k: 'lapic_write' }>, m: MachineConfig, file: string, at: string): void {
  const bad = (detail: string, field = 'value'): never => { throw new ScenarioError(file, `${at}.${field}`, detail); };
  if (m.apic === 'x2apic' && e.reg !== 'svr' && e.reg !== 'esr') bad(`the x2APIC ${e.reg.toUpperCase()} is read-only or absent (SDM 10.12.1.2: WRMSR #GPs): expected 'svr' or 'esr' in x2APIC mode`, 'reg');
  switch (e.reg) {
    case 'id': case 'ldr':
      if ((e.value & 0x00ffffff) !== 0) bad(`bits 23:0 of the xAPIC ${e.reg.toUpperCase()} are reserved: expected the ID in bits 31:24 (a multiple of 0x1000000)`);
      if (e.reg === 'id' && e.value >>> 24 === 0xff) bad('APIC ID 0xFF is the xAPIC broadcast destination: expected 0 to 254 in bits 31:24');
      return;
    case 'dfr':
      if (e.value !== 0xffffffff && e.value !== 0x0fffffff) bad('expected 0xFFFFFFFF (flat model) or 0x0FFFFFFF (cluster model): bits 27:0 are reserved ones (SDM 10.6.2.2)');
      return;
    case 'svr':
      if (e.value > 0x1ff) bad('expected bits 8:0 only (spurious vector, APIC software enable); focus-processor checking and EOI-broadcast suppression are not modeled');
      return;
    case 'esr':
      if (m.apic === 'x2apic' && e.value !== 0) bad('only 0 may be written to the x2APIC ESR (SDM 10.5.3: a non-zero write #GPs)');
      return;
  }
}

/** Unique IDs, one per vCPU, none the broadcast ID. */
function checkApicIds(m: MachineConfig, file: string): void {
  if (!m.apicIds) return;
  if (m.apicIds.length !== m.vcpus) throw new ScenarioError(file, '$.machine.apicIds', `expected one APIC ID per vCPU (${m.vcpus}), got ${m.apicIds.length}`);
  const seen = new Set<number>();
  m.apicIds.forEach((id, i) => {
    const max = m.apic === 'xapic' ? 0xfe : 0xfffffffe;
    if (id > max) throw new ScenarioError(file, `$.machine.apicIds[${i}]`, `expected an ${m.apic === 'xapic' ? 'xAPIC' : 'x2APIC'} ID from 0 to ${max} (the all-ones ID is the broadcast destination), got ${id}`);
    if (seen.has(id)) throw new ScenarioError(file, `$.machine.apicIds[${i}]`, `APIC ID ${id} is given twice; expected each vCPU its own ID`);
    seen.add(id);
  });
}

/**
 * REF-IOA-4: a vector used by a level-triggered I/O APIC entry (configured or written at run
 * time) belongs to that one pin among level sources: no other pin's level entry and no level
 * LINT entry may use it (the pin helpers and the EOI's Remote IRR are per pin). Edge sources —
 * IPIs, MSIs, SELF_IPI, the timer, edge LINT entries and edge entries of any pin, the same pin
 * rewritten included — may share it: TMR then follows the order in which the messages are
 * accepted (REF-ACC-4), and where latency leaves that order open the reference keeps both
 * outcomes of the EOI broadcast (REF-EOI-4), so the oracle can judge every interleaving.
 * A level LINT vector still has no other source at all (REF-LINT-1).
 */
function checkLevelVectors(s: Scenario, file: string): void {
  const m = s.machine;
  /** Level owner per vector: an I/O APIC pin, or a LINT entry as "pin" 1000 + 2 * cpu + pin. */
  const owner = new Map<number, { pin: number; at: string }>();
  const claim = (vector: number, pin: number, at: string): void => {
    const o = owner.get(vector);
    if (o && o.pin !== pin) {
      const what = o.pin >= 1000 ? `a level LINT entry (${o.at})` : `level-triggered pin ${o.pin} (${o.at})`;
      throw new ScenarioError(file, at, `vector ${vector} is also used by ${what}; expected a vector of its own (a level vector has one level source; edge sources may share a pin's)`);
    }
    if (!o) owner.set(vector, { pin, at });
  };
  m.ioapic.forEach((p, i) => { if (p.trigger === 'level') claim(p.vector, p.pin, `$.machine.ioapic[${i}].vector`); });
  s.events.forEach((e, i) => { if (e.k === 'lvt_lint' && e.trigger === 'level' && !e.nmi) claim(e.vector, 1000 + 2 * e.cpu + e.pin, `$.events[${i}].vector`); });
  s.events.forEach((e, i) => { if (e.k === 'ioapic_write' && e.trigger === 'level') claim(e.vector, e.pin, `$.events[${i}].vector`); });
  // Edge sources may share an I/O APIC pin's level vector, not a level LINT entry's.
  const other = (vector: number, at: string, what: string): void => {
    const o = owner.get(vector);
    if (o && o.pin >= 1000) throw new ScenarioError(file, at, `vector ${vector} is used by a level LINT entry (${o.at}); expected another vector for ${what} (a level LINT vector has no other source)`);
  };
  m.ioapic.forEach((p, i) => { if (p.trigger === 'edge') other(p.vector, `$.machine.ioapic[${i}].vector`, 'an edge pin'); });
  s.events.forEach((e, i) => {
    const at = `$.events[${i}].vector`;
    if ((e.k === 'ipi' && !e.nmi) || e.k === 'msi' || e.k === 'self_ipi') other(e.vector, at, `an ${e.k === 'msi' ? 'MSI' : 'IPI'}`);
    if (e.k === 'ioapic_write' && e.trigger === 'edge') other(e.vector, at, 'an edge entry');
    if (e.k === 'lvt_lint' && (e.trigger === 'edge' || e.nmi)) other(e.vector, at, 'an edge LINT entry');
    if (e.k === 'lvt_timer') other(e.vector, at, 'the timer');
    if (e.k === 'int') { /* a software interrupt is no APIC source */ }
  });
}

/** Parse scenario text (JSON, optionally with a UTF-8 byte-order mark) under the size limits. */
export function parseScenario(text: string, file = '<scenario>'): Scenario {
  if (text.length > MAX_FILE_BYTES) throw new ScenarioError(file, '', `too large: ${count(text.length)} characters > ${count(MAX_FILE_BYTES)}`);
  return validateScenario(parseBoundedJson(text, file), file);
}
