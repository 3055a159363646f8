// Physical interrupts in flight to the pCPU a vCPU runs on (kick and notification IPIs), and
// what happens when they arrive (`pirq`), by where the pCPU is: in VMX non-root the
// notification vector is posted-interrupt processing and any other vector a VM exit
// (external-interrupt exiting, acknowledged on exit, then handled by the host handler); in
// root with IRQs on the host handler runs; with IRQs off everything stays pending.
import { OnFate, Mode, PHYS_CALL_FUNCTION, PHYS_LOCAL_TIMER, PHYS_POSTED_INTR, PHYS_POSTED_NESTED, PHYS_POSTED_WAKEUP, PHYS_RESCHEDULE } from './consts.js';
import { vmx_vm_exit } from './exits.js';
import { vmcs02_pinv } from './nested.js';
import { POSTED_INTR_WAKEUP_VECTOR } from './pi_desc.js';
import { kvm_vcpu_kick } from './sender.js';
import type { Kvm, KvmVcpu } from './state.js';
import { posted_interrupt_processing } from './vapic.js';
import { local_timer_handler } from './timer.js';

/** Highest host vector first: 0xfd, 0xfc, 0xf2, 0xf1, 0xf0, 0xec. */
const ORDER = [PHYS_RESCHEDULE, PHYS_CALL_FUNCTION, PHYS_POSTED_INTR, PHYS_POSTED_WAKEUP, PHYS_POSTED_NESTED, PHYS_LOCAL_TIMER] as const;

/** The host IDT handlers, run in root with IRQs enabled. */
function host_handler(kvm: Kvm, t: KvmVcpu, bit: number): void {
  switch (bit) {
    case PHYS_POSTED_INTR:
      // smp_kvm_posted_intr_ipi does nothing for the vCPU: PIR/ON stay as they are.
      kvm.sink.step(t.id, 'smp_kvm_posted_intr_ipi');
      if (t.pi.on && t.pi.fate === OnFate.IpiPending) {
        t.pi.fate = t.mode === Mode.IN ? OnFate.SwallowedInGuestMode : OnFate.SwallowedOutside;
      }
      return;
    case PHYS_POSTED_WAKEUP:
      // wakeup_handler: kick the vCPUs blocked on this pCPU whose descriptor has ON set.
      kvm.sink.step(t.id, 'wakeup_handler');
      if (t.pi.nv === POSTED_INTR_WAKEUP_VECTOR && t.pi.on) kvm_vcpu_kick(t, t.id);
      return;
    case PHYS_LOCAL_TIMER:
      // hrtimer_interrupt → apic_timer_fn.
      local_timer_handler(kvm, t);
      return;
    case PHYS_POSTED_NESTED:
      // smp_kvm_posted_intr_nested_ipi: only counts it.
      kvm.sink.step(t.id, 'smp_kvm_posted_intr_nested_ipi');
      return;
    default:
      // scheduler_ipi / ack_flush: their only job was to force the VM exit.
      return;
  }
}

/** Scenario `pirq`: every physical interrupt in flight to this pCPU arrives now. */
export function pirq(kvm: Kvm, t: KvmVcpu): void {
  for (let i = 0; i < ORDER.length && t.phys !== 0; i++) {
    const bit = ORDER[i]!;
    if ((t.phys & bit) === 0) continue;
    if (!t.nonRoot && !t.irqsOn) return;
    t.phys &= ~bit;
    if (t.nonRoot) {
      if (t.nested.guestMode) {
        if (bit === vmcs02_pinv(kvm)) {
          // vmcs02's PINV: posted-interrupt processing on L1's descriptor for L2 (which the
          // abstract L1 leaves empty), no VM exit. With the shared vector this is L1's
          // notification: L1's PIR and ON stay as they are.
          kvm.sink.step(t.id, 'posted-interrupt processing (vmcs02)');
          if (bit === PHYS_POSTED_INTR && t.pi.on && t.pi.fate === OnFate.IpiPending) t.pi.fate = OnFate.ConsumedByL2;
          continue;
        }
      } else if (bit === PHYS_POSTED_INTR && t.apicvActive) {
        // (With APICv inhibited on this vCPU, vmx_pin_based_exec_ctrl has cleared posted-interrupt processing:
        // the notification vector is an ordinary external interrupt, a VM exit, as below.)
        kvm.sink.step(t.id, 'posted-interrupt processing');
        posted_interrupt_processing(t.vapic, t.pi);
        kvm.sink.evaluate(t.id);
        continue;
      }
      // Any other vector (vmcs02 without posted interrupts: every one) is an ordinary exit.
      vmx_vm_exit(kvm, t, 'extint');
    }
    host_handler(kvm, t, bit);
  }
}
