// The local APIC timer (SDM 10.5.4) on a logical clock: time advances only by explicit `time`
// events, so runs stay deterministic. One clock unit is one timer tick (divide configuration
// 1) and one TSC increment (*choice*: the two rates are equal). A plain helper: the reference
// and baremetal each own one per vCPU; what it fires is delivered by its owner.
export type TimerMode = 'oneshot' | 'periodic' | 'tsc-deadline';

export class LapicTimer {
  vector = 0;
  /** LVT mask bit. Reset value: masked. */
  masked = true;
  mode: TimerMode = 'oneshot';
  /** TMICT. */
  initial = 0;
  /** IA32_TSC_DEADLINE as last written (0: disarmed). */
  deadline = 0;
  /** Logical time of the next expiry (-1: disarmed). */
  expiry = -1;

  copyFrom(o: LapicTimer): void {
    this.vector = o.vector; this.masked = o.masked; this.mode = o.mode;
    this.initial = o.initial; this.deadline = o.deadline; this.expiry = o.expiry;
  }

  /**
   * LVT timer write. A change between TSC-deadline and the count modes disarms the timer
   * (SDM 10.5.4.1); a write that keeps the mode leaves the count running.
   */
  writeLvt(vector: number, masked: boolean, mode: TimerMode): void {
    const was = this.mode === 'tsc-deadline';
    this.vector = vector;
    this.masked = masked;
    this.mode = mode;
    if (was !== (mode === 'tsc-deadline')) { this.expiry = -1; this.initial = 0; this.deadline = 0; }
  }

  /** TMICT write: starts (or, with 0, stops) the count; ignored in TSC-deadline mode. */
  writeInitial(count: number, now: number): void {
    if (this.mode === 'tsc-deadline') return;
    this.initial = count;
    this.expiry = count === 0 ? -1 : now + count;
  }

  /** IA32_TSC_DEADLINE write: arms (0 disarms); ignored outside TSC-deadline mode. */
  writeDeadline(value: number, now: number): void {
    if (this.mode !== 'tsc-deadline') return;
    this.deadline = value;
    this.expiry = value === 0 ? -1 : Math.max(value, now);
  }

  /** Expiries at or before `now` since the last call (each fires the LVT once, masked or not). */
  expire(now: number): number {
    if (this.expiry < 0 || this.expiry > now) return 0;
    if (this.mode === 'periodic' && this.initial > 0) {
      const n = Math.floor((now - this.expiry) / this.initial) + 1;
      this.expiry += n * this.initial;
      return n;
    }
    this.expiry = -1;
    if (this.mode === 'tsc-deadline') this.deadline = 0;
    return 1;
  }

  /** TMCCT: the ticks left in a count mode (0 when stopped or in TSC-deadline mode). */
  current(now: number): number {
    return this.mode !== 'tsc-deadline' && this.expiry >= 0 ? this.expiry - now : 0;
  }
}
