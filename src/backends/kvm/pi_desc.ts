// The posted-interrupt descriptor (struct pi_desc, arch/x86/kvm/vmx.c v4.11; SDM 29.6):
// PIR (one bit per vector), ON (outstanding notification), SN (suppress notification), NV
// (notification vector) and NDST (notification destination). Every update by a sender is an
// atomic read-modify-write (pi_test_and_set_*), so in this sequentially consistent model each
// helper is one indivisible step.
import { vecSet, vsTestAndAdd, type VecSet } from '../../apic/vecset.js';
import { OnFate } from './consts.js';

export const POSTED_INTR_VECTOR = 0xf2;
export const POSTED_INTR_WAKEUP_VECTOR = 0xf1;

export class PiDesc {
  readonly pir: VecSet = vecSet();
  on = false;
  /** Set by vmx_vcpu_pi_put only for a preempted vCPU; preemption is not modelled, so it stays 0. */
  sn = false;
  /** POSTED_INTR_VECTOR while the vCPU runs; POSTED_INTR_WAKEUP_VECTOR between pi_pre_block and pi_post_block. */
  nv = POSTED_INTR_VECTOR;
  /** Physical APIC ID of the pCPU the notification goes to (vCPU i runs on pCPU i). */
  ndst = 0;
  /** Trace only: what became of the notification for the current ON episode. */
  fate: OnFate = OnFate.None;
}

/** pi_test_and_set_pir: returns whether the vector was already posted. */
export function pi_test_and_set_pir(vector: number, pi: PiDesc): boolean {
  return vsTestAndAdd(pi.pir, vector);
}

/** pi_test_and_set_on: returns the old ON. */
export function pi_test_and_set_on(pi: PiDesc): boolean {
  const old = pi.on;
  pi.on = true;
  return old;
}

export function pi_test_on(pi: PiDesc): boolean {
  return pi.on;
}

export function pi_clear_on(pi: PiDesc): void {
  pi.on = false;
  pi.fate = OnFate.None;
}

export function pi_test_sn(pi: PiDesc): boolean {
  return pi.sn;
}
