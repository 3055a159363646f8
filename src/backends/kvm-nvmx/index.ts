// KVM nested VMX (Linux v3.1–3.3 era): L0 injecting an interrupt for L1 while L2 runs, before
// and after Nadav Har'El's fix that keeps an EXTERNAL_INTERRUPT exit to L1 from carrying valid
// IDT-vectoring information (seed 003; notes hv-kvm-acrn.md Part B).
//
// L1 is the guest whose local APIC (emulated by L0, no APICv, no TPR shadow) the reference
// checks. L1 runs guest instructions; every APIC access, HLT and VMRESUME traps to L0. On
// `vmentry` L1's VMRESUME makes L0 enter L2 (nested_vmx_run); L2 runs `l2` instructions.
// Modules: vmcs.ts (fields), lapic.ts (L0's LAPIC for L1), nested.ts (guest mode, exits to
// L1), vcpu_enter_guest.ts (L0's run loop, step by step), vcpu.ts (state).
import { resolveDest } from '../../apic/dest.js';
import { Ioapic } from '../../apic/ioapic.js';
import { execCoreInstruction, type GuestCpu } from '../../apic/guestcpu.js';
import { vsFormat, vsHas, type VecSet } from '../../apic/vecset.js';
import type { Event, MachineConfig } from '../../scenario/types.js';
import type { Backend, BackendInstance, CauseDoc, ObsSink, VariantInfo, VcpuWhere } from '../api.js';
import {
  EXIT_REASON_APIC_ACCESS, EXIT_REASON_CPUID, EXIT_REASON_CR_ACCESS, EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXTERNAL_INTERRUPT, EXIT_REASON_HLT, EXIT_REASON_IO_INSTRUCTION, EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE, EXIT_REASON_PAUSE_INSTRUCTION, EXIT_REASON_VMCALL, EXIT_REASON_VMRESUME, extIntrInfo,
} from './vmcs.js';
import {
  EXITING_GUEST_MODE, IN_GUEST_MODE, KVM_REQ_EVENT, KVM_REQ_NMI, PC_BLOCKED, PC_GUEST, STEP_NAMES, Vcpu,
  type KvmCtx,
} from './vcpu.js';
import { vcpuEnterGuestStep, vmxExit, whereStuck, windowExits } from './vcpu_enter_guest.js';
import { withRates } from '../rates.js';
import { RATES, RATES_SAMPLE } from './rates.js';

/** Upper bound of steps for one `enter` (a pass is six steps; bail-outs loop). */
const MAX_ENTER_STEPS = 96;

const ESR_SEND_ILLEGAL = 0x20;
const ESR_RECV_ILLEGAL = 0x40;


class KvmNvmx implements BackendInstance, KvmCtx {
  readonly vcpus: Vcpu[] = [];
  // KVM's ioapic.c is not what this backend studies (the kvm backend models it); the
  // architectural I/O APIC helper stands in for it.
  private readonly vioapic: Ioapic;
  private readonly x2apic: boolean;

  constructor(readonly machine: MachineConfig, readonly sink: ObsSink, readonly fixed: boolean) {
    this.x2apic = machine.apic === 'x2apic';
    for (let i = 0; i < machine.vcpus; i++) {
      const v = new Vcpu(i);
      v.vmcs12.pinBasedExtIntrExiting = machine.nested?.exitOnIntr ?? false;
      this.vcpus.push(v);
    }
    this.vioapic = new Ioapic(machine.ioapic, (p) => {
      if (p.dest < this.vcpus.length) this.accept(this.vcpus[p.dest]!, p.vector, p.level, -1);
    });
  }

  // ---- BackendInstance queries

  where(cpu: number): VcpuWhere {
    const v = this.vcpus[cpu]!;
    if (v.pc === PC_GUEST) return 'guest';
    if (v.pc === PC_BLOCKED) return 'blocked';
    return 'hv';
  }

  /** Coverage state: mode, entry-path pc, requests, pending/injected NMI, re-injection, nested run pending. */
  coverage(cpu: number): number {
    const v = this.vcpus[cpu]!;
    return v.mode | v.pc << 3 | (v.requests & 0xff) << 8 | (v.nmiPending > 0 ? 1 << 16 : 0) | (v.nmiInjected ? 1 << 17 : 0)
      | (v.interruptPending ? 1 << 18 : 0) | (v.nestedRunPending ? 1 << 19 : 0) | (v.idtVectoringInfo !== 0 ? 1 << 20 : 0) | (v.halted ? 1 << 21 : 0);
  }
  inL2(cpu: number): boolean { return this.vcpus[cpu]!.guestMode; }
  physPending(cpu: number): boolean { return this.vcpus[cpu]!.physPending; }
  guest(cpu: number): GuestCpu { return this.vcpus[cpu]!.guest; }

  snapshot(cpu: number): { irr: VecSet; isr: VecSet; ppr: number; extra?: string } {
    const v = this.vcpus[cpu]!;
    const c12 = v.vmcs12;
    const extra = `${v.guestMode ? 'L2' : 'L1'} ${STEP_NAMES[v.pc]} req=${v.requests} run_pending=${v.nestedRunPending ? 1 : 0}`
      + ` vmcs12.idt=0x${c12.idtVectoringInfo.toString(16)} tmr=${vsFormat(v.lapic.tmr)}`;
    return { irr: v.lapic.irr, isr: v.lapic.isr, ppr: v.lapic.ppr, extra };
  }

  whereStuck(cpu: number, vector: number): string | undefined {
    return whereStuck(this.vcpus[cpu]!, vector);
  }

  /**
   * A drain that never settles: nmi_injected survives every L2 exit (vmx_complete_interrupts
   * returns early in guest mode) and vmx_inject_nmi injects nothing, while the still pending
   * second NMI re-arms the NMI window that L2 opens at once.
   */
  explain(cpu: number, what: string, vector: number): string | undefined {
    const v = this.vcpus[cpu]!;
    if (what === 'livelock' && v.guestMode && v.nmiInjected && v.nmiPending > 0) return 'nmi-injected-kept-while-l2-runs';
    // process_nmi allows two NMIs pending when none is in service; when the first cannot be
    // injected at once both are delivered where bare metal latched one.
    if (what === 'duplicate' && vector === 2 && v.nmiTwoPending) return 'process-nmi-two-pending';
    // A TMR read (a shape, never a cause of its own): apic_set_eoi test-and-cleared the bit.
    if ((what === 'tmr-cleared-after-eoi' || what === 'tmr-clear-for-level') && vector >= 16 && vsHas(v.lapic.tmrClearedByEoi, vector)) return 'tmr-cleared-by-eoi';
    return undefined;
  }

  // ---- KvmCtx

  /** kvm_vcpu_kick: wake the waitqueue; IPI the pCPU only if it is IN_GUEST_MODE (and not us). */
  kick(t: Vcpu, from: number): void {
    if (t.pc === PC_BLOCKED && !t.dead) t.woken = true;
    if (from !== t.id && t.mode === IN_GUEST_MODE) {
      t.mode = EXITING_GUEST_MODE;
      t.physPending = true;
    }
  }

  /** kvm_ioapic_update_eoi: a level EOI clears Remote IRR and re-sends a still-asserted line. */
  ioapicEoi(vector: number): void {
    this.vioapic.eoi(vector);
  }

  // ---- events

  apply(ev: Event, index: number): void {
    switch (ev.k) {
      case 'msi': {
        this.sink.executed(index);
        const mask = resolveDest(this.machine.apic, this.machine.vcpus, 0, 'none', ev.logical ?? false, ev.dest);
        for (let i = 0; i < this.vcpus.length; i++) if (mask & (1 << i)) this.accept(this.vcpus[i]!, ev.vector, false, -1);
        break;
      }
      case 'ioapic': this.sink.executed(index); this.vioapic.apply(ev.pin, ev.op); break;
      case 'exit': this.guestExit(this.vcpus[ev.cpu]!, ev.reason); break;
      case 'enter': this.enter(this.vcpus[ev.cpu]!); break;
      case 'enter_step': {
        const v = this.vcpus[ev.cpu]!;
        if (v.pc !== PC_GUEST) vcpuEnterGuestStep(this, v);
        break;
      }
      case 'pirq': this.pirq(this.vcpus[ev.cpu]!); break;
      case 'fault': this.vcpus[ev.cpu]!.faultArmed = true; break;
      case 'l2': this.l2(this.vcpus[ev.cpu]!, ev.op); break;
      default: this.l1Instruction(ev, index); break;
    }
    // Hardware acts eagerly: window exits of vCPUs that run guest code.
    for (let i = 0; i < this.vcpus.length; i++) windowExits(this, this.vcpus[i]!);
  }

  /** __vcpu_run: loop over vcpu_enter_guest until a guest runs or the vCPU blocks. */
  private enter(v: Vcpu): void {
    for (let n = 0; n < MAX_ENTER_STEPS; n++) {
      if (v.pc === PC_GUEST) return;
      if (v.pc === PC_BLOCKED && !v.woken) return;
      vcpuEnterGuestStep(this, v);
    }
  }

  /**
   * Physical interrupts in flight to this vCPU's pCPU (reschedule IPIs) arrive: a VM exit in
   * non-root, nothing (the host handler) in root with interrupts on, still pending with
   * interrupts off between local_irq_disable and the entry.
   */
  private pirq(v: Vcpu): void {
    if (!v.physPending) return;
    if (v.pc === PC_GUEST) {
      v.physPending = false;
      vmxExit(this, v, EXIT_REASON_EXTERNAL_INTERRUPT, 0);
      return;
    }
    if (v.irqsDisabled) return;
    v.physPending = false;
  }

  /** `exit`: a host timer interrupt, or an instruction that traps, while L1 or L2 runs. */
  private guestExit(v: Vcpu, reason: 'timer' | 'io' | 'cpuid' | 'npf' | 'pause'): void {
    if (v.pc !== PC_GUEST) return;
    let r: number;
    switch (reason) {
      case 'timer': r = EXIT_REASON_EXTERNAL_INTERRUPT; break;
      case 'io': r = EXIT_REASON_IO_INSTRUCTION; break;
      case 'cpuid': r = EXIT_REASON_CPUID; break;
      case 'npf': r = EXIT_REASON_EPT_VIOLATION; break;
      default: r = EXIT_REASON_PAUSE_INSTRUCTION; break;
    }
    vmxExit(this, v, r, 0);
  }

  /** An L2 instruction. Not an L1 instruction, so not reported as executed. */
  private l2(v: Vcpu, op: 'step' | 'vmcall'): void {
    if (v.pc !== PC_GUEST || !v.guestMode) return;
    if (op === 'vmcall') vmxExit(this, v, EXIT_REASON_VMCALL, 0);
  }

  /** An L1 instruction; without APICv every APIC access, HLT and VMRESUME traps to L0. */
  private l1Instruction(ev: Event, index: number): void {
    if (!('cpu' in ev)) return;
    const v = this.vcpus[ev.cpu]!;
    const g = v.guest;
    if (v.pc !== PC_GUEST || v.guestMode || g.halted) return;
    g.beginInstruction();
    switch (ev.k) {
      case 'hlt':
        g.hlt();
        this.sink.executed(index);
        vmxExit(this, v, EXIT_REASON_HLT, 0);
        return;
      case 'ipi': {
        vmxExit(this, v, this.x2apic ? EXIT_REASON_MSR_WRITE : EXIT_REASON_APIC_ACCESS, 0);
        if (!ev.nmi && ev.vector < 16) v.lapic.esr |= ESR_SEND_ILLEGAL;
        const mask = resolveDest(this.machine.apic, this.machine.vcpus, v.id, ev.shorthand ?? 'none', ev.logical ?? false, ev.dest ?? 0);
        for (let i = 0; i < this.vcpus.length; i++) {
          if (!(mask & (1 << i))) continue;
          const t = this.vcpus[i]!;
          if (ev.nmi) this.injectNmi(t, v.id);
          else this.accept(t, ev.vector, false, v.id);
        }
        this.sink.executed(index);
        return;
      }
      case 'eoi': {
        vmxExit(this, v, this.x2apic ? EXIT_REASON_MSR_WRITE : EXIT_REASON_APIC_ACCESS, 0);
        g.eoi();
        const vec = v.lapic.setEoi();
        if (vec >= 0 && v.lapic.eoiLevel) this.ioapicEoi(vec);
        this.sink.executed(index);
        return;
      }
      case 'tpr': {
        const cr8 = ev.via === 'cr8';
        vmxExit(this, v, cr8 ? EXIT_REASON_CR_ACCESS : this.x2apic ? EXIT_REASON_MSR_WRITE : EXIT_REASON_APIC_ACCESS, 0);
        const value = cr8 ? ev.value & 0xf0 : ev.value & 0xff;
        g.tpr = value;
        v.lapic.setTpr(value); // kvm_set_cr8 / apic_reg_write(APIC_TASKPRI) → apic_set_tpr
        this.sink.executed(index);
        return;
      }
      case 'read': {
        vmxExit(this, v, this.x2apic ? EXIT_REASON_MSR_READ : EXIT_REASON_APIC_ACCESS, 0);
        const a = v.lapic;
        switch (ev.reg) {
          case 'irr': this.sink.readValue(v.id, 'irr', a.irr); break;
          case 'isr': this.sink.readValue(v.id, 'isr', a.isr); break;
          case 'tmr': this.sink.readValue(v.id, 'tmr', a.tmr); break;
          case 'ppr': this.sink.readValue(v.id, 'ppr', a.ppr); break;
          case 'tpr': this.sink.readValue(v.id, 'tpr', a.tpr); break;
          case 'esr': this.sink.readValue(v.id, 'esr', a.esr); a.esr = 0; break;
        }
        this.sink.executed(index);
        return;
      }
      case 'vmentry': {
        // L1 programs vm_entry_intr_info_field (its own injection, or the event an exit
        // reported back in IDT-vectoring info), then VMRESUME traps to L0.
        const c12 = v.vmcs12;
        if (ev.inject !== undefined) c12.vmEntryIntrInfo = extIntrInfo(ev.inject);
        else if (v.l1Reinject >= 0) c12.vmEntryIntrInfo = extIntrInfo(v.l1Reinject);
        else c12.vmEntryIntrInfo = 0;
        v.l1Reinject = -1;
        vmxExit(this, v, EXIT_REASON_VMRESUME, 0);
        this.sink.executed(index);
        return;
      }
      case 'lapic_read': {
        // No APIC-register virtualization: an APIC-access exit (xAPIC) or RDMSR exit (x2APIC),
        // then apic_reg_read → __apic_read.
        vmxExit(this, v, this.x2apic ? EXIT_REASON_MSR_READ : EXIT_REASON_APIC_ACCESS, 0);
        this.sink.readValue(v.id, ev.reg, this.lapicRead(v.id, ev.reg));
        this.sink.executed(index);
        return;
      }
      case 'int':
        // INT n is not an exception: vmcs01's exception bitmap does not apply; L1 takes it
        // through its own IDT without an exit.
        g.softInt(ev.vector);
        this.sink.executed(index);
        return;
      case 'assist':
        // No Hyper-V enlightenments in L0: the guest's own bookkeeping only.
        this.sink.executed(index);
        return;
      default:
        if (execCoreInstruction(g, ev.k)) this.sink.executed(index);
        return;
    }
  }

  /**
   * __apic_read of the 2011 lapic.c: APIC_ID is vcpu_id << 24, shown as vcpu_id in x2APIC mode;
   * LDR as the guest wrote it (xAPIC flat bit i) or as kvm_lapic_set_base derived it on x2APIC
   * enable, ((id & ~0xf) << 16) | (1 << (id & 0xf)) — the SDM's value for the IDs below 16 a
   * machine here has; DFR 0xffffffff (kvm_lapic_reset); SVR as the guest OS left it. Version:
   * APIC_VERSION 0x14 | (APIC_LVT_NUM 6 − 1) << 16, and kvm_apic_set_version adds
   * APIC_LVR_DIRECTED_EOI whenever the guest's CPUID has x2APIC (the in-kernel-IOAPIC exception
   * came later: 0bcc3fb95b97 "stop advertising DIRECTED_EOI when in-kernel IOAPIC is in use"):
   * set here for an x2APIC machine, whose CPUID must advertise it; an xAPIC machine is taken to have a CPUID without x2APIC. TMCCT: apic_get_tmcct returns 0
   * while TMICT is 0, which it stays (no timer events here).
   */
  private lapicRead(id: number, reg: 'id' | 'ldr' | 'dfr' | 'svr' | 'version' | 'tmcct'): number {
    switch (reg) {
      case 'id': return this.x2apic ? id : (id << 24) >>> 0;
      case 'ldr': return this.x2apic ? (((id & ~0xf) << 16) | (1 << (id & 0xf))) >>> 0 : id < 8 ? ((1 << id) << 24) >>> 0 : 0;
      case 'dfr': return 0xffffffff;
      case 'svr': return 0x1ff;
      case 'version': return (0x14 | (6 - 1) << 16 | (this.x2apic ? 1 << 24 : 0)) >>> 0;
      case 'tmcct': return 0;
    }
  }

  // ---- interrupt sources

  /** __apic_accept_irq (APIC_DM_FIXED): a newly set IRR bit makes KVM_REQ_EVENT and kicks. */
  private accept(t: Vcpu, vector: number, level: boolean, from: number): void {
    if (vector < 16) {
      t.lapic.esr |= ESR_RECV_ILLEGAL;
      return;
    }
    if (t.lapic.acceptFixed(vector, level)) {
      t.requests |= KVM_REQ_EVENT;
      this.kick(t, from);
    }
  }

  /** kvm_inject_nmi: nmi_queued++, KVM_REQ_NMI, kick. */
  private injectNmi(t: Vcpu, from: number): void {
    t.nmiQueued++;
    t.requests |= KVM_REQ_NMI;
    this.kick(t, from);
  }
}

// ---------------------------------------------------------------- variants

function stranded(tag: string, why: string): CauseDoc {
  return { cause: `stuck:${tag}`, why };
}

const WHY_OPEN_POINT =
  'Real in 51cfe38ea50a (the notes\' open point): when vmx_interrupt_allowed refuses because vmcs12 '
  + 'IDT-vectoring info is valid, vcpu_enter_guest has already consumed KVM_REQ_EVENT and enable_irq_window only '
  + 'makes KVM_REQ_IMMEDIATE_EXIT. After the immediate exit nothing makes KVM_REQ_EVENT again: vmx_handle_exit '
  + 'does so only when nested_run_pending was set (0 here), vmx_complete_interrupts returns early in guest mode, '
  + 'handle_external_interrupt does nothing. L1\'s interrupt waits in the emulated IRR for an unrelated source of '
  + 'KVM_REQ_EVENT (a new IRR bit, an EOI or TPR change). Later kernels make KVM_REQ_EVENT together with the '
  + 'immediate exit in vcpu_enter_guest.';

const WHY_VMRESUME =
  'Real in this era (both variants): L1\'s VMRESUME (nested_vmx_run) makes no KVM_REQ_EVENT, so an L1 interrupt '
  + 'left pending while L1 had it masked (its KVM_REQ_EVENT consumed, an interrupt window armed in vmcs01, which '
  + 'is inactive while vmcs02 runs) does not make L2 exit although L1 asked for external-interrupt exiting. '
  + 'Upstream made L1\'s VMLAUNCH/VMRESUME request KVM_REQ_EVENT in 2018 (b5861e5cf2fc, Liran Alon; message read '
  + 'on a public mirror). An NMI taking the inject_pending_event branch in guest mode strands interrupts the same '
  + 'way (see the NMI entry).';

const WHY_REFLECTED =
  'Real in this era: an L2 exit reflected to L1 (nested_vmx_vmexit from vmx_handle_exit) makes no KVM_REQ_EVENT, '
  + 'so an L1 interrupt stranded while L2 ran (the entries above) stays in the emulated IRR while L1 runs, until '
  + 'an unrelated source of KVM_REQ_EVENT.';

const WHY_NMI =
  'Real in this era: no nested NMI support. In guest mode vmx_nmi_allowed reads L2\'s state and vmx_inject_nmi '
  + 'returns without injecting while nmi_injected stays set; the NMI reaches L1 only if inject_pending_event runs '
  + 'after an exit to L1, and __vmx_complete_interrupts at L1\'s next exit drops it otherwise. While it is queued '
  + 'inject_pending_event does not look at interrupts.';

const WHY_TMR =
  'apic_set_eoi of the 2.6.3x–3.x lapic.c copies read (not at the exact commit) test-and-clears the TMR bit of the '
  + 'EOI\'d vector to choose the I/O APIC EOI trigger mode, so a guest read of TMR after a level EOI shows it '
  + 'clear (SDM: TMR changes only on acceptance).';

const WHY_NMI_ENTRY =
  'Real in this era: nmi_injected set while L2 ran (vmx_nmi_allowed judged L2\'s blocking) is re-injected into L1 '
  + 'by inject_pending_event without vmx_nmi_allowed; if L1 is still in its NMI handler the CPU refuses the VM '
  + 'entry (SDM 26.3.1.5: an NMI may be injected with virtual NMIs only if blocking by NMI is 0) and '
  + 'vmx_handle_exit returns KVM_EXIT_FAIL_ENTRY to userspace.';

const WHY_NMI_LIVELOCK =
  'Real in this era: with two NMIs for L1 while L2 runs, inject_pending_event takes one into nmi_injected and '
  + 'vmx_inject_nmi returns without injecting (is_guest_mode); vmx_complete_interrupts returns early in guest mode, so '
  + 'nmi_injected is never cleared, and the second NMI still in nmi_pending makes vcpu_enter_guest call '
  + 'enable_nmi_window on vmcs02 every pass. L2 is not NMI-blocked, so each entry exits at once on the NMI window and '
  + 'L2 makes no progress until something exits to L1 (an L1 interrupt with external-interrupt exiting). '
  + '[vmx.c vmx_complete_interrupts, vmx_inject_nmi, enable_nmi_window; x86.c vcpu_enter_guest @ d6185f20a0ef / 51cfe38ea50a]';

const WHY_NMI_TWO =
  'Real in this era: process_nmi allows two NMIs pending when none is in service or being injected ("allow two, '
  + 'and we\'ll inject the first one immediately"); when the first cannot be injected at once (an STI shadow sends '
  + 'enable_nmi_window to the interrupt window), a second NMI sent meanwhile is delivered after the first one\'s IRET, '
  + 'where bare metal had latched the two as one. As duplicate:process-nmi-two-pending of the kvm backend. '
  + '[x86.c process_nmi, inject_pending_event @ d6185f20a0ef / 51cfe38ea50a]';

const WHY_HALTED =
  'Consequence of the lost NMI above: an L1 halted with IF = 0 can only be woken by that NMI, so the interrupts '
  + 'pending for it stay pending with it.';

const WHY_NMI_QUEUED =
  'Real in this era: vcpu_enter_guest handles KVM_REQ_NMI (process_nmi) in its requests block, before the '
  + 'KVM_REQ_EVENT block. An NMI queued by another vCPU after this pass\'s requests block is not seen by '
  + 'inject_pending_event, which acks and injects an interrupt; the requests check then cancels the entry and the '
  + 'next pass re-injects that interrupt first (interrupt.pending before nmi_pending). The interrupt\'s handler '
  + 'starts although an NMI was pending before it (SDM 6.9: NMI first). [x86.c vcpu_enter_guest, inject_pending_event '
  + '@ d6185f20a0ef / 51cfe38ea50a]';

const WHY_BEHIND_NMI =
  'Real in this era: inject_pending_event reads `if (vcpu->arch.nmi_pending) { if (nmi_allowed) inject } else if '
  + '(kvm_cpu_has_interrupt(vcpu)) ...`, so while an NMI is pending — blocked because L1 is still in its NMI handler, '
  + 'or waiting for its NMI window — no interrupt is injected even with RFLAGS.IF = 1 (e.g. an NMI handler that '
  + 'executes STI). [x86.c inject_pending_event @ d6185f20a0ef / 51cfe38ea50a]';

const WHY_NMI_WINDOW =
  'Real in this era: enable_nmi_window falls back to enable_irq_window when the guest is in an STI shadow '
  + '(GUEST_INTR_STATE_STI); the interrupt window opens only with RFLAGS.IF = 1, so a guest that executes CLI in '
  + 'the shadow keeps the NMI waiting until it sets IF again (bare metal takes it after the shadow). '
  + '[vmx.c enable_nmi_window @ d6185f20a0ef / 51cfe38ea50a]';

const COMMON_DEVIATIONS: CauseDoc[] = [
  { cause: 'stuck:nmi-queued-after-request-check', why: WHY_NMI_QUEUED },
  { cause: 'stuck:nmi-behind-irq-window', why: WHY_NMI_WINDOW },
  stranded('behind-pending-nmi', WHY_BEHIND_NMI),
  { cause: 'stuck:nmi-no-nested-nmi-support', why: WHY_NMI },
  { cause: 'crash:vmx_handle_exit:KVM_EXIT_FAIL_ENTRY', why: WHY_NMI_ENTRY },
  { cause: 'livelock:nmi-injected-kept-while-l2-runs', why: WHY_NMI_LIVELOCK },
  { cause: 'duplicate:process-nmi-two-pending', why: WHY_NMI_TWO },
  stranded('l1-halted-if0', WHY_HALTED),
  { cause: 'read:tmr-cleared-by-eoi', why: WHY_TMR },
  stranded('pending-at-vmresume', WHY_VMRESUME),
  stranded('stranded-by-reflected-exit', WHY_REFLECTED),
];

const VARIANTS: VariantInfo[] = [
  {
    name: 'pre-fix',
    source: 'Linux torvalds/linux d6185f20a0efbf175e12831d0de330e4f21725aa "KVM: nVMX: Add KVM_REQ_IMMEDIATE_EXIT" '
      + '(Nadav Har\'El, 2011): vmx.c and x86.c as of the commit before the fix',
    summary: 'vmx_interrupt_allowed leaves L2 with an EXTERNAL_INTERRUPT exit whenever L1 has a pending interrupt and '
      + 'no nested_run_pending, even when the last L2 exit saved valid IDT-vectoring info (L1\'s injection into L2 '
      + 'faulted into L0): prepare_vmcs12 hands L1 an external-interrupt exit with valid IDT-vectoring info.',
    status: 'buggy',
    expectedBugs: [{
      cause: 'l1-invariant:extint-with-idt-vectoring',
      why: 'L1 receives an EXTERNAL_INTERRUPT exit whose IDT-vectoring info is valid (a KVM L1 warns "unexpected, '
        + 'valid vectoring info"). The modelled L1 then re-injects the event at its next VMRESUME, which the '
        + 'reference does not expect either (l2-spurious).',
    }],
    knownDeviations: COMMON_DEVIATIONS,
  },
  {
    name: 'fixed',
    source: 'Linux torvalds/linux 51cfe38ea50aa631f58ed8c340ed6f0143c325a8 "KVM: nVMX: Fix warning-causing '
      + 'idt-vectoring-info behavior" (Nadav Har\'El, 2011)',
    summary: 'vmx_interrupt_allowed also refuses while vmcs12->idt_vectoring_info_field is valid: L0 stays in L2, '
      + 'enable_irq_window requests KVM_REQ_IMMEDIATE_EXIT, vmx_vcpu_run re-injects the event into L2 behind a '
      + 'self-IPI, and a later evaluation exits to L1 with no vectoring info.',
    status: 'clean',
    expectedBugs: [],
    knownDeviations: [...COMMON_DEVIATIONS, stranded('in-l2-after-idt-reinjection', WHY_OPEN_POINT)],
  },
];

export const kvmNvmx: Backend = {
  name: 'kvm-nvmx',
  description: 'KVM nested VMX (v3.1–3.3 era): L0 injecting an L1 interrupt while L2 runs, around Nadav Har\'El\'s '
    + 'IDT-vectoring fix; L0 emulates L1\'s LAPIC without APICv',
  variants: withRates(VARIANTS, RATES, RATES_SAMPLE),
  // Scenario features modeled (src/scenario/features.ts): INT n (not intercepted: a guest-core step
  // of L1) and the register reads of the 2011 lapic.c (each an exit: no APICv here). The others are
  // refused as unsupported by this backend.
  features: ['int', 'lapic_read.id', 'lapic_read.ldr', 'lapic_read.dfr', 'lapic_read.svr', 'lapic_read.version', 'lapic_read.tmcct'],
  supports(m: MachineConfig): string | null {
    if (!m.nested) return 'kvm-nvmx models nested VMX only (L1 runs an L2)';
    if (!m.nested.exitOnIntr) return 'kvm-nvmx models an L1 that asks for external-interrupt exiting (L1\'s interrupts to L2\'s IDT are not modelled)';
    if (m.hyperv?.apicAssist) return 'kvm-nvmx offers no Hyper-V enlightenments';
    if (m.nested.postedIntr) return 'kvm-nvmx models L0 without APICv: L1 giving L2 posted interrupts is not modelled';
    // nested_vmx_setup_ctls_msrs (vmx.c read at 51cfe38ea50a; its parent d6185f20a0ef differs only in
    // vmx_interrupt_allowed, seed 003's diff): "Note that guest use of
    // VM_EXIT_ACK_INTR_ON_EXIT is not supported." — nested_vmx_exit_ctls_high offers VM_EXIT_HOST_ADDR_SPACE_SIZE
    // only, and nested_vmx_run's vmx_control_verify(vmcs12->vm_exit_controls, ...) fails such a VMLAUNCH/VMRESUME
    // (nested_vmx_failValid, VMXERR_ENTRY_INVALID_CONTROL_FIELD): this L1 never runs its L2.
    if (m.nested.ackOnExit) return 'the 2011 nested VMX does not offer VM_EXIT_ACK_INTR_ON_EXIT: nested_vmx_run fails L1\'s VMLAUNCH/VMRESUME with VMXERR_ENTRY_INVALID_CONTROL_FIELD';
    return null;
  },
  create(variant: string, machine: MachineConfig, sink: ObsSink): BackendInstance {
    if (variant !== 'pre-fix' && variant !== 'fixed') throw new Error(`kvm-nvmx: unknown variant '${variant}'`);
    return new KvmNvmx(machine, sink, variant === 'fixed');
  },
};

export default kvmNvmx;
