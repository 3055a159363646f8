// Nested VMX in L0 (Linux arch/x86/kvm/vmx.c, read at d6185f20a0ef and 51cfe38ea50a):
// entering L2 on L1's VMRESUME, deciding whether an L2 exit is L1's, and emulating an exit
// from L2 to L1 (nested_vmx_vmexit / prepare_vmcs12). L1 learns of its L2 only here.
import {
  EXIT_REASON_CPUID, EXIT_REASON_EPT_VIOLATION, EXIT_REASON_EXTERNAL_INTERRUPT, EXIT_REASON_HLT,
  EXIT_REASON_IO_INSTRUCTION, EXIT_REASON_NMI_WINDOW, EXIT_REASON_PAUSE_INSTRUCTION,
  EXIT_REASON_PENDING_INTERRUPT, EXIT_REASON_VMCALL, INTR_INFO_VALID, INTR_INFO_VECTOR_MASK, exitName,
} from './vmcs.js';
import { vsOr } from '../../apic/vecset.js';
import { KVM_REQ_EVENT, type KvmCtx, type Vcpu } from './vcpu.js';

/** nested_exit_on_intr: vmcs12's pin-based controls ask for external-interrupt exits. */
export function nestedExitOnIntr(v: Vcpu): boolean {
  return v.vmcs12.pinBasedExtIntrExiting;
}

/**
 * nested_vmx_run (handle_vmresume): enter guest mode and build vmcs02 from vmcs12.
 * prepare_vmcs02 copies L1's injection into vmcs02 and starts with L0's window-exiting
 * bits clear (vmcs01's stay set, to fire when L1 runs again).
 */
export function nestedVmxRun(k: KvmCtx, v: Vcpu): void {
  k.sink.step(v.id, 'nested_vmx_run');
  v.guestMode = true;
  v.refusedForIdt = false;
  if ((v.requests & KVM_REQ_EVENT) === 0) vsOr(v.pendingAtVmresume, v.lapic.irr);
  const c = v.vmcs02;
  c.reset();
  c.vmEntryIntrInfo = v.vmcs12.vmEntryIntrInfo;
}

/**
 * nested_vmx_exit_handled: does this L2 exit go to L1? L1 is modelled as a KVM-like L1:
 * it intercepts HLT, CPUID, I/O, VMCALL and (not asked for) leaves PAUSE to L0. EPT
 * violations and external interrupts are always L0's in this era.
 */
export function nestedVmxExitHandled(v: Vcpu, reason: number): boolean {
  if (v.nestedRunPending) return false;
  switch (reason) {
    case EXIT_REASON_EXTERNAL_INTERRUPT: return false;
    case EXIT_REASON_EPT_VIOLATION: return false;
    case EXIT_REASON_PAUSE_INSTRUCTION: return false;
    // nested_cpu_has(vmcs12, CPU_BASED_VIRTUAL_INTR_PENDING / _NMI_PENDING): L1's only if L1
    // asked, which this L1 never does. A window L0 opened itself in vmcs02 (enable_irq_window,
    // enable_nmi_window while L2 runs) exits to L0's handle_interrupt_window/handle_nmi_window.
    case EXIT_REASON_PENDING_INTERRUPT: case EXIT_REASON_NMI_WINDOW: return false;
    case EXIT_REASON_CPUID: case EXIT_REASON_HLT: case EXIT_REASON_VMCALL: case EXIT_REASON_IO_INSTRUCTION: return true;
    default: return true;
  }
}

/**
 * nested_vmx_vmexit: leave guest mode and prepare_vmcs12, which copies the exit
 * information of the *last hardware exit* from vmcs02 — including its IDT-vectoring info —
 * and clears the valid bit of L1's vm_entry_intr_info_field. `overrideReason` (>= 0) is
 * what vmx_interrupt_allowed writes afterwards (EXTERNAL_INTERRUPT, intr info 0).
 * L1 observes the exit when it next runs; it is reported here, where it is committed.
 */
export function nestedVmxVmexit(k: KvmCtx, v: Vcpu, overrideReason: number): void {
  k.sink.step(v.id, 'nested_vmx_vmexit');
  v.guestMode = false;
  v.refusedForIdt = false;
  // A reflected exit (not the EXTERNAL_INTERRUPT exit L0 makes for an L1 interrupt).
  if (overrideReason < 0 && (v.requests & KVM_REQ_EVENT) === 0) vsOr(v.pendingAtReflectedExit, v.lapic.irr);
  const c12 = v.vmcs12;
  const c02 = v.vmcs02;
  // prepare_vmcs12
  c12.vmExitReason = c02.exitReason;
  c12.vmExitIntrInfo = c02.exitIntrInfo;
  c12.idtVectoringInfo = c02.idtVectoringInfo;
  c12.vmEntryIntrInfo = (c12.vmEntryIntrInfo & ~INTR_INFO_VALID) >>> 0;
  if (overrideReason >= 0) {
    c12.vmExitReason = overrideReason;
    c12.vmExitIntrInfo = 0;
  }
  const idtValid = (c12.idtVectoringInfo & INTR_INFO_VALID) !== 0;
  const idtVector = c12.idtVectoringInfo & INTR_INFO_VECTOR_MASK;
  k.sink.l1Exit(v.id, exitName(c12.vmExitReason), idtValid, idtValid ? idtVector : -1);
  // L1's handling (kept minimal): an event reported back as being delivered is re-injected
  // at L1's next VMRESUME, as the SDM requires and a KVM L1 does.
  v.l1Reinject = idtValid ? idtVector : -1;
}
