// What a KVM model reports through its ObsSink, recorded for the KVM backend tests, and the step
// driver they share (one instance, events applied in order).
import { vsList } from '../../src/apic/vecset.js';
import type { BackendInstance, ObsSink } from '../../src/backends/api.js';
import { kvm } from '../../src/backends/kvm/index.js';
import type { Event, MachineConfig } from '../../src/scenario/types.js';

export interface Rec { k: string; cpu?: number; a?: unknown; b?: unknown; c?: unknown; d?: unknown }

export class Recorder implements ObsSink {
  readonly log: Rec[] = [];
  executed(index: number): void { this.log.push({ k: 'executed', a: index }); }
  deliver(cpu: number, vector: number, nmi: boolean): void { this.log.push({ k: 'deliver', cpu, a: vector, b: nmi }); }
  readValue(cpu: number, reg: string, value: unknown): void {
    this.log.push({ k: 'read', cpu, a: reg, b: typeof value === 'number' ? value : vsList(value as Uint32Array) });
  }
  evaluate(cpu: number): void { this.log.push({ k: 'evaluate', cpu }); }
  vmexit(cpu: number, reason: string): void { this.log.push({ k: 'vmexit', cpu, a: reason }); }
  step(cpu: number, name: string): void { this.log.push({ k: 'step', cpu, a: name }); }
  crash(cpu: number, where: string, message: string): void { this.log.push({ k: 'crash', cpu, a: where, b: message }); }
  l1Exit(cpu: number, reason: string, idtValid: boolean, idtVector: number, intrInfo?: number): void { this.log.push({ k: 'l1Exit', cpu, a: reason, b: idtValid, c: idtVector, d: intrInfo }); }
  l2Deliver(cpu: number, vector: number): void { this.log.push({ k: 'l2Deliver', cpu, a: vector }); }
  arbitrated(cpu: number): void { this.log.push({ k: 'arbitrated', a: cpu }); }
  of(k: string, cpu?: number): Rec[] { return this.log.filter((r) => r.k === k && (cpu === undefined || r.cpu === cpu)); }
  mark(): number { return this.log.length; }
  since(m: number, k: string, cpu?: number): Rec[] { return this.log.slice(m).filter((r) => r.k === k && (cpu === undefined || r.cpu === cpu)); }
  steps(cpu: number): string[] { return this.of('step', cpu).map((r) => r.a as string); }
  deliveries(cpu: number): number[] { return this.of('deliver', cpu).map((r) => r.a as number); }
  clear(): void { this.log.length = 0; }
}

/** One KVM instance with a Recorder; `run` applies events in order. */
export function makeKvm(variant: string, machine: MachineConfig) {
  const r = new Recorder();
  const b: BackendInstance = kvm.create(variant, machine, r);
  let i = 0;
  const run = (ev: Event) => b.apply(ev, i++);
  return { b, r, run };
}
