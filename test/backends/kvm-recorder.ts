// What a KVM model reports through its ObsSink, recorded for the KVM backend tests.
import { vsList } from '../../src/apic/vecset.js';
import type { ObsSink } from '../../src/backends/api.js';

export interface Rec { k: string; cpu?: number; a?: unknown; b?: unknown }

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
  l1Exit(): void { /* not nested here */ }
  l2Deliver(): void { /* not nested here */ }
  arbitrated(cpu: number): void { this.log.push({ k: 'arbitrated', a: cpu }); }
  of(k: string, cpu?: number): Rec[] { return this.log.filter((r) => r.k === k && (cpu === undefined || r.cpu === cpu)); }
  steps(cpu: number): string[] { return this.of('step', cpu).map((r) => r.a as string); }
  deliveries(cpu: number): number[] { return this.of('deliver', cpu).map((r) => r.a as number); }
  clear(): void { this.log.length = 0; }
}
