// The ObsSink recorder and step driver the ACRN backend tests share (acrn-lapic, acrn-x2apic): one
// instance of the backend, events applied in order, what it reported kept for the assertions.
import { expect } from 'vitest';
import type { BackendInstance, ObsSink } from '../../src/backends/api.js';
import { acrn } from '../../src/backends/acrn/index.js';
import { vsList, type VecSet } from '../../src/apic/vecset.js';
import type { Event, MachineConfig, Reg } from '../../src/scenario/types.js';

export class RecSink implements ObsSink {
  readonly log: string[] = [];
  readonly deliveries: { cpu: number; vector: number; at: number }[] = [];
  readonly reads: { cpu: number; reg: Reg; value: number | number[] }[] = [];
  readonly exits: string[] = [];
  readonly arbitrations: number[] = [];
  executed(index: number): void { this.log.push(`executed ${index}`); }
  arbitrated(cpu: number): void { this.arbitrations.push(cpu); this.log.push(`arbitrated ${cpu}`); }
  deliver(cpu: number, vector: number): void {
    this.deliveries.push({ cpu, vector, at: this.log.length });
    this.log.push(`${cpu} deliver ${vector}`);
  }
  readValue(cpu: number, reg: Reg, value: VecSet | number): void {
    this.reads.push({ cpu, reg, value: typeof value === 'number' ? value : vsList(value) });
  }
  evaluate(): void {}
  vmexit(cpu: number, reason: string): void { this.exits.push(`${cpu} ${reason}`); this.log.push(`${cpu} vmexit ${reason}`); }
  step(cpu: number, name: string): void { this.log.push(`${cpu} ${name}`); }
  crash(cpu: number, where: string): void { this.log.push(`${cpu} CRASH ${where}`); }
  l1Exit(): void { throw new Error('no nested guests'); }
  l2Deliver(): void { throw new Error('no nested guests'); }
}

export class AcrnRun {
  readonly sink = new RecSink();
  readonly inst: BackendInstance;
  private n = 0;
  constructor(variant: string, m: MachineConfig) {
    this.inst = acrn.create(variant, m, this.sink);
  }
  do(...evs: Event[]): this {
    for (const e of evs) this.inst.apply(e, this.n++);
    return this;
  }
  /** Run every vCPU's entry path and land what is in flight, a few rounds. */
  settle(): this {
    for (let k = 0; k < 4; k++) for (let c = 0; c < this.inst.machine.vcpus; c++) this.do({ k: 'enter', cpu: c }, { k: 'pirq', cpu: c });
    return this;
  }
  /** Apply one register read; exactly one value must be reported. */
  read(e: Event): number | number[] {
    const before = this.sink.reads.length;
    this.do(e);
    expect(this.sink.reads.length).toBe(before + 1);
    return this.sink.reads[before]!.value;
  }
  irr(cpu: number): number[] { return vsList(this.inst.snapshot(cpu).irr); }
  delivered(cpu: number, vector: number): number {
    return this.sink.deliveries.filter((d) => d.cpu === cpu && d.vector === vector).length;
  }
  /** The vCPUs that took `vector`, ascending. */
  receivers(vector: number): number[] {
    return [...new Set(this.sink.deliveries.filter((d) => d.vector === vector).map((d) => d.cpu))].sort();
  }
}
