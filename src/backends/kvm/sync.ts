// The receiver's software sync of the posted-interrupt descriptor into the virtual-APIC page:
// vmx_sync_pir_to_irr, vmx_hwapic_irr_update, vmx_set_rvi (arch/x86/kvm/vmx.c) and
// kvm_apic_update_irr (lapic.c), in their v4.10, v4.11, f27a85c4988d (v4.16) and v6.12 forms.
import { vsHas, vsHighest, vsOr } from '../../apic/vecset.js';
import { Mode, REQ_EVENT } from './consts.js';
import { pi_clear_on, pi_test_on } from './pi_desc.js';
import { kvm_make_request, kvm_vcpu_exiting_guest_mode } from './sender.js';
import type { Kvm, KvmVcpu } from './state.js';

/** vmx_set_rvi: GUEST_INTR_STATUS low byte; −1 becomes 0. */
export function vmx_set_rvi(t: KvmVcpu, vector: number): void {
  t.vapic.rvi = vector < 0 ? 0 : vector;
}

/** nested_exit_on_intr: vmcs12 pin-based external-interrupt exiting. */
export function nested_exit_on_intr(kvm: Kvm): boolean {
  return kvm.machine.nested?.exitOnIntr ?? false;
}

/**
 * vmx_hwapic_irr_update (identical in v4.10, v4.11, v4.16). Outside guest mode RVI follows
 * max_irr. In guest mode with L1 intercepting external interrupts it does nothing, leaving the
 * nested exit to vmx_check_nested_events ("If a vmexit is needed, vmx_check_nested_events
 * handles it"). L2 without external-interrupt exiting (legacy injection into L2) is not
 * supported by this model (Backend.supports).
 */
export function vmx_hwapic_irr_update(kvm: Kvm, t: KvmVcpu, maxIrr: number): void {
  if (!t.nested.guestMode) {
    vmx_set_rvi(t, maxIrr);
    return;
  }
  if (maxIrr === -1) return;
  if (nested_exit_on_intr(kvm)) return;
}

/**
 * __kvm_apic_update_irr: move each PIR chunk into IRR with xchg. Returns whether the highest
 * IRR vector afterwards is one that this call newly set (the v4.16 max_irr_updated).
 */
function kvm_apic_update_irr(t: KvmVcpu): boolean {
  const pir = t.pi.pir;
  const irr = t.vapic.virr;
  let maxUpdated = -1;
  for (let w = 0; w < 8; w++) {
    const p = pir[w]!;
    if (p === 0) continue;
    pir[w] = 0;
    const fresh = p & ~irr[w]!;
    irr[w]! |= p;
    if (fresh !== 0) maxUpdated = (w << 5) + 31 - Math.clz32(fresh);
    // Trace only: what reached L1's IRR while L2 was the guest and a nested exit was
    // possible (with nested_run_pending it belongs to the nested-entry problem).
    if (t.nested.guestMode && !t.nested.runPending) t.nested.syncedInL2[w]! |= p;
  }
  return maxUpdated !== -1 && maxUpdated === vsHighest(irr);
}

/**
 * kvm_x86_ops->sync_pir_to_irr. Returns max_irr (v4.11+) or −2 for the v4.10 void form.
 * The caller has checked kvm_lapic_enabled && apicv_active (always true here).
 */
export function vmx_sync_pir_to_irr(kvm: Kvm, t: KvmVcpu): number {
  kvm.sink.step(t.id, 'vmx_sync_pir_to_irr');
  // Everything posted so far is in IRR after this call: a due point.
  kvm.sink.evaluate(t.id);
  if (kvm.code.sync === 'v4.10') {
    if (!pi_test_on(t.pi)) return -2;
    pi_clear_on(t.pi);
    kvm_apic_update_irr(t);
    // v4.10 kvm_apic_update_irr ends with kvm_make_request(KVM_REQ_EVENT).
    kvm_make_request(t, REQ_EVENT);
    return -2;
  }
  let maxIrr: number;
  if (pi_test_on(t.pi)) {
    pi_clear_on(t.pi);
    const maxIrrUpdated = kvm_apic_update_irr(t);
    maxIrr = vsHighest(t.vapic.virr);
    if (kvm.code.sync === 'today') {
      // v6.12 vmx_sync_pir_to_irr: "Newly recognized interrupts are injected via either virtual
      // interrupt delivery (RVI) or KVM_REQ_EVENT"; in guest mode, or with APICv inhibited on this vCPU
      // ("assigned devices may still attempt to post interrupts"), the request, so kvm_vcpu_exit_request
      // cancels an entry past the mode store and the requests phase (vcpu_scan_ioapic) is followed by the
      // KVM_REQ_EVENT block of the same pass.
      if (!t.nested.guestMode && t.apicvActive) vmx_set_rvi(t, maxIrr);
      else if (maxIrrUpdated) kvm_make_request(t, REQ_EVENT);
      return maxIrr;
    }
    if (kvm.code.sync === 'v4.16' && t.nested.guestMode && maxIrrUpdated) {
      // f27a85c4988d: re-evaluate what to do with the new L1 interrupt.
      if (nested_exit_on_intr(kvm)) {
        // The cmpxchg IN → EXITING does nothing when the sync runs before the mode store
        // (e.g. from vcpu_scan_ioapic in the requests phase): trace which vectors that left.
        if (kvm_vcpu_exiting_guest_mode(t) !== Mode.IN && !t.nested.runPending) vsOr(t.nested.unforcedInL2, t.vapic.virr);
      } else {
        kvm_make_request(t, REQ_EVENT);
      }
    }
  } else {
    maxIrr = vsHighest(t.vapic.virr);
    if (kvm.code.sync === 'today') {
      if (!t.nested.guestMode && t.apicvActive) vmx_set_rvi(t, maxIrr);
      return maxIrr;
    }
  }
  vmx_hwapic_irr_update(kvm, t, maxIrr);
  return maxIrr;
}

/** Whether the vector sits in L1's IRR because sync_pir_to_irr moved it there while L2 ran. */
export function synced_while_l2(t: KvmVcpu, vector: number): boolean {
  return vsHas(t.nested.syncedInL2, vector);
}

