// State of the KVM model: one KvmVcpu per vCPU (vCPU i is pinned on pCPU i) and the VM-wide
// context. Plain fields only; the behaviour lives in the modules named after the real files
// and functions (sender.ts = vmx_deliver_posted_interrupt..., lapic.ts = lapic.c, ...).
import { GuestCpu } from '../../apic/guestcpu.js';
import type { ObsSink } from '../api.js';
import type { MachineConfig } from '../../scenario/types.js';
import { PiDesc } from './pi_desc.js';
import { VApic } from './vapic.js';
import type { KvmCode } from './variants.js';
import type { KvmIoapic } from './ioapic.js';
import { vecSet, vsAdd, vsHas } from '../../apic/vecset.js';
import { Mode, PC_LOOP } from './consts.js';
import { KvmApicMap } from './apic_map.js';
import { KvmTimer } from './timer.js';
import { HeldSink } from './held_sink.js';

export class NestedState {
  /** is_guest_mode(vcpu): L2 is the current guest. */
  guestMode = false;
  /** vmx->nested.nested_run_pending. */
  runPending = false;
  /** L1 received an NMI exit that its handler has not run for yet (abstract L1). */
  l1NmiExit = false;
  /** Diagnostics (explain): an NMI exit reached L1 while L1 was still inside an NMI handler. */
  l1NmiExitInHandler = false;
  /** vmcs12 VM-entry interruption information that L1 asked for (-1: none). */
  l2Inject = -1;
  /** Vectors that sync_pir_to_irr moved into L1's IRR while L2 was the guest (trace only). */
  readonly syncedInL2 = vecSet();
  /** Trace only: vectors whose f27a85c4 forced exit found the vCPU outside IN_GUEST_MODE. */
  readonly unforcedInL2 = vecSet();
  /** Trace only: L1 vectors that found check_nested_events blocked by a pending re-injection. */
  readonly behindReinjection = vecSet();
  /** Trace only: an L1 NMI that vmx_check_nested_events refused because of a re-injection. */
  nmiBehindReinjection = false;
  /**
   * Diagnostics (whereStuck): at L1's VMLAUNCH/VMRESUME, RVI was above the PPR of VISR's highest vector but not above
   * VPPR, which PPR virtualization computed from a stale SVI (apicv.ts): no KVM_REQ_EVENT, L2 runs over L1's interrupt.
   */
  entryVpprFromStaleSvi = false;
  /** Trace only: vmx_check_nested_events runs from kvm_vcpu_running (v4.11 to 5.x), before the requests phase. */
  inRunningCheck = false;
  /**
   * vmcs02's EOI_EXIT_BITMAP0..3. prepare_vmcs02 takes vmcs12's (the abstract L1 sets none);
   * before 4cf4df7ab4d1 a KVM_REQ_SCAN_IOAPIC handled while L2 is the guest writes here.
   */
  readonly vmcs02EoiExit = vecSet();
}

export class KvmVcpu {
  readonly guest = new GuestCpu();
  readonly pi = new PiDesc();
  readonly vapic = new VApic();
  readonly nested = new NestedState();
  /** The local APIC timer (struct kvm_timer and LVTT/TMICT, timer.ts). */
  readonly timer = new KvmTimer();
  /** arch.ioapic_handled_vectors: what kvm_ioapic_send_eoi forwards (the last vcpu_scan_ioapic). */
  readonly ioapicHandled = vecSet();
  /** arch.load_eoi_exitmap_pending (4cf4df7ab4d1): a scan ran while L2 was the guest. */
  loadEoiExitmapPending = false;
  /**
   * Diagnostics (whereStuck): why vmcs01's EOI-exit bitmap differs from ioapic_handled_vectors
   * ('' when it does not, or nothing is known).
   */
  eoiExitStale = '';
  /**
   * apic->apicv_active: kvm_intel.enable_apicv and no APICv inhibit (kvm_vcpu_apicv_active). With it false the
   * software LAPIC injects through VM_ENTRY_INTR_INFO (inject.ts).
   */
  apicvActive = true;
  mode = Mode.OUTSIDE;
  requests = 0;
  /** Host IRQs of the pCPU (the vCPU thread's local_irq_disable/enable). */
  irqsOn = true;
  /** The pCPU runs this vCPU's guest code (VMX non-root). */
  nonRoot = true;
  /** Entry-path position, meaningful when !nonRoot && !blocked. */
  pc = PC_LOOP;
  /** mp_state == KVM_MP_STATE_HALTED (HLT emulated, waiting in vcpu_block). */
  mpHalted = false;
  /** Sleeping in kvm_vcpu_block. */
  blocked = false;
  /** kvm_vcpu_wake_up ran since the vCPU went to sleep. */
  woken = false;
  /** Physical interrupts in flight to this vCPU's pCPU (PHYS_* bits). */
  phys = 0;
  // Event injection state (arch.nmi_*, arch.interrupt) and this pass's VM-entry info.
  nmiQueued = 0;
  nmiPending = 0;
  /**
   * Diagnostics (explain): process_nmi last left two NMIs pending ("allow two, and we'll
   * inject the first one immediately"), until the second is injected.
   */
  nmiTwoPending = false;
  nmiInjected = false;
  /** The prepared NMI injection repeats one whose delivery faulted (already reported). */
  nmiReinject = false;
  /** arch.interrupt: an external interrupt to re-inject after a faulting delivery (-1 none). */
  interruptPending = -1;
  /** The re-injection targets L2 (it came from L2's IDT-vectoring information). */
  interruptForL2 = false;
  reqImmediateExit = false;
  /** The next event delivery faults into L0 (scenario event `fault`). */
  faultArmed = false;
  /** Diagnostics: why the last emulated HLT ended ('interrupt', 'nmi', 'blocked-nmi', 'pi-pre-block-on'). */
  unhaltedBy = '';
  /**
   * The programmable registers of apic->regs (the virtual-APIC page) that lapic_read shows:
   * APIC_SPIV as the guest OS left it (0x1ff: enabled, spurious vector 0xff; kvm_lapic_reset
   * writes 0xff), APIC_LDR (xAPIC: what the guest wrote, flat bit i; x2APIC: derived from the
   * ID by kvm_apic_set_x2apic_id) and APIC_DFR (kvm_lapic_reset: 0xffffffff, flat).
   */
  svr = 0x1ff;
  ldr = 0;
  dfr = 0xffffffff;
  /**
   * Diagnostics (explain): vectors that reached VIRR/PIR while the APIC was software-disabled
   * by a path that never asks apic_enabled — the CPU's self-IPI virtualization, the VT-d IOMMU
   * posting — until they are delivered.
   */
  readonly landedWhileDisabled = vecSet();
  /** Diagnostics: this vCPU sent or accepted a fixed vector 0-15, which no illegal-vector check stopped. */
  illegalVectorSeen = false;
  /** Diagnostics: the IOMMU posted a device vector 0-15 into this vCPU's PIR (VT-d posting has no illegal-vector check). */
  illegalVectorPosted = false;
  /** Which of those paths (tag), per vector. */
  readonly landedWhileDisabledWhy: string[] = new Array<string>(256).fill('');
  /**
   * Diagnostics (explain): vectors the VT-d IOMMU posted while TMR had them set from a level
   * message, until __apic_accept_irq sets or clears TMR again (bare metal's edge acceptance clears it).
   */
  readonly tmrKeptByVtd = vecSet();
  /**
   * Diagnostics (explain): the same for the CPU's self-IPI virtualization (SDM 29.1.5: VIRR and RVI
   * only), which leaves the virtual-APIC page's TMR as a level message set it.
   */
  readonly tmrKeptBySelfIpi = vecSet();
  /**
   * Diagnostics (explain): vectors of an edge lowest-priority message that addressed this vCPU and that
   * vector hashing dropped (LOWEST_ABSENT): bare metal's acceptance cleared TMR, KVM's keeps a level
   * message's bit. Until __apic_accept_irq sets or clears TMR again.
   */
  readonly edgeLostByHashing = vecSet();
  /**
   * Diagnostics (whereStuck): vectors a logical message addressed to this vCPU that the APIC map's
   * fast path did not reach (v4.x map: aliased or multi-bit LDR), until the vCPU accepts the vector.
   */
  readonly missedByMap = vecSet();
  readonly missedByMapWhy: string[] = new Array<string>(256).fill('');
  /** Diagnostics (explain): vectors a lowest-priority physical broadcast delivered here as fixed copies. */
  readonly lowestSentFixed = vecSet();
  /**
   * Diagnostics (whereStuck, no APICv): kvm_check_and_inject_events acknowledged a LAPIC interrupt while an NMI was
   * still only queued (nmi_queued / KVM_REQ_NMI, processed into nmi_pending by process_nmi in the requests phase),
   * until that NMI is delivered.
   */
  nmiQueuedAtIrqAck = false;
  /**
   * Diagnostics (whereStuck): a nested exit with "acknowledge interrupt on exit" acknowledged an L1 interrupt while an
   * NMI was still only queued (KVM_REQ_NMI not yet through process_nmi), until that NMI is delivered: the tag naming
   * where ('' none).
   */
  nmiQueuedAtNestedAck = '';
  /** Diagnostics (no APICv): update_cr8_intercept was skipped (APIC software-disabled) since it last ran. */
  tprThresholdStale = false;
  /** Diagnostics: the same for a timer expiry waiting in lapic_timer.pending for the vcpu_run loop tail (its vector; -1 none). */
  timerPendingAtIrqAck = -1;
  /**
   * Diagnostics: a timer expiry waiting in lapic_timer.pending when nested_vmx_vmexit acknowledged a lower (or the same)
   * L1 vector for L1's "acknowledge interrupt on exit" (its vector; -1 none). Cleared when the loop tail injects it.
   */
  timerPendingAtNestedAck = -1;
  /** Diagnostics: the same for an NMI ('' when none was missed). */
  nmiMissedWhy = '';
  /**
   * vcpu->vcpu_id: what the VMM passed to KVM_CREATE_VCPU. QEMU passes the APIC ID (kvm_arch_vcpu_id:
   * X86_CPU(cs)->apic_id), so it is machine.apicIds[i] (default i). KVM's x2APIC ID is always vcpu_id
   * (kvm_x2apic_id), and kvm_lapic_reset writes the xAPIC ID as vcpu_id (kvm_apic_set_xapic_id).
   */
  readonly vcpuId: number;
  /**
   * Diagnostics (explain): APICv was re-activated while VISR's highest vector was not SVI (__kvm_vcpu_update_apicv
   * does not refresh SVI in 6.12.19), until the guest's ISR empties.
   */
  sviStale = false;
  /** APIC_ID[31:24] in xAPIC mode (kvm_xapic_id): vcpu_id at reset, then what the guest wrote (kvm_apic_set_xapic_id). */
  xapicId: number;
  constructor(readonly id: number, vcpuId = id) {
    this.guest.reset();
    this.vcpuId = vcpuId;
    this.xapicId = vcpuId & 0xff;
  }
}

/** kvm_apicv_inhibit bits the model sets (v6.12 kvm_host.h enum kvm_apicv_inhibit; VMX_REQUIRED_APICV_INHIBITS has both). */
export const INHIBIT_PHYSICAL_ID_ALIASED = 1;
export const INHIBIT_APIC_ID_MODIFIED = 2;

export class Kvm {
  readonly vcpus: KvmVcpu[] = [];
  /** kvm->arch.apic_map. */
  readonly map = new KvmApicMap();
  /**
   * kvm->arch.apicv_inhibit_reasons, the reasons the model sets (INHIBIT_*; enable_apicv=0's
   * APICV_INHIBIT_REASON_DISABLED is code.apicv false instead). Each vCPU follows it at its next
   * KVM_REQ_APICV_UPDATE (apicv.ts).
   */
  apicvInhibits = 0;
  /** Some redirection entry is or was lowest priority: guest instructions defer `executed` past their I/O APIC work. */
  ioapicLowest = false;
  /** The backend's sink, held across the exit handling of some instructions (held_sink.ts). */
  readonly sink: HeldSink;
  constructor(
    readonly machine: MachineConfig,
    readonly code: KvmCode,
    sink: ObsSink,
    readonly ioapic: KvmIoapic,
  ) {
    this.sink = new HeldSink(sink);
    for (let i = 0; i < machine.vcpus; i++) {
      const t = new KvmVcpu(i, machine.apicIds?.[i] ?? i);
      t.apicvActive = code.apicv;
      this.vcpus.push(t);
    }
  }
}

/** apic_enabled (lapic.c): SVR bit 8 (the APIC is always hardware-enabled here). */
export function apic_enabled(t: KvmVcpu): boolean {
  return (t.svr & 0x100) !== 0;
}

/** Diagnostics: a vector landed while software-disabled through a path that does not check. */
/** Diagnostics: self-IPI virtualization of `vector` leaves a TMR bit a level message set (bare metal's edge acceptance clears it). */
export function note_tmr_kept_by_self_ipi(t: KvmVcpu, vector: number): void {
  if (vsHas(t.vapic.tmr, vector)) vsAdd(t.tmrKeptBySelfIpi, vector);
}

export function mark_landed_while_disabled(t: KvmVcpu, vector: number, why: string): void {
  if (apic_enabled(t) || vector < 16) return;
  vsAdd(t.landedWhileDisabled, vector);
  t.landedWhileDisabledWhy[vector] = why;
}

/**
 * sink.evaluate for an evaluation by the processor (VM entry, EOI/TPR/self-IPI
 * virtualization). Such an evaluation sees VIRR/RVI only: a vector still in PIR whose
 * notification or kick is in flight to the pCPU is in flight on the bus, not due yet. With ON
 * set and nothing in flight (the races) the vector is due and its absence is judged.
 */
export function hw_evaluate(kvm: Kvm, t: KvmVcpu): void {
  // Without APICv the processor evaluates nothing (no VID): KVM's software evaluation calls sink.evaluate itself.
  if (!t.apicvActive) return;
  if (t.pi.on && t.phys !== 0) return;
  kvm.sink.evaluate(t.id);
}
