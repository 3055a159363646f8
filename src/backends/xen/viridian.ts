// The Viridian APIC assist ("No EOI required", Hyper-V TLFS 10.3.5) as each tree has it:
//   10a674b4 (2016) viridian.c  viridian_{start,complete,abort}_apic_assist, initialize_apic_assist
//   48a933ee (2017) viridian.c  the same three after 78c5f59e (latch 0 = none) and 4361e80d
//   66bf4ef0 (2018) viridian.c  viridian_apic_assist_{set,completed,clear}
//   RELEASE-4.22.0  viridian/synic.c the same three on vv->apic_assist_pending; the page is
//                   mapped by viridian_map_guest_page (viridian/viridian.c), which clears it.
// Bit 0 of the page lives in guest memory: Xen writes it only through its mapping.
import { vsAdd, vsDel, vsHas, vsHighest } from '../../apic/vecset.js';
import { domainCrash, type XenVm } from './domain.js';
import type { XenVcpu } from './state.js';

// ------------------------------------------------------------------ the latched vector (2016, 2017)

/** The "no latched vector" value: -1 in 10a674b4, 0 from 78c5f59e on. */
function none(vm: XenVm): number {
  return vm.code.assist === 'latch-2016' ? -1 : 0;
}

function latched(vm: XenVm, v: XenVcpu): boolean {
  return vm.code.assist === 'latch-2016' ? v.viridian.vector >= 0 : v.viridian.vector !== 0;
}

/** viridian_start_apic_assist. Returns false when it crashed the domain. */
export function viridianStartApicAssist(vm: XenVm, cpu: number, vector: number): boolean {
  const v = vm.vcpu[cpu]!;
  const vv = v.viridian;
  if (!vv.mapped) return true;
  if (vm.code.assist === 'latch-2017' && vector < 0x10) return true;
  vm.sink.step(cpu, 'viridian_start_apic_assist');
  // "If there is already an assist pending then something has gone wrong and the VM will
  // most likely hang so force a crash now to make the problem clear."
  if (latched(vm, v)) {
    domainCrash(vm, cpu, 'viridian_start_apic_assist', `an APIC assist is still latched (vector 0x${vv.vector.toString(16)}) when starting one for 0x${vector.toString(16)}`);
    return false;
  }
  vv.vector = vector;
  vv.pageBit = true;
  v.bitClearedByRemap = false;
  v.latchRetiredVector = -1;
  return true;
}

/** viridian_complete_apic_assist: the latched vector if the guest cleared the bit, else none. */
export function viridianCompleteApicAssist(vm: XenVm, cpu: number): number {
  const v = vm.vcpu[cpu]!;
  const vv = v.viridian;
  if (!vv.mapped || vv.pageBit) return none(vm); // "Interrupt not yet processed by the guest."
  const vector = vv.vector;
  vv.vector = none(vm);
  if (vector !== none(vm)) {
    vm.sink.step(cpu, 'viridian_complete_apic_assist');
    if (v.bitClearedByRemap) v.phantomEoi = true;
  }
  v.bitClearedByRemap = false;
  return vector;
}

/** viridian_abort_apic_assist. */
export function viridianAbortApicAssist(vm: XenVm, cpu: number): void {
  const vv = vm.vcpu[cpu]!.viridian;
  if (!vv.mapped) return;
  vv.pageBit = false;
  vv.vector = none(vm);
}

// ------------------------------------------------------------------ the pending flag (2018 on)

/** viridian_apic_assist_set. Returns false when it crashed the domain. */
export function viridianApicAssistSet(vm: XenVm, cpu: number): boolean {
  const v = vm.vcpu[cpu]!;
  const vv = v.viridian;
  if (!vv.mapped) return true;
  vm.sink.step(cpu, 'viridian_apic_assist_set');
  if (vv.pending) {
    domainCrash(vm, cpu, 'viridian_apic_assist_set', 'an APIC assist is already pending');
    return false;
  }
  vv.pending = true;
  vv.pageBit = true;
  v.bitClearedByRemap = false;
  return true;
}

/** viridian_apic_assist_completed: pending and the bit clear means "an EOI has been avoided". */
export function viridianApicAssistCompleted(vm: XenVm, cpu: number): boolean {
  const v = vm.vcpu[cpu]!;
  const vv = v.viridian;
  if (!vv.mapped) return false;
  if (vv.pending && !vv.pageBit) {
    vv.pending = false;
    vm.sink.step(cpu, 'viridian_apic_assist_completed');
    if (v.bitClearedByRemap) {
      // Diagnostics: the EOI Xen is about to emulate was never avoided (the MSR write
      // cleared the page); it retires whatever is highest in service.
      v.phantomEoi = true;
      v.phantomRetiring = true;
      v.bitClearedByRemap = false;
    }
    return true;
  }
  return false;
}

/** viridian_apic_assist_clear. */
export function viridianApicAssistClear(vm: XenVm, cpu: number): void {
  const vv = vm.vcpu[cpu]!.viridian;
  if (!vv.mapped) return;
  vv.pageBit = false;
  vv.pending = false;
}

// ------------------------------------------------------------------ HV_X64_MSR_VP_ASSIST_PAGE

/**
 * The guest writes HV_X64_MSR_VP_ASSIST_PAGE (viridian_wrmsr / viridian_synic_wrmsr):
 * release any previous mapping, store the MSR, and if enabled map the page again, which
 * zeroes it (initialize_apic_assist writes 0 to its first word; initialize_vp_assist and
 * viridian_map_guest_page clear_page it). Only 10a674b4 resets the latched vector there;
 * neither unmapping nor mapping touches the latch (2017) or the pending flag (2018 on).
 */
export function viridianWrmsrVpAssist(vm: XenVm, cpu: number, enabled: boolean): void {
  const v = vm.vcpu[cpu]!;
  const vv = v.viridian;
  vm.sink.step(cpu, vm.variant === '4.22' ? 'viridian_synic_wrmsr' : 'viridian_wrmsr');
  if (vv.mapped) {
    vm.sink.step(cpu, vm.variant === '4.22' ? 'viridian_unmap_guest_page' : 'teardown_vp_assist');
    const outstanding = vm.code.assist === 'pending' ? vv.pending : latched(vm, v);
    if (outstanding && !vv.pageBit && !enabled) v.avoidedLostByUnmap = true;
  }
  vv.mapped = false;
  vv.msrEnabled = enabled;
  if (enabled) initialize(vm, cpu);
}

/** The mapping half: initialize_apic_assist (2016), initialize_vp_assist (2017, 2018), viridian_map_guest_page (4.22). */
export function initialize(vm: XenVm, cpu: number): void {
  const v = vm.vcpu[cpu]!;
  const vv = v.viridian;
  vm.sink.step(cpu, vm.variant === '4.22' ? 'viridian_map_guest_page' : vm.code.assist === 'latch-2016' ? 'initialize_apic_assist' : 'initialize_vp_assist');
  const outstanding = vm.code.assist === 'pending' ? vv.pending : latched(vm, v);
  if (vv.pageBit && outstanding) v.bitClearedByRemap = true;
  const outstandingBit = vv.pageBit;
  vv.pageBit = false;
  if (vm.code.assist === 'latch-2016') {
    // The page stays mapped only when the domain has HVMPV_apic_assist.
    if (vm.apicAssist) {
      if (vv.vector >= 0 && !outstandingBit) v.latchDroppedByRemap = true;
      vv.mapped = true;
      vv.vector = -1;
    }
    return;
  }
  vv.mapped = true;
}

/** Diagnostics: the guest's EOI routine found the bit set and skipped its EOI. */
export function noteAvoidedEoi(vm: XenVm, v: XenVcpu): void {
  const h = vsHighest(v.archIsr);
  if (h >= 0) {
    vsAdd(v.avoided, h);
    vsDel(v.archIsr, h);
    if (vsHas(v.vlapic.tmr, h)) vsAdd(v.levelDeferred, h);
    else vsAdd(v.avoidedEdge, h);
  }
  // The latched vector no longer in service, or back in service as a later instance (a normal EOI retired the latched one).
  if (vm.code.assist !== 'pending' && latched(vm, v)
    && (!vsHas(v.vlapic.isr, v.viridian.vector) || v.latchRetiredVector === v.viridian.vector)) v.staleBitAvoided = true;
}
