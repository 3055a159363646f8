// APICv inhibits at run time (Linux 6.12.19, wishday/linux-6.12.y aa44b5f5b): arch/x86/kvm/x86.c
// kvm_set_or_clear_apicv_inhibit, __kvm_set_or_clear_apicv_inhibit, kvm_vcpu_update_apicv,
// __kvm_vcpu_update_apicv; lapic.c kvm_apic_update_apicv; vmx/vmx.c vmx_refresh_apicv_exec_ctrl,
// vmx_sync_pir_to_irr. The VM's inhibit reasons change at once (under apicv_update_lock, after
// KVM_REQ_APICV_UPDATE went to every vCPU); each vCPU's own apic->apicv_active follows only when that
// vCPU handles the request in its next vcpu_enter_guest — until then it keeps posting, virtualizing and
// delivering with APICv, while a vCPU that already switched uses the software LAPIC (inject.ts).
import { Mode, PHYS_CALL_FUNCTION, REQ_APICV_UPDATE, REQ_EVENT } from './consts.js';
import { kvm_make_request, kvm_vcpu_exiting_guest_mode } from './sender.js';
import type { Kvm, KvmVcpu } from './state.js';
import { vsHighest } from '../../apic/vecset.js';

/**
 * kvm_set_or_clear_apicv_inhibit: nothing with enable_apicv=0 ("if (!enable_apicv) return;"); otherwise,
 * when the reasons go from none to some or back ("if (!!old != !!new)"), kvm_make_all_cpus_request(kvm,
 * KVM_REQ_APICV_UPDATE) — the request on every vCPU and an IPI to those not OUTSIDE_GUEST_MODE
 * (KVM_REQUEST_NO_WAKEUP: a blocked vCPU is not woken) — then apicv_inhibit_reasons = new.
 * (KVM_REQUEST_WAIT makes the writer wait for the IPIs' acknowledgement; the writer is in KVM already,
 * so the model leaves the IPIs in flight like KVM_REQ_SCAN_IOAPIC's: the targets exit at their `pirq`.)
 * The kvm_zap_gfn_range of the APIC base only matters for MMIO emulation, not modelled.
 */
export function kvm_set_or_clear_apicv_inhibit(kvm: Kvm, reason: number, set: boolean): void {
  if (!kvm.code.apicv) return;
  const old = kvm.apicvInhibits;
  const now = set ? old | reason : old & ~reason;
  if ((old !== 0) !== (now !== 0)) {
    for (const t of kvm.vcpus) {
      kvm_make_request(t, REQ_APICV_UPDATE);
      if (kvm_vcpu_exiting_guest_mode(t) !== Mode.OUTSIDE) t.phys |= PHYS_CALL_FUNCTION;
    }
  }
  kvm.apicvInhibits = now;
}

/**
 * kvm_vcpu_update_apicv → __kvm_vcpu_update_apicv, from the requests phase of vcpu_enter_guest (after
 * KVM_REQ_SCAN_IOAPIC and KVM_REQ_LOAD_EOI_EXITMAP): activate = no inhibit (the APIC is never
 * hardware-disabled here). On a change: apic->apicv_active, kvm_apic_update_apicv (irr_pending := true,
 * isr_count from ISR: hints the model does not keep), vmx_refresh_apicv_exec_ctrl (pin-based posted-
 * interrupt processing, APIC-register virtualization and virtual-interrupt delivery set or cleared; in
 * guest mode deferred to the nested VM exit, update_vmcs01_apicv_status — vmcs01 is not in use until then,
 * so the model switches at once), and when deactivated KVM_REQ_EVENT ("we may still have injected
 * interrupts pending"). Nothing moves PIR, VIRR or VISR: they are apic->regs and the descriptor, read by
 * whichever path runs next (sync_pir_to_irr runs at every entry "regardless of the vCPU's APICv status").
 * RVI is rewritten at the next entry's vmx_sync_pir_to_irr once active again; SVI is not rewritten
 * (kvm_apic_update_hwapic_isr is not called here in 6.12.19): it keeps the value it had when APICv went off.
 */
export function kvm_vcpu_update_apicv(kvm: Kvm, t: KvmVcpu): void {
  kvm.sink.step(t.id, 'kvm_vcpu_update_apicv');
  const activate = kvm.apicvInhibits === 0;
  if (t.apicvActive === activate) return;
  t.apicvActive = activate;
  kvm.sink.step(t.id, activate ? 'vmx_refresh_apicv_exec_ctrl(on)' : 'vmx_refresh_apicv_exec_ctrl(off)');
  // Virtual-interrupt delivery off: no virtual interrupt stays recognized by the processor.
  if (!activate) {
    t.vapic.recognized = false;
    kvm_make_request(t, REQ_EVENT);
    return;
  }
  // Diagnostics: an interrupt injected in software while APICv was off is in VISR, not in SVI; the next
  // virtualized EOI clears SVI's vector (SDM 29.1.4), not that one. (Fixed later by "KVM: VMX: configure SVI
  // during runtime APICv activation": kvm_apic_update_hwapic_isr here; in 6.12.94.)
  const hi = vsHighest(t.vapic.visr);
  if ((hi < 0 ? 0 : hi) !== t.vapic.svi) t.sviStale = true;
}

/** Tag: a virtualized EOI cleared SVI's stale vector instead of the one in service (see kvm_vcpu_update_apicv). */
export const SVI_STALE = 'svi-stale-after-apicv-activation';
