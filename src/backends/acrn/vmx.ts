// What the processor does for an ACRN vCPU (Intel SDM Vol. 3C): the VM entry with its
// injection and the virtual-interrupt evaluation (26.3.2.5, 29.2.1), virtual-interrupt
// delivery (29.2.2), PPR/TPR/EOI virtualization (29.1), posted-interrupt processing (29.6),
// interrupt-window exiting, and physical interrupts reaching a pCPU: in VMX non-root the
// notification vector is posted-interrupt processing and any other vector an
// external-interrupt VM exit; in root with host IRQs on the host handler runs; with IRQs off
// it waits in the local APIC's IRR (latched) until IRQs are enabled or the next VM entry.
import { vsAdd, vsDel, vsHas, vsHighest } from '../../apic/vecset.js';
import { Inj, PHYS_NV, PHYS_ORDER, Pc } from './consts.js';
import { host_handler } from './notify.js';
import { APIC_SVR_ENABLE, type Acrn, type AcrnVcpu } from './state.js';
import { vm_exit } from './hv_main.js';
import { interrupt_window_vmexit_handler } from './virq.js';
import { note_held_apart, prio } from './vlapic.js';

/** Physical interrupts or software-processed messages are in flight to this vCPU. */
export function phys_pending(t: AcrnVcpu): boolean {
  return t.inflight !== 0 || t.latched !== 0 || t.swInflight !== 0 || t.dmPending;
}

/** sink.evaluate where the processor looks at vIRR/RVI, unless something is still in flight to the vCPU. */
function hw_evaluate(acrn: Acrn, t: AcrnVcpu): void {
  if (!phys_pending(t)) acrn.sink.evaluate(t.id);
}

/** PPR virtualization (29.1.3): VPPR from VTPR and SVI. */
export function ppr_virtualization(t: AcrnVcpu): void {
  const tpr = t.page.tpr;
  t.page.ppr = prio(tpr) >= prio(t.svi) ? tpr : t.svi & 0xf0;
}

/** A virtual interrupt is recognized (29.2.1): RVI[7:4] > VPPR[7:4]. */
export function vid_recognized(t: AcrnVcpu): boolean {
  return t.rvi !== 0 && prio(t.rvi) > prio(t.page.ppr);
}

/** Posted-interrupt processing (29.6): ON cleared, PIR into vIRR, RVI raised, evaluation. */
export function posted_interrupt_processing(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'posted-interrupt processing');
  t.on = false;
  t.onFate = '';
  note_held_apart(t, t.nvSelfLanded ? 'pir-held-apart-until-self-notification' : '');
  const hi = vsHighest(t.pir);
  for (let w = 0; w < 8; w++) {
    t.page.irr[w]! |= t.pir[w]!;
    t.pir[w] = 0;
  }
  if (hi > t.rvi) t.rvi = hi;
  hw_evaluate(acrn, t);
}

/**
 * Self-IPI virtualization (29.1.5), for a WRMSR to the x2APIC SELF_IPI register that the MSR bitmap
 * does not intercept: VIRR[v] = 1 in the virtual-APIC page (= the vLAPIC's page), RVI = max(RVI, v),
 * evaluation. The processor does not look at the software-enable bit that vlapic_accept_intr tests.
 */
export function self_ipi_virtualization(acrn: Acrn, t: AcrnVcpu, v: number): void {
  acrn.sink.step(t.id, 'self-IPI virtualization');
  // Diagnostics: bare metal's software-disabled APIC accepts no fixed interrupt (SDM 10.4.7.2).
  if ((t.page.svr & APIC_SVR_ENABLE) === 0) t.wrongTarget[v] = 'self-ipi-virtualized-while-sw-disabled';
  // Diagnostics: the virtual-APIC page's TMR (= apic_page.tmr, which veoi_vmexit_handler tests) keeps a level
  // message's bit; bare metal's acceptance of this edge self-IPI clears it (SDM 10.8.4).
  if (vsHas(t.page.tmr, v)) vsAdd(t.tmrKeptBySelfIpi, v);
  t.edgeLostWhy[v] = '';
  vsAdd(t.page.irr, v);
  if (v > t.rvi) t.rvi = v;
  hw_evaluate(acrn, t);
}

/** TPR virtualization (29.1.2): VTPR, then PPR virtualization and evaluation with VID, or the TPR-threshold check without. */
export function tpr_virtualization(acrn: Acrn, t: AcrnVcpu, value: number): boolean {
  t.page.tpr = value & 0xff;
  // Diagnostics: basic mode leaves lapic->ppr as it was until the next vlapic_update_ppr.
  if (acrn.code.mode !== 'advanced') t.pprStaleByTpr = true;
  if (acrn.code.mode === 'advanced') {
    ppr_virtualization(t);
    hw_evaluate(acrn, t);
    return false;
  }
  // "TPR below threshold": a trap-like VM exit after the write.
  return prio(t.page.tpr) < t.tprThreshold;
}

/** Tag: an EOI virtualized before EOI_EXIT_BITMAP_UPDATE wrote the level vector's EOI-exit bit to the VMCS. */
export const LEVEL_EOI_SWALLOWED = 'level-eoi-before-eoi-exit-bitmap-loaded';

/** EOI virtualization (29.1.3). Returns the vector when the EOI-exit bitmap asks for an EOI-induced exit, else -1. */
export function eoi_virtualization(acrn: Acrn, t: AcrnVcpu): number {
  const v = t.svi;
  vsDel(t.page.isr, v);
  const h = vsHighest(t.page.isr);
  t.svi = h < 0 ? 0 : h;
  ppr_virtualization(t);
  if (vsHas(t.eoiExitVmcs, v)) return v;
  // Diagnostics: a level vector whose EOI-exit bit is set in the software bitmap but not yet
  // written to the VMCS (EOI_EXIT_BITMAP_UPDATE pending): the vIOAPIC never sees this EOI. The pin it
  // leaves under Remote IRR is noted too, for a vCPU that reads the entry or a message the held line
  // keeps back after a rewrite of the entry's vector or destination (whereStuck: vioapic.eoiLostWhy).
  if (vsHas(t.eoiExit, v) && vsHas(t.page.tmr, v)) {
    vsAdd(t.eoiSwallowed, v);
    acrn.vioapic.noteEoiLost(v, LEVEL_EOI_SWALLOWED);
  }
  hw_evaluate(acrn, t);
  return -1;
}

/** An event delivery faults (EPT violation on the IDT or stack): VM exit with valid IDT-vectoring information. */
function delivery_fault(acrn: Acrn, t: AcrnVcpu, v: number, nmi: boolean): void {
  t.faultArmed = false;
  vm_exit(acrn, t, 'ept-violation', nmi ? 2 : v, nmi);
  acrn.sink.step(t.id, 'ept_violation_vmexit_handler');
}

/** Virtual-interrupt delivery (29.2.2). */
function vid_deliver(acrn: Acrn, t: AcrnVcpu): void {
  const v = t.rvi;
  vsAdd(t.page.isr, v);
  vsDel(t.page.irr, v);
  t.svi = v;
  t.page.ppr = v & 0xf0;
  const h = vsHighest(t.page.irr);
  t.rvi = h < 0 ? 0 : h;
  t.misrouted[v] = ''; // diagnostics: bare metal's instance is taken with this one
  acrn.sink.deliver(t.id, v, false, 'vid');
  t.heldWhy[v] = '';
  t.timerHeldWhy[v] = '';
  vsDel(t.timerOwed, v); // bare metal's instance is taken with this one
  vsDel(t.timerExtra, v);
  if (t.faultArmed) delivery_fault(acrn, t, v, false);
  else t.guest.take(v, false);
}

/**
 * run_vcpu: VM entry. The prepared injection is delivered (an NMI is reported here; an external
 * interrupt was reported when the software vLAPIC moved it IRR → ISR, or when it was first
 * delivered, for a re-injection), then with VID the pending virtual interrupts are evaluated,
 * then interrupts waiting in the pCPU's IRR are taken in non-root.
 */
export function vm_entry(acrn: Acrn, t: AcrnVcpu): void {
  acrn.sink.step(t.id, 'vmx_vmrun');
  t.pc = Pc.Guest;
  t.passes = 0;
  const g = t.guest;
  // hlt_vmexit_handler does not retain RIP: the guest resumes after its HLT.
  if (t.hltExit) {
    t.hltExit = false;
    t.hltResumed = g.halted && t.injType === Inj.None;
    if (t.hltResumed) {
      t.hltEnd = t.wokeEarly && t.passBeforeRequest ? 'signal-before-request'
        : t.hltWhy === 'woken' ? 'hlt-woken-interrupt-not-deliverable' : t.hltWhy;
    }
    g.halted = false;
  }
  const type = t.injType;
  const v = t.injVector;
  const replay = t.injReplay;
  t.injType = Inj.None;
  if (type === Inj.Nmi) {
    if (!replay) { t.misrouted[2] = ''; acrn.sink.deliver(t.id, 2, true, 'vmentry-nmi'); }
    if (t.faultArmed) { delivery_fault(acrn, t, 2, true); return; }
    g.take(2, true);
  } else if (type === Inj.Ext) {
    if (t.faultArmed) { delivery_fault(acrn, t, v, false); return; }
    g.take(v, false);
  }
  if (acrn.code.mode === 'advanced') {
    ppr_virtualization(t);
    hw_evaluate(acrn, t);
  }
  take_latched(acrn, t);
}

/** Interrupts latched in the pCPU's IRR are taken: at IRQ enable in root, right after a VM entry in non-root. */
export function take_latched(acrn: Acrn, t: AcrnVcpu): void {
  for (const bit of PHYS_ORDER) {
    if ((t.latched & bit) === 0) continue;
    t.latched &= ~bit;
    arrive(acrn, t, bit);
  }
}

/** One physical interrupt reaches the pCPU, where it can be taken. */
function arrive(acrn: Acrn, t: AcrnVcpu, bit: number): void {
  if (t.pc === Pc.Guest) {
    if (bit === PHYS_NV && acrn.code.mode === 'advanced' && acrn.code.apicv !== 'vid') {
      posted_interrupt_processing(acrn, t);
      return;
    }
    vm_exit(acrn, t, 'external-interrupt', -1, false);
    acrn.sink.step(t.id, 'external_interrupt_vmexit_handler');
    host_handler(acrn, t, bit);
    return;
  }
  host_handler(acrn, t, bit);
}

/**
 * A local interrupt of the pCPU (its LAPIC timer) is raised: taken now where the pCPU can take it,
 * else held in its IRR until IRQs are enabled or the VM entry exits for it.
 */
export function raise_local(acrn: Acrn, t: AcrnVcpu, bit: number): void {
  if (can_take(t)) arrive(acrn, t, bit);
  else { t.latched |= bit; t.timerLatchedDiag = true; }
}

/** The pCPU can take a physical interrupt now (non-root, the idle thread, or root with IRQs on). */
function can_take(t: AcrnVcpu): boolean {
  if (t.pc === Pc.Guest || t.pc === Pc.Blocked || t.pc === Pc.Runnable) return true;
  return t.irqsOn;
}

/** Scenario `pirq`: everything in flight to this pCPU arrives; the device model's completion too. */
export function pirq(acrn: Acrn, t: AcrnVcpu, dmComplete: (acrn: Acrn, t: AcrnVcpu) => void): void {
  if (t.dead) return;
  for (const bit of PHYS_ORDER) {
    if ((t.inflight & bit) === 0) continue;
    t.inflight &= ~bit;
    if (bit === PHYS_NV) t.nvSelfLanded = t.nvSelf;
    if (can_take(t)) arrive(acrn, t, bit);
    else t.latched |= bit;
  }
  if (t.dmPending) dmComplete(acrn, t);
}

/** What the processor does on its own while the vCPU runs guest code ("hardware acts eagerly"). */
export function hardware_step(acrn: Acrn, t: AcrnVcpu): void {
  if (t.pc !== Pc.Guest || t.dead) return;
  const g = t.guest;
  if (t.irqWindow) {
    // Interrupt-window exiting; it also blocks virtual-interrupt delivery (29.2.1).
    if (g.interruptible()) {
      vm_exit(acrn, t, 'interrupt-window', -1, false);
      interrupt_window_vmexit_handler(acrn, t);
    }
    return;
  }
  if (acrn.code.mode === 'advanced' && vid_recognized(t) && g.interruptible()) vid_deliver(acrn, t);
}

