// Xen's emulated local APIC (xen/arch/x86/hvm/vlapic.c) on a host without virtual-interrupt
// delivery: IRR/ISR/TMR in the register page, PPR computed on demand, and the four paths the
// APIC assist runs through — vlapic_has_pending_irq, vlapic_ack_pending_irq, vlapic_EOI_set
// and (through the vIOAPIC) vlapic_handle_EOI. Only these differ between the variants.
import { vsAdd, vsDel, vsHas, vsHighest, vsTestAndAdd } from '../../apic/vecset.js';
import type { Shorthand } from '../../scenario/types.js';
import { vcpuKick, type XenVm } from './domain.js';
import { Phase, type VlapicRegs, type XenVcpu } from './state.js';
import {
  viridianAbortApicAssist, viridianApicAssistClear, viridianApicAssistCompleted, viridianApicAssistSet,
  viridianCompleteApicAssist, viridianStartApicAssist,
} from './viridian.js';

/** VLAPIC_VERSION: version 0x14, max LVT entry 5 (six LVTs), no directed EOI; the same in every tree. */
export const VLAPIC_VERSION = 0x00050014;
export const APIC_ESR_SENDILL = 0x20;
export const APIC_ESR_RECVILL = 0x40;

/** vlapic_find_highest_vector on ISR. */
export function findHighestIsr(vl: VlapicRegs): number {
  return vsHighest(vl.isr);
}

/** vlapic_find_lowest_vector (10a674b4 only; removed by 4361e80d). */
function findLowestIsr(vl: VlapicRegs): number {
  for (let w = 0; w < 8; w++) {
    const x = vl.isr[w]!;
    if (x !== 0) return (w << 5) + 31 - Math.clz32(x & -x);
  }
  return -1;
}

/** vlapic_get_ppr: PPR from TPR and the highest ISR vector, computed on every read. */
export function vlapicGetPpr(vl: VlapicRegs): number {
  const isr = findHighestIsr(vl);
  const isrv = isr !== -1 ? isr : 0;
  return (vl.taskpri & 0xf0) >= (isrv & 0xf0) ? vl.taskpri & 0xff : isrv & 0xf0;
}

/**
 * vlapic_error with LVTERR masked: before b28b590d the error goes straight into APIC_ESR
 * (and only an ESR read shows it, forever); after, into hw.pending_esr until an ESR write.
 */
export function vlapicError(vm: XenVm, vl: VlapicRegs, bit: number): void {
  if (vm.code.esrLatched) vl.pendingEsr |= bit;
  else { vl.esr |= bit; vl.esrUnlatched = true; } // diagnostics: visible at once, no ESR write latched it
}

/** vlapic_reg_write(APIC_ESR): ignored before b28b590d ("a simple read/write register"). */
export function vlapicEsrWrite(vm: XenVm, vl: VlapicRegs): void {
  if (!vm.code.esrLatched) {
    // Diagnostics: the errors stay visible where bare metal's write cleared them.
    if (vl.esr !== 0) vl.esrUnlatched = true;
    return;
  }
  vl.esr = vl.pendingEsr;
  vl.pendingEsr = 0;
}

/**
 * vlapic_reg_write(APIC_SPIV): store val & 0x3ff; bit 8 clear sets VLAPIC_SW_DISABLED (and
 * masks the LVTs: vlapicSpivTimer); set clears it (and pt_may_unmask_irq). IRR and ISR
 * are left as they are; vlapic_has_pending_irq returns -1 while disabled.
 */
export function vlapicSpivWrite(vl: VlapicRegs, val: number): void {
  vl.svr = val & 0x3ff;
  vl.enabled = (val & 0x100) !== 0;
}

/**
 * vlapic_reg_write(APIC_ID) (xAPIC MMIO; read-only in x2APIC mode): the value is stored as
 * written, and VLAPIC_ID — hence vlapic_match_dest — follows it. Unlike bhyve and ACRN, Xen
 * does not undo the write.
 */
export function vlapicIdWrite(vl: VlapicRegs, val: number): void {
  vl.apicId = val >>> 0;
}

/** vlapic_reg_write(APIC_LDR): val & APIC_LDR_MASK (bits 31:24). */
export function vlapicLdrWrite(vl: VlapicRegs, val: number): void {
  vl.ldr = (val & 0xff000000) >>> 0;
}

/** vlapic_reg_write(APIC_DFR): val | 0x0FFFFFFF (the model nibble; reserved bits read as ones). */
export function vlapicDfrWrite(vl: VlapicRegs, val: number): void {
  vl.dfr = (val | 0x0fffffff) >>> 0;
}

/** VLAPIC_ID: the whole register in x2APIC mode, GET_xAPIC_ID (bits 31:24) in xAPIC mode. */
export function vlapicId(vm: XenVm, vl: VlapicRegs): number {
  return vm.mode === 'x2apic' ? vl.apicId : vl.apicId >>> 24;
}

/**
 * vlapic_match_logical_addr (the same in every tree modelled): x2APIC cluster (LDR[31:16]) and
 * member bits; xAPIC by APIC_DFR, flat (LDR[31:24] & MDA) or cluster (high nibble equal, low
 * nibbles intersect), any other DFR value matches nothing ("bad LAPIC DFR value"). There is no
 * broadcast case: a logical MDA of 0xFF (xAPIC) or 0xFFFFFFFF (x2APIC) is matched as any other.
 */
export function vlapicMatchLogicalAddr(vm: XenVm, vl: VlapicRegs, mda: number): boolean {
  if (vm.mode === 'x2apic') return vl.ldr >>> 16 === mda >>> 16 && (vl.ldr & mda & 0xffff) !== 0;
  const logicalId = vl.ldr >>> 24; // GET_xAPIC_LOGICAL_ID
  const m = mda & 0xff;
  switch (vl.dfr) {
    case 0xffffffff: return (logicalId & m) !== 0; // APIC_DFR_FLAT
    case 0x0fffffff: return logicalId >>> 4 === m >>> 4 && (logicalId & m & 0xf) !== 0; // APIC_DFR_CLUSTER
    default: return false;
  }
}

/**
 * vlapic_match_dest: shorthands by identity; physical `dest == _VLAPIC_ID(target, 0xffffffff)`
 * (the broadcast: 0xFFFFFFFF in x2APIC mode, 0xFF in xAPIC mode) or `dest == VLAPIC_ID(target)`;
 * logical through vlapic_match_logical_addr. `source` is -1 for the vIOAPIC and MSIs (NULL).
 */
export function vlapicMatchDest(vm: XenVm, target: number, source: number, shorthand: Shorthand, dest: number, logical: boolean): boolean {
  switch (shorthand) {
    case 'self': return target === source;
    case 'all': return true;
    case 'others': return target !== source;
    case 'none': {
      const vl = vm.vcpu[target]!.vlapic;
      if (logical) return vlapicMatchLogicalAddr(vm, vl, dest);
      return dest === (vm.mode === 'x2apic' ? 0xffffffff : 0xff) || dest === vlapicId(vm, vl);
    }
  }
}

/** The vCPUs (bit i = vcpu_id i) for_each_vcpu finds vlapic_match_dest true for. */
export function matchMask(vm: XenVm, source: number, shorthand: Shorthand, dest: number, logical: boolean): number {
  let mask = 0;
  for (let i = 0; i < vm.nvcpus; i++) if (vlapicMatchDest(vm, i, source, shorthand, dest, logical)) mask |= 1 << i;
  return mask;
}

/**
 * vlapic_lowest_prio (the same in every tree modelled): scan the vCPUs round-robin from the one
 * after round_robin_prev_vcpu, wrapping, up to and including it; among those vlapic_match_dest
 * matches and vlapic_enabled, the first with the lowest vlapic_get_ppr (strict <) wins and
 * becomes round_robin_prev_vcpu. It reads the other vCPUs' TASKPRI and ISR as they are (an EOI
 * avoided through the assist still counts; a CR8 write not yet synced at a #VMEXIT does not).
 * Returns the vcpu_id, or -1 (NULL) when no enabled vlapic matches.
 */
export function vlapicLowestPrio(vm: XenVm, source: number, shorthand: Shorthand, dest: number, logical: boolean): number {
  const old = vm.roundRobinPrevVcpu;
  let target = -1;
  let targetPpr = Infinity;
  let i = old;
  do {
    i = i + 1 < vm.nvcpus ? i + 1 : 0; // v->next_in_list ?: d->vcpu[0]
    const vl = vm.vcpu[i]!.vlapic;
    if (vlapicMatchDest(vm, i, source, shorthand, dest, logical) && vl.enabled) {
      const ppr = vlapicGetPpr(vl);
      if (ppr < targetPpr) { target = i; targetPpr = ppr; }
    }
  } while (i !== old);
  if (target >= 0) vm.roundRobinPrevVcpu = target;
  return target;
}

/** Clear an ISR bit (and the diagnostics that follow it). */
function isrClear(v: XenVcpu, vector: number): void {
  vsDel(v.vlapic.isr, vector);
  // Diagnostics: this is the retirement of an EOI the guest avoided earlier (Xen noticed late).
  v.eoiWasAvoided = vsHas(v.avoided, vector);
  vsDel(v.avoided, vector);
  v.eoiAvoidedEdge = v.eoiWasAvoided && vsHas(v.avoidedEdge, vector);
  vsDel(v.avoidedEdge, vector);
}

// ------------------------------------------------------------------ arrival

/**
 * vlapic_set_irq, from any context: `from` is the sending vCPU (its pCPU) or DEVICE_CPU.
 * TMR follows the trigger (edge clears it only since 12a50030); a newly set IRR bit kicks
 * the target, a collapse does nothing.
 */
export function vlapicSetIrq(vm: XenVm, target: number, vec: number, trig: boolean, from: number): void {
  const v = vm.vcpu[target]!;
  const vl = v.vlapic;
  if (vec < 16) {
    vlapicError(vm, vl, APIC_ESR_RECVILL);
    // Diagnostics: Xen's RIV has caught up with an illegal timer expiry bare metal had first.
    v.archOwed[vec] = '';
    return;
  }
  if (trig) { vsAdd(vl.tmr, vec); vsDel(v.tmrClearedByEoi, vec); vsDel(v.tmrKeptOnEdge, vec); }
  else if (vm.code.tmrClearedOnEdge) vsDel(vl.tmr, vec);
  else if (vsHas(vl.tmr, vec)) vsAdd(v.tmrKeptOnEdge, vec); // diagnostics: bare metal clears it here
  vm.sink.step(target, 'vlapic_set_irq');
  if (!vsTestAndAdd(vl.irr, vec)) vcpuKick(vm, target, from);
}

/** vlapic_accept_irq for APIC_DM_NMI: one pending NMI; the first one wakes a _VPF_down vCPU. */
function acceptNmi(vm: XenVm, target: number, from: number): void {
  const v = vm.vcpu[target]!;
  if (v.nmiPending) return;
  v.nmiPending = true;
  vm.sink.step(target, 'vlapic_accept_irq(NMI)');
  if (v.phase === Phase.Down) {
    vm.sink.step(target, 'vcpu_wake');
    v.phase = Phase.Runnable;
    v.wokenBy = 2;
  }
  vcpuKick(vm, target, from);
}

/**
 * Diagnostics: vlapic_ipi breaks before matching any receiver, so every vCPU bare metal addresses
 * misses Receive Illegal Vector — whatever Xen's own matching would have chosen (a logical broadcast it
 * does not match, say). Every vCPU is marked; only an addressed one can show RIV missing.
 */
function noteRivSkipped(vm: XenVm): void {
  for (let i = 0; i < vm.nvcpus; i++) vm.vcpu[i]!.rivSkippedBySendill = true;
}

/**
 * vlapic_ipi for FIXED, LOWEST and NMI. LOWEST: vlapic_lowest_prio first (its round robin moves
 * even for an illegal vector), then SENDILL for a vector below 16, else vlapic_accept_irq on the
 * target; the choice is reported to the sink (ObsSink.arbitrated). FIXED: a vector below 16 sets
 * SENDILL in the sender and goes nowhere; otherwise for_each_vcpu in vcpu_id order, every vCPU
 * vlapic_match_dest matches accepts (vlapic_accept_irq). `dest` is _VLAPIC_ID(vlapic, icr_high):
 * the 32-bit ICR destination in x2APIC mode, ICR2[31:24] in xAPIC mode.
 */
export function vlapicIpi(vm: XenVm, sender: number, vector: number, nmi: boolean, shorthand: Shorthand, logical: boolean, dest: number, lowest = false): void {
  if (lowest && !nmi) {
    const target = vlapicLowestPrio(vm, sender, shorthand, dest, logical);
    if (target >= 0) vm.sink.arbitrated?.(target);
    if (vector < 16) {
      vlapicError(vm, vm.vcpu[sender]!.vlapic, APIC_ESR_SENDILL);
      // Diagnostics: bare metal's receivers latch RECVILL; Xen's break reaches none.
      noteRivSkipped(vm);
    }
    else if (target >= 0 && vm.vcpu[target]!.vlapic.enabled) vlapicSetIrq(vm, target, vector, false, sender);
    return;
  }
  if (!nmi && vector < 16) {
    vlapicError(vm, vm.vcpu[sender]!.vlapic, APIC_ESR_SENDILL);
    noteRivSkipped(vm);
    return;
  }
  const mask = matchMask(vm, sender, shorthand, dest, logical);
  for (let i = 0; i < vm.nvcpus; i++) {
    if ((mask & (1 << i)) === 0) continue;
    if (nmi) acceptNmi(vm, i, sender);
    else if (vm.vcpu[i]!.vlapic.enabled) vlapicSetIrq(vm, i, vector, false, sender);
  }
}

// ------------------------------------------------------------------ EOI

/** vlapic_handle_EOI: a level vector's EOI goes to the vIOAPIC (TMR test-and-clear before 12a50030). */
export function vlapicHandleEOI(vm: XenVm, cpu: number, vector: number, phantom = false): void {
  const vl = vm.vcpu[cpu]!.vlapic;
  const level = vsHas(vl.tmr, vector);
  const kept = vsHas(vm.vcpu[cpu]!.tmrKeptOnEdge, vector); // diagnostics, before the EOI clears it
  if (!vm.code.tmrClearedOnEdge) {
    vsDel(vl.tmr, vector);
    vsDel(vm.vcpu[cpu]!.tmrKeptOnEdge, vector);
    if (level) vsAdd(vm.vcpu[cpu]!.tmrClearedByEoi, vector);
  }
  if (level) {
    // Diagnostics: bare metal discarded this level message (f1d7aac1e3), so its Remote IRR stays set there.
    if (vsHas(vm.vcpu[cpu]!.acceptedDisabled, vector)) vsAdd(vm.vcpu[cpu]!.levelEoiAfterDisabled, vector);
    vm.sink.step(cpu, 'vioapic_update_EOI');
    // Diagnostics: the guest avoided this EOI while TMR was clear (an edge instance: bare metal broadcasts nothing);
    // a level message of the vector accepted since set TMR, and the emulated EOI found it set.
    const lateTmr = vm.vcpu[cpu]!.eoiAvoidedEdge;
    // Diagnostics: an edge message of the vector bare metal sent here never came (Xen's matching left this vCPU out);
    // bare metal's acceptance of it cleared TMR, so bare metal broadcasts nothing at this EOI.
    const v = vm.vcpu[cpu]!;
    if (vsHas(v.misroutedEdge, vector)) vm.vioapic.noteEoiAfterMisroute(vector, v.misrouted[vector]!);
    vm.vioapic.updateEOI(vector, cpu, vm.vcpu[cpu]!.eoiWasAvoided && !lateTmr, kept, phantom, lateTmr);
  } else if (vm.vcpu[cpu]!.eoiWasAvoided && vsHas(vm.vcpu[cpu]!.levelDeferred, vector)) {
    // Diagnostics: the guest avoided this EOI while TMR was set (a level instance: bare metal broadcast it then);
    // an edge message of the vector accepted since cleared TMR (12a50030), so the emulated EOI calls no
    // vioapic_update_EOI and the pin's Remote IRR is never cleared.
    vm.vioapic.noteLevelEoiNotBroadcast(vector);
  }
}

/**
 * vlapic_EOI_set, for a guest EOI (APIC_EOI, x2APIC EOI MSR, HV_X64_MSR_EOI) and for the
 * missed EOI of 66bf4ef0. Before 66bf4ef0 it does not look at the assist at all.
 */
export function vlapicEOISet(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  const vl = v.vlapic;
  vm.sink.step(cpu, 'vlapic_EOI_set');
  if (vm.code.assist !== 'pending') {
    const vector = findHighestIsr(vl);
    if (vector === -1) return; // "Some EOI writes may not have a matching to an in-service interrupt."
    // Diagnostics: a normal EOI of the latched vector leaves the bit set (the latch code never looks here).
    if (vm.apicAssist && v.viridian.mapped && v.viridian.pageBit && vector === v.viridian.vector) v.latchRetiredVector = vector;
    isrClear(v, vector);
    vlapicHandleEOI(vm, cpu, vector);
    return;
  }
  // "If APIC assist was set then an EOI may have been avoided and hence this EOI actually
  // relates to a lower priority vector": emulate the avoided one first, then this one.
  let missedEoi = vm.apicAssist && viridianApicAssistCompleted(vm, cpu);
  // Diagnostics: the first vector retired here is the phantom EOI's (an assist the MSR write cleared, never avoided).
  let phantom = v.phantomRetiring;
  v.phantomRetiring = false;
  for (;;) {
    const vector = findHighestIsr(vl);
    if (vector === -1) return;
    // "If APIC assist was set but the guest chose to EOI anyway then we need to clean up state."
    if (vm.apicAssist && !missedEoi) viridianApicAssistClear(vm, cpu);
    isrClear(v, vector);
    vlapicHandleEOI(vm, cpu, vector, phantom);
    phantom = false;
    if (!missedEoi) return;
    missedEoi = false;
  }
}

// ------------------------------------------------------------------ pending / ack

/**
 * vlapic_has_pending_irq (no virtual-interrupt delivery): the highest IRR vector if it may
 * be injected, else -1. Not a pure query: it completes, emulates or clears the assist.
 */
export function vlapicHasPendingIrq(vm: XenVm, cpu: number): number {
  const v = vm.vcpu[cpu]!;
  const vl = v.vlapic;
  if (!vl.enabled) return -1;
  const irr = vsHighest(vl.irr);
  if (irr === -1) return -1;
  switch (vm.code.assist) {
    case 'latch-2016': {
      // "If APIC assist was used then there may have been no EOI so we need to clear the
      // requisite bit from the ISR here, before comparing with the IRR."
      const vector = viridianCompleteApicAssist(vm, cpu);
      if (vector !== -1) isrClear(v, vector);
      let isr = findHighestIsr(vl);
      isr = isr !== -1 ? isr : 0;
      if ((isr & 0xf0) >= (irr & 0xf0)) {
        viridianAbortApicAssist(vm, cpu);
        return -1;
      }
      return irr;
    }
    case 'latch-2017': {
      const vector = viridianCompleteApicAssist(vm, cpu);
      if (vector) isrClear(v, vector);
      const isr = findHighestIsr(vl);
      if (isr === -1) return irr;
      // "A vector is pending in the ISR so, regardless of whether the new vector in the IRR
      // is lower or higher in priority, any pending APIC assist must be aborted."
      viridianAbortApicAssist(vm, cpu);
      return (isr & 0xf0) < (irr & 0xf0) ? irr : -1;
    }
    case 'pending': {
      // "If APIC assist was set then an EOI may have been avoided. If so, we need to emulate
      // the EOI here before comparing ISR with IRR."
      if (vm.apicAssist && viridianApicAssistCompleted(vm, cpu)) {
        vlapicEOISet(vm, cpu);
        // Diagnostics: the emulated EOI may re-send a level line above the IRR snapshot.
        const now = vsHighest(vl.irr);
        if (now > irr) vsAdd(v.snapshotMissed, now);
      }
      const isr = findHighestIsr(vl);
      // "if APIC assist is set and a subsequent interrupt of lower priority occurs then APIC
      // assist needs to be cleared."
      if (isr >= 0 && (irr & 0xf0) <= (isr & 0xf0)) {
        if (vm.apicAssist) viridianApicAssistClear(vm, cpu);
        return -1;
      }
      return irr;
    }
  }
}

/**
 * vlapic_ack_pending_irq (force_ack = 0, no VID): maybe set the assist, then IRR → ISR.
 * Returns false when starting the assist crashed the domain.
 */
export function vlapicAckPendingIrq(vm: XenVm, cpu: number, vector: number): boolean {
  const v = vm.vcpu[cpu]!;
  const vl = v.vlapic;
  vm.sink.step(cpu, 'vlapic_ack_pending_irq');
  // Diagnostics (10a674b4): an interrupt nests on top of an assisted one with the bit still set.
  if (vm.code.assist === 'latch-2016' && v.viridian.mapped && v.viridian.pageBit && findHighestIsr(vl) >= 0) v.nestedOverAssist = true;
  // "If there's no chance of using APIC assist then bail now."
  if (vm.apicAssist && !vsHas(vl.tmr, vector)) {
    switch (vm.code.assist) {
      case 'latch-2016': {
        const isr = findLowestIsr(vl);
        if (isr >= 0 && isr < vector) break;
        if (!viridianStartApicAssist(vm, cpu, vector)) return false;
        break;
      }
      case 'latch-2017':
        if (findHighestIsr(vl) === -1 && !viridianStartApicAssist(vm, cpu, vector)) return false;
        break;
      case 'pending':
        if (findHighestIsr(vl) === -1 && vector > 0x10 && !viridianApicAssistSet(vm, cpu)) return false;
        break;
    }
  }
  vsAdd(vl.isr, vector);
  vsDel(vl.irr, vector);
  vsAdd(v.archIsr, vector);
  v.misrouted[vector] = '';
  vsDel(v.misroutedEdge, vector);
  vsDel(v.snapshotMissed, vector);
  vsDel(v.levelDeferred, vector);
  return true;
}
