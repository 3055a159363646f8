// The ObsSink the KVM model reports through: it forwards every call, and between hold() and release()
// queues all of them but lowest-priority choices (ObsSink.arbitrated), replaying the queue in order at
// release(). Used by guest.ts so that the choices KVM makes inside an exit handler come before the
// instruction's `executed`, as the oracle needs (docs/scenario-language.md, "Lowest priority").
import type { VecSet } from '../../apic/vecset.js';
import type { Reg } from '../../scenario/types.js';
import type { ObsSink } from '../api.js';

export class HeldSink implements ObsSink {
  private queue: (() => void)[] | null = null;
  constructor(private readonly inner: ObsSink) {}

  hold(): void {
    this.queue = [];
  }

  release(): void {
    const q = this.queue;
    this.queue = null;
    if (q) for (const f of q) f();
  }

  executed(index: number): void {
    if (this.queue) this.queue.push(() => this.inner.executed(index));
    else this.inner.executed(index);
  }
  deliver(cpu: number, vector: number, nmi: boolean, via?: string): void {
    if (this.queue) this.queue.push(() => this.inner.deliver(cpu, vector, nmi, via));
    else this.inner.deliver(cpu, vector, nmi, via);
  }
  readValue(cpu: number, reg: Reg, value: VecSet | number): void {
    // A read's value is copied now: the register may change before the replay.
    const v = typeof value === 'number' ? value : value.slice();
    if (this.queue) this.queue.push(() => this.inner.readValue(cpu, reg, v));
    else this.inner.readValue(cpu, reg, value);
  }
  evaluate(cpu: number): void {
    if (this.queue) this.queue.push(() => this.inner.evaluate(cpu));
    else this.inner.evaluate(cpu);
  }
  vmexit(cpu: number, reason: string): void {
    if (this.queue) this.queue.push(() => this.inner.vmexit(cpu, reason));
    else this.inner.vmexit(cpu, reason);
  }
  step(cpu: number, name: string): void {
    if (this.queue) this.queue.push(() => this.inner.step(cpu, name));
    else this.inner.step(cpu, name);
  }
  crash(cpu: number, where: string, message: string): void {
    if (this.queue) this.queue.push(() => this.inner.crash(cpu, where, message));
    else this.inner.crash(cpu, where, message);
  }
  l1Exit(cpu: number, reason: string, idtValid: boolean, idtVector: number, intrInfo?: number): void {
    if (this.queue) this.queue.push(() => this.inner.l1Exit(cpu, reason, idtValid, idtVector, intrInfo));
    else this.inner.l1Exit(cpu, reason, idtValid, idtVector, intrInfo);
  }
  l2Deliver(cpu: number, vector: number): void {
    if (this.queue) this.queue.push(() => this.inner.l2Deliver(cpu, vector));
    else this.inner.l2Deliver(cpu, vector);
  }
  arbitrated(cpu: number): void {
    this.inner.arbitrated?.(cpu);
  }
}
