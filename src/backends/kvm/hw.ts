// What the processor does on its own while a vCPU runs L1 guest code (the convention "hardware
// acts eagerly"): NMI-window and interrupt-window exits, and the delivery of a recognized
// virtual interrupt (SDM 29.2.2) at the next instruction boundary where RFLAGS.IF = 1 and
// there is no STI blocking. L2's own events are L1's business and not modelled.
import { handle_interrupt_window, handle_nmi_window, vmx_fault_during_delivery } from './exits.js';
import { abstract_l1_nmi } from './nested.js';
import type { Kvm, KvmVcpu } from './state.js';
import { virtual_interrupt_delivery } from './vapic.js';
import { vsDel, vsHas } from '../../apic/vecset.js';

export function hardware_step(kvm: Kvm, t: KvmVcpu): void {
  if (!t.nonRoot || t.nested.guestMode) return;
  abstract_l1_nmi(kvm, t);
  const g = t.guest;
  const va = t.vapic;
  // Priority (SDM 29.2.2, 25.2): NMI window, then interrupt window / virtual interrupt.
  if (va.nmiWindowExiting && !g.nmiBlocked) {
    handle_nmi_window(kvm, t);
    return;
  }
  if (va.irqWindowExiting) {
    if (g.interruptible()) handle_interrupt_window(kvm, t);
    return;
  }
  // Virtual-interrupt delivery only while APICv is active on this vCPU (a run-time inhibit clears the control).
  if (t.apicvActive && va.recognized && g.interruptible()) {
    const v = virtual_interrupt_delivery(va);
    kvm.sink.deliver(t.id, v, false, 'vid');
    // Diagnostics: the instance a missed message owed is taken.
    vsDel(t.missedByMap, v);
    // Diagnostics: the instance that landed while disabled is gone once none is left in PIR/VIRR.
    if (!vsHas(t.pi.pir, v) && !vsHas(va.virr, v)) vsDel(t.landedWhileDisabled, v);
    // A delivery that faults (EPT violation on the IDT or stack) enters the handler only
    // when KVM re-injects it.
    if (t.faultArmed) vmx_fault_during_delivery(kvm, t, v, false, false);
    else g.take(v, false);
  }
}
