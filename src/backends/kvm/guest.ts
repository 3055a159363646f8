// Scenario events as KVM sees them: guest instructions under APICv (virtualized or trapping),
// device interrupts (KVM's irqfd/MSI path or the VT-d IOMMU), the I/O APIC, VM exits.
import { execCoreInstruction } from '../../apic/guestcpu.js';
import { LP_NONE, kvm_irq_delivery_to_apic, kvm_lapic_write_id, kvm_lapic_write_ldr_dfr, kvm_lowest_prio_target, kvm_match_dest_mask, report_lowest_prio, type KvmIrq } from './apic_map.js';
import { vsHas, vsHighest } from '../../apic/vecset.js';
import { ioapicReadReg, type Event } from '../../scenario/types.js';
import { handle_apic_eoi_induced, handle_halt, reflect_to_l1, vmx_vm_exit } from './exits.js';
import { hardware_step } from './hw.js';
import { kvm_ioapic_eoi_not_trapped, kvm_ioapic_event, kvm_ioapic_guest_write, kvm_ioapic_read, kvm_ioapic_reg_write } from './ioapic.js';
import { __apic_accept_irq, apic_update_ppr, kvm_lapic_reg_read, kvm_lapic_write_spiv, lapic_read_exits } from './lapic.js';
import { apic_set_eoi, tpr_write_no_vid } from './inject.js';
import { nested_vmx_run } from './nested.js';
import { vtd_post_interrupt } from './sender.js';
import { hw_evaluate, mark_landed_while_disabled, note_tmr_kept_by_self_ipi, type Kvm, type KvmVcpu } from './state.js';
import { eoi_virtualization, self_ipi_virtualization, tpr_virtualization } from './vapic.js';
import { kvm_lapic_write_lvtt, kvm_lapic_write_tmict, kvm_set_lapic_tscdeadline_msr, kvm_timer_advance } from './timer.js';
import { SVI_STALE } from './apicv.js';

type GuestEvent = Extract<Event, { cpu: number }>;

/**
 * Tags: a vector that landed while the APIC was software-disabled through a path that never
 * asks apic_enabled. Self-IPI virtualization (SDM 29.1.5) sets VIRR without looking at the
 * virtual SVR; the VT-d IOMMU posts a device MSI into PIR by the IRTE alone. KVM inhibits
 * neither when the guest clears SVR bit 8 (apic_set_spiv only rebuilds the APIC map).
 */
export const SELF_IPI_WHILE_DISABLED = 'self-ipi-virtualized-while-apic-sw-disabled';
export const VTD_WHILE_DISABLED = 'vtd-posted-while-apic-sw-disabled';

/**
 * kvm_apic_send_ipi (ICR write emulated in L0 after the exit): the destination is ICR[63:56] in
 * xAPIC mode, the whole high dword in x2APIC mode (32-bit destinations, 0xFFFFFFFF broadcast),
 * routed by kvm_irq_delivery_to_apic.
 */
function kvm_apic_send_ipi(kvm: Kvm, from: number, ev: Extract<Event, { k: 'ipi' }>): void {
  if (!ev.nmi && ev.vector < 16) kvm.vcpus[from]!.illegalVectorSeen = true; // diagnostics: no Send Illegal Vector
  kvm_irq_delivery_to_apic(kvm, from, ipi_irq(kvm, ev), from);
}

function ipi_irq(kvm: Kvm, ev: Extract<Event, { k: 'ipi' }>): KvmIrq {
  const dest = kvm.machine.apic === 'xapic' ? (ev.dest ?? 0) & 0xff : (ev.dest ?? 0) >>> 0;
  return { vector: ev.vector, level: false, nmi: ev.nmi ?? false, shorthand: ev.shorthand ?? 'none', dest, logical: ev.logical ?? false, lowest: ev.lowest ?? false };
}

/** An ICR write: self-IPI virtualization in xAPIC mode (SDM 29.1.5), otherwise a VM exit. */
function guest_ipi(kvm: Kvm, t: KvmVcpu, ev: Extract<Event, { k: 'ipi' }>, index: number): void {
  const nmi = ev.nmi ?? false;
  if (t.apicvActive && kvm.machine.apic === 'xapic' && (ev.shorthand ?? 'none') === 'self' && !nmi && ev.vector >= 16) {
    kvm.sink.executed(index);
    mark_landed_while_disabled(t, ev.vector, SELF_IPI_WHILE_DISABLED);
    note_tmr_kept_by_self_ipi(t, ev.vector);
    self_ipi_virtualization(t.vapic, ev.vector);
    hw_evaluate(kvm, t);
    return;
  }
  // x2APIC: WRMSR to the ICR is intercepted; xAPIC: APIC-write exit (trap-like), or without APICv an APIC-access
  // exit and the emulated write (kvm_lapic_reg_write(APIC_ICR)). A
  // lowest-priority IPI's choice is a function of the map and the vector (vector hashing), which
  // the exit does not change: reported before the instruction, as ObsSink.arbitrated asks.
  if (ev.lowest) { const irq = ipi_irq(kvm, ev); report_lowest_prio(kvm, t.id, irq, kvm_lowest_prio_target(kvm, t.id, irq)); }
  kvm.sink.executed(index);
  vmx_vm_exit(kvm, t, kvm.machine.apic === 'x2apic' ? 'wrmsr' : apic_write_exit(t));
  kvm_apic_send_ipi(kvm, t.id, ev);
}

/** The exit of an xAPIC register write KVM emulates: APIC-write (trap-like, APICv) or APIC-access (fault-like, without). */
function apic_write_exit(t: KvmVcpu): string {
  return t.apicvActive ? 'apic-write' : 'apic-access';
}

/**
 * WRMSR 0x83F (x2APIC SELF_IPI). With APICv KVM clears the MSR-bitmap write intercept of
 * SELF_IPI (v4.x vmx_disable_intercept_msr_write_x2apic(0x83f); v6.x vmx_update_msr_bitmap_x2apic
 * X2APIC_MSR(APIC_SELF_IPI)), and every variant here runs with virtual-interrupt delivery, so
 * the CPU virtualizes the write (SDM 29.5, 29.1.5): VIRR[v] = 1, RVI = max(RVI, v), evaluate
 * pending virtual interrupts — no VM exit. A vector below 16 is not virtualized (as for the
 * xAPIC ICR in 29.4.3.2): an APIC-write VM exit (trap-like), handle_apic_write →
 * kvm_apic_write_nodecode(0x3f0) → kvm_lapic_reg_write(APIC_SELF_IPI) → an ICR write with
 * APIC_DEST_SELF | vector (kvm_apic_send_ipi) → __apic_accept_irq, which has no
 * illegal-vector check and posts it.
 */
function guest_self_ipi(kvm: Kvm, t: KvmVcpu, vector: number, index: number): void {
  kvm.sink.executed(index);
  if (!t.apicvActive) {
    // Without APICv the SELF_IPI MSR write is intercepted (the write bitmap stays all ones): kvm_x2apic_msr_write →
    // kvm_lapic_reg_write(APIC_SELF_IPI) → kvm_apic_send_ipi(APIC_DEST_SELF | vector) → __apic_accept_irq.
    vmx_vm_exit(kvm, t, 'wrmsr');
    __apic_accept_irq(kvm, t, vector, false, false, t.id);
    return;
  }
  if (vector >= 16) {
    mark_landed_while_disabled(t, vector, SELF_IPI_WHILE_DISABLED);
    note_tmr_kept_by_self_ipi(t, vector);
    self_ipi_virtualization(t.vapic, vector);
    hw_evaluate(kvm, t);
    return;
  }
  vmx_vm_exit(kvm, t, 'apic-write');
  kvm.sink.step(t.id, 'kvm_apic_write_nodecode');
  t.illegalVectorSeen = true; // diagnostics: no Send Illegal Vector
  __apic_accept_irq(kvm, t, vector, false, false, t.id);
}

/** A guest (L1) instruction on a vCPU that runs L1 code and is not halted. */
function guest_instruction(kvm: Kvm, t: KvmVcpu, ev: GuestEvent, index: number): void {
  const g = t.guest;
  const sink = kvm.sink;
  // The boundary before this instruction was already handled after the previous event;
  // what ending an STI shadow enables is taken after it (the oracle mirrors the
  // instruction, and so the end of the shadow, when it is reported executed).
  g.beginInstruction();
  switch (ev.k) {
    case 'hlt':
      g.hlt();
      sink.executed(index);
      handle_halt(kvm, t);
      return;
    case 'ipi':
      guest_ipi(kvm, t, ev, index);
      return;
    case 'eoi': {
      // EOI virtualization (virtualized EOI write / WRMSR 0x80B); Hyper-V assist not offered.
      g.eoi();
      if (!t.apicvActive) {
        const held = hold_executed(kvm);
        sink.executed(index);
        vmx_vm_exit(kvm, t, kvm.machine.apic === 'x2apic' ? 'wrmsr' : 'apic-access');
        apic_set_eoi(kvm, t);
        release_executed(kvm, held);
        return;
      }
      const svi = t.vapic.svi;
      if (t.sviStale && vsHighest(t.vapic.visr) < 0) t.sviStale = false;
      if (vsHas(t.vapic.eoiExit, svi)) {
        // EOI-induced exit: kvm_ioapic_update_eoi may re-send a lowest-priority entry, whose choice comes first.
        const held = hold_executed(kvm);
        sink.executed(index);
        handle_apic_eoi_induced(kvm, t, eoi_virtualization(t.vapic));
        release_executed(kvm, held);
        return;
      }
      sink.executed(index);
      // Diagnostics (only after a stale-SVI re-activation, off the common EOI path): the virtualized EOI retires SVI's
      // vector, not the one in service, whose level EOI the vIOAPIC then never gets.
      const inService = t.sviStale ? vsHighest(t.vapic.visr) : -1;
      const v = eoi_virtualization(t.vapic);
      if (inService >= 16 && inService !== svi && vsHas(t.vapic.visr, inService)) kvm_ioapic_eoi_not_trapped(kvm, t, inService, SVI_STALE);
      if (v >= 0) handle_apic_eoi_induced(kvm, t, v);
      else {
        // Diagnostics: an EOI vmcs01's bitmap let through that the vIOAPIC was owed.
        if (svi >= 16) kvm_ioapic_eoi_not_trapped(kvm, t, svi, t.eoiExitStale || (vsHas(t.ioapicHandled, svi) ? 'eoi-exitmap-stale' : 'eoi-before-vcpu-scan-ioapic'));
        hw_evaluate(kvm, t);
      }
      return;
    }
    case 'ioapic_write': {
      // MMIO to the I/O APIC page: an EPT-misconfig exit, then ioapic_mmio_write in L0.
      if (ev.lowest) kvm.ioapicLowest = true;
      const held = hold_executed(kvm);
      sink.executed(index);
      vmx_vm_exit(kvm, t, 'ept-misconfig');
      kvm_ioapic_guest_write(kvm, ev.pin, { vector: ev.vector, dest: ev.dest, level: ev.trigger === 'level', masked: ev.masked, logical: ev.logical ?? false, lowest: ev.lowest ?? false });
      release_executed(kvm, held);
      return;
    }
    case 'ioapic_reg_write':
      // IOWIN write to the I/O APIC page: an EPT-misconfig exit, then ioapic_mmio_write → ioapic_write_indirect in L0.
      sink.executed(index);
      vmx_vm_exit(kvm, t, 'ept-misconfig');
      kvm_ioapic_reg_write(kvm, ev.reg, ev.value);
      return;
    case 'ioapic_read': {
      sink.readValue(t.id, ioapicReadReg(ev.reg), kvm_ioapic_read(kvm, ev.reg, ev.pin ?? -1));
      sink.executed(index);
      vmx_vm_exit(kvm, t, 'ept-misconfig');
      return;
    }
    case 'tpr': {
      // TPR virtualization (MOV to CR8, virtualized TPR write / WRMSR 0x808): no exit with VID.
      const value = ev.via === 'cr8' ? ev.value & 0xf0 : ev.value & 0xff;
      g.tpr = value;
      sink.executed(index);
      // Without VID: the TPR shadow and the TPR threshold (inject.ts).
      if (!t.apicvActive) { tpr_write_no_vid(kvm, t, value); return; }
      tpr_virtualization(t.vapic, value);
      hw_evaluate(kvm, t);
      return;
    }
    case 'read': {
      // APIC-register virtualization: reads come from the virtual-APIC page (PIR is not visible).
      const va = t.vapic;
      // Without APICv only the TPR read is virtualized (TPR shadow); the others exit and __apic_read emulates them,
      // updating PPR first for a PPR read (apic_update_ppr).
      const exits = !t.apicvActive && ev.reg !== 'tpr';
      if (exits && ev.reg === 'ppr') apic_update_ppr(kvm, t);
      switch (ev.reg) {
        case 'irr': sink.readValue(t.id, 'irr', va.virr); break;
        case 'isr': sink.readValue(t.id, 'isr', va.visr); break;
        case 'tmr': sink.readValue(t.id, 'tmr', va.tmr); break;
        case 'ppr': sink.readValue(t.id, 'ppr', va.vppr); break;
        case 'tpr': sink.readValue(t.id, 'tpr', va.vtpr); break;
        case 'esr': sink.readValue(t.id, 'esr', 0); break;
      }
      sink.executed(index);
      if (exits) vmx_vm_exit(kvm, t, kvm.machine.apic === 'x2apic' ? 'rdmsr' : 'apic-access');
      return;
    }
    case 'lapic_read': {
      // ID/LVR/LDR/DFR/SVR come from the virtual-APIC page without an exit; TMCCT exits and is
      // emulated (APIC-access exit, or RDMSR 0x839 in x2APIC mode).
      sink.readValue(t.id, ev.reg, kvm_lapic_reg_read(kvm, t, ev.reg));
      sink.executed(index);
      if (lapic_read_exits(t, ev.reg)) vmx_vm_exit(kvm, t, kvm.machine.apic === 'x2apic' ? 'rdmsr' : 'apic-access');
      return;
    }
    case 'self_ipi':
      guest_self_ipi(kvm, t, ev.vector, index);
      return;
    case 'lapic_write':
      // SVR and ESR writes exit (xAPIC: a trap-like APIC-write exit after the page was written,
      // handle_apic_write → kvm_apic_write_nodecode; x2APIC: WRMSR 0x80F/0x828 is intercepted,
      // kvm_x2apic_msr_write), then kvm_lapic_reg_write. APIC_ESR: nothing but the x2APIC
      // "value must be 0" check — KVM keeps no error state, ESR reads stay 0.
      sink.executed(index);
      // The ID is not among the APIC-write-virtualized offsets (SDM 29.4.3.2): an APIC-access exit, emulated.
      vmx_vm_exit(kvm, t, kvm.machine.apic === 'x2apic' ? 'wrmsr' : ev.reg === 'id' ? 'apic-access' : apic_write_exit(t));
      if (ev.reg === 'svr') kvm_lapic_write_spiv(kvm, t, ev.value);
      // APIC_ID (xAPIC only; an APIC-access exit, then the emulated write): kvm_apic_set_xapic_id and the map
      // rebuild, which in v6.12 sets or clears the APICv inhibits (apic_map.ts, apicv.ts).
      else if (ev.reg === 'id') kvm_lapic_write_id(kvm, t, ev.value);
      // APIC_LDR / APIC_DFR (xAPIC only): kvm_apic_set_ldr / the DFR store, the map rebuild and
      // KVM_REQ_SCAN_IOAPIC to every vCPU (apic_map.ts).
      else if (ev.reg === 'ldr' || ev.reg === 'dfr') kvm_lapic_write_ldr_dfr(kvm, t, ev.reg, ev.value);
      return;
    case 'lvt_timer':
      // LVTT (0x320 / MSR 0x832) and TMICT (0x380 / MSR 0x838) writes are not virtualized: an APIC-write exit
      // (trap-like) → kvm_apic_write_nodecode, or the intercepted WRMSR → kvm_x2apic_msr_write; then
      // kvm_lapic_reg_write (timer.ts).
      sink.executed(index);
      vmx_vm_exit(kvm, t, kvm.machine.apic === 'x2apic' ? 'wrmsr' : 'apic-write');
      kvm_lapic_write_lvtt(kvm, t, ev.vector, ev.mode, ev.masked);
      return;
    case 'timer_initial':
      sink.executed(index);
      vmx_vm_exit(kvm, t, kvm.machine.apic === 'x2apic' ? 'wrmsr' : 'apic-write');
      kvm_lapic_write_tmict(kvm, t, ev.count);
      return;
    case 'tsc_deadline':
      // WRMSR IA32_TSC_DEADLINE is intercepted (not in the MSR bitmap's pass-through list): kvm_set_msr_common →
      // kvm_set_lapic_tscdeadline_msr.
      sink.executed(index);
      vmx_vm_exit(kvm, t, 'wrmsr');
      kvm_set_lapic_tscdeadline_msr(kvm, t, ev.deadline);
      return;
    case 'int':
      // INT n is a software interrupt, not an exception: the exception bitmap (SDM 25.2; KVM's
      // update_exception_bitmap) does not apply and no VM-execution control intercepts it. It
      // runs in the guest through the guest IDT; only IF and the frame stack change.
      g.softInt(ev.vector);
      sink.executed(index);
      return;
    case 'assist':
      sink.executed(index);
      return;
    case 'vmentry':
      if (!kvm.machine.nested) return;
      // VMLAUNCH/VMRESUME always exits to L0, which switches to vmcs02.
      sink.executed(index);
      vmx_vm_exit(kvm, t, 'vmresume');
      nested_vmx_run(kvm, t, ev.inject);
      return;
    default:
      if (execCoreInstruction(g, ev.k)) sink.executed(index);
      return;
  }
}

/** Scenario `exit`: a VM exit of a vCPU running guest code (L1 or L2). */
function guest_exit(kvm: Kvm, t: KvmVcpu, reason: Extract<Event, { k: 'exit' }>['reason'], index: number): void {
  if (!t.nonRoot) return;
  if (t.nested.guestMode) {
    // CPUID always, I/O per L1's bitmaps (assumed intercepted) go to L1; the rest L0 handles.
    if (reason === 'cpuid' || reason === 'io') reflect_to_l1(kvm, t, reason);
    else vmx_vm_exit(kvm, t, reason === 'timer' ? 'extint' : reason === 'npf' ? 'ept' : reason);
    return;
  }
  if (reason === 'timer') {
    vmx_vm_exit(kvm, t, 'extint');
    return;
  }
  if (t.guest.halted) return;
  if (reason === 'npf') {
    // EPT violation on guest memory: L0 fixes the mapping and the instruction restarts.
    vmx_vm_exit(kvm, t, 'ept');
    return;
  }
  // I/O, CPUID, PAUSE: emulated and skipped (skip_emulated_instruction also drops the STI
  // blocking, as the completed instruction does on bare metal).
  t.guest.beginInstruction();
  vmx_vm_exit(kvm, t, reason);
  kvm.sink.executed(index);
}

/** Device MSI: posted by the IOMMU (VT-d variants, single destination) or through kvm_set_msi. */
function device_msi(kvm: Kvm, ev: Extract<Event, { k: 'msi' }>, index: number): void {
  const irq: KvmIrq = { vector: ev.vector, level: false, nmi: false, shorthand: 'none', dest: ev.dest, logical: ev.logical ?? false, lowest: ev.lowest ?? false };
  // vmx_update_pi_irte keeps an IRTE in posted format only for a single-vCPU destination
  // (kvm_intr_is_single_vcpu: the fast path's one APIC — for lowest priority the hashed one —
  // else the only vCPU kvm_apic_match_dest accepts).
  const mask = kvm_match_dest_mask(kvm, -1, 'none', ev.dest, irq.logical);
  const target = irq.lowest ? kvm_lowest_prio_target(kvm, -1, irq) : LP_NONE;
  let single = -1;
  if (kvm.code.vtd) {
    if (target >= 0) single = target;
    else if (mask !== 0 && (mask & (mask - 1)) === 0) single = 31 - Math.clz32(mask);
  }
  if (irq.lowest) {
    if (single >= 0) kvm.sink.arbitrated?.(single);
    else report_lowest_prio(kvm, -1, irq, target);
  }
  kvm.sink.executed(index);
  if (single >= 0) {
    const t = kvm.vcpus[single]!;
    mark_landed_while_disabled(t, ev.vector, VTD_WHILE_DISABLED);
    vtd_post_interrupt(t, ev.vector);
    return;
  }
  // kvm_set_msi → kvm_irq_delivery_to_apic.
  kvm_irq_delivery_to_apic(kvm, -1, irq, -1);
}

/**
 * ObsSink.arbitrated must precede the event's `executed`, but KVM chooses a lowest-priority redirection
 * entry's target only inside the exit handling that follows the instruction (kvm_ioapic_update_eoi,
 * ioapic_write_indirect → ioapic_service → kvm_irq_delivery_to_apic). While some entry is lowest priority,
 * the sink calls of such an event are held from its `executed` on and replayed, in their order, after the
 * handling: only the choices, which pass straight through, move ahead. Nothing in these paths delivers or
 * reads (the exiting vCPU is in root; others are posted to or kicked), so the oracle sees the same calls.
 */
function hold_executed(kvm: Kvm): boolean {
  if (!kvm.ioapicLowest) return false;
  kvm.sink.hold();
  return true;
}

function release_executed(kvm: Kvm, held: boolean): void {
  if (held) kvm.sink.release();
}

export interface EventHooks {
  enter(kvm: Kvm, t: KvmVcpu): void;
  enterStep(kvm: Kvm, t: KvmVcpu): void;
  pirq(kvm: Kvm, t: KvmVcpu): void;
}

export function apply_event(kvm: Kvm, ev: Event, index: number, hooks: EventHooks): void {
  switch (ev.k) {
    case 'msi': device_msi(kvm, ev, index); break;
    case 'ioapic': {
      // Device context: the I/O APIC runs first, so a lowest-priority message's choice is reported before the event.
      const held = hold_executed(kvm);
      kvm.sink.executed(index);
      kvm_ioapic_event(kvm, ev.pin, ev.op);
      release_executed(kvm, held);
      break;
    }
    case 'exit': guest_exit(kvm, kvm.vcpus[ev.cpu]!, ev.reason, index); break;
    case 'enter': hooks.enter(kvm, kvm.vcpus[ev.cpu]!); break;
    case 'enter_step': hooks.enterStep(kvm, kvm.vcpus[ev.cpu]!); break;
    case 'pirq': hooks.pirq(kvm, kvm.vcpus[ev.cpu]!); break;
    case 'fault': kvm.vcpus[ev.cpu]!.faultArmed = true; break;
    case 'time': kvm.sink.executed(index); kvm_timer_advance(kvm, kvm.vcpus[ev.cpu]!, ev.advance); break;
    case 'l2': {
      const t = kvm.vcpus[ev.cpu]!;
      // L2 instructions are not L1's: not reported as executed (L1's core state is untouched).
      if (!t.nonRoot || !t.nested.guestMode) break;
      if (ev.op === 'vmcall') reflect_to_l1(kvm, t, 'vmcall');
      break;
    }
    default: {
      const t = kvm.vcpus[ev.cpu]!;
      if (t.nonRoot && !t.nested.guestMode && !t.guest.halted) guest_instruction(kvm, t, ev, index);
      break;
    }
  }
  for (let i = 0; i < kvm.vcpus.length; i++) hardware_step(kvm, kvm.vcpus[i]!);
}
