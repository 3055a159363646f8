// A pin that sent a message bare metal would not send is owned by that cause: what the pin does
// afterwards rides with it (docs/oracle.md, "Consequences ride with their cause"). Each scenario
// is a guided-soak interleaving whose later symptom used to open an UNEXPECTED second bucket.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { runScenario } from '../../src/engine/session.js';
import { parseScenario } from '../../src/scenario/schema.js';
import { classify } from '../../src/fuzz/classify.js';

const load = (name: string) => parseScenario(readFileSync(new URL(`./scenarios/${name}`, import.meta.url), 'utf8'), name);
const backend = (n: string) => BACKENDS.find((b) => b.name === n)!;

describe('a pin owned by its first extra message', () => {
  it('bhyve: the EOI of a level message resent on reassert clears Remote IRR; the later read of the entry is that cause', () => {
    const d = runScenario(load('bhyve-pin-resent-then-remote-irr-read.json'), backend('bhyve'), 'fixed').divergences;
    expect(d.map((x) => x.cause)).toEqual(['ioapic:level-resent-on-reassert']);
    expect(d[0]!.symptoms).toContain('read-mismatch:redir-lo');
  });

  it('kvm v4.16: an entry re-serviced by a redirection write, EOIed, lets the next assert through: one cause', () => {
    const d = runScenario(load('kvm-pin-rewrite-resent-then-reassert.json'), backend('kvm'), 'v4.16').divergences;
    expect(d.map((x) => x.cause)).not.toContain('ioapic:level-resent-on-reassert');
    expect(d[0]!.cause).toBe('ioapic:level-resent-on-redirection-write');
  });

  it('kvm v4.16: the old vector resent to the new destination, then seen in that vCPU\'s TMR: one cause', () => {
    const d = runScenario(load('kvm-old-vector-resent-then-tmr-read.json'), backend('kvm'), 'v4.16').divergences;
    expect(d.map((x) => x.cause)).toEqual(['ioapic:old-vector-resent-on-destination-write']);
    expect(d[0]!.symptoms).toContain('read-mismatch:tmr');
  });

  it('bhyve: an edge raised while masked, sent on the unmasking rewrite and seen in IRR after a second rewrite, is the I/O APIC cause (not a read)', () => {
    const d = runScenario(load('bhyve-masked-edge-sent-old-vector-read.json'), backend('bhyve'), 'fixed').divergences;
    // The second rewrite's re-send of the line rides with the pin's first extra message.
    expect(d.map((x) => x.cause)).toEqual(['ioapic:edge-raised-while-masked-sent']);
    expect(d[0]!.symptoms).toEqual(expect.arrayContaining(['read-mismatch:irr', 'spurious:none']));
  });

  it('acrn/3374-adv: the same, with the extra vector seen in another vCPU\'s IRR', () => {
    const d = runScenario(load('acrn-masked-edge-sent-old-vector-read.json'), backend('acrn'), '3374-adv').divergences;
    expect(d.map((x) => x.cause)).toEqual(['ioapic:edge-raised-while-masked-sent']);
  });
});

describe('an instance bare metal merged that the backend held apart is the hold (explain \'collapsed\')', () => {
  it('xen 4.22: a level message on the bus at an SVR disable (optional), kept in IRR behind a blocked NMI past the boundary where bare metal would take it, then injected: the NMI hold, not a duplicate of its own', () => {
    const d = runScenario(load('xen-optional-held-behind-blocked-nmi.json'), backend('xen'), '4.22').divergences;
    expect(d.map((x) => x.cause)).toEqual(['stuck:intr-behind-blocked-nmi']);
    expect(d[0]!.kind).toBe('duplicate');
  });

  it('xen 4.22: the same after the IRET intercept fired (the line reasserted meanwhile is not an I/O APIC cause)', () => {
    const d = runScenario(load('xen-optional-held-behind-nmi-after-iret-exit.json'), backend('xen'), '4.22').divergences;
    expect(d.map((x) => x.cause)).toEqual(['stuck:intr-behind-blocked-nmi']);
  });

  it('xen rework: a level EOI avoided through the assist and noticed after a destination rewrite re-sends to the new vCPU: the deferred EOI, not the rewrite', () => {
    const d = runScenario(load('xen-avoided-level-eoi-resent-after-rewrite.json'), backend('xen'), 'rework').divergences;
    expect(d.map((x) => x.cause)).toEqual(['ioapic:vioapic-eoi-deferred-by-avoided-eoi']);
  });

  it('baremetal stays clean on all five', () => {
    for (const f of ['bhyve-masked-edge-sent-old-vector-read.json', 'acrn-masked-edge-sent-old-vector-read.json', 'xen-optional-held-behind-blocked-nmi.json', 'xen-optional-held-behind-nmi-after-iret-exit.json', 'xen-avoided-level-eoi-resent-after-rewrite.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('a HLT ended by an NMI still on the bus while a kick is in flight (REF-LAT, REF-HLT-1)', () => {
  it('kvm v6.12: the NMI lands (it may at any moment) and explains the HLT ending; the hold behind the interrupt window is the cause', () => {
    for (const v of ['v6.12', 'v6.12-vtd']) {
      const d = runScenario(load('kvm-nmi-by-request-kick-in-flight-ends-hlt.json'), backend('kvm'), v).divergences;
      expect(d.map((x) => x.cause), v).toEqual(['stuck:nmi-behind-irq-window']);
    }
    // (A nested machine: baremetal does not run it; kvm-nvmx, the other nested model, has no such window.)
  });
});

describe('soak s5b (clean variants, 1.67e9 events): the mechanism names its cause', () => {
  it('bhyve/fixed: a lowest-priority broadcast entry sends to every vCPU (vlapic_calcdest returns vm_active_cpus first): ioapic:lowprio-broadcast-to-all', () => {
    expect(runScenario(load('bhyve-lowprio-broadcast-pin.json'), backend('bhyve'), 'fixed').divergences.map((x) => x.cause)).toEqual(['ioapic:lowprio-broadcast-to-all']);
  });

  it('bhyve/fixed: an NMI IPI merged into a LINT1 NMI raised from another CPU leaves the LINT cause standing', () => {
    expect(runScenario(load('bhyve-lint1-nmi-then-ipi-nmi.json'), backend('bhyve'), 'fixed').divergences.map((x) => x.cause)).toEqual(['stuck:lint-raised-on-other-cpu']);
  });

  it('acrn/1443-vid (2018 tree): TMR recomputed from the table loses the bit of an accepted level message whose vector left the table', () => {
    expect(runScenario(load('acrn-2018-tmr-cleared-by-table-update.json'), backend('acrn'), '1443-vid').divergences.map((x) => x.cause)).toEqual(['read:tmr-cleared-by-table-update']);
  });

  it('bhyve/fixed: a vector late because its EOI was lost (TMR reset by a redirection write) is that cause, though a resend on reassert put a copy in the vIRR', () => {
    expect(runScenario(load('bhyve-eoi-lost-then-reassert-copy.json'), backend('bhyve'), 'fixed').divergences.map((x) => x.cause)).toEqual(['stuck:eoi-lost-tmr-reset-by-rtbl-write']);
  });

  it('baremetal stays clean on all four', () => {
    for (const f of ['bhyve-lowprio-broadcast-pin.json', 'bhyve-lint1-nmi-then-ipi-nmi.json', 'acrn-2018-tmr-cleared-by-table-update.json', 'bhyve-eoi-lost-then-reassert-copy.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('soak s5final (clean variants, 9.5e8 events): the last two unexpected name their mechanism', () => {
  it('kvm: an NMI processed under STI blocking waits behind the interrupt window enable_nmi_window asked for; the IRET that unblocks NMIs restores IF = 0, so it comes one IRET later than bare metal: the hold, not a duplicate', () => {
    for (const v of ['v4.10', 'v4.16', 'v6.12', 'v6.12-vtd']) {
      const d = runScenario(load('kvm-nmi-behind-irq-window-after-iret.json'), backend('kvm'), v).divergences;
      expect(d.map((x) => x.cause), v).toEqual(['stuck:nmi-behind-irq-window']);
      expect(d[0]!.kind, v).toBe('duplicate');
    }
  });

  it('xen: the page re-mapped under a pending assist makes a phantom EOI that retires the level vector in service; a read of its entry shows Remote IRR clear: the phantom EOI, not a read cause of its own', () => {
    for (const v of ['rework', '4.22']) {
      const d = runScenario(load('xen-phantom-eoi-remote-irr-read.json'), backend('xen'), v).divergences;
      expect(d.map((x) => x.cause), v).toEqual(['read:phantom-eoi-after-vp-assist-remap']);
      expect(d[0]!.symptoms, v).toContain('read-mismatch:redir-lo');
    }
  });

  it('both are silent on bare metal', () => {
    for (const f of ['kvm-nmi-behind-irq-window-after-iret.json', 'xen-phantom-eoi-remote-irr-read.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('soak s6a (baremetal, bhyve/fixed, kvm-nvmx/fixed, 1.2e9 events): bhyve names its mechanism', () => {
  it('a lowest-priority pin whose physical destination is an ID the guest wrote: vlapic_id_write_handler undid the write, so vlapic_calcdest picks the old owner of the ID', () => {
    const d = runScenario(load('bhyve-lowprio-pin-after-undone-id-write.json'), backend('bhyve'), 'fixed').divergences;
    expect(d.map((x) => x.cause)).toEqual(['spurious:apic-id-write-ignored']);
  });

  it('a level EOI lost to the TMR rendezvous, then the entry given another vector and resent on reassert: the old vector still waits on the lost EOI', () => {
    const d = runScenario(load('bhyve-eoi-lost-then-vector-rewritten-resend.json'), backend('bhyve'), 'fixed').divergences;
    expect(d[0]!.cause).toBe('stuck:eoi-lost-tmr-reset-by-rtbl-write');
    expect(d.map((x) => x.cause)).not.toContain('stuck:untagged');
  });

  it('both are silent on bare metal', () => {
    for (const f of ['bhyve-lowprio-pin-after-undone-id-write.json', 'bhyve-eoi-lost-then-vector-rewritten-resend.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('soak s6final (9 clean variants, 1.04e9 events): ACRN\'s held timer expiry seen by an IRR read', () => {
  it('acrn/3374-basic: the expiry held from CPU_IRQ_DISABLE to the entry lands behind the injection of its own vector; an IRR read shows the second instance: the hold, not a read cause of its own', () => {
    const d = runScenario(load('acrn-timer-expiry-held-seen-in-irr.json'), backend('acrn'), '3374-basic').divergences;
    // The read shows it first; the second instance's delivery later is the same mechanism's duplicate view.
    expect(d[0]!.cause).toBe('read:timer-expiry-held-irqs-off-at-entry');
    expect(d.map((x) => x.cause.split(':')[1])).toEqual(d.map(() => 'timer-expiry-held-irqs-off-at-entry'));
    expect(runScenario(load('acrn-timer-expiry-held-seen-in-irr.json'), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('soak s7 (xen/4.22, seed s6final, 8.4e8 events): an owed timer expiry survives an LVT vector rewrite', () => {
  // Xen clamps the 7- and 4-unit periods to 0.1 ms (create_periodic_time), so bare metal's expiries of the
  // first vector are owed; the guest then gives the LVT another vector, whose expiry is owed too. The
  // diagnostics kept one owed expiry, so the second overwrote the first and the old vector went untagged.
  it('the old vector left pending on bare metal is the clamp, not untagged', () => {
    const d = runScenario(load('xen-timer-owed-old-vector-after-lvtt-rewrite.json'), backend('xen'), '4.22').divergences;
    expect(d[0]!.cause).toBe('stuck:periodic-timer-period-clamped-to-100us');
    expect(d.map((x) => x.cause)).not.toContain('stuck:untagged');
  });

  it('a priority inversion behind the owed old vector is the clamp, not eventinj', () => {
    const d = runScenario(load('xen-timer-owed-old-vector-priority.json'), backend('xen'), '4.22').divergences;
    expect(d[0]!.cause).toBe('stuck:periodic-timer-period-clamped-to-100us');
    expect(d.map((x) => x.cause)).not.toContain('priority:eventinj');
  });

  it('both are silent on bare metal', () => {
    for (const f of ['xen-timer-owed-old-vector-after-lvtt-rewrite.json', 'xen-timer-owed-old-vector-priority.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('soak s7x (xen/rework): a tick pt_resume puts back while the LVT is still masked is not what the guest takes', () => {
  it('the MSI accepted while software-disabled is the delivery, not a masked timer tick', () => {
    const d = runScenario(load('xen-msi-accepted-disabled-then-masked-tick-resumed.json'), backend('xen'), 'rework').divergences;
    expect(d.map((x) => x.cause)).toEqual(['duplicate:fixed-irq-accepted-while-sw-disabled']);
  });

  it('an IRR read of it is the same acceptance', () => {
    const d = runScenario(load('xen-msi-accepted-disabled-masked-tick-read.json'), backend('xen'), 'rework').divergences;
    expect(d[0]!.cause).toBe('read:fixed-irq-accepted-while-sw-disabled');
  });

  it('4.22 (after f1d7aac1e3) and bare metal are silent on both', () => {
    for (const f of ['xen-msi-accepted-disabled-then-masked-tick-resumed.json', 'xen-msi-accepted-disabled-masked-tick-read.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
      expect(runScenario(load(f), backend('xen'), '4.22').divergences, f).toEqual([]);
    }
  });
});

describe('soak s7y (xen/4.22, xen/rework, bhyve/fixed, kvm-nvmx/fixed): the mechanism, not the pin or the routing', () => {
  it('bhyve/fixed: a vIRR vector below a TPR the guest lowered through CR8 is the unnoticed CR8 write, also when the line was reasserted under Remote IRR', () => {
    const d = runScenario(load('bhyve-tpr-cr8-lowered-under-level-resend.json'), backend('bhyve'), 'fixed').divergences;
    expect(d.map((x) => x.cause)).toEqual(['stuck:tpr-cr8-unnoticed']);
  });

  it('xen/rework: an illegal-vector IPI to the logical broadcast misses RIV by the SENDILL break, whatever Xen\'s matching', () => {
    const d = runScenario(load('xen-illegal-vector-logical-broadcast-esr.json'), backend('xen'), 'rework').divergences;
    expect(d.map((x) => x.cause)).toEqual(['read:riv-skipped-by-sendill-break']);
  });

  it('both are silent on bare metal', () => {
    for (const f of ['bhyve-tpr-cr8-lowered-under-level-resend.json', 'xen-illegal-vector-logical-broadcast-esr.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('ACRN x2APIC merge: an illegal SELF_IPI names its handler, not the ESR shape', () => {
  it('v3.3-adv and v3.3-basic: read:illegal-vector-ipi-not-sent; bare metal silent', () => {
    for (const v of ['v3.3-adv', 'v3.3-basic']) {
      expect(runScenario(load('acrn-x2apic-illegal-self-ipi-esr.json'), backend('acrn'), v).divergences.map((x) => x.cause), v)
        .toEqual(['read:illegal-vector-ipi-not-sent']);
    }
    expect(runScenario(load('acrn-x2apic-illegal-self-ipi-esr.json'), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

// Issue 8: a level pin's vector shared with an edge source (the generator's sharedVectors). Where
// the backend's TMR does not follow acceptance, the TMR read names that mechanism, not the
// oracle's generic shape (read:tmr-set-without-level-message, left UNEXPECTED).
describe('a level pin\'s vector shared with an edge source: TMR kept set by the edge acceptance', () => {
  const causes = (file: string, b: string, v: string) => runScenario(load(file), backend(b), v).divergences.map((d) => d.cause);
  const known = (b: string, v: string, cause: string) => classify(BACKENDS, `${b}/${v}:${cause}`);

  it('bhyve: TMR is the table\'s (vioapic_update_tmr), an IPI of the pin\'s vector leaves it set: read:tmr-programmed-from-rtbl', () => {
    for (const v of ['prefix', 'fixed', 'main']) {
      expect(causes('bhyve-tmr-programmed-kept-by-shared-ipi.json', 'bhyve', v)).toEqual(['read:tmr-programmed-from-rtbl']);
      expect(known('bhyve', v, 'read:tmr-programmed-from-rtbl')).toBe('known');
    }
    // KVM sets and clears TMR per acceptance (__apic_accept_irq): nothing to tell apart.
    expect(causes('bhyve-tmr-programmed-kept-by-shared-ipi.json', 'kvm', 'v6.12')).toEqual([]);
  });

  it('acrn 2018 tree: the same (TMR from the table); since 2019 TMR follows acceptance', () => {
    for (const v of ['2018-basic', 'pre-1443-vid', '1443-vid']) {
      expect(causes('acrn-2018-tmr-programmed-kept-by-shared-ipi.json', 'acrn', v)).toEqual(['read:tmr-programmed-from-rtbl']);
      expect(known('acrn', v, 'read:tmr-programmed-from-rtbl')).toBe('known');
    }
    expect(causes('acrn-2018-tmr-programmed-kept-by-shared-ipi.json', 'acrn', 'v3.3-basic')).toEqual([]);
  });

  it('kvm -vtd: a VT-d posted MSI of the pin\'s vector leaves TMR set, the EOI is broadcast as level and the asserted pin sends again: ioapic:tmr-kept-by-vtd-posted-msi', () => {
    for (const v of ['v4.10', 'v4.11', 'v4.16', 'v6.12']) {
      expect(causes('kvm-vtd-posted-msi-keeps-level-tmr.json', 'kvm', `${v}-vtd`)).toEqual(['ioapic:tmr-kept-by-vtd-posted-msi']);
      expect(known('kvm', `${v}-vtd`, 'ioapic:tmr-kept-by-vtd-posted-msi')).toBe('known');
      // Without VT-d the MSI goes through __apic_accept_irq, which clears TMR as bare metal does.
      expect(causes('kvm-vtd-posted-msi-keeps-level-tmr.json', 'kvm', v)).toEqual([]);
    }
  });

  it('acrn 2018 tree: the EOI of an edge instance of a level pin\'s vector is broadcast (TMR from the table): ioapic:eoi-of-edge-instance-broadcast-by-table-tmr', () => {
    for (const file of ['acrn-2018-edge-instance-eoi-broadcast.json', 'acrn-2018-vid-edge-ipi-eoi-broadcast.json']) {
      for (const v of ['2018-basic', 'pre-1443-vid', '1443-vid']) {
        expect(causes(file, 'acrn', v), `${file} ${v}`).toEqual(['ioapic:eoi-of-edge-instance-broadcast-by-table-tmr']);
        expect(known('acrn', v, 'ioapic:eoi-of-edge-instance-broadcast-by-table-tmr')).toBe('known');
      }
      // Since 2019 TMR follows acceptance: the edge instance's EOI goes nowhere, as on bare metal.
      expect(causes(file, 'acrn', 'v3.3-basic')).toEqual([]);
    }
  });

  it('xen before 12a50030: vlapic_set_irq leaves TMR set for an edge message: read:tmr-kept-on-edge-acceptance; 4.22 clears it', () => {
    for (const v of ['first', 'pre-fix', 'rework']) {
      expect(causes('xen-old-tmr-kept-on-edge-acceptance.json', 'xen', v)).toEqual(['read:tmr-kept-on-edge-acceptance']);
      expect(known('xen', v, 'read:tmr-kept-on-edge-acceptance')).toBe('known');
    }
    expect(causes('xen-old-tmr-kept-on-edge-acceptance.json', 'xen', '4.22')).toEqual([]);
  });

  it('xen before 12a50030: that kept TMR bit makes the EOI go to vioapic_update_EOI, which re-sends the asserted pin: ioapic:tmr-kept-on-edge-acceptance', () => {
    for (const v of ['first', 'pre-fix', 'rework']) {
      expect(causes('xen-old-kept-tmr-eoi-resends-pin.json', 'xen', v)).toEqual(['ioapic:tmr-kept-on-edge-acceptance']);
      expect(known('xen', v, 'ioapic:tmr-kept-on-edge-acceptance')).toBe('known');
    }
    expect(causes('xen-old-kept-tmr-eoi-resends-pin.json', 'xen', '4.22')).toEqual([]);
  });

  it('bhyve: an IPI of the vector in vIRR does not hide the pin\'s re-send a lost EOI held back (whereStuck names the lost EOI, not virr)', () => {
    for (const v of ['prefix', 'fixed', 'main']) {
      expect(causes('bhyve-eoi-lost-then-shared-ipi-in-virr.json', 'bhyve', v)).toEqual(['stuck:eoi-lost-tmr-reset-by-rtbl-write']);
    }
  });
});

// Soak g1 of the generator's new streams (issue 8): two older naming gaps the shifted streams reached.
describe('the cause a vector is held or sent by, ahead of a coincident flag', () => {
  const causes = (file: string, b: string, v: string) => runScenario(load(file), backend(b), v).divergences.map((d) => d.cause);

  it('xen rework: an MSI accepted while software-disabled is the extra instance, not the masked tick pt_resume re-queued (the LVT stays masked)', () => {
    for (const v of ['pre-fix', 'rework']) {
      expect(causes('xen-msi-while-disabled-and-masked-tick-resumed.json', 'xen', v)).toEqual(['duplicate:fixed-irq-accepted-while-sw-disabled']);
    }
    // f1d7aac1e3 (4.22) refuses the MSI while disabled: nothing extra.
    expect(causes('xen-msi-while-disabled-and-masked-tick-resumed.json', 'xen', '4.22')).toEqual([]);
  });

  it('bhyve: a vIRR vector held only by the CR8 value read back at the last exit is tpr-cr8-unnoticed, even with a pin re-send collapsed into it', () => {
    for (const v of ['prefix', 'fixed', 'main']) {
      expect(causes('bhyve-cr8-lowered-with-pin-copy-in-virr.json', 'bhyve', v)).toContain('stuck:tpr-cr8-unnoticed');
      expect(causes('bhyve-cr8-lowered-with-pin-copy-in-virr.json', 'bhyve', v)).not.toContain('stuck:ioapic-remote-irr-set');
    }
  });
});

describe('rates on the merged generator (session 7): the last unexpected of bhyve/main and acrn/2018-basic name their mechanism', () => {
  const causes = (file: string, b: string, v: string) => runScenario(load(file), backend(b), v).divergences.map((d) => d.cause);
  it('bhyve/main: the timer expiry held by GIF = 0 and owed to the softclock thread, a lower IPI injected first', () => {
    expect(causes('bhyve-main-timer-softclock-owed-lower-ipi-first.json', 'bhyve', 'main')).toEqual(['stuck:timer-callout-softclock-owed']);
  });
  it('bhyve/main: the late callout raises a second instance of a vector bare metal\'s expiry merged into the pending one', () => {
    expect(causes('bhyve-main-timer-softclock-owed-duplicate.json', 'bhyve', 'main')).toEqual(['duplicate:timer-callout-softclock-owed']);
  });
  it('acrn/2018-basic: an MSI with vector 11 to a software-disabled vLAPIC is dropped by vlapic_set_intr\'s -EINVAL, no RIV', () => {
    expect(causes('acrn-2018-illegal-msi-while-sw-disabled-esr.json', 'acrn', '2018-basic')).toEqual(['read:device-illegal-vector-dropped']);
  });
  it('all three are silent on bare metal', () => {
    for (const f of ['bhyve-main-timer-softclock-owed-lower-ipi-first.json', 'bhyve-main-timer-softclock-owed-duplicate.json', 'acrn-2018-illegal-msi-while-sw-disabled-esr.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('REF-ESR-1: an open Receive Illegal Vector shown by an ESR read was latched by that read\'s write', () => {
  it('acrn/3374-basic latches it at the first write-and-read; the second read shows ESR 0, as bare metal would', () => {
    expect(runScenario(load('acrn-illegal-msi-riv-latched-by-first-esr-read.json'), backend('acrn'), '3374-basic').divergences).toEqual([]);
    expect(runScenario(load('acrn-illegal-msi-riv-latched-by-first-esr-read.json'), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('soak s7final (13 clean variants and baremetal): the last three', () => {
  it('REF-ESR-1: a RIV that already landed shown by the first ESR read proves nothing about one still on the bus (baremetal silent)', () => {
    expect(runScenario(load('riv-landed-and-riv-in-flight-esr-reads.json'), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
  it('xen/rework: an error shown before any ESR write latched it is the plain read/write ESR of the trees before b28b590d', () => {
    expect(runScenario(load('xen-old-esr-error-visible-before-write.json'), backend('xen'), 'rework').divergences.map((d) => d.cause)).toEqual(['read:esr-plain-read-write-register']);
    expect(runScenario(load('xen-old-esr-error-visible-before-write.json'), backend('xen'), '4.22').divergences).toEqual([]);
  });
  it('xen/4.22: a level re-send lost because the avoided EOI was noticed after the line went low is the deferred EOI', () => {
    expect(runScenario(load('xen-avoided-level-eoi-noticed-after-line-low.json'), backend('xen'), '4.22').divergences[0]!.cause).toBe('stuck:vioapic-eoi-deferred-by-avoided-eoi');
    expect(runScenario(load('xen-avoided-level-eoi-noticed-after-line-low.json'), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('soak s7final2: two more names', () => {
  it('kvm/v6.12-noapicv: an illegal MSI to a software-disabled APIC misses RIV because KVM keeps no ESR at all', () => {
    expect(runScenario(load('kvm-illegal-msi-to-disabled-apic-esr.json'), backend('kvm'), 'v6.12-noapicv').divergences.map((d) => d.cause)).toEqual(['read:no-illegal-vector-check']);
  });
  it('xen/rework: an IRR read before the aligned first periodic tick is that alignment', () => {
    expect(runScenario(load('xen-first-tick-aligned-irr-read.json'), backend('xen'), 'rework').divergences[0]!.cause).toBe('read:periodic-timer-first-tick-aligned');
  });
  it('both are silent on bare metal', () => {
    for (const f of ['kvm-illegal-msi-to-disabled-apic-esr.json', 'xen-first-tick-aligned-irr-read.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('soak s7final2: the untriaged xen/rework timer duplicates', () => {
  // align_timer() moves the first tick of a periodic timer to a multiple of the period; every later tick keeps that
  // phase, so a tick can fall between two of bare metal's expiries after bare metal's last one collapsed.
  it('xen: a tick of the shifted train after a collapsed expiry is the aligned first tick, on every tree that aligns', () => {
    const f = 'xen-aligned-first-tick-after-collapsed-msi.json';
    for (const variant of ['rework', '4.22']) {
      expect(runScenario(load(f), backend('xen'), variant).divergences.map((d) => d.cause), `${f} ${variant}`).toEqual(['duplicate:periodic-timer-first-tick-aligned']);
    }
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
  });
  // Session 10 (the model's timer mode is now libxl's no_delay_for_missed_ticks, read at every tree): in these two trains
  // the first tick waits for TIMER_SOFTIRQ past later expiries; pt_intr_post (pt_irq_fired at 4.22) takes it off
  // pending_intr_nr and pt_process_missed_ticks adds the expiries that passed (`pending_intr_nr += missed_ticks`), so
  // set_timer is not called and pt_update_irq raises them one by one after the EOI. Bare metal's expiries collapsed into
  // the instance taken: that owed tick is the first extra interrupt, before any off-phase tick of the aligned train.
  it('xen: the aligned train whose first tick waited past an expiry re-delivers that expiry (missed-ticks-delivered-one-by-one)', () => {
    const f = 'xen-aligned-tick-train-duplicate.json';
    for (const variant of ['rework', '4.22']) {
      // The owed tick (due at 20,000,000) is injected at 23,000,000, the instant the next one is due: pt_irq_fired finds
      // nothing missed (`missed_ticks <= 0`) and set_timer fires at once, a second extra tick.
      expect(runScenario(load(f), backend('xen'), variant).divergences.map((d) => d.cause), `${f} ${variant}`)
        .toEqual(['duplicate:missed-ticks-delivered-one-by-one', 'duplicate:periodic-tick-due-at-injection-resent']);
    }
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
  });
  it('xen: the same train started on a multiple of its period is not shifted; its two missed expiries are delivered one by one', () => {
    const causes = runScenario(load('xen-unshifted-tick-train.json'), backend('xen'), 'rework').divergences.map((d) => d.cause);
    expect(causes).toEqual(['duplicate:missed-ticks-delivered-one-by-one']);
    expect(runScenario(load('xen-unshifted-tick-train.json'), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('soak s8xen: three more names', () => {
  it('xen/4.22: an edge instance held behind the avoided EOI an unmapped VP assist page left in service is that lost EOI (not the level misretirement)', () => {
    expect(runScenario(load('xen-edge-held-behind-unmapped-assist-late.json'), backend('xen'), '4.22').divergences.map((d) => d.cause)).toEqual(['duplicate:avoided-eoi-lost-on-vp-assist-unmap']);
  });
  it('xen/4.22: an illegal-vector MSI to a software-disabled vlapic sets no RIV (skipped before vlapic_set_irq since f1d7aac1e3); rework takes it into vlapic_set_irq', () => {
    expect(runScenario(load('xen-illegal-msi-to-disabled-vlapic-esr.json'), backend('xen'), '4.22').divergences.map((d) => d.cause)).toEqual(['read:illegal-vector-skipped-at-disabled-vlapic']);
    expect(runScenario(load('xen-illegal-msi-to-disabled-vlapic-esr.json'), backend('xen'), 'rework').divergences).toEqual([]);
  });
  it('xen/rework: a phantom EOI on one vCPU re-sends a level line to another vCPU: the phantom EOI, not an I/O APIC shape', () => {
    expect(runScenario(load('xen-phantom-eoi-level-resent-to-new-dest.json'), backend('xen'), 'rework').divergences.map((d) => d.cause)).toEqual(['ioapic:phantom-eoi-after-vp-assist-remap']);
  });
  it('all three are silent on bare metal', () => {
    for (const f of ['xen-edge-held-behind-unmapped-assist-late.json', 'xen-illegal-msi-to-disabled-vlapic-esr.json', 'xen-phantom-eoi-level-resent-to-new-dest.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('the hour-long campaign of session 8: five more names', () => {
  const causes = (f: string, b: string, v: string) => runScenario(load(f), backend(b), v).divergences.map((d) => d.cause);
  it('kvm/v6.12: an illegal vector no APIC accepted (a lowest-priority MSI at a disabled APIC) misses RIV: KVM keeps no ESR', () => {
    expect(causes('kvm-illegal-lowest-msi-to-disabled-apic-esr.json', 'kvm', 'v6.12')).toEqual(['read:no-illegal-vector-check']);
  });
  it('kvm/v6.12-vtd: a vector held by VPPR from the stale SVI after APICv re-activation is that stale SVI', () => {
    expect(causes('kvm-svi-stale-holds-new-vector.json', 'kvm', 'v6.12-vtd')).toEqual(['stuck:svi-stale-after-apicv-activation']);
  });
  it('bhyve: an illegal-vector MSI bare metal routes by the written APIC ID misses RIV on the vCPU bhyve kept at its vcpuid', () => {
    for (const v of ['prefix', 'fixed', 'main']) expect(causes('bhyve-illegal-msi-to-undone-apic-id.json', 'bhyve', v), v).toEqual(['read:apic-id-write-ignored']);
  });
  it('xen/first: an IRR read of the masked tick pt_resume re-queued is that re-queue', () => {
    expect(causes('xen-first-masked-tick-resumed-irr-read.json', 'xen', 'first')).toEqual(['read:masked-timer-tick-delivered-on-unmask']);
    expect(classify([backend('xen')], 'xen/first:read:masked-timer-tick-delivered-on-unmask')).toBe('known');
    expect(classify([backend('bhyve')], 'bhyve/fixed:read:msi-xapic-dest-format')).toBe('known');
  });
  it('kvm/v4.10-vtd: the re-send owed by a level EOI lost in L2 stays that lost EOI after a redirection write cleared Remote IRR', () => {
    expect(causes('kvm-eoi-lost-in-l2-then-rtbl-write.json', 'kvm', 'v4.10-vtd')).toEqual(['stuck:eoi-exitmap-loaded-into-vmcs02']);
  });
  it('kvm/v4.10: a level re-send by a redirection write to the lowest-priority physical broadcast is the fixed broadcast KVM makes of it', () => {
    expect(causes('kvm-rtbl-write-resends-to-phys-broadcast-lowest.json', 'kvm', 'v4.10')).toEqual(['ioapic:lowest-priority-phys-broadcast-sent-fixed']);
    expect(classify([backend('kvm')], 'kvm/v4.10:ioapic:lowest-priority-phys-broadcast-sent-fixed')).toBe('known');
  });
  it('xen/first: a timer tick posted under the old LVTT vector is posted again under the new one (2016 vlapic_reg_write); later trees re-create the timer', () => {
    expect(causes('xen-first-lvtt-vector-rewrite-reposts-tick.json', 'xen', 'first')).toEqual(['duplicate:timer-tick-reposted-under-new-vector']);
    expect(runScenario(load('xen-first-lvtt-vector-rewrite-reposts-tick.json'), backend('xen'), 'rework').divergences).toEqual([]);
  });
  it('bhyve: an NMI misrouted by the undone ID write is that deviation even when another NMI is pending on the vCPU', () => {
    for (const v of ['prefix', 'fixed', 'main']) expect(causes('bhyve-nmi-misrouted-by-undone-id-with-other-nmi-pending.json', 'bhyve', v), v).toEqual(['stuck:apic-id-write-ignored']);
    expect(runScenario(load('bhyve-nmi-misrouted-by-undone-id-with-other-nmi-pending.json'), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
  it('all five are silent on bare metal', () => {
    for (const f of ['kvm-rtbl-write-resends-to-phys-broadcast-lowest.json', 'xen-first-lvtt-vector-rewrite-reposts-tick.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
    for (const f of ['kvm-illegal-lowest-msi-to-disabled-apic-esr.json', 'kvm-svi-stale-holds-new-vector.json', 'bhyve-illegal-msi-to-undone-apic-id.json',
      'xen-first-masked-tick-resumed-irr-read.json', 'kvm-eoi-lost-in-l2-then-rtbl-write.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('bhyve: an illegal LVT vector', () => {
  it('SDM 10.5.3: an LVT entry with an illegal vector sets Receive Illegal Vector; bhyve\'s vlapic_fire_lvt sets Send Illegal Vector', () => {
    const s = parseScenario(readFileSync(new URL('../../corpus/bhyve/bhyve-lvt-illegal-vector-send-illegal.json', import.meta.url), 'utf8'), 'lvt');
    expect(runScenario(s, backend('baremetal'), 'sdm').divergences).toEqual([]);
    for (const v of ['prefix', 'fixed', 'main']) {
      expect(runScenario(s, backend('bhyve'), v).divergences.map((d) => d.cause), v).toEqual(['read:lvt-illegal-vector-sets-send-illegal']);
    }
  });
});

describe('the guided final soak of session 8: KVM v6.12 names', () => {
  const causes = (f: string, v: string) => runScenario(load(f), backend('kvm'), v).divergences.map((d) => d.cause);
  it('kvm_ioapic_update_eoi_one takes the trigger mode from TMR: a level EOI re-services an entry rewritten to edge', () => {
    expect(causes('kvm-level-eoi-reservices-edge-entry.json', 'v6.12')[0]).toBe('ioapic:edge-entry-reserviced-by-level-eoi');
  });
  it('a stale SVI after APICv re-activation: the level EOI it retires in place of the vector in service is lost; a PPR read shows it too', () => {
    expect(causes('kvm-svi-stale-level-eoi-lost.json', 'v6.12')[0]).toBe('stuck:svi-stale-after-apicv-activation');
    expect(causes('kvm-svi-stale-ppr-read.json', 'v6.12')[0]).toBe('read:svi-stale-after-apicv-activation');
  });
  it('all silent on bare metal', () => {
    for (const f of ['kvm-level-eoi-reservices-edge-entry.json', 'kvm-svi-stale-level-eoi-lost.json', 'kvm-svi-stale-ppr-read.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('session-9 triage of the guided soak: KVM and ACRN lowest-priority messages that reach no one or the wrong pin', () => {
  const run = (f: string, b: string, v: string) => runScenario(load(f), backend(b), v).divergences;
  const causes = (f: string, b: string, v: string) => run(f, b, v).map((d) => d.cause);
  const known = (b: string, v: string, cause: string) => classify(BACKENDS, `${b}/${v}:${cause}`);

  it('kvm v6.12: an edge lowest-priority IPI of an in-service level vector hashed to an absent APIC leaves TMR set; the TMR read rides with the drop (edgeLostByHashing)', () => {
    const d = run('kvm-lowest-hashed-absent-edge-ipi-tmr-read.json', 'kvm', 'v6.12');
    expect(d[0]!.cause).toBe('read:lowest-priority-hashed-to-absent-apic');
    expect(d[0]!.symptoms).toContain('read-mismatch:tmr');
    expect(d.map((x) => x.cause)).not.toContain('read:tmr-set-without-level-message');
    expect(known('kvm', 'v6.12', 'read:lowest-priority-hashed-to-absent-apic')).toBe('known');
  });

  it('kvm v6.12-vtd: a level EOI re-services another pin\'s edge entry of the vector; its lowest-priority choice, read as the level pin\'s re-send, is that cause', () => {
    const c = causes('kvm-vtd-level-eoi-reservices-shared-edge-pin.json', 'kvm', 'v6.12-vtd');
    expect(c[0]).toBe('spurious:edge-entry-reserviced-by-level-eoi');
    expect(c).not.toContain('spurious:lowest-priority-outside-destinations');
    expect(known('kvm', 'v6.12-vtd', 'spurious:edge-entry-reserviced-by-level-eoi')).toBe('known');
  });

  it('kvm v6.12-vtd: a level redirection entry\'s lowest-priority message hashed to an absent APIC: bare metal\'s re-send at its EOI is owed (the entry\'s flag, after another instance was taken)', () => {
    const d = run('kvm-vtd-lowest-level-hashed-absent-resend-owed.json', 'kvm', 'v6.12-vtd');
    expect(d.map((x) => x.cause)).toEqual(['stuck:lowest-priority-hashed-to-absent-apic']);
    expect(d[0]!.symptoms).toContain('late:ioapic-level');
  });

  it('acrn/3374-adv: a lowest-priority IPI vlapic_write_icrlo drops leaves the in-service level vector\'s TMR set: read:lowest-priority-ipi-unhandled', () => {
    const d = run('acrn-lowest-ipi-unhandled-tmr-read.json', 'acrn', '3374-adv');
    expect(d[0]!.cause).toBe('read:lowest-priority-ipi-unhandled');
    expect(d[0]!.symptoms).toContain('read-mismatch:tmr');
    expect(known('acrn', '3374-adv', 'read:lowest-priority-ipi-unhandled')).toBe('known');
  });

  it('all silent on bare metal', () => {
    for (const f of ['kvm-lowest-hashed-absent-edge-ipi-tmr-read.json', 'kvm-vtd-level-eoi-reservices-shared-edge-pin.json',
      'kvm-vtd-lowest-level-hashed-absent-resend-owed.json', 'acrn-lowest-ipi-unhandled-tmr-read.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('session-9 triage of the guided final soak: KVM v6.12 with xAPIC ID writes', () => {
  const causes = (f: string) => runScenario(load(f), backend('kvm'), 'v6.12').divergences.map((d) => d.cause);
  it('a Remote IRR left by a level EOI the stale SVI retired is that cause, not the reading vCPU\'s copy of the shared vector bare metal holds too', () => {
    // Both readers hold an instance of the pin's vector from an edge source that the reference has pending as well
    // (an MSI masked by its own ISR; an IPI about to be taken): whereStuck would name that instance's place.
    for (const f of ['kvm-svi-stale-remote-irr-read-beside-masked-shared-copy.json', 'kvm-svi-stale-remote-irr-read-beside-shared-ipi.json']) {
      const c = causes(f);
      expect(c[0], f).toBe('read:svi-stale-after-apicv-activation');
      expect(c, f).toContain('eoi:svi-stale-after-apicv-activation');
    }
  });
  it('the level line owed by an EOI the unloaded EOI-exit bitmap let through, not the MSI posting still in flight behind it', () => {
    expect(causes('kvm-eoi-exitmap-not-loaded-line-owed-beside-posted-msi.json')).toEqual(['stuck:eoi-exitmap-not-loaded-while-apicv-inhibited']);
  });
  it('L1\'s VMRESUME reads VPPR computed from the stale SVI (vmx_has_apicv_interrupt): no KVM_REQ_EVENT, L2 runs over L1\'s 0x30', () => {
    expect(causes('kvm-svi-stale-vppr-hides-l1-irq-at-vmresume.json')[0]).toBe('stuck:svi-stale-after-apicv-activation');
  });
  it('a TMR read keeps the level bit that the lowest-priority IPI dropped by vector hashing would have cleared (edge acceptance)', () => {
    expect(causes('kvm-lowest-hashed-absent-ipi-keeps-level-tmr-id-write.json')).toEqual([
      'read:lowest-priority-hashed-to-absent-apic', 'stuck:lowest-priority-hashed-to-absent-apic']);
  });
  it('each is documented for kvm/v6.12 (none UNEXPECTED)', () => {
    const v = backend('kvm').variants.find((x) => x.name === 'v6.12')!;
    const documented = new Set(v.knownDeviations.map((d) => d.cause));
    for (const f of ['kvm-svi-stale-remote-irr-read-beside-masked-shared-copy.json', 'kvm-svi-stale-remote-irr-read-beside-shared-ipi.json',
      'kvm-eoi-exitmap-not-loaded-line-owed-beside-posted-msi.json', 'kvm-svi-stale-vppr-hides-l1-irq-at-vmresume.json',
      'kvm-lowest-hashed-absent-ipi-keeps-level-tmr-id-write.json']) {
      for (const c of causes(f)) expect(documented.has(c), `${f}: ${c}`).toBe(true);
    }
  });
  it('all silent on bare metal', () => {
    for (const f of ['kvm-svi-stale-remote-irr-read-beside-masked-shared-copy.json', 'kvm-svi-stale-remote-irr-read-beside-shared-ipi.json',
      'kvm-eoi-exitmap-not-loaded-line-owed-beside-posted-msi.json', 'kvm-svi-stale-vppr-hides-l1-irq-at-vmresume.json',
      'kvm-lowest-hashed-absent-ipi-keeps-level-tmr-id-write.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

// Session 9 triage of the guided soak s8final (bhyve/fixed): six untriaged signatures, each a documented
// mechanism of today's code (freebsd-src@0907f0c79b36 sys/amd64/vmm/io/vioapic.c vioapic_write keeps
// IOART_REM_IRR, an RTBL_RO_BITS bit; vioapic_process_eoi matches the entry's current vector; io/vlapic.c
// TMR from the table) that the classification did not find from the model's own flags.
describe('the session-9 triage of bhyve', () => {
  const causes = (file: string, v: string) => runScenario(load(file), backend('bhyve'), v).divergences.map((d) => d.cause);
  const known = (v: string, cause: string) => classify(BACKENDS, `bhyve/${v}:${cause}`);

  it('the level message a kept Remote IRR held back is that hold after the entry was rewritten to another vector (was stuck:untagged, stuck:ioapic-remote-irr-set, priority:eventinj)', () => {
    for (const f of ['bhyve-kept-remote-irr-holds-level-rewrite-then-vector-rewritten.json', 'bhyve-kept-remote-irr-holds-level-rewrite-of-its-own-vector.json',
      'bhyve-kept-remote-irr-held-vector-behind-lower-msi.json']) {
      for (const v of ['prefix', 'fixed', 'main']) {
        expect(causes(f, v), `${f} ${v}`).toEqual(['stuck:remote-irr-kept-on-edge-entry']);
        expect(known(v, 'stuck:remote-irr-kept-on-edge-entry')).toBe('known');
      }
    }
    // The lower MSI is injected first because the higher vector never came: a hold, not an injection path.
    expect(runScenario(load('bhyve-kept-remote-irr-held-vector-behind-lower-msi.json'), backend('bhyve'), 'fixed').divergences[0]!.kind).toBe('priority-inversion');
  });

  it('a kept Remote IRR read while the pin\'s vector is pending on the reader on bare metal too is the read, not why that shared copy waits (was stuck:virr-below-isr, stuck:virr-below-tpr)', () => {
    for (const f of ['bhyve-kept-remote-irr-read-with-edge-copy-pending.json', 'bhyve-kept-remote-irr-read-with-level-copy-below-tpr.json']) {
      for (const v of ['prefix', 'fixed', 'main']) {
        expect(causes(f, v), `${f} ${v}`).toEqual(['read:remote-irr-kept-on-edge-entry']);
        expect(known(v, 'read:remote-irr-kept-on-edge-entry')).toBe('known');
      }
    }
  });

  it('a re-send bare metal never sends, collapsed into a pending IPI of the vector, does not hide that bare metal\'s TMR was cleared by the IPI (was read:redir-remote-irr-missing)', () => {
    for (const v of ['prefix', 'fixed', 'main']) {
      expect(causes('bhyve-table-tmr-eoi-broadcast-after-collapsed-resend.json', v), v).toEqual(['read:eoi-of-edge-instance-broadcast-by-table-tmr']);
      expect(known(v, 'read:eoi-of-edge-instance-broadcast-by-table-tmr')).toBe('known');
    }
  });

  it('all silent on bare metal', () => {
    for (const f of ['bhyve-kept-remote-irr-holds-level-rewrite-then-vector-rewritten.json', 'bhyve-kept-remote-irr-holds-level-rewrite-of-its-own-vector.json',
      'bhyve-kept-remote-irr-held-vector-behind-lower-msi.json', 'bhyve-kept-remote-irr-read-with-edge-copy-pending.json',
      'bhyve-kept-remote-irr-read-with-level-copy-below-tpr.json', 'bhyve-table-tmr-eoi-broadcast-after-collapsed-resend.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('the session-9 triage of the guided final soak: ACRN', () => {
  const causes = (f: string, v: string) => runScenario(load(f), backend('acrn'), v).divergences.map((d) => d.cause);
  const advX2 = ['3374-adv', 'pre-4937-adv', 'pre-8507-adv', 'v3.3-adv'];
  it('advanced mode (x2APIC, 2019+): self-IPI virtualization leaves the level message\'s TMR bit (SDM 29.1.5), veoi_vmexit_handler broadcasts the level EOI: tmr-kept-by-virtualized-self-ipi', () => {
    expect(causes('acrn-virtualized-self-ipi-tmr-eoi-resends-pin.json', '3374-adv')).toEqual(['ioapic:tmr-kept-by-virtualized-self-ipi']);
    expect(causes('acrn-virtualized-self-ipi-keeps-level-tmr.json', '3374-adv')).toEqual(['read:tmr-kept-by-virtualized-self-ipi']);
    expect(causes('acrn-virtualized-self-ipi-keeps-level-tmr.json', 'v3.3-adv')).toEqual(['read:tmr-kept-by-virtualized-self-ipi']);
    for (const v of advX2) for (const c of ['ioapic', 'read']) expect(classify([backend('acrn')], `acrn/${v}:${c}:tmr-kept-by-virtualized-self-ipi`), v).toBe('known');
    // Basic mode: the SELF_IPI write exits into vlapic_x2apic_self_ipi_handler → vlapic_set_intr, whose acceptance clears TMR.
    for (const v of ['3374-basic', 'v3.3-basic']) {
      expect(causes('acrn-virtualized-self-ipi-keeps-level-tmr.json', v), v).toEqual([]);
      expect(classify([backend('acrn')], `acrn/${v}:ioapic:tmr-kept-by-virtualized-self-ipi`), v).toBe('unexpected');
    }
  });
  it('a dropped lowest-priority IPI of a level pin\'s vector: bare metal\'s edge acceptance cleared TMR, ACRN\'s EOI re-sends the line: lowest-priority-ipi-unhandled', () => {
    for (const v of ['1443-vid', '2018-basic', '3374-basic', 'v3.3-basic']) {
      expect(causes('acrn-lowest-ipi-dropped-level-eoi-resends-pin.json', v), v).toEqual(['ioapic:lowest-priority-ipi-unhandled']);
      expect(classify([backend('acrn')], `acrn/${v}:ioapic:lowest-priority-ipi-unhandled`), v).toBe('known');
    }
  });
  it('1443-vid: an NMI a second pass writes over an NMI loses nothing bare metal keeps; the later loss is the IDT-vectoring drop', () => {
    expect(causes('acrn-nmi-over-nmi-then-idt-vectoring-dropped.json', '1443-vid')).toEqual(['core:idt-vectoring-dropped-for-nmi']);
    expect(classify([backend('acrn')], 'acrn/1443-vid:core:idt-vectoring-dropped-for-nmi')).toBe('known');
  });
  it('basic mode (2019+): a level message collapsed into an instance the ignored ID write misrouted here keeps TMR clear (apicv_basic_accept_intr sets it on 0 → 1 only); the lost EOI holds the re-send: apic-id-write-ignored (soak s9tacrnxen)', () => {
    for (const v of ['3374-basic', 'v3.3-basic']) expect(causes('acrn-misrouted-msi-collapses-level-eoi-lost.json', v), v).toEqual(['stuck:apic-id-write-ignored']);
  });
  it('all silent on bare metal', () => {
    for (const f of ['acrn-virtualized-self-ipi-tmr-eoi-resends-pin.json', 'acrn-virtualized-self-ipi-keeps-level-tmr.json',
      'acrn-lowest-ipi-dropped-level-eoi-resends-pin.json', 'acrn-nmi-over-nmi-then-idt-vectoring-dropped.json',
      'acrn-misrouted-msi-collapses-level-eoi-lost.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('session-9 triage, second round (random soak s9rand): ACRN', () => {
  const causes = (f: string, v: string) => runScenario(load(f), backend('acrn'), v).divergences.map((d) => d.cause);
  const basic2019 = ['3374-basic', 'pre-4937-basic', 'pre-8507-basic', 'v3.3-basic'];
  it('since 2019: the edge message an asserted pin sends when the guest rewrites its entry edge is accepted as edge; vlapic_set_tmr clears the level message\'s TMR bit, which bare metal keeps (was read:tmr-clear-for-level)', () => {
    // Advanced (2019, software PIR sync): the level message waits in PIR; the write's extra edge message clears TMR.
    const a = runScenario(load('acrn-rte-edge-resend-clears-level-tmr-adv.json'), backend('acrn'), '3374-adv').divergences;
    expect(a.map((d) => d.cause)).toEqual(['read:edge-resent-on-redirection-write']);
    expect(a[0]!.symptoms).toContain('read-mismatch:tmr');
    // Basic: the level message is in service; the extra edge message sets IRR 0 -> 1 and clears TMR.
    for (const v of [...basic2019, '3374-adv']) {
      const d = runScenario(load('acrn-rte-edge-resend-clears-level-tmr-basic.json'), backend('acrn'), v).divergences;
      expect(d.map((x) => x.cause), v).toEqual(['read:edge-resent-on-redirection-write', 'ioapic:edge-resent-on-redirection-write']);
      expect(d[0]!.symptoms, v).toContain('read-mismatch:tmr');
    }
    for (const v of [...basic2019, '3374-adv']) expect(classify([backend('acrn')], `acrn/${v}:read:edge-resent-on-redirection-write`), v).toBe('known');
  });
  it('basic mode since 2019: the level message of the low-dword write collapses into the high-dword write\'s extra edge instance, TMR stays clear (apicv_basic_accept_intr sets it on 0 -> 1 only) and its EOI is lost; the held re-send is that message (was stuck:irr-event-pending)', () => {
    for (const v of basic2019) {
      expect(causes('acrn-rte-edge-resend-collapses-level-eoi-lost.json', v), v).toEqual(['stuck:edge-resent-on-redirection-write']);
      expect(classify([backend('acrn')], `acrn/${v}:stuck:edge-resent-on-redirection-write`), v).toBe('known');
    }
    // Advanced mode: vlapic_set_tmr runs at every acceptance, so the level message sets TMR again: nothing is lost.
    for (const v of ['3374-adv', 'pre-8507-adv', 'v3.3-adv']) expect(causes('acrn-rte-edge-resend-collapses-level-eoi-lost.json', v), v).toEqual([]);
  });
  it('since 2019: the level re-send of the EOI a dropped lowest-priority IPI let reach vioapic_process_eoi sets TMR at its acceptance, where bare metal took the IPI (edge) instead: lowest-priority-ipi-unhandled (was read:tmr-set-without-level-message in a check soak, s9racrn:0:168883)', () => {
    for (const v of ['3374-basic', '3374-adv', 'v3.3-basic']) {
      const d = runScenario(load('acrn-lowest-ipi-dropped-eoi-resend-sets-tmr.json'), backend('acrn'), v).divergences;
      expect(d.map((x) => x.cause), v).toEqual(['read:lowest-priority-ipi-unhandled']);
      expect(d[0]!.symptoms, v).toContain('read-mismatch:tmr');
    }
  });
  it('3374-adv: an MSI misrouted after an IPI (edge, both) keeps the IPI\'s edge loss: the level EOI that loss lets through re-sends the pin, apic-id-shared-first-vcpu-only (was ioapic:level-resent-on-reassert in a check soak, s9racrn3:0:659237)', () => {
    const d = runScenario(load('acrn-misrouted-msi-clears-edge-loss-level-eoi-resend.json'), backend('acrn'), '3374-adv').divergences;
    expect(d.map((x) => x.cause)).toEqual(['stuck:lowest-priority-ipi-unhandled', 'ioapic:apic-id-shared-first-vcpu-only']);
    expect(classify([backend('acrn')], 'acrn/3374-adv:ioapic:apic-id-shared-first-vcpu-only')).toBe('known');
  });
  it('all silent on bare metal', () => {
    for (const f of ['acrn-rte-edge-resend-clears-level-tmr-adv.json', 'acrn-rte-edge-resend-clears-level-tmr-basic.json',
      'acrn-rte-edge-resend-collapses-level-eoi-lost.json', 'acrn-lowest-ipi-dropped-eoi-resend-sets-tmr.json',
      'acrn-misrouted-msi-clears-edge-loss-level-eoi-resend.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('the session-9 triage of the guided final soak: Xen', () => {
  const causes = (f: string, v: string) => runScenario(load(f), backend('xen'), v).divergences.map((d) => d.cause);
  it('an avoided edge EOI emulated after a level message of its vector set TMR reaches vioapic_update_EOI (rework, 4.22): avoided-edge-eoi-broadcast-by-later-level-tmr', () => {
    for (const v of ['rework', '4.22']) {
      expect(causes('xen-avoided-edge-eoi-late-level-tmr-resend.json', v), v).toEqual(['ioapic:avoided-edge-eoi-broadcast-by-later-level-tmr']);
      expect(causes('xen-avoided-edge-eoi-late-level-tmr-read.json', v), v).toEqual(['read:avoided-edge-eoi-broadcast-by-later-level-tmr']);
      for (const c of ['ioapic', 'read']) expect(classify([backend('xen')], `xen/${v}:${c}:avoided-edge-eoi-broadcast-by-later-level-tmr`), v).toBe('known');
    }
    // The latch trees complete an assist by clearing the ISR bit only: no vlapic_handle_EOI, nothing broadcast.
    for (const v of ['first', 'pre-fix']) {
      expect(causes('xen-avoided-edge-eoi-late-level-tmr-resend.json', v), v).toEqual([]);
      expect(causes('xen-avoided-edge-eoi-late-level-tmr-read.json', v), v).toEqual([]);
    }
  });
  it('the EOI that cleared Remote IRR where bare metal keeps it names the pin\'s next message even after its vector was rewritten (soak s9tacrnxen2)', () => {
    // Before 12a50030 an MSI of the level vector leaves TMR set; the EOI broadcast for it clears Remote IRR; the entry is
    // rewritten to 0x7e (Remote IRR kept) and the next assert sends 0x7e, which bare metal holds under Remote IRR.
    for (const v of ['first', 'pre-fix', 'rework']) expect(causes('xen-kept-tmr-eoi-then-vector-rewrite-reassert.json', v), v).toEqual(['ioapic:tmr-kept-on-edge-acceptance']);
    expect(causes('xen-kept-tmr-eoi-then-vector-rewrite-reassert.json', '4.22')).toEqual([]);
  });
  it('a TMCCT read after a periodic tick injected late counts from the injection (vlapic_pt_cb): tmcct-rebased-at-injection, now declared (soak s9tacrnxen2)', () => {
    for (const v of ['pre-fix', 'rework', '4.22']) expect(causes('xen-tmcct-rebased-at-late-injection.json', v), v).toEqual(['read:tmcct-rebased-at-injection']);
    for (const v of ['first', 'pre-fix', 'rework', '4.22']) expect(classify([backend('xen')], `xen/${v}:read:tmcct-rebased-at-injection`), v).toBe('known');
  });
  it('a phantom EOI\'s early re-send sets Remote IRR again; the re-send bare metal makes at the guest\'s EOI to the rewritten destination is held: phantom-eoi-after-vp-assist-remap (soak s9tacrnxen2)', () => {
    for (const v of ['rework', '4.22']) {
      expect(causes('xen-phantom-eoi-early-resend-holds-rewritten-pin.json', v), v).toEqual(['stuck:phantom-eoi-after-vp-assist-remap']);
      expect(classify([backend('xen')], `xen/${v}:stuck:phantom-eoi-after-vp-assist-remap`), v).toBe('known');
    }
  });
  it('both silent on bare metal', () => {
    for (const f of ['xen-avoided-edge-eoi-late-level-tmr-resend.json', 'xen-avoided-edge-eoi-late-level-tmr-read.json', 'xen-kept-tmr-eoi-then-vector-rewrite-reassert.json',
      'xen-tmcct-rebased-at-late-injection.json', 'xen-phantom-eoi-early-resend-holds-rewritten-pin.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('session 9, a random scan (sharedVectors 1): the Remote IRR read face of ACRN\'s dropped lowest-priority IPI', () => {
  it('acrn/3374-basic: a level EOI broadcast because the IPI that would have cleared TMR was dropped is that drop, seen by the read', () => {
    const f = 'acrn-basic-lowest-ipi-dropped-remote-irr-read.json';
    const d = runScenario(load(f), backend('acrn'), '3374-basic').divergences;
    expect(d[0]!.cause).toBe('read:lowest-priority-ipi-unhandled');
    expect(d[0]!.symptoms).toContain('read-mismatch:redir-lo');
    expect(classify(BACKENDS, `acrn/3374-basic:${d[0]!.cause}`)).toBe('known');
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('session 9, the random soak s9rand (second round): KVM v6.12', () => {
  const causes = (f: string, v: string) => runScenario(load(f), backend('kvm'), v).divergences.map((d) => d.cause);
  it('noapicv: an MSI of the timer\'s vector behind a pending expiry is delivered twice; the vector is also a level pin\'s, so the oracle files it under ioapic: timer-pending-behind-irq-injection, declared for that kind too', () => {
    const f = 'kvm-noapicv-msi-behind-pending-timer-pin-vector.json';
    expect(causes(f, 'v6.12-noapicv')).toEqual(['ioapic:timer-pending-behind-irq-injection']);
    for (const v of ['v6.12', 'v6.12-vtd', 'v6.12-noapicv']) expect(classify([backend('kvm')], `kvm/${v}:ioapic:timer-pending-behind-irq-injection`), v).toBe('known');
    // With APICv the CPU delivers the MSI's instance and the expiry lands in it before the entry: nothing extra.
    expect(causes(f, 'v6.12')).toEqual([]);
  });
  it('every tree: an ESR read misses the Receive Illegal Vector of a periodic expiry with vector 0x0f that KVM has not had yet (period raised to min_timer_period_us): periodic-timer-period-limited, not untagged esr-riv-missing', () => {
    const f = 'kvm-limited-periodic-illegal-vector-esr-read.json';
    for (const v of ['v6.12-noapicv', 'v6.12', 'v6.12-vtd', 'v4.16']) {
      expect(causes(f, v), v).toEqual(['read:periodic-timer-period-limited']);
      expect(classify([backend('kvm')], `kvm/${v}:read:periodic-timer-period-limited`), v).toBe('known');
    }
  });
  it('noapicv: the level EOI that re-services the rewritten edge entry of its vector sends an edge message whose acceptance clears TMR; the read before its delivery is edge-entry-reserviced-by-level-eoi', () => {
    const f = 'kvm-noapicv-edge-reservice-clears-level-tmr-read.json';
    expect(causes(f, 'v6.12-noapicv')).toEqual(['read:edge-entry-reserviced-by-level-eoi', 'ioapic:edge-entry-reserviced-by-level-eoi']);
    expect(classify([backend('kvm')], 'kvm/v6.12-noapicv:read:edge-entry-reserviced-by-level-eoi')).toBe('known');
  });
  it('vtd: the re-send a kept TMR made (virtualized self-IPI) sets TMR again; its EOI clears Remote IRR where bare metal keeps it, and the unmask re-sends: tmr-kept-by-virtualized-self-ipi, not level-resent-on-redirection-write', () => {
    const f = 'kvm-vtd-self-ipi-kept-tmr-resend-then-unmask.json';
    for (const v of ['v6.12', 'v6.12-vtd']) {
      expect(causes(f, v), v).toEqual(['ioapic:tmr-kept-by-virtualized-self-ipi']);
      expect(classify([backend('kvm')], `kvm/${v}:ioapic:tmr-kept-by-virtualized-self-ipi`), v).toBe('known');
    }
    // Without APICv the self-IPI exits into __apic_accept_irq, which clears TMR as bare metal does.
    expect(causes(f, 'v6.12-noapicv')).toEqual([]);
  });
  it('all silent on bare metal', () => {
    for (const f of ['kvm-noapicv-msi-behind-pending-timer-pin-vector.json', 'kvm-limited-periodic-illegal-vector-esr-read.json',
      'kvm-noapicv-edge-reservice-clears-level-tmr-read.json', 'kvm-vtd-self-ipi-kept-tmr-resend-then-unmask.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('the session-9 triage of the random soak (s9rand, second round): Xen', () => {
  const causes = (f: string, v: string) => runScenario(load(f), backend('xen'), v).divergences.map((d) => d.cause);
  const VARIANTS = ['first', 'pre-fix', 'rework', '4.22'];
  it('a tick that waited for TIMER_SOFTIRQ comes again after the IPI of its vector; the vector is also a level pin\'s, so the duplicate is filed under ioapic: the documented cause\'s ioapic face', () => {
    // Pin 0 (level, 0x4f) is never asserted: the second 0x4f is the tick (softirqTickDup), not a pin message.
    for (const v of VARIANTS) {
      expect(causes('xen-softirq-tick-duplicate-on-pin-vector.json', v), v).toEqual(['ioapic:timer-tick-waits-for-timer-softirq']);
      expect(classify([backend('xen')], `xen/${v}:ioapic:timer-tick-waits-for-timer-softirq`), v).toBe('known');
    }
  });
  it('a level EOI on the vCPU a logical broadcast of the vector missed clears Remote IRR (bare metal\'s edge acceptance cleared TMR there): read:logical-broadcast-not-matched', () => {
    for (const v of VARIANTS) {
      const d = runScenario(load('xen-logical-broadcast-missed-level-eoi-remote-irr-read.json'), backend('xen'), v).divergences;
      expect(d[0]!.cause, v).toBe('read:logical-broadcast-not-matched');
      expect(d[0]!.symptoms, v).toContain('read-mismatch:redir-lo');
      expect(d.map((x) => x.cause), v).toContain('stuck:logical-broadcast-not-matched');
      for (const x of d) expect(classify([backend('xen')], `xen/${v}:${x.cause}`), `${v} ${x.cause}`).toBe('known');
    }
  });
  it('4.22: an avoided level EOI emulated after an edge IPI of its vector cleared TMR (12a50030) reaches no vioapic_update_EOI; the pin keeps Remote IRR and the next pulse is lost', () => {
    expect(causes('xen-avoided-level-eoi-dropped-by-later-edge-tmr.json', '4.22')).toEqual(['stuck:avoided-level-eoi-dropped-by-later-edge-tmr']);
    expect(classify([backend('xen')], 'xen/4.22:stuck:avoided-level-eoi-dropped-by-later-edge-tmr')).toBe('known');
    // The rework (before 12a50030) keeps TMR across the edge IPI: the late EOI is broadcast, the pulse delivered.
    for (const v of ['pre-fix', 'rework']) expect(causes('xen-avoided-level-eoi-dropped-by-later-edge-tmr.json', v), v).toEqual([]);
    expect(classify([backend('xen')], 'xen/rework:stuck:avoided-level-eoi-dropped-by-later-edge-tmr')).not.toBe('known');
  });
  it('before 12a50030: the pin re-sent by an EOI broadcast for a TMR bit an MSI left set shows in a TMR read: read:tmr-kept-on-edge-acceptance', () => {
    for (const v of ['first', 'pre-fix', 'rework']) expect(causes('xen-kept-tmr-eoi-resend-tmr-read.json', v), v).toEqual(['read:tmr-kept-on-edge-acceptance']);
    expect(causes('xen-kept-tmr-eoi-resend-tmr-read.json', '4.22')).toEqual([]);
  });
  it('before 12a50030: the TMR bit an MSI left set, read after the pin\'s entry was rewritten level, is still the kept one (oracle shape tmr-level-pin-before-acceptance; 2-minute soak, seed rxen)', () => {
    for (const v of ['first', 'pre-fix', 'rework']) expect(causes('xen-kept-tmr-read-after-entry-rewrite.json', v), v).toEqual(['read:tmr-kept-on-edge-acceptance']);
    expect(causes('xen-kept-tmr-read-after-entry-rewrite.json', '4.22')).toEqual([]);
  });
  it('10a674b4: the masked tick pt_resume puts back at the unmask, on a vector a level pin\'s entry also carries, is filed under ioapic: masked-timer-tick-delivered-on-unmask\'s ioapic face (2-minute soak, seed rxen)', () => {
    expect(causes('xen-2016-masked-tick-resumed-on-pin-vector.json', 'first')).toEqual(['ioapic:masked-timer-tick-delivered-on-unmask']);
    expect(classify([backend('xen')], 'xen/first:ioapic:masked-timer-tick-delivered-on-unmask')).toBe('known');
    // From e4e1896b2c every LVTT write re-creates the timer with nothing pending.
    for (const v of ['pre-fix', 'rework', '4.22']) expect(causes('xen-2016-masked-tick-resumed-on-pin-vector.json', v), v).toEqual([]);
  });
  it('latch trees: the guest\'s next EOI retires the avoided edge vector still in Xen\'s ISR and test-and-clears TMR a level message of the vector set since: avoided-edge-eoi-broadcast-by-later-level-tmr there too (2-minute soak, seed rxen)', () => {
    for (const v of VARIANTS) {
      expect(causes('xen-latch-guest-eoi-retires-avoided-edge-after-level-tmr.json', v), v).toEqual(['read:avoided-edge-eoi-broadcast-by-later-level-tmr']);
      for (const c of ['ioapic', 'read']) expect(classify([backend('xen')], `xen/${v}:${c}:avoided-edge-eoi-broadcast-by-later-level-tmr`), v).toBe('known');
    }
  });
  it('2016/2017: the bit a normal EOI of the latched vector left set is stale even when a later instance of that vector is in service; the avoided level EOI is stale-assist-bit-after-normal-eoi (2-minute soak, seed rxen2)', () => {
    for (const v of ['first', 'pre-fix']) expect(causes('xen-latch-stale-bit-avoids-same-vector-level-eoi.json', v), v).toEqual(['stuck:stale-assist-bit-after-normal-eoi']);
    // The rework clears the bit at a normal EOI (viridian_apic_assist_clear in vlapic_EOI_set).
    for (const v of ['rework', '4.22']) expect(causes('xen-latch-stale-bit-avoids-same-vector-level-eoi.json', v), v).toEqual([]);
  });
  it('all silent on bare metal', () => {
    for (const f of ['xen-latch-stale-bit-avoids-same-vector-level-eoi.json', 'xen-latch-guest-eoi-retires-avoided-edge-after-level-tmr.json', 'xen-softirq-tick-duplicate-on-pin-vector.json', 'xen-logical-broadcast-missed-level-eoi-remote-irr-read.json',
      'xen-avoided-level-eoi-dropped-by-later-edge-tmr.json', 'xen-kept-tmr-eoi-resend-tmr-read.json',
      'xen-kept-tmr-read-after-entry-rewrite.json', 'xen-2016-masked-tick-resumed-on-pin-vector.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('the session-9 triage of the ACRN soak (s9tacrnxen2): ACRN', () => {
  const causes = (f: string, v: string) => runScenario(load(f), backend('acrn'), v).divergences.map((d) => d.cause);
  const adv = ['3374-adv', 'pre-4937-adv', 'pre-8507-adv', 'v3.3-adv'];
  it('advanced mode: the Remote IRR a level EOI virtualized before EOI_EXIT_BITMAP_UPDATE reached the VMCS leaves set is level-eoi-before-eoi-exit-bitmap-loaded, read from another vCPU (was read:redir-remote-irr-stale) or holding the message of the entry\'s rewritten vector (was stuck:untagged)', () => {
    for (const v of adv) {
      expect(causes('acrn-level-eoi-swallowed-remote-irr-read-other-vcpu.json', v), v).toEqual(['stuck:level-eoi-before-eoi-exit-bitmap-loaded']);
      expect(causes('acrn-level-eoi-swallowed-then-vector-rewrite-held.json', v), v).toEqual(['stuck:level-eoi-before-eoi-exit-bitmap-loaded']);
      expect(classify([backend('acrn')], `acrn/${v}:stuck:level-eoi-before-eoi-exit-bitmap-loaded`), v).toBe('known');
    }
    // Basic mode: vlapic_process_eoi tests TMR in the EOI's APIC-access exit; the EOI is broadcast.
    for (const v of ['3374-basic', 'v3.3-basic']) {
      expect(causes('acrn-level-eoi-swallowed-remote-irr-read-other-vcpu.json', v), v).toEqual([]);
      expect(causes('acrn-level-eoi-swallowed-then-vector-rewrite-held.json', v), v).toEqual([]);
    }
  });
  it('2019 trees: a second NMI requested after the pass that re-injects a faulted NMI, before that delivery faults again, merges into the re-raised ACRN_REQUEST_NMI: nmi-merged-into-reinjection (was priority:vid)', () => {
    for (const v of ['3374-basic', '3374-adv']) {
      expect(causes('acrn-nmi-before-exit-merged-into-reinjection.json', v), v).toEqual(['stuck:nmi-merged-into-reinjection']);
      expect(classify([backend('acrn')], `acrn/${v}:stuck:nmi-merged-into-reinjection`), v).toBe('known');
    }
  });
  it('2019+: the edge message a redirection write re-sends (asserted at rtbl write), carrying a level message\'s vector in service, clears its TMR bit at acceptance (vlapic_set_tmr): the TMR read and the lost EOI\'s Remote IRR are edge-resent-on-redirection-write (were read:tmr-clear-for-level and stuck:irr-behind-irq-window in this session\'s 3-minute soak)', () => {
    for (const v of ['3374-basic', '3374-adv', 'pre-4937-basic', 'pre-8507-basic', 'v3.3-basic']) {
      // The first divergence is the read; the drain then takes the re-sent messages (ioapic: the same write).
      expect(causes('acrn-rte-write-edge-resend-clears-level-tmr-read.json', v)[0], v).toBe('read:edge-resent-on-redirection-write');
      expect(classify([backend('acrn')], `acrn/${v}:read:edge-resent-on-redirection-write`), v).toBe('known');
      expect(causes('acrn-rte-write-edge-resend-clears-level-tmr-eoi-lost.json', v)[0], v).toBe('stuck:edge-resent-on-redirection-write');
      expect(classify([backend('acrn')], `acrn/${v}:stuck:edge-resent-on-redirection-write`), v).toBe('known');
    }
    // 2018: TMR is the redirection table's (vioapic_update_tmr), an acceptance does not clear it.
    expect(classify([backend('acrn')], 'acrn/1443-vid:stuck:edge-resent-on-redirection-write')).toBe('unexpected');
  });
  it('a vIOAPIC message bare metal does not send (the high-dword write\'s re-send of an asserted lowest-priority edge pin) reports no arbitration, which the reference took for its own level message of the low dword (was 1443-vid:spurious:lowest-priority-outside-destinations, then ioapic:level-resent-under-remote-irr, in a 3-minute soak)', () => {
    // The re-sent 0x9f collapses into the one the assert left pending on vCPU0, as bare metal's would; 0x4f goes to APIC 3 on both.
    for (const v of ['2018-basic', 'pre-1443-vid', '1443-vid', '3374-basic', '3374-adv', 'pre-4937-adv', 'v3.3-basic', 'v3.3-adv']) {
      expect(causes('acrn-rte-write-resend-arbitration-not-reported.json', v), v).toEqual([]);
    }
  });
  it('all silent on bare metal', () => {
    for (const f of ['acrn-rte-write-resend-arbitration-not-reported.json', 'acrn-level-eoi-swallowed-remote-irr-read-other-vcpu.json', 'acrn-level-eoi-swallowed-then-vector-rewrite-held.json',
      'acrn-nmi-before-exit-merged-into-reinjection.json', 'acrn-rte-write-edge-resend-clears-level-tmr-read.json',
      'acrn-rte-write-edge-resend-clears-level-tmr-eoi-lost.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('session 9, the guided soak s9guided: bhyve', () => {
  it('bhyve/fixed: an expiry bare metal took on the old phase, owed past a TMICT restart, is the lagging callout\'s re-base (was stuck:untagged)', () => {
    const f = 'bhyve-timer-rebased-then-tmict-restart.json';
    const d = runScenario(load(f), backend('bhyve'), 'fixed').divergences;
    expect(d.map((x) => x.cause)).toEqual(['stuck:timer-rebased-after-lag']);
    expect(classify(BACKENDS, `bhyve/fixed:${d[0]!.cause}`)).toBe('known');
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('session 9, the random soak s9rand: the last ACRN signature', () => {
  it('acrn/v3.3-adv: a stale Remote IRR after the guest EOIed a self-IPI virtualized at a software-disabled vLAPIC is that cause', () => {
    const f = 'acrn-self-ipi-sw-disabled-level-pin-remote-irr-read.json';
    const d = runScenario(load(f), backend('acrn'), 'v3.3-adv').divergences;
    expect(d.map((x) => x.cause)).toEqual(['read:self-ipi-virtualized-while-sw-disabled']);
    expect(d[0]!.symptoms).toContain('read-mismatch:redir-lo');
    expect(classify(BACKENDS, `acrn/v3.3-adv:${d[0]!.cause}`)).toBe('known');
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('the session-9 triage of the guided soak (s9guided): Xen', () => {
  const causes = (f: string, v: string) => runScenario(load(f), backend('xen'), v).divergences.map((d) => d.cause);
  it('a 9-tick periodic timer is clamped to 0.1 ms (create_periodic_time); vlapic_pt_cb restarts TMCCT at each clamped injection, so the TMCCT read is the clamp\'s read face (timerWhy set by create_periodic_time), declared', () => {
    for (const v of ['first', 'pre-fix', 'rework', '4.22']) {
      expect(causes('xen-timer-clamped-tmcct-read.json', v)[0], v).toBe('read:periodic-timer-period-clamped-to-100us');
      expect(classify([backend('xen')], `xen/${v}:read:periodic-timer-period-clamped-to-100us`), v).toBe('known');
    }
    expect(runScenario(load('xen-timer-clamped-tmcct-read.json'), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
  it('a level interrupt nested on an assisted MSI keeps the assist and the guest avoids its EOI; an MSI of that vector kicks the vCPU, and Xen takes it only once the HLT exit has noticed the avoided EOI (vcpu_block → vlapic_has_pending_irq): stuck:avoided-eoi-not-noticed, named from the avoided vector and the kick (was stuck:avoided-eoi-not-retired)', () => {
    const f = 'xen-avoided-level-eoi-msi-kicked-before-hlt.json';
    for (const v of ['rework', '4.22']) {
      expect(causes(f, v), v).toEqual(['stuck:avoided-eoi-not-noticed']);
      expect(classify([backend('xen')], `xen/${v}:stuck:avoided-eoi-not-noticed`), v).toBe('known');
    }
    // The latch trees: the assist kept across the nested interrupt is their own documented cause.
    expect(causes(f, 'first')).toEqual(['stuck:assist-kept-across-nested-interrupt']);
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('session-10 triage: ACRN', () => {
  const causes = (f: string, v: string) => runScenario(load(f), backend('acrn'), v).divergences.map((d) => d.cause);
  it('2018 trees: a redirection write\'s edge re-send collapsing into the pending level message of its vector is no edge acceptance of bare metal; vioapic_update_tmr\'s table order clears the bit and the level EOI is lost: eoi-lost-tmr-cleared-by-edge-entry (was 1443-vid priority:vid in soak s9final)', () => {
    const f = 'acrn-2018-rte-resend-collapsed-then-edge-entry-eoi-lost.json';
    for (const v of ['2018-basic', 'pre-1443-vid', '1443-vid']) {
      // The held level pin is the table's TMR; the re-send itself, taken on vCPU1, stays the redirection write's.
      expect(causes(f, v), v).toEqual(['stuck:eoi-lost-tmr-cleared-by-edge-entry', 'ioapic:edge-resent-on-redirection-write']);
      expect(classify([backend('acrn')], `acrn/${v}:stuck:eoi-lost-tmr-cleared-by-edge-entry`), v).toBe('known');
    }
    // Since 2019 TMR follows acceptance (vlapic_set_tmr): the re-send's own acceptance clears the bit, and the pin it
    // holds is the redirection write's.
    for (const v of ['3374-basic', '3374-adv', 'v3.3-basic', 'v3.3-adv']) {
      expect(causes(f, v), v).toEqual(['ioapic:edge-resent-on-redirection-write']);
    }
  });
  it('advanced mode since 2020: an MSI to the APIC ID the guest wrote away, routed here by vlapic->vapic_id, clears the TMR bit of the level message pending here at acceptance (vlapic_set_tmr); its EOI is lost and the pin is held: apic-id-routed-by-vapic-id (was v3.3-adv priority:vid in soak s9final)', () => {
    const f = 'acrn-misrouted-msi-clears-level-tmr-eoi-lost.json';
    for (const v of ['pre-4937-adv', 'pre-8507-adv', 'v3.3-adv']) {
      expect(causes(f, v), v).toEqual(['stuck:apic-id-routed-by-vapic-id', 'ioapic:apic-id-routed-by-vapic-id']);
      expect(classify([backend('acrn')], `acrn/${v}:stuck:apic-id-routed-by-vapic-id`), v).toBe('known');
    }
    // Basic mode: the MSI collapses into the pending level instance (IRR already set), no TMR write; the ignored ID
    // write still misroutes pin 1's message. 2018/2019 advanced: the ID written to the page routes as bare metal's.
    for (const v of ['3374-basic', 'v3.3-basic']) expect(causes(f, v), v).toEqual(['ioapic:apic-id-write-ignored']);
    for (const v of ['1443-vid', '3374-adv']) expect(causes(f, v), v).toEqual([]);
  });
  it('the same with an IPI (written for this triage): vlapic_write_icrlo routes it by vapic_id and vlapic_set_intr accepts it edge, clearing the pending level message\'s TMR bit: apic-id-routed-by-vapic-id (was priority:vid)', () => {
    const f = 'acrn-misrouted-ipi-clears-level-tmr-eoi-lost.json';
    for (const v of ['pre-4937-adv', 'pre-8507-adv', 'v3.3-adv']) expect(causes(f, v), v).toEqual(['stuck:apic-id-routed-by-vapic-id']);
    // Basic mode: the IPI collapses into the level message's IRR bit (no TMR write). 2018/2019: the written ID routes.
    for (const v of ['3374-basic', 'v3.3-basic', '1443-vid', '3374-adv']) expect(causes(f, v), v).toEqual([]);
  });
  it('2019+: a TMR read after a lowest-priority IPI vlapic_write_icrlo dropped (bare metal accepted it edge here, clearing TMR) and a level rewrite of the entry is that IPI\'s (was read:tmr-level-pin-before-acceptance, 16 times in a 3-minute guided soak, seed s10acrng)', () => {
    const f = 'acrn-lowest-ipi-dropped-then-level-rewrite-tmr-read.json';
    for (const v of ['3374-basic', '3374-adv', 'pre-4937-adv', 'pre-8507-basic', 'v3.3-basic', 'v3.3-adv']) {
      expect(causes(f, v), v).toEqual(['read:lowest-priority-ipi-unhandled', 'stuck:lowest-priority-ipi-unhandled']);
      expect(classify([backend('acrn')], `acrn/${v}:read:lowest-priority-ipi-unhandled`), v).toBe('known');
    }
  });
  it('2019+: the level re-send of the EOI such a dropped IPI let through, to the entry\'s rewritten destination, is that IPI\'s: its TMR read there, and (advanced mode) the Remote IRR the EOI of the IPI instance it collapsed into clears (were read:tmr-level-pin-before-acceptance and read:redir-remote-irr-missing in a second guided soak, seed s10acrng)', () => {
    const f = 'acrn-lowest-ipi-dropped-eoi-resend-to-new-dest-tmr-read.json';
    for (const v of ['3374-basic', '3374-adv', 'pre-4937-adv', 'pre-8507-basic', 'v3.3-basic', 'v3.3-adv']) {
      expect(causes(f, v), v).toEqual(['read:lowest-priority-ipi-unhandled', 'ioapic:lowest-priority-ipi-unhandled']);
    }
    // The re-send sets TMR on vCPU0 after bare metal's last acceptance there, an edge IPI: that EOI is not broadcast on
    // bare metal (eoiWhy reads tmrExtraWhy), so the Remote IRR it clears is the dropped IPI's. Basic mode: the re-send
    // collapses into the pending IPI without a TMR write, and the EOI is not forwarded either.
    const g = 'acrn-lowest-ipi-dropped-eoi-resend-collapsed-remote-irr-read.json';
    expect(causes(g, '3374-adv')).toEqual(['read:lowest-priority-ipi-unhandled', 'stuck:lowest-priority-ipi-unhandled']);
    // The later advanced trees and basic mode: the held self-IPI is found first and owns the vector.
    for (const v of ['pre-4937-adv', 'v3.3-adv', '3374-basic', 'v3.3-basic']) expect(causes(g, v), v).toEqual(['stuck:lowest-priority-ipi-unhandled']);
  });
  it('2019+: with the line low at that EOI, the message of its next assert (Remote IRR clear here, set on bare metal) is the dropped IPI\'s too: the vIOAPIC hands that path to the acceptance (was read:tmr-level-pin-before-acceptance in a third guided soak, seed s10acrng)', () => {
    const f = 'acrn-lowest-ipi-dropped-eoi-then-reassert-new-dest-tmr-read.json';
    for (const v of ['3374-basic', '3374-adv', 'pre-4937-adv', 'pre-8507-basic', 'v3.3-basic', 'v3.3-adv']) {
      expect(causes(f, v), v).toEqual(['read:lowest-priority-ipi-unhandled', 'ioapic:lowest-priority-ipi-unhandled']);
    }
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
  it('all silent on bare metal', () => {
    for (const f of ['acrn-2018-rte-resend-collapsed-then-edge-entry-eoi-lost.json', 'acrn-misrouted-msi-clears-level-tmr-eoi-lost.json',
      'acrn-misrouted-ipi-clears-level-tmr-eoi-lost.json', 'acrn-lowest-ipi-dropped-then-level-rewrite-tmr-read.json',
      'acrn-lowest-ipi-dropped-eoi-resend-to-new-dest-tmr-read.json', 'acrn-lowest-ipi-dropped-eoi-resend-collapsed-remote-irr-read.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});

describe('session-10 triage: bhyve', () => {
  const run = (f: string, v: string) => runScenario(load(f), backend('bhyve'), v).divergences;
  const known = (v: string, cause: string) => classify(BACKENDS, `bhyve/${v}:${cause}`);

  it('a level EOI lost to a rendezvous-reset TMR bit still holds the message bare metal sent at it after the entry is rewritten edge and masked (RTBL_RO_BITS keeps Remote IRR): stuck:eoi-lost-tmr-reset-by-rtbl-write (was stuck:untagged; ioapic-pin-masked with the line high)', () => {
    for (const f of ['bhyve-eoi-lost-then-entry-rewritten-edge-masked.json', 'bhyve-eoi-lost-then-entry-rewritten-edge-masked-line-high.json']) {
      for (const v of ['prefix', 'fixed', 'main']) {
        const d = run(f, v);
        expect(d.map((x) => x.cause), `${f} ${v}`).toEqual(['stuck:eoi-lost-tmr-reset-by-rtbl-write']);
        // Owed to vCPU0, the lowest-priority destination of bare metal's re-send at vCPU1's EOI.
        expect(d[0]!.cpu, `${f} ${v}`).toBe(0);
        expect(known(v, 'stuck:eoi-lost-tmr-reset-by-rtbl-write')).toBe('known');
      }
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });

  it('a LINT0 edge of a level pin\'s vector raised from another host CPU is that documented hold, not the pin\'s Remote IRR: the pin\'s extra copy went to vCPU0, not to the holding vCPU1 (was stuck:ioapic-remote-irr-set)', () => {
    const f = 'bhyve-lint-edge-of-level-pin-vector-raised-remotely.json';
    for (const v of ['prefix', 'fixed', 'main']) {
      const d = run(f, v);
      expect(d.map((x) => x.cause), v).toEqual(['stuck:lint-raised-on-other-cpu']);
      expect(d[0]!.cpu, v).toBe(1);
      expect(known(v, 'stuck:lint-raised-on-other-cpu')).toBe('known');
    }
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });

  it('a level message accepted with TMR clear while an LDR write left TMR stale keeps that name after a redirection write\'s rendezvous ends the staleness without setting the bit (was read:tmr-clear-for-level, check soak s10bhyve)', () => {
    const f = 'bhyve-tmr-stale-level-accept-then-rtbl-write-tmr-read.json';
    for (const v of ['prefix', 'fixed', 'main']) {
      const d = run(f, v);
      expect(d.map((x) => x.cause), v).toEqual(['read:tmr-stale-after-ldr-write']);
      expect(d[0]!.symptoms, v).toEqual(['read-mismatch:tmr']);
      expect(known(v, 'read:tmr-stale-after-ldr-write')).toBe('known');
    }
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('session-10 triage: Xen missed ticks', () => {
  // libxl sets HVM_PARAM_TIMER_MODE = HVMPTM_no_delay_for_missed_ticks (1) for every HVM guest (libxl_create.c
  // libxl__domain_build_info_setdefault, every tree modelled). vpt.c's pt_process_missed_ticks then counts the expiries a
  // stopped timer missed (`else pt->pending_intr_nr += missed_ticks`); the model skipped them (no_missed_ticks_pending's
  // collapse) until session 10, so a tick missed while the vCPU was down was lost.
  const causes = (f: string, v: string) => runScenario(load(f), backend('xen'), v).divergences.map((d) => d.cause);
  const VARIANTS = ['first', 'pre-fix', 'rework', '4.22'];
  it('a vCPU down in HLT with IF = 0 (pt_save_timer stopped its timer), woken by an NMI: pt_restore_timer counts the expiry it missed and the tick comes, as on bare metal (was stuck:untagged)', () => {
    const f = 'xen-down-vcpu-missed-tick-counted-at-restore.json';
    for (const v of VARIANTS) expect(causes(f, v), v).toEqual([]);
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
  it('the same with an IPI 0x20 pending: the counted tick 0x6d is in IRR at the schedule and is taken before 0x20 (was priority:eventinj)', () => {
    const f = 'xen-down-vcpu-missed-tick-before-pending-ipi.json';
    for (const v of VARIANTS) expect(causes(f, v), v).toEqual([]);
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
  it('the other side of the mode: owed ticks are injected one by one where bare metal collapsed them, declared on every tree (pt_intr_post/pt_irq_fired leaves pending_intr_nr above 0)', () => {
    for (const v of VARIANTS) {
      expect(classify([backend('xen')], `xen/${v}:duplicate:missed-ticks-delivered-one-by-one`), v).toBe('known');
      expect(causes('xen-unshifted-tick-train.json', v), v).toEqual(['duplicate:missed-ticks-delivered-one-by-one']);
    }
  });
  it('its read face: an IRR read in the handler shows the owed tick pt_update_irq raised at the entry after the injection', () => {
    const f = 'xen-missed-ticks-owed-irr-read.json';
    for (const v of VARIANTS) {
      expect(causes(f, v), v).toEqual(['read:missed-ticks-delivered-one-by-one', 'duplicate:missed-ticks-delivered-one-by-one']);
      expect(classify([backend('xen')], `xen/${v}:read:missed-ticks-delivered-one-by-one`), v).toBe('known');
    }
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
  it('its livelock face: fifty owed ticks outlast the drain\'s bound; named while pending_intr_nr is above 0 (soak s10xvpt: livelock:msr/vintr/npf)', () => {
    const f = 'xen-missed-ticks-catch-up-outlasts-drain.json';
    for (const v of VARIANTS) {
      expect(causes(f, v), v).toEqual(['duplicate:missed-ticks-delivered-one-by-one', 'livelock:missed-ticks-delivered-one-by-one']);
      expect(classify([backend('xen')], `xen/${v}:livelock:missed-ticks-delivered-one-by-one`), v).toBe('known');
    }
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
  it('its livelock face when the burst ends exactly at the bound (pending_intr_nr already 0): named from the last owed tick injected (soak s10xvpt2: livelock:msr/npf)', () => {
    // The second file holds a lower self-IPI behind the burst: at the bound it waits for its window (soak s10xvpt3: livelock:vintr/npf).
    for (const f of ['xen-missed-ticks-catch-up-ends-at-drain-bound.json', 'xen-missed-ticks-catch-up-ends-at-drain-bound-held-ipi.json']) {
      for (const v of VARIANTS) expect(causes(f, v), `${f} ${v}`).toEqual(['duplicate:missed-ticks-delivered-one-by-one', 'livelock:missed-ticks-delivered-one-by-one']);
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
  it('soak s10xvpt3 (was duplicate:eventinj, also on main): an off-phase tick of the aligned train left in IRR across an LVTT vector rewrite keeps its name although the new vector\'s train ticks later (offPhaseTicks is a set)', () => {
    const f = 'xen-aligned-off-phase-tick-then-lvtt-vector-rewrite.json';
    for (const v of ['rework', '4.22']) expect(causes(f, v), v).toEqual(['duplicate:periodic-timer-first-tick-aligned']);
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
  it('soak s10xvpt4 (was stuck:untagged): a timer write while ticks are owed drops them and the expiries not yet counted (create_periodic_time: pending_intr_nr = 0); 10a674b4 keeps the timer on an LVTT write that keeps the mode', () => {
    // first: the 99 owed ticks are delivered one by one, past the drain's bound.
    expect(causes('xen-owed-ticks-dropped-by-lvtt-write.json', 'first')).toEqual(['duplicate:missed-ticks-delivered-one-by-one', 'livelock:missed-ticks-delivered-one-by-one']);
    for (const v of ['pre-fix', 'rework', '4.22']) expect(causes('xen-owed-ticks-dropped-by-lvtt-write.json', v), v).toEqual(['stuck:owed-ticks-dropped-by-timer-reprogram']);
    for (const v of VARIANTS) {
      expect(causes('xen-owed-ticks-dropped-by-tmict-write.json', v), v).toEqual(['stuck:owed-ticks-dropped-by-timer-reprogram']);
      expect(classify([backend('xen')], `xen/${v}:stuck:owed-ticks-dropped-by-timer-reprogram`), v).toBe('known');
    }
    for (const f of ['xen-owed-ticks-dropped-by-lvtt-write.json', 'xen-owed-ticks-dropped-by-tmict-write.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
  it('its ioapic face: the owed tick on a vector a level pin also uses', () => {
    const f = 'xen-missed-ticks-owed-on-pin-vector.json';
    for (const v of VARIANTS) {
      expect(causes(f, v), v).toEqual(['ioapic:missed-ticks-delivered-one-by-one']);
      expect(classify([backend('xen')], `xen/${v}:ioapic:missed-ticks-delivered-one-by-one`), v).toBe('known');
    }
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
  it('its spurious face, 10a674b4 only: an LVTT vector rewrite keeps pending_intr_nr and the owed tick comes under the new vector; the later trees re-create the timer (vlapic_update_timer)', () => {
    const f = 'xen-2016-owed-tick-under-new-lvtt-vector.json';
    expect(causes(f, 'first')).toEqual(['spurious:missed-ticks-delivered-one-by-one']);
    expect(classify([backend('xen')], 'xen/first:spurious:missed-ticks-delivered-one-by-one')).toBe('known');
    for (const v of ['pre-fix', 'rework', '4.22']) {
      expect(causes(f, v), v).toEqual([]);
      expect(classify([backend('xen')], `xen/${v}:spurious:missed-ticks-delivered-one-by-one`), v).toBe('unexpected');
    }
    expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('session-10 triage: KVM', () => {
  it('v4.10: a level EOI vmcs01 let through (the scan loaded the bitmap into vmcs02) whose Remote IRR another vCPU\'s EOI clears with the line low owes its re-send for good: the vCPU bare metal re-sent to is stuck:eoi-exitmap-loaded-into-vmcs02 (was stuck:untagged, check campaign of issue-ioreg)', () => {
    const s = load('kvm-eoi-exitmap-vmcs02-lost-eoi-remote-irr-cleared-low.json');
    for (const v of ['v4.10', 'v4.10-vtd']) {
      const d = runScenario(s, backend('kvm'), v).divergences;
      expect(d.map((x) => `${x.cause}@${x.cpu}`)).toEqual(['stuck:eoi-exitmap-loaded-into-vmcs02@2']);
      expect(classify(BACKENDS, `kvm/${v}:${d[0]!.cause}`)).not.toBe('unexpected');
    }
    // 4cf4df7ab4d1 defers the load to the nested VM exit: vmcs01 traps the EOI, which re-sends the high line.
    expect(runScenario(s, backend('kvm'), 'v6.12').divergences).toEqual([]);
    expect(runScenario(s, backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('session-10 triage: Xen (vpt soaks)', () => {
  // The late vioapic_update_EOI of a level EOI the guest avoided through the APIC assist (stuck:vioapic-eoi-deferred-by-
  // avoided-eoi, declared for rework and 4.22): its Remote IRR and re-send come when Xen notices, not at the guest's EOI.
  // The consequences below ride with it through the vIOAPIC's own notes (lowAtAvoidedEoi, set when that update finds the
  // line low; resentAfterAvoidedEoi, when it re-sends), never by vector.
  const causes = (f: string, v: string) => runScenario(load(f), backend('xen'), v).divergences.map((d) => d.cause);
  const VARIANTS = ['first', 'pre-fix', 'rework', '4.22'];
  const faces = (f: string, first: string) => {
    expect(causes(f, 'first')[0], 'first').toBe('stuck:assist-kept-across-nested-interrupt');
    // 4361e80d (pre-fix's tree) aborts the assist when anything is in service: the guest EOIs the level vector normally.
    expect(causes(f, 'pre-fix'), 'pre-fix').toEqual([]);
    for (const v of ['rework', '4.22']) {
      expect(causes(f, v)[0], v).toBe(first);
      for (const c of causes(f, v)) expect(classify([backend('xen')], `xen/${v}:${c}`), `${v} ${c}`).toBe('known');
    }
  };
  it('noticed with the line low, then the pin asserted after a rewrite of its destination: bare metal\'s Remote IRR (set by the re-send at the guest\'s EOI) holds it, Xen sends it to the new vCPU (was ioapic:level-resent-on-reassert)', () => {
    faces('xen-avoided-level-eoi-noticed-low-then-reassert-to-new-dest.json', 'ioapic:vioapic-eoi-deferred-by-avoided-eoi');
  });
  it('noticed with the line still high after the entry was rewritten to another vCPU: the re-send sets that vCPU\'s TMR (was read:tmr-level-pin-before-acceptance)', () => {
    faces('xen-avoided-level-eoi-resent-to-rewritten-dest-tmr-read.json', 'read:vioapic-eoi-deferred-by-avoided-eoi');
  });
  it('noticed with the line low: a redirection read shows Remote IRR clear where bare metal\'s EOI re-sent and set it (was read:redir-remote-irr-missing)', () => {
    faces('xen-avoided-level-eoi-noticed-low-remote-irr-read.json', 'read:vioapic-eoi-deferred-by-avoided-eoi');
  });
  // pre-fix's tree (48a933ee): teardown_vp_assist and initialize_vp_assist leave vp_assist.vector alone, and
  // vlapic_has_pending_irq clears the latched vector from ISR when viridian_complete_apic_assist returns it (bit 0 clear).
  it('pre-fix: an avoided EOI latched before the VP assist page is unmapped is completed after the remap, retiring a later instance of its vector: declared there as on rework and 4.22', () => {
    const f = 'xen-prefix-latched-avoided-eoi-completed-after-remap-masked-ppr.json';
    for (const v of ['pre-fix', 'rework', '4.22']) {
      expect(causes(f, v), v).toEqual(['masked-ppr:avoided-eoi-misretired-after-vp-assist-unmap']);
      expect(classify([backend('xen')], `xen/${v}:masked-ppr:avoided-eoi-misretired-after-vp-assist-unmap`), v).toBe('known');
    }
    // 10a674b4's initialize_apic_assist resets the latch at the remap: nothing is completed.
    expect(causes(f, 'first')).toEqual([]);
  });
  it('pre-fix: the latch also survives a normal EOI (vlapic_EOI_set has no viridian code there); an ISR read shows the later instance retired, where rework\'s normal EOI cleared the pending assist', () => {
    const f = 'xen-prefix-latched-avoided-eoi-completed-after-remap-isr-read.json';
    expect(causes(f, 'pre-fix')).toEqual(['read:avoided-eoi-misretired-after-vp-assist-unmap']);
    expect(classify([backend('xen')], 'xen/pre-fix:read:avoided-eoi-misretired-after-vp-assist-unmap')).toBe('known');
    expect(classify([backend('xen')], 'xen/pre-fix:eoi:avoided-eoi-misretired-after-vp-assist-unmap')).toBe('known');
    // No vlapic_EOI_set on this path, so no vIOAPIC face is declared for pre-fix.
    expect(classify([backend('xen')], 'xen/pre-fix:ioapic:avoided-eoi-misretired-after-vp-assist-unmap')).toBe('unexpected');
    for (const v of ['first', 'rework', '4.22']) expect(causes(f, v), v).toEqual([]);
  });
  it('an LVT timer with the illegal vector 1: the ESR read after bare metal\'s expiry lacks RIV because the clamped timer (create_periodic_time: 0.1 ms) has not fired — named from the model\'s archOwed, on every tree (was read:esr-riv-missing)', () => {
    const f = 'xen-illegal-vector-periodic-timer-clamped-esr-read.json';
    for (const v of VARIANTS) {
      expect(causes(f, v)[0], v).toBe('read:periodic-timer-period-clamped-to-100us');
      for (const c of causes(f, v)) expect(classify([backend('xen')], `xen/${v}:${c}`), `${v} ${c}`).toBe('known');
    }
  });
  it('an x2APIC logical broadcast IPI of a level vector in service: the TMR bit bare metal\'s edge acceptance cleared stays set in Xen, which matched no vCPU — named from misroutedEdge, on every tree (was read:tmr-set-without-level-message)', () => {
    const f = 'xen-x2apic-logical-broadcast-edge-of-level-vector-tmr-read.json';
    for (const v of VARIANTS) {
      expect(causes(f, v), v).toEqual(['read:logical-broadcast-not-matched', 'stuck:logical-broadcast-not-matched']);
      for (const c of causes(f, v)) expect(classify([backend('xen')], `xen/${v}:${c}`), `${v} ${c}`).toBe('known');
    }
  });
  it('xen/first: the guest\'s EOI of a level instance retired the nested vector whose EOI a stale assist bit made it skip; the level vector left in Xen\'s ISR (pin masked since) is the expected stale-assist-bit-after-normal-eoi (was stuck:untagged)', () => {
    const f = 'xen-first-stale-assist-bit-level-eoi-retires-nested-then-pin-masked.json';
    expect(causes(f, 'first')).toEqual(['stuck:stale-assist-bit-after-normal-eoi']);
    expect(classify([backend('xen')], 'xen/first:stuck:stale-assist-bit-after-normal-eoi')).toBe('expected');
    for (const v of ['pre-fix', 'rework', '4.22']) expect(causes(f, v), v).toEqual([]);
  });
  it('the branch\'s scan (s10txb:81220): an IRR bit of an MSI accepted while the vlapic was software-disabled is that message\'s, not the aligned timer\'s off-phase tick pt_update_irq suspended (was ioapic:periodic-timer-first-tick-aligned)', () => {
    const f = 'xen-sw-disabled-msi-of-aligned-timer-vector-irr-read.json';
    for (const v of ['first', 'pre-fix', 'rework']) {
      expect(causes(f, v), v).toEqual(['ioapic:fixed-irq-accepted-while-sw-disabled']);
      expect(classify([backend('xen')], `xen/${v}:ioapic:fixed-irq-accepted-while-sw-disabled`), v).toBe('known');
    }
    // f1d7aac1e3: vmsi_deliver skips a disabled vlapic.
    expect(causes(f, '4.22')).toEqual([]);
  });
  it('the check soak s10txen10: an expiry bare metal makes while Xen owes ticks is missing from IRR until pt_update_irq at the next entry (the timer is not re-armed while pending_intr_nr > 0) — stuck:missed-ticks-delivered-one-by-one, from archExpiredWhileOwed (was stuck:untagged)', () => {
    const a = 'xen-missed-ticks-expiry-while-owed-irr-read-after-vector-rewrite.json';
    for (const v of ['pre-fix', 'rework', '4.22']) expect(causes(a, v)[0], v).toBe('stuck:missed-ticks-delivered-one-by-one');
    const b = 'xen-missed-ticks-owed-tick-waits-after-avoided-eoi.json';
    for (const v of VARIANTS) expect(causes(b, v)[0], v).toBe('stuck:missed-ticks-delivered-one-by-one');
    for (const v of VARIANTS) {
      for (const f of [a, b]) for (const c of causes(f, v)) expect(classify([backend('xen')], `xen/${v}:${c}`), `${v} ${f} ${c}`).not.toBe('unexpected');
    }
  });
});

describe('session-10 triage: KVM timer behind the nested exit\'s acknowledgement', () => {
  it('an L1 timer expiry that apic_timer_fn left in lapic_timer.pending after the requests phase, and nested_vmx_vmexit acknowledging a lower L1 vector for ack-on-exit: L1 takes the lower vector first, APICv or not (was priority:ack-on-exit, soak s10final:1:2792607 on v6.12-noapicv)', () => {
    const s = load('kvm-timer-pending-behind-nested-exit-ack.json');
    for (const v of ['v6.12', 'v6.12-vtd', 'v6.12-noapicv', 'v4.10']) {
      const d = runScenario(s, backend('kvm'), v).divergences;
      expect(d[0]!.cause, v).toBe('stuck:timer-pending-behind-nested-exit-ack');
      expect(d[0]!.symptoms, v).toContain('priority-inversion:timer');
      for (const x of d) expect(classify(BACKENDS, `kvm/${v}:${x.cause}`), `${v} ${x.cause}`).not.toBe('unexpected');
    }
    // Bare metal: the expiry set IRR at once, and the exit acknowledges the timer's higher vector (REF-NST-4).
    expect(runScenario(s, backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});

describe('session-10 triage: KVM self-IPI TMR, rewritten vector', () => {
  it('a virtualized self-IPI of a level vector in service keeps TMR, so its EOI exits and clears Remote IRR; the unmasking rewrite of the entry to another vector then sends (v6.12 ioapic_service refuses only while Remote IRR is set): the send is the kept TMR\'s, kept per entry across the vector rewrite (was ioapic:level-resent-on-redirection-write, soak s10final:1:187916)', () => {
    const s = load('kvm-self-ipi-tmr-kept-eoi-then-vector-rewrite-sends.json');
    for (const v of ['v6.12', 'v6.12-vtd']) {
      const d = runScenario(s, backend('kvm'), v).divergences;
      expect(d.map((x) => x.cause), v).toEqual(['ioapic:tmr-kept-by-virtualized-self-ipi']);
      expect(classify(BACKENDS, `kvm/${v}:${d[0]!.cause}`)).not.toBe('unexpected');
    }
    // Without APICv the self-IPI exits and __apic_accept_irq clears TMR as bare metal's acceptance does.
    expect(runScenario(s, backend('kvm'), 'v6.12-noapicv').divergences).toEqual([]);
    expect(runScenario(s, backend('baremetal'), 'sdm').divergences).toEqual([]);
  });
});
