// Validation of scenario documents. A malformed file gets an error that names the file,
// the JSON path and what was expected; sizes are bounded so a hostile file cannot make a
// campaign allocate without limit.
import { z } from 'zod';
import {
  MAX_EVENTS, MAX_FLAGS, MAX_IOAPIC_PINS, MAX_VCPUS, SCENARIO_VERSION,
  type Event, type MachineConfig, type Scenario,
} from './types.js';

const cpu = z.number().int().min(0).max(MAX_VCPUS - 1);
const vector = z.number().int().min(0).max(255);
const flag = z.number().int().min(0).max(MAX_FLAGS - 1);
const reason = z.enum(['timer', 'io', 'cpuid', 'npf', 'pause']);

const eventSchema = z.discriminatedUnion('k', [
  z.object({
    k: z.literal('ipi'), cpu, vector,
    shorthand: z.enum(['none', 'self', 'all', 'others']).optional(),
    logical: z.boolean().optional(),
    dest: z.number().int().min(0).max(255).optional(),
    nmi: z.boolean().optional(),
  }).strict(),
  z.object({ k: z.literal('eoi'), cpu, assist: z.boolean().optional() }).strict(),
  z.object({ k: z.literal('tpr'), cpu, value: z.number().int().min(0).max(255), via: z.enum(['cr8', 'mmio']) }).strict(),
  z.object({ k: z.literal('cli'), cpu }).strict(),
  z.object({ k: z.literal('sti'), cpu }).strict(),
  z.object({ k: z.literal('step'), cpu }).strict(),
  z.object({ k: z.literal('hlt'), cpu }).strict(),
  z.object({ k: z.literal('iret'), cpu }).strict(),
  z.object({ k: z.literal('read'), cpu, reg: z.enum(['irr', 'isr', 'tmr', 'ppr', 'tpr', 'esr']) }).strict(),
  z.object({ k: z.literal('work'), cpu, flag }).strict(),
  z.object({ k: z.literal('wait'), cpu, flag }).strict(),
  z.object({ k: z.literal('assist'), cpu, on: z.boolean() }).strict(),
  z.object({ k: z.literal('vmentry'), cpu, inject: z.number().int().min(16).max(255).optional() }).strict(),
  z.object({ k: z.literal('l2'), cpu, op: z.enum(['step', 'vmcall']) }).strict(),
  z.object({ k: z.literal('msi'), dest: z.number().int().min(0).max(255), vector, logical: z.boolean().optional() }).strict(),
  z.object({ k: z.literal('ioapic'), pin: z.number().int().min(0).max(MAX_IOAPIC_PINS - 1), op: z.enum(['assert', 'deassert', 'pulse', 'mask', 'unmask']) }).strict(),
  z.object({ k: z.literal('exit'), cpu, reason }).strict(),
  z.object({ k: z.literal('enter'), cpu }).strict(),
  z.object({ k: z.literal('enter_step'), cpu }).strict(),
  z.object({ k: z.literal('pirq'), cpu }).strict(),
  z.object({ k: z.literal('fault'), cpu }).strict(),
]);

const machineSchema = z.object({
  vcpus: z.number().int().min(1).max(MAX_VCPUS),
  apic: z.enum(['xapic', 'x2apic']),
  ioapic: z.array(z.object({
    pin: z.number().int().min(0).max(MAX_IOAPIC_PINS - 1),
    vector: z.number().int().min(16).max(255),
    dest: z.number().int().min(0).max(255),
    trigger: z.enum(['edge', 'level']),
    masked: z.boolean(),
  }).strict()).max(MAX_IOAPIC_PINS),
  nested: z.object({ exitOnIntr: z.boolean() }).strict().optional(),
  hyperv: z.object({ apicAssist: z.boolean() }).strict().optional(),
}).strict();

const realRecord = z.object({
  status: z.enum(['clean', 'divergent', 'error', 'inconclusive']),
  signatures: z.array(z.string()).max(64),
  notes: z.array(z.string().max(2000)).max(MAX_EVENTS + 8),
  host: z.string().max(2000),
  at: z.string().max(100),
}).strict();

const expectationSchema = z.union([z.literal('clean'), z.object({ signature: z.string().min(1) }).strict()]);

const scenarioSchema = z.object({
  irqdiff: z.literal(SCENARIO_VERSION),
  name: z.string().max(200).optional(),
  description: z.string().max(20000).optional(),
  source: z.string().max(2000).optional(),
  machine: machineSchema,
  events: z.array(eventSchema).max(MAX_EVENTS),
  found: z.object({
    backend: z.string(), variant: z.string(), signature: z.string(), message: z.string(),
    symptoms: z.array(z.string().max(200)).max(64).optional(),
    seed: z.string(), originalEvents: z.number().int().min(0), foundAt: z.string(),
  }).strict().optional(),
  real: z.object({
    kvm: z.lazy(() => realRecord).optional(),
    tcg: z.lazy(() => realRecord).optional(),
  }).strict().optional(),
  expect: z.record(z.string().regex(/^[a-z0-9_-]+\/[a-z0-9_.-]+$/, 'expected "backend/variant"'), expectationSchema).optional(),
}).strict();

export class ScenarioError extends Error {
  constructor(readonly file: string, readonly path: string, readonly detail: string) {
    super(`${file}: ${path || '(document)'}: ${detail}`);
    this.name = 'ScenarioError';
  }
}

function jsonPath(path: readonly (string | number)[]): string {
  let out = '$';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${p}`;
  return out;
}

/** Validate an already-parsed JSON value. Cross-field checks follow the schema. */
export function validateScenario(value: unknown, file = '<scenario>'): Scenario {
  const r = scenarioSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    let detail = issue.message;
    if (issue.code === 'invalid_union_discriminator') detail = `unknown event kind; expected one of ${issue.options.join(', ')}`;
    throw new ScenarioError(file, jsonPath(issue.path), detail);
  }
  const s = r.data as Scenario;
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
    if (li !== undefined && li !== i) throw new ScenarioError(file, `$.machine.ioapic[${i}].vector`, `vector ${p.vector} is also used by level-triggered pin ${m.ioapic[li]!.pin}; a level vector must have no other source`);
  });
  s.events.forEach((e, i) => {
    if ((e.k === 'ipi' && !e.nmi) || e.k === 'msi') {
      const li = levelVec.get(e.vector);
      if (li !== undefined) throw new ScenarioError(file, `$.events[${i}].vector`, `vector ${e.vector} is used by level-triggered IOAPIC pin ${m.ioapic[li]!.pin}; a level vector must have no other source`);
    }
  });
  const pins = new Set<number>();
  m.ioapic.forEach((p, i) => {
    if (pins.has(p.pin)) throw new ScenarioError(file, `$.machine.ioapic[${i}].pin`, `pin ${p.pin} is configured twice`);
    pins.add(p.pin);
  });
  s.events.forEach((e: Event, i) => {
    const at = `$.events[${i}]`;
    if ('cpu' in e && e.cpu >= m.vcpus) throw new ScenarioError(file, `${at}.cpu`, `vCPU ${e.cpu} does not exist (machine has ${m.vcpus})`);
    if (e.k === 'tpr' && e.via === 'cr8' && (e.value & 0xf) !== 0) throw new ScenarioError(file, `${at}.value`, 'a CR8 write sets TPR[7:4] only: value must be a multiple of 16');
    if (e.k === 'ioapic' && !pins.has(e.pin)) throw new ScenarioError(file, `${at}.pin`, `IOAPIC pin ${e.pin} is not configured in $.machine.ioapic`);
    if ((e.k === 'vmentry' || e.k === 'l2') && !m.nested) throw new ScenarioError(file, `${at}.k`, `'${e.k}' needs $.machine.nested`);
    if (e.k === 'ipi' && (e.shorthand ?? 'none') === 'none' && e.dest === undefined) throw new ScenarioError(file, `${at}.dest`, 'an IPI without shorthand needs a destination');
    if (e.k === 'ipi' && e.logical && m.apic === 'x2apic' && e.dest !== undefined && e.dest > 0xff) throw new ScenarioError(file, `${at}.dest`, 'logical destination out of range');
  });
}

/** Parse scenario text (JSON). */
export function parseScenario(text: string, file = '<scenario>'): Scenario {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(file, '', `not valid JSON: ${(err as Error).message}`);
  }
  return validateScenario(value, file);
}
