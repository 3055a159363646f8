// The host handlers of the physical vectors ACRN sends between pCPUs (hypervisor/arch/x86/notify.c
// and guest/vcpu.c): kick_notification for the kick vector, which only forces the VM exit, and
// for the posted-interrupt notification vector taken in root mode: posted_intr_notification
// (2019, "do nothing here"), then vcpu_handle_pi_notification (00ad3863a), which re-raises
// ACRN_REQUEST_EVENT and signals the vCPU when ON is set — before 0397cb717 only if
// is_pi_capable(vm), i.e. only with VT-d posted interrupts (false on EHL, #4937).
import { PHYS_NV, PHYS_TIMER, REQ_EVENT } from './consts.js';
import { signal_event } from './event.js';
import { vcpu_make_request } from './schedule.js';
import type { Acrn, AcrnVcpu } from './state.js';
import { timer_irq } from './timer.js';

export function host_handler(acrn: Acrn, t: AcrnVcpu, bit: number): void {
  if (bit === PHYS_TIMER) { timer_irq(acrn, t); return; }
  if (bit !== PHYS_NV) {
    acrn.sink.step(t.id, 'kick_notification');
    return;
  }
  switch (acrn.code.piRoot) {
    case 'none':
      return;
    case 'dummy':
      acrn.sink.step(t.id, 'posted_intr_notification');
      if (t.on) t.onFate = 'notification-taken-in-root';
      return;
    case 'pi-capable':
      acrn.sink.step(t.id, 'vcpu_handle_pi_notification');
      // is_pi_capable(vcpu->vm) is false without VT-d posted interrupts: nothing is done.
      if (t.on) t.onFate = t.nvSelfLanded ? 'self-notification-dropped-not-pi-capable' : 'notification-dropped-not-pi-capable';
      return;
    case 'on':
      acrn.sink.step(t.id, 'vcpu_handle_pi_notification');
      if (!t.on) return;
      if (acrn.code.signal === 'before') {
        signal_event(t, t.evIntr, t.id);
        vcpu_make_request(acrn, t, REQ_EVENT, t.id);
      } else {
        vcpu_make_request(acrn, t, REQ_EVENT, t.id);
        signal_event(t, t.evIntr, t.id);
      }
      t.onFate = 'event-requested';
      return;
  }
}
