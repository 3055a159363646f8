// KVM_REQ_SCAN_IOAPIC and the EOI-exit bitmap (arch/x86/kvm/x86.c vcpu_scan_ioapic,
// vcpu_load_eoi_exitmap; vmx.c vmx_load_eoi_exitmap). The scan recomputes
// arch.ioapic_handled_vectors (software: what kvm_ioapic_send_eoi forwards) and loads it into
// the EOI_EXIT_BITMAP fields of the *current* VMCS. Before 4cf4df7ab4d1 ("KVM: nVMX: Do not load
// EOI-exitmap while running L2", Liran Alon, 2018) a scan handled while L2 is the guest writes
// vmcs02 and vmcs01 keeps the old bitmap; since, the load waits for the nested VM exit
// (load_eoi_exitmap_pending → KVM_REQ_LOAD_EOI_EXITMAP).
import { vsClear, vsEqual, vsOr, type VecSet } from '../../apic/vecset.js';
import { REQ_LOAD_EOI_EXITMAP } from './consts.js';
import { kvm_ioapic_scan_entry } from './ioapic.js';
import { kvm_make_request } from './sender.js';
import type { Kvm, KvmVcpu } from './state.js';
import { vmx_sync_pir_to_irr } from './sync.js';

/** Diagnostics tag: vmcs01 kept a stale bitmap because the scan's load went into vmcs02. */
export const STALE_VMCS02 = 'eoi-exitmap-loaded-into-vmcs02';
/** Diagnostics tag: the bitmap a scan computed while APICv was inhibited never reached vmcs01. */
export const EOI_EXITMAP_NOT_LOADED = 'eoi-exitmap-not-loaded-while-apicv-inhibited';

/**
 * vcpu_scan_ioapic (in-kernel irqchip): sync PIR (kvm_ioapic_scan_entry's pending-EOI test reads
 * IRR), recompute ioapic_handled_vectors, then load it — at once into the current VMCS
 * ('current-vmcs', v4.10 to v4.16), or by KVM_REQ_LOAD_EOI_EXITMAP, deferred while L2 runs
 * ('deferred-in-l2', 4cf4df7ab4d1; v6.12).
 */
export function vcpu_scan_ioapic(kvm: Kvm, t: KvmVcpu): void {
  kvm.sink.step(t.id, 'vcpu_scan_ioapic');
  // kvm_x86_call(sync_pir_to_irr): a NULL hook with enable_apicv=0.
  if (kvm.code.apicv) vmx_sync_pir_to_irr(kvm, t);
  kvm_ioapic_scan_entry(kvm, t, t.ioapicHandled);
  if (kvm.code.eoiExitmapLoad === 'current-vmcs') {
    vcpu_load_eoi_exitmap(kvm, t);
    return;
  }
  if (t.nested.guestMode) {
    kvm.sink.step(t.id, 'load_eoi_exitmap_pending');
    t.loadEoiExitmapPending = true;
  } else kvm_make_request(t, REQ_LOAD_EOI_EXITMAP);
}

/** vcpu_load_eoi_exitmap: ioapic_handled_vectors (no Hyper-V SynIC vectors here) → vmx_load_eoi_exitmap. */
export function vcpu_load_eoi_exitmap(kvm: Kvm, t: KvmVcpu): void {
  kvm.sink.step(t.id, t.nested.guestMode ? 'vmx_load_eoi_exitmap(vmcs02)' : 'vmx_load_eoi_exitmap(vmcs01)');
  vmx_load_eoi_exitmap(kvm, t, t.ioapicHandled);
}

/** vmx_load_eoi_exitmap: vmcs_write64(EOI_EXIT_BITMAP0..3) — whichever VMCS is loaded. */
function vmx_load_eoi_exitmap(kvm: Kvm, t: KvmVcpu, bitmap: VecSet): void {
  // "if (!kvm_vcpu_apicv_active(vcpu)) return;" (v6.12 vmx_load_eoi_exitmap): a scan handled while APICv is
  // inhibited leaves vmcs01's bitmap as it was, and re-activation (kvm_vcpu_update_apicv, later in the same
  // requests phase) does not reload it. Without APICv the bitmap is never used (every EOI exits).
  if (!t.apicvActive) {
    if (kvm.code.apicv && !vsEqual(t.vapic.eoiExit, bitmap)) t.eoiExitStale = EOI_EXITMAP_NOT_LOADED;
    return;
  }
  if (t.nested.guestMode) {
    copy(t.nested.vmcs02EoiExit, bitmap);
    t.eoiExitStale = vsEqual(t.vapic.eoiExit, bitmap) ? '' : STALE_VMCS02;
    return;
  }
  copy(t.vapic.eoiExit, bitmap);
  t.eoiExitStale = '';
}

/**
 * The nested VM exit's part (nested_vmx_vmexit in 4cf4df7ab4d1; leave_guest_mode later): a
 * load deferred while L2 ran becomes KVM_REQ_LOAD_EOI_EXITMAP, handled with vmcs01 loaded.
 */
export function eoi_exitmap_nested_vmexit(t: KvmVcpu): void {
  if (!t.loadEoiExitmapPending) return;
  t.loadEoiExitmapPending = false;
  kvm_make_request(t, REQ_LOAD_EOI_EXITMAP);
}

function copy(dst: VecSet, src: VecSet): void {
  vsClear(dst);
  vsOr(dst, src);
}
