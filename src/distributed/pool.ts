// A fixed pool of worker threads, one job at a time each: the worker's main thread stays
// free to renew BullMQ's job locks while the threads compute.
import { Worker } from 'node:worker_threads';
import type { JobData, JobResult } from './protocol.js';
import type { ThreadData, ThreadReply, ThreadRequest } from './thread.js';

interface Slot { w: Worker; busy: boolean }
interface Pending { resolve: (r: JobResult) => void; reject: (e: Error) => void; slot: Slot }

export class ThreadPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly waiting: (() => void)[] = [];
  private seq = 0;

  constructor(readonly size: number, private readonly modules: string[]) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const data: ThreadData = { modules: this.modules };
    const slot: Slot = { w: new Worker(new URL('./thread.js', import.meta.url), { workerData: data }), busy: false };
    slot.w.on('message', (m: ThreadReply) => {
      const p = this.pending.get(m.seq);
      if (!p) return;
      this.pending.delete(m.seq);
      this.release(p.slot);
      if (m.result) p.resolve(m.result); else p.reject(new Error(m.error ?? 'thread failed'));
    });
    // A thread that dies fails its job (BullMQ retries it) and is replaced.
    slot.w.on('error', (err) => this.fail(slot, err));
    slot.w.on('exit', (code) => { if (!this.closed) this.fail(slot, new Error(`worker thread exited with code ${code}`)); });
    return slot;
  }

  private fail(slot: Slot, err: Error): void {
    for (const [seq, p] of this.pending) if (p.slot === slot) { this.pending.delete(seq); p.reject(err); }
    const i = this.slots.indexOf(slot);
    if (i >= 0 && !this.closed) { void slot.w.terminate(); this.slots[i] = this.spawn(); this.waiting.shift()?.(); }
  }

  private release(slot: Slot): void {
    slot.busy = false;
    this.waiting.shift()?.();
  }

  private closed = false;

  async run(job: JobData): Promise<JobResult> {
    let slot = this.slots.find((s) => !s.busy);
    while (!slot) {
      await new Promise<void>((r) => this.waiting.push(r));
      slot = this.slots.find((s) => !s.busy);
    }
    slot.busy = true;
    const seq = ++this.seq;
    const s = slot;
    return new Promise<JobResult>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, slot: s });
      s.w.postMessage({ seq, job, now: new Date().toISOString() } satisfies ThreadRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.w.terminate()));
  }
}
