// VMCS fields used by the model (Linux arch/x86/kvm/vmx.c, v3.1–3.3 era; SDM Vol. 3 ch. 24).
// Only the fields through which interrupts and exits flow are kept: the VM-entry
// interruption-information field, the IDT-vectoring information, the exit reason and the
// window-exiting controls. Values use the SDM encoding so traces read like the real fields.

/** Bit 31 of VM-entry interruption info, IDT-vectoring info and VM-exit interruption info. */
export const INTR_INFO_VALID = 0x80000000;
export const INTR_INFO_VECTOR_MASK = 0xff;
export const INTR_INFO_TYPE_MASK = 0x700;
export const INTR_TYPE_EXT_INTR = 0 << 8;
export const INTR_TYPE_NMI_INTR = 2 << 8;

/** Basic exit reasons (SDM Appendix C) that the scenario vocabulary can produce. */
export const EXIT_REASON_EXTERNAL_INTERRUPT = 1;
export const EXIT_REASON_PENDING_INTERRUPT = 7;
export const EXIT_REASON_NMI_WINDOW = 8;
export const EXIT_REASON_CPUID = 10;
export const EXIT_REASON_HLT = 12;
export const EXIT_REASON_VMCALL = 18;
export const EXIT_REASON_VMRESUME = 24;
export const EXIT_REASON_CR_ACCESS = 28;
export const EXIT_REASON_IO_INSTRUCTION = 30;
export const EXIT_REASON_MSR_READ = 31;
export const EXIT_REASON_MSR_WRITE = 32;
export const EXIT_REASON_PAUSE_INSTRUCTION = 40;
export const EXIT_REASON_APIC_ACCESS = 44;
export const EXIT_REASON_EPT_VIOLATION = 48;

/** Short names used in sink.vmexit / sink.l1Exit (constant strings: no allocation). */
export function exitName(reason: number): string {
  switch (reason) {
    case EXIT_REASON_EXTERNAL_INTERRUPT: return 'extint';
    case EXIT_REASON_PENDING_INTERRUPT: return 'irq-window';
    case EXIT_REASON_NMI_WINDOW: return 'nmi-window';
    case EXIT_REASON_CPUID: return 'cpuid';
    case EXIT_REASON_HLT: return 'hlt';
    case EXIT_REASON_VMCALL: return 'vmcall';
    case EXIT_REASON_VMRESUME: return 'vmresume';
    case EXIT_REASON_CR_ACCESS: return 'cr';
    case EXIT_REASON_IO_INSTRUCTION: return 'io';
    case EXIT_REASON_MSR_READ: return 'rdmsr';
    case EXIT_REASON_MSR_WRITE: return 'wrmsr';
    case EXIT_REASON_PAUSE_INSTRUCTION: return 'pause';
    case EXIT_REASON_APIC_ACCESS: return 'apic-access';
    case EXIT_REASON_EPT_VIOLATION: return 'ept';
    default: return 'other';
  }
}

export function extIntrInfo(vector: number): number {
  return (INTR_INFO_VALID | INTR_TYPE_EXT_INTR | (vector & INTR_INFO_VECTOR_MASK)) >>> 0;
}

export function isValid(info: number): boolean {
  return (info & INTR_INFO_VALID) !== 0;
}

/**
 * A hardware VMCS as L0 programs it: vmcs01 (L1 is the guest) or vmcs02 (L2 is the guest,
 * built by prepare_vmcs02 from vmcs12).
 */
export class HwVmcs {
  /** VM_ENTRY_INTR_INFO_FIELD: event injected at the next VM entry. */
  vmEntryIntrInfo = 0;
  /** IDT_VECTORING_INFO_FIELD: written by the CPU at each VM exit. */
  idtVectoringInfo = 0;
  /** VM_EXIT_REASON of the last exit. */
  exitReason = 0;
  /** VM_EXIT_INTR_INFO (no acknowledge-on-exit in this era: always 0 for external interrupts). */
  exitIntrInfo = 0;
  /** CPU_BASED_VIRTUAL_INTR_PENDING (interrupt-window exiting). */
  irqWindowExiting = false;
  /** CPU_BASED_VIRTUAL_NMI_PENDING (NMI-window exiting). */
  nmiWindowExiting = false;

  reset(): void {
    this.vmEntryIntrInfo = 0;
    this.idtVectoringInfo = 0;
    this.exitReason = 0;
    this.exitIntrInfo = 0;
    this.irqWindowExiting = false;
    this.nmiWindowExiting = false;
  }
}

/** vmcs12: the VMCS L1 keeps for L2, emulated by L0 (struct vmcs12). */
export class Vmcs12 {
  /** pin_based_vm_exec_control & PIN_BASED_EXT_INTR_MASK (machine.nested.exitOnIntr). */
  pinBasedExtIntrExiting = true;
  /** vm_entry_intr_info_field: L1's injection into L2. */
  vmEntryIntrInfo = 0;
  /**
   * idt_vectoring_info_field. While L2 runs, L0 also uses it as scratch storage for the
   * vmcs02 IDT-vectoring info of the last L2 exit (vmx_vcpu_run's tail), and re-injects it
   * from there (vmx_vcpu_run's head).
   */
  idtVectoringInfo = 0;
  vmExitReason = 0;
  vmExitIntrInfo = 0;
}
