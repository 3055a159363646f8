// The VMCB control-area fields that take part in interrupt delivery (AMD APM vol. 2 §15.20,
// §15.21), as bhyve programs them. Hardware reads them at VMRUN and writes V_IRQ, V_TPR,
// the interrupt shadow and EXITINTINFO back at #VMEXIT; in this model the "live" guest copy
// and the VMCB copy are the same object except for the interrupt shadow, which the guest
// core (GuestCpu.shadow) owns while the guest runs.

/** EVENTINJ / EXITINTINFO TYPE field (APM §15.20). */
export const enum IntrType { Intr = 0, Nmi = 2, Exception = 3, Intn = 4 }

export class VmcbCtrl {
  // int_ctl / int_vector
  /** V_TPR (4 bits). With V_INTR_MASKING = 1 the guest's CR8 reads and writes it without an exit. */
  vTpr = 0;
  vIrq = false;
  vIntrPrio = 0;
  vIgnTpr = false;
  /** bhyve's vmcb_init sets it once and never clears it. */
  readonly vIntrMasking = true;
  /** 0 means "window dummy" (interrupt-window exiting); bhyve never posts a real vector 0. */
  vIntrVector = 0;
  /** int_state bit 0: the guest is in an STI/MOV SS shadow (saved at #VMEXIT, loaded by VMRUN). */
  intrShadow = false;

  // intercept bits that bhyve toggles at run time (the rest are fixed by vmcb_init)
  interceptVintr = false;
  /** bhyve uses the IRET intercept as its "virtual NMI blocking" flag (nmi_blocked()). */
  interceptIret = false;

  eventinjValid = false;
  eventinjType: IntrType = IntrType.Intr;
  eventinjVector = 0;

  exitintinfoValid = false;
  exitintinfoType: IntrType = IntrType.Intr;
  exitintinfoVector = 0;

  reset(): void {
    this.vTpr = 0; this.vIrq = false; this.vIntrPrio = 0; this.vIgnTpr = false; this.vIntrVector = 0;
    this.intrShadow = false; this.interceptVintr = false; this.interceptIret = false;
    this.eventinjValid = false; this.eventinjType = IntrType.Intr; this.eventinjVector = 0;
    this.exitintinfoValid = false; this.exitintinfoType = IntrType.Intr; this.exitintinfoVector = 0;
  }
}

/**
 * svm_eventinject: arm EVENTINJ. Returns a KASSERT message when an event is already
 * pending (the caller reports it as a crash), else null.
 */
export function svmEventinject(ctrl: VmcbCtrl, type: IntrType, vector: number): string | null {
  if (ctrl.eventinjValid) return 'event already pending';
  ctrl.eventinjValid = true;
  ctrl.eventinjType = type;
  ctrl.eventinjVector = vector & 0xff;
  return null;
}

export function intrTypeName(t: IntrType): string {
  switch (t) {
    case IntrType.Intr: return 'hwintr';
    case IntrType.Nmi: return 'nmi';
    case IntrType.Exception: return 'exception';
    case IntrType.Intn: return 'swintr';
  }
}
