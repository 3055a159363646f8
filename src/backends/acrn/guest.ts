// Scenario events as ACRN sees them: guest instructions under each APICv mode (trapped and
// emulated by the software vLAPIC, or virtualized by the processor), device interrupts (MSI
// and the vIOAPIC, from device context on another pCPU), VM exits, and the hypervisor and
// hardware events that drive the vCPU thread and the physical interrupts.
import { execCoreInstruction } from '../../apic/guestcpu.js';
import { vsHas } from '../../apic/vecset.js';
import { ioapicReadReg, type Event, type LapicReadReg } from '../../scenario/types.js';
import { Pc, REQ_TMR_UPDATE } from './consts.js';
import { vcpu_make_request } from './schedule.js';
import { ACRN_VIOAPIC_VERSION } from './vioapic.js';
import { enter, thread_step, vm_exit } from './hv_main.js';
import type { Acrn, AcrnVcpu } from './state.js';
import {
  dm_complete, hlt_vmexit_handler, io_request, pause_vmexit_handler, tpr_below_threshold_vmexit_handler,
  icr_flush, vlapic_receive_dest, vlapic_receive_targets, vlapic_write_icrlo,
} from './vmexit.js';
import { APIC_ESR_SEND_ILLEGAL_VECTOR, vlapic_process_eoi, vlapic_set_error, vlapic_write_esr } from './vlapic.js';
import {
  time_advance, vlapic_get_ccr, vlapic_set_tsc_deadline_msr, vlapic_write_icrtmr, vlapic_write_lvt_timer, vlapic_write_svr_timer,
} from './timer.js';
import { APIC_LVT_M, APIC_LVTT_TM_ONE_SHOT, APIC_LVTT_TM_PERIODIC, APIC_LVTT_TM_TSCDLT } from './state.js';
import { eoi_virtualization, hardware_step, pirq, self_ipi_virtualization, tpr_virtualization } from './vmx.js';

type GuestEvent = Extract<Event, { cpu: number }>;

/**
 * An APIC register access that traps: an APIC-access exit (xAPIC MMIO with "virtualize APIC
 * accesses"; the instruction is emulated) in basic mode, an APIC-write exit (trap-like, after
 * the write) with APIC-register virtualization (advanced mode). The 2018 vmx.c asks for
 * VMX_PROCBASED_CTLS2_VAPIC_REGS in both modes, but a processor without virtual-interrupt
 * delivery (basic mode) has no APIC-register virtualization either.
 */
function apic_trap(acrn: Acrn, t: AcrnVcpu, write = true): void {
  if (acrn.x2apic) {
    // x2APIC (ea849177a .. v3.3): the register is an MSR. init_msr_emulation intercepts 0x800-0x8FF
    // and update_msr_bitmap_x2apic_apicv (at the switch to x2APIC) leaves TPR alone in both modes
    // and, with APICv advanced, reads (but TMCCT), EOI and SELF_IPI writes: what still traps is a
    // fault-like MSR exit whose handler emulates the access, vlapic_x2apic_write → vlapic_write
    // (vlapic_x2apic_read → vlapic_read). [guest/vmsr.c init_msr_emulation, update_msr_bitmap_x2apic_apicv,
    // wrmsr_vmexit_handler; guest/vlapic.c vlapic_x2apic_write @ ea849177a, 0397cb717^, 9a6e94084]
    vm_exit(acrn, t, write ? 'wrmsr' : 'rdmsr', -1, false);
    acrn.sink.step(t.id, write ? 'wrmsr_vmexit_handler' : 'rdmsr_vmexit_handler');
    acrn.sink.step(t.id, write ? 'vlapic_x2apic_write' : 'vlapic_x2apic_read');
    return;
  }
  const regVirt = acrn.code.mode === 'advanced';
  vm_exit(acrn, t, regVirt ? 'apic-write' : 'apic-access', -1, false);
  acrn.sink.step(t.id, regVirt ? 'apic_write_vmexit_handler' : 'apic_access_vmexit_handler');
}

/**
 * The processor stored the written value in the virtual-APIC page before the exit: an xAPIC
 * APIC-write exit (trap-like) with APIC-register virtualization. An intercepted x2APIC WRMSR exits
 * before the write, and vlapic_write stores it.
 */
function page_first(acrn: Acrn): boolean {
  return acrn.code.mode === 'advanced' && !acrn.x2apic;
}

/** Register reads: virtualized from the page with APIC-register virtualization; trapped and emulated (vlapic_read) in basic mode. TPR is always virtualized (TPR shadow). */
function guest_read(acrn: Acrn, t: AcrnVcpu, reg: Extract<Event, { k: 'read' }>['reg'], index: number): void {
  const sink = acrn.sink;
  const p = t.page;
  const regVirt = acrn.code.mode === 'advanced';
  if (reg === 'esr' && !t.esrWritten) {
    // The architectural idiom, write ESR then read it: the write traps (vlapic_write_esr).
    // Once the guest programmes ESR itself (lapic_write esr), `read esr` is a plain read.
    apic_trap(acrn, t);
    vlapic_write_esr(t);
    sink.readValue(t.id, 'esr', p.esr);
    sink.executed(index);
    return;
  }
  if (reg !== 'tpr' && !regVirt) {
    apic_trap(acrn, t, false);
    sink.step(t.id, 'vlapic_read');
  }
  switch (reg) {
    case 'irr': sink.readValue(t.id, 'irr', p.irr); break;
    case 'isr': sink.readValue(t.id, 'isr', p.isr); break;
    case 'tmr': sink.readValue(t.id, 'tmr', p.tmr); break;
    case 'ppr': sink.readValue(t.id, 'ppr', p.ppr); break;
    case 'tpr': sink.readValue(t.id, 'tpr', p.tpr); break;
    case 'esr': sink.readValue(t.id, 'esr', p.esr); break;
  }
  sink.executed(index);
}

/**
 * lapic_read: vlapic_read (guest/vlapic.c, every tree: `*data = lapic->id.v` / version / ldr /
 * dfr / svr) behind an APIC-access exit in basic mode; with APIC-register virtualization
 * (advanced mode) the processor reads the same words from the virtual-APIC page, which is
 * vlapic->apic_page (SDM 29.4.2: offsets 020H, 030H, 0D0H-0F0H are virtualized reads).
 */
function lapic_read(acrn: Acrn, t: AcrnVcpu, reg: LapicReadReg, index: number): void {
  const p = t.page;
  if (acrn.code.mode !== 'advanced') {
    apic_trap(acrn, t, false);
    acrn.sink.step(t.id, 'vlapic_read');
  } else if (reg === 'tmcct' && acrn.x2apic) {
    // x2APIC: update_msr_bitmap_x2apic_apicv keeps the read intercept of MSR_IA32_EXT_APIC_CUR_COUNT.
    apic_trap(acrn, t, false);
    acrn.sink.step(t.id, 'vlapic_read');
  } else if (reg === 'tmcct') {
    // TMCCT (390H) is not among the virtualized reads: an APIC-access exit in advanced mode too.
    vm_exit(acrn, t, 'apic-access', -1, false);
    acrn.sink.step(t.id, 'apic_access_vmexit_handler');
    acrn.sink.step(t.id, 'vlapic_read');
  }
  let value: number;
  switch (reg) {
    case 'id': value = p.id; break;
    case 'version': value = p.version; break;
    case 'ldr': value = p.ldr; break;
    case 'dfr': value = p.dfr; break;
    case 'svr': value = p.svr; break;
    // vlapic_read(APIC_OFFSET_TIMER_CCR) → vlapic_get_ccr.
    default: value = vlapic_get_ccr(t); break;
  }
  acrn.sink.readValue(t.id, reg, value);
  acrn.sink.executed(index);
}

/**
 * lapic_write of SVR or ESR (the features declared). Basic mode: an APIC-access exit, the
 * access is emulated by vlapic_write (`lapic->svr.v = data32; vlapic_svr_write_handler` in
 * 2018/2019, vlapic_write_svr later; ESR: vlapic_esr_write_handler / vlapic_write_esr). Advanced
 * mode: the processor writes the virtual-APIC page first, then the trap-like APIC-write exit runs
 * apic_write_vmexit_handler, which calls the same handlers. The SVR handler's work (stop the
 * timer, vlapic_mask_lvts, the vPIC wire mode) touches nothing this model keeps: what matters is
 * the page's bit 8, which vlapic_accept_intr and vlapic_receive_intr test.
 */
function lapic_write(acrn: Acrn, t: AcrnVcpu, ev: Extract<Event, { k: 'lapic_write' }>, index: number): void {
  const first = page_first(acrn);
  if (ev.reg === 'svr') {
    if (first) t.page.svr = ev.value >>> 0;
    apic_trap(acrn, t);
    if (!first) t.page.svr = ev.value >>> 0;
    acrn.sink.step(t.id, acrn.code.tree === '2018' || acrn.code.tree === '2019' ? 'vlapic_svr_write_handler' : 'vlapic_write_svr');
    vlapic_write_svr_timer(acrn, t);
  } else if (ev.reg === 'id' || ev.reg === 'ldr' || ev.reg === 'dfr') {
    lapic_write_addr(acrn, t, ev.reg, ev.value >>> 0);
  } else {
    apic_trap(acrn, t);
    acrn.sink.step(t.id, acrn.code.tree === '2018' || acrn.code.tree === '2019' ? 'vlapic_esr_write_handler' : 'vlapic_write_esr');
    vlapic_write_esr(t);
    t.esrWritten = true;
  }
  acrn.sink.executed(index);
}

/**
 * lvt_timer and timer_initial: writes of 320H and 380H. Basic mode: the APIC-access exit, then
 * vlapic_write stores the register and calls vlapic_write_lvt / vlapic_write_icrtmr
 * (vlapic_lvt_write_handler / vlapic_icrtmr_write_handler ≤ 2019). Advanced mode: APIC-register
 * virtualization writes the virtual-APIC page (= vlapic->apic_page) and the trap-like APIC-write
 * exit runs the same handlers from apic_write_vmexit_handler (SDM 29.4.3.2: both offsets are
 * virtualized writes that cause APIC-write exits). [guest/vlapic.c @ 7f2b9a1c7, ea849177a, 0397cb717^, 9a6e94084]
 */
function timer_write(acrn: Acrn, t: AcrnVcpu, ev: Extract<Event, { k: 'lvt_timer' | 'timer_initial' }>, index: number): void {
  apic_trap(acrn, t);
  const old = acrn.code.tree === '2018' || acrn.code.tree === '2019';
  if (ev.k === 'lvt_timer') {
    const mode = ev.mode === 'periodic' ? APIC_LVTT_TM_PERIODIC : ev.mode === 'tsc-deadline' ? APIC_LVTT_TM_TSCDLT : APIC_LVTT_TM_ONE_SHOT;
    acrn.sink.step(t.id, old ? 'vlapic_lvt_write_handler' : 'vlapic_write_lvt');
    vlapic_write_lvt_timer(acrn, t, (ev.vector & 0xff) | mode | (ev.masked ? APIC_LVT_M : 0));
  } else {
    acrn.sink.step(t.id, old ? 'vlapic_icrtmr_write_handler' : 'vlapic_write_icrtmr');
    vlapic_write_icrtmr(acrn, t, ev.count);
  }
  acrn.sink.executed(index);
}

/**
 * tsc_deadline: WRMSR of IA32_TSC_DEADLINE, intercepted in every tree for a VM with a vLAPIC (the
 * MSR bitmap lets a guest write the physical MSR only with LAPIC pass-through,
 * update_msr_bitmap_x2apic_passthru / set_tsc_msr_interception, not modelled): the MSR-write exit,
 * wrmsr_vmexit_handler → vlapic_set_tsc_deadline_msr (vlapic_wrmsr in 2018). [guest/vmsr.c @
 * 7f2b9a1c7, ea849177a, 0397cb717^, 9a6e94084]
 */
function tsc_deadline_write(acrn: Acrn, t: AcrnVcpu, deadline: number, index: number): void {
  vm_exit(acrn, t, 'wrmsr', -1, false);
  acrn.sink.step(t.id, 'wrmsr_vmexit_handler');
  acrn.sink.step(t.id, 'vlapic_set_tsc_deadline_msr');
  vlapic_set_tsc_deadline_msr(acrn, t, deadline);
  acrn.sink.executed(index);
}

/** APIC_LDR_RESERVED and APIC_DFR_RESERVED / APIC_DFR_MODEL_MASK (include/arch/x86/asm/apicreg.h, every tree). */
const APIC_LDR_RESERVED = 0x00ffffff;
const APIC_DFR_RESERVED = 0x0fffffff;
const APIC_DFR_MODEL_MASK = 0xf0000000;

/**
 * lapic_write of ID, LDR or DFR. Basic mode: the APIC-access exit, then vlapic_write, whose `case
 * APIC_OFFSET_ID` does nothing ("Force APIC ID as read only"); LDR and DFR stored and passed to
 * vlapic_ldr_write_handler / vlapic_dfr_write_handler (renamed vlapic_write_ldr / vlapic_write_dfr
 * in 2020), which clear LDR[23:0] and force DFR[27:0] to ones. Advanced mode: APIC-register
 * virtualization writes all three to the virtual-APIC page — vlapic->apic_page — before the
 * trap-like APIC-write exit (SDM 29.4.3: 020H, 0D0H, 0E0H are virtualized writes), and
 * apic_write_vmexit_handler runs the same two handlers and, for the ID, nothing ("Force APIC ID as
 * read only"): the page keeps the ID the guest wrote. [guest/vlapic.c vlapic_write,
 * apic_write_vmexit_handler @ 7f2b9a1c7, ea849177a, 0397cb717^, 9a6e94084]
 */
function lapic_write_addr(acrn: Acrn, t: AcrnVcpu, reg: 'id' | 'ldr' | 'dfr', value: number): void {
  const p = t.page;
  const adv = acrn.code.mode === 'advanced';
  const old = acrn.code.tree === '2018' || acrn.code.tree === '2019';
  icr_flush(acrn);
  if (adv) {
    if (reg === 'id') p.id = value; else if (reg === 'ldr') p.ldr = value; else p.dfr = value;
  }
  apic_trap(acrn, t);
  switch (reg) {
    case 'id':
      t.archId = value >>> 24; // diagnostics: the ID bare metal now holds
      acrn.sink.step(t.id, `${adv ? 'apic_write_vmexit_handler' : 'vlapic_write'}: APIC ID read only`);
      return;
    case 'ldr':
      if (!adv) p.ldr = value;
      acrn.sink.step(t.id, old ? 'vlapic_ldr_write_handler' : 'vlapic_write_ldr');
      p.ldr = (p.ldr & ~APIC_LDR_RESERVED) >>> 0;
      return;
    case 'dfr':
      if (!adv) p.dfr = value;
      acrn.sink.step(t.id, old ? 'vlapic_dfr_write_handler' : 'vlapic_write_dfr');
      p.dfr = ((p.dfr & APIC_DFR_MODEL_MASK) | APIC_DFR_RESERVED) >>> 0;
      return;
  }
}

/**
 * self_ipi: WRMSR of the x2APIC SELF_IPI register (0x83F; x2APIC guests only).
 * Basic mode: intercepted, wrmsr_vmexit_handler → vlapic_x2apic_write → vlapic_write(APIC_OFFSET_SELF_IPI)
 * → vlapic_x2apic_self_ipi_handler: a vector below 16 sets SEND_ILLEGAL in ESR, any other is
 * vlapic_set_intr(own vCPU, vector, edge) — the path of a FIXED IPI to itself (vlapic_write_icrlo).
 * Advanced mode: update_msr_bitmap_x2apic_apicv clears the write intercept of SELF_IPI, so with
 * virtual-interrupt delivery the processor virtualizes it (SDM 29.5, 29.1.5): VIRR[v] = 1, RVI =
 * max(RVI, v), evaluation — no exit, no vlapic_accept_intr. A vector below 16 is not virtualized: an
 * APIC-write exit (trap-like), apic_write_vmexit_handler's `case APIC_OFFSET_SELF_IPI` →
 * vlapic_x2apic_self_ipi_handler → SEND_ILLEGAL. [guest/vlapic.c vlapic_x2apic_self_ipi_handler,
 * vlapic_write, apic_write_vmexit_handler; guest/vmsr.c update_msr_bitmap_x2apic_apicv @ ea849177a,
 * 0397cb717^, 9a6e94084]
 */
function self_ipi_write(acrn: Acrn, t: AcrnVcpu, vector: number, index: number): void {
  if (acrn.code.mode === 'advanced') {
    if (vector >= 16) {
      acrn.sink.executed(index);
      self_ipi_virtualization(acrn, t, vector);
      return;
    }
    vm_exit(acrn, t, 'apic-write', -1, false);
    acrn.sink.step(t.id, 'apic_write_vmexit_handler');
    acrn.sink.step(t.id, 'vlapic_x2apic_self_ipi_handler');
    vlapic_set_error(t, APIC_ESR_SEND_ILLEGAL_VECTOR);
    t.rivWhy = 'illegal-vector-ipi-not-sent'; // diagnostics: the sender's error only, nothing received
    acrn.sink.executed(index);
    return;
  }
  apic_trap(acrn, t);
  vlapic_write_icrlo(acrn, t, index, { vector, shorthand: 'self' }, 'vlapic_x2apic_self_ipi_handler');
}

/**
 * The vIOAPIC page is not mapped in the EPT: an IOREGSEL/IOWIN access is an EPT violation whose
 * handler emulates it (ept_violation_vmexit_handler → emulate_io → vioapic_mmio_access_handler →
 * vioapic_mmio_rw, under the vIOAPIC lock) on the accessing vCPU's pCPU.
 */
function vioapic_mmio_exit(acrn: Acrn, t: AcrnVcpu): void {
  vm_exit(acrn, t, 'ept-violation', -1, false);
  acrn.sink.step(t.id, 'ept_violation_vmexit_handler');
  acrn.sink.step(t.id, 'vioapic_mmio_rw');
}

/**
 * ioapic_write: the high then the low dword of the entry, each a vioapic_indirect_write. The
 * 2018 tree makes ACRN_REQUEST_TMR_UPDATE on every vCPU (foreach_vcpu → vcpu_make_request, with
 * the kick) when the low dword changed the trigger mode or the vector (NEED_TMR_UPDATE), before
 * its own "asserted at rtbl write" message; the later trees do nothing of the kind (the TMR and
 * EOI-exit bit follow each acceptance, vlapic_set_tmr).
 */
function vioapic_mmio_write(acrn: Acrn, t: AcrnVcpu, ev: Extract<Event, { k: 'ioapic_write' }>, index: number): void {
  vioapic_mmio_exit(acrn, t);
  const tmrUpdate = acrn.code.tree === '2018'
    ? () => { for (const o of acrn.vcpus) vcpu_make_request(acrn, o, REQ_TMR_UPDATE, t.id); }
    : undefined;
  acrn.vioapic.writeEntry(ev.pin, ev, t.id, tmrUpdate);
  acrn.sink.executed(index);
}

/** ioapic_reg_write: vioapic_indirect_write's register switch (4 ID bits kept; version and arbitration read-only). */
function vioapic_mmio_reg_write(acrn: Acrn, t: AcrnVcpu, ev: Extract<Event, { k: 'ioapic_reg_write' }>, index: number): void {
  vioapic_mmio_exit(acrn, t);
  if (ev.reg === 'id') acrn.vioapic.id = (ev.value & 0x0f000000) >>> 0;
  acrn.sink.executed(index);
}

/** ioapic_read: vioapic_indirect_read (the ID, 0 after vioapic_reset, for ID and ARB; version 0x11 with 48 entries; the entry as stored). */
function vioapic_mmio_read(acrn: Acrn, t: AcrnVcpu, ev: Extract<Event, { k: 'ioapic_read' }>, index: number): void {
  vioapic_mmio_exit(acrn, t);
  switch (ev.reg) {
    case 'id': case 'arb': acrn.sink.readValue(t.id, ioapicReadReg(ev.reg), acrn.vioapic.id); break;
    case 'version': acrn.sink.readValue(t.id, 'ioapic-version', ACRN_VIOAPIC_VERSION); break;
    default: acrn.sink.readValue(t.id, ev.reg, acrn.vioapic.readEntry(ev.pin ?? -1, ev.reg === 'redir-hi')); break;
  }
  acrn.sink.executed(index);
}

function guest_instruction(acrn: Acrn, t: AcrnVcpu, ev: GuestEvent, index: number): void {
  const g = t.guest;
  const sink = acrn.sink;
  g.beginInstruction();
  switch (ev.k) {
    case 'hlt':
      g.hlt();
      sink.executed(index);
      if (acrn.code.hlt === 'wait-event') {
        vm_exit(acrn, t, 'hlt', -1, false);
        hlt_vmexit_handler(acrn, t);
      }
      return;
    case 'ipi':
      apic_trap(acrn, t);
      vlapic_write_icrlo(acrn, t, index, ev);
      return;
    case 'eoi': {
      g.eoi();
      // The EOI is reported after the vIOAPIC saw it: a level pin it re-sends with lowest-priority
      // delivery reports its arbitration first (ObsSink.arbitrated), as the reference asks.
      if (acrn.code.mode === 'basic') {
        apic_trap(acrn, t);
        sink.step(t.id, 'vlapic_process_eoi');
        const isr = new Uint32Array(t.page.isr);
        const level = vlapic_process_eoi(acrn, t);
        if (level >= 0) {
          sink.step(t.id, 'vioapic_process_eoi');
          process_eoi(acrn, t, level);
        } else noteEoiLost(acrn, t, retired(isr, t.page.isr));
        sink.executed(index);
        return;
      }
      const sv = t.svi;
      const v = eoi_virtualization(acrn, t);
      if (v >= 0) {
        vm_exit(acrn, t, 'virtualized-eoi', -1, false);
        sink.step(t.id, 'veoi_vmexit_handler');
        if (t.page.tmr[v >>> 5]! & (1 << (v & 31))) {
          sink.step(t.id, 'vioapic_process_eoi');
          process_eoi(acrn, t, v);
        } else noteEoiLost(acrn, t, v);
      } else noteEoiLost(acrn, t, sv);
      sink.executed(index);
      return;
    }
    case 'tpr': {
      const value = ev.via === 'cr8' ? ev.value & 0xf0 : ev.value & 0xff;
      g.tpr = value;
      sink.executed(index);
      if (tpr_virtualization(acrn, t, value)) {
        vm_exit(acrn, t, 'tpr-below-threshold', -1, false);
        tpr_below_threshold_vmexit_handler(acrn, t);
      }
      return;
    }
    case 'read':
      guest_read(acrn, t, ev.reg, index);
      return;
    case 'ioapic_write':
      vioapic_mmio_write(acrn, t, ev, index);
      return;
    case 'ioapic_read':
      vioapic_mmio_read(acrn, t, ev, index);
      return;
    case 'ioapic_reg_write':
      vioapic_mmio_reg_write(acrn, t, ev, index);
      return;
    case 'lapic_read':
      lapic_read(acrn, t, ev.reg, index);
      return;
    case 'lapic_write':
      lapic_write(acrn, t, ev, index);
      return;
    case 'self_ipi':
      self_ipi_write(acrn, t, ev.vector, index);
      return;
    case 'lvt_timer': case 'timer_initial':
      timer_write(acrn, t, ev, index);
      return;
    case 'tsc_deadline':
      tsc_deadline_write(acrn, t, ev.deadline, index);
      return;
    case 'int':
      // INT n is not intercepted: VMX_EXCEPTION_BITMAP is 1 << IDT_MC (vmcs.c / vmx.c init_exec_ctrl
      // @ 7f2b9a1c7, ea849177a, 0397cb717^; v3.3 adds #AC and #GP for split-lock / UC-lock
      // emulation), and the bitmap governs exceptions, not software interrupts (SDM 25.2): the
      // guest enters its handler through its own IDT, a guest-core step only.
      g.softInt(ev.vector);
      sink.executed(index);
      return;
    case 'assist': case 'vmentry':
      // No Hyper-V enlightenments, no nested guests (supports() refuses such machines).
      if (ev.k === 'assist') sink.executed(index);
      return;
    default:
      if (execCoreInstruction(g, ev.k)) sink.executed(index);
      return;
  }
}

/** Scenario `exit`: a VM exit of a vCPU running guest code. */
function guest_exit(acrn: Acrn, t: AcrnVcpu, reason: Extract<Event, { k: 'exit' }>['reason'], index: number): void {
  const g = t.guest;
  if (reason === 'timer') {
    // A host interrupt (the hypervisor's timer): external-interrupt exit, dispatch_interrupt.
    vm_exit(acrn, t, 'external-interrupt', -1, false);
    acrn.sink.step(t.id, 'external_interrupt_vmexit_handler');
    return;
  }
  if (g.halted) return;
  switch (reason) {
    case 'npf':
      // An EPT violation on guest memory handled in the hypervisor; the instruction restarts.
      vm_exit(acrn, t, 'ept-violation', -1, false);
      acrn.sink.step(t.id, 'ept_violation_vmexit_handler');
      return;
    case 'cpuid':
      g.beginInstruction();
      vm_exit(acrn, t, 'cpuid', -1, false);
      acrn.sink.step(t.id, 'cpuid_vmexit_handler');
      acrn.sink.executed(index);
      return;
    case 'io':
      g.beginInstruction();
      vm_exit(acrn, t, 'io-instruction', -1, false);
      acrn.sink.step(t.id, 'pio_instr_vmexit_handler');
      acrn.sink.executed(index);
      io_request(acrn, t);
      return;
    case 'pause':
      g.beginInstruction();
      if (!acrn.code.pauseExit) { acrn.sink.executed(index); return; } // not intercepted
      vm_exit(acrn, t, 'pause', -1, false);
      acrn.sink.executed(index);
      pause_vmexit_handler(acrn, t);
      return;
  }
}

/** Device MSI: vlapic_inject_msi → vlapic_receive_intr (legacy destination, fixed, edge). */
function device_msi(acrn: Acrn, ev: Extract<Event, { k: 'msi' }>, index: number): void {
  // vlapic_calc_dest_noshort runs (and arbitrates) before the message lands: reported between.
  const dmask = vlapic_receive_dest(acrn, ev.dest & 0xff, !(ev.logical ?? false), ev.lowest ?? false, ev.vector, true, true);
  acrn.sink.executed(index);
  vlapic_receive_targets(acrn, dmask, false, ev.vector);
}

export function apply_event(acrn: Acrn, ev: Event, index: number): void {
  switch (ev.k) {
    case 'msi': device_msi(acrn, ev, index); break;
    case 'ioapic':
      // Applied before it is reported: a lowest-priority message's arbitration comes first.
      if (ev.op === 'mask' || ev.op === 'unmask') acrn.vioapic.setMask(ev.pin, ev.op === 'mask');
      else acrn.vioapic.irqline(ev.pin, ev.op);
      acrn.sink.executed(index);
      break;
    case 'exit': {
      const t = acrn.vcpus[ev.cpu]!;
      if (t.pc === Pc.Guest && !t.dead) guest_exit(acrn, t, ev.reason, index);
      break;
    }
    case 'enter': enter(acrn, acrn.vcpus[ev.cpu]!); break;
    case 'enter_step': thread_step(acrn, acrn.vcpus[ev.cpu]!); break;
    case 'pirq': pirq(acrn, acrn.vcpus[ev.cpu]!, dm_complete); break;
    case 'fault': acrn.vcpus[ev.cpu]!.faultArmed = true; break;
    case 'l2': break;
    case 'time':
      // Not an instruction: the pCPU's TSC runs whatever the vCPU does.
      acrn.sink.executed(index);
      if (!acrn.vcpus[ev.cpu]!.dead) time_advance(acrn, acrn.vcpus[ev.cpu]!, ev.advance);
      break;
    default: {
      const t = acrn.vcpus[ev.cpu]!;
      if (t.pc === Pc.Guest && !t.dead && !t.guest.halted) guest_instruction(acrn, t, ev, index);
      break;
    }
  }
  for (const t of acrn.vcpus) hardware_step(acrn, t);
}

/** Tag: 2018, an EOI bare metal broadcasts lost because another pin's edge entry of the vector cleared TMR. */
export const EOI_LOST_TO_EDGE_ENTRY = 'eoi-lost-tmr-cleared-by-edge-entry';

/**
 * Diagnostics: an EOI of `v` that did not reach vioapic_process_eoi. In the 2018 tree vioapic_update_tmr
 * sets or clears each pin's vector in turn, so another pin's edge entry of a level pin's vector clears
 * its TMR (and, with VID, EOI-exit) bit; bare metal's TMR follows the level message accepted last and
 * the EOI is broadcast (SDM 10.8.4, 10.8.5). A level pin of `v` then waits under Remote IRR for good.
 */
function noteEoiLost(acrn: Acrn, t: AcrnVcpu, v: number): void {
  // Basic mode since 2019: the level message collapsed into an instance a misrouted message put here, TMR stayed clear.
  if (v >= 16 && t.levelCollapsedWhy[v]) {
    acrn.vioapic.noteEoiLost(v, t.levelCollapsedWhy[v]!);
    t.levelCollapsedWhy[v] = '';
    return;
  }
  // 2019+: an edge message bare metal did not accept here (a redirection write's re-send, a device message routed here)
  // cleared the in-service level message's TMR bit at its acceptance (vlapic_set_tmr), so this EOI was not forwarded.
  if (v >= 16 && t.tmrExtraWhy[v] && !vsHas(t.page.tmr, v)) {
    acrn.vioapic.noteEoiLost(v, t.tmrExtraWhy[v]!);
    return;
  }
  if (acrn.code.tree !== '2018' || v < 16 || vsHas(t.edgeAccepted, v) || !acrn.vioapic.isEdgeVector(v)) return;
  acrn.vioapic.noteEoiLost(v, EOI_LOST_TO_EDGE_ENTRY);
}

/**
 * vioapic_process_eoi (vioapic_broadcast_eoi since 2020) for a level EOI. Diagnostics: an EOI bare metal does not
 * broadcast (eoiWhy) makes the level re-send of a still-asserted pin, or its next assert's message, one bare metal never
 * sends (vioapic.ts generate: extraSendWhy).
 */
function process_eoi(acrn: Acrn, t: AcrnVcpu, v: number): void {
  acrn.vioapic.processEoi(v, eoiWhy(acrn, t, v));
}

/** The vector an EOI retired (diagnostics): the ISR bit it cleared, -1 if none. */
function retired(before: Uint32Array, after: Uint32Array): number {
  for (let w = 7; w >= 0; w--) {
    const x = before[w]! & ~after[w]!;
    if (x !== 0) return (w << 5) + 31 - Math.clz32(x);
  }
  return -1;
}

/** Tag: advanced mode since 2019, a level pin's vector shared with a self-IPI the CPU virtualized (as KVM's). */
export const TMR_KEPT_BY_SELF_IPI = 'tmr-kept-by-virtualized-self-ipi';

/**
 * Diagnostics: why an EOI that reaches vioapic_process_eoi (TMR set) is one bare metal does not broadcast,
 * because bare metal's TMR bit was cleared by an edge message accepted after the level one:
 * - the 2018 tree's TMR (and EOI-exit bitmap) come from the redirection table, so the EOI of an instance of a
 *   level pin's vector that arrived as an edge message (an IPI, MSI or the timer sharing it) reaches it;
 * - advanced mode since 2019: self-IPI virtualization (SDM 29.1.5) sets VIRR and RVI, never the page's TMR, which
 *   veoi_vmexit_handler tests;
 * - an edge IPI bare metal accepted here that ACRN sent nowhere (a lowest-priority IPI) or elsewhere;
 * - since 2019, TMR set by a level message bare metal did not accept here (tmrExtraWhy) after an edge one it did.
 */
function eoiWhy(acrn: Acrn, t: AcrnVcpu, vector: number): string {
  if (acrn.code.tree === '2018' && vsHas(t.edgeAccepted, vector)) return 'eoi-of-edge-instance-broadcast-by-table-tmr';
  if (vsHas(t.tmrKeptBySelfIpi, vector)) return TMR_KEPT_BY_SELF_IPI;
  if (t.edgeLostWhy[vector]) return t.edgeLostWhy[vector]!;
  // Since 2019: TMR was set by a level message bare metal did not accept here (the re-send of such an EOI), after an
  // edge message bare metal did accept here (edgeAccepted leaves such messages out), so bare metal's bit is clear.
  if (acrn.code.tree !== '2018' && t.tmrExtraWhy[vector] && vsHas(t.edgeAccepted, vector)) return t.tmrExtraWhy[vector]!;
  return '';
}
