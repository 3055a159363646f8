// The oracle on hypervisors it has never seen: a small correct toy hypervisor must stay
// silent, the same toy with one planted bug must be caught under one root cause, and bugs
// planted in the real models (their declarations left as they were) must surface as
// UNEXPECTED, each in one bucket. This is how a user's new bug meets irqdiff: through the
// generic rules (timeliness, core state, EOI, reads, delivery checks), not through tags
// written for a known bug.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/api.js';
import { runScenario } from '../../src/engine/session.js';
import { classify } from '../../src/fuzz/classify.js';
import { runJob } from '../../src/fuzz/job.js';
import { generateAndRun } from '../../src/gen/generator.js';
import { parseSignature } from '../../src/oracle/divergence.js';
import { parseScenario } from '../../src/scenario/schema.js';
import toyHv, { PLANTED, type ToyVariant } from '../fixtures/toy-hv.js';
import {
  acrnEoiNoEvent, acrnNoNotification, acrnTprThresholdNotWritten, bhyveEdgeTmr, bhyveEoiNoPprUpdate, bhyveLevelEoiLost, kvmNoapicvAcceptNoReqEvent,
  kvmPiOnNeverSet, nvmxEoiNoRequest, nvmxNmiNoRequest, xenLevelAsEdge, xenPprIgnoresIsr, xenSetIrqNoKick,
} from '../fixtures/planted-real.js';
import kvmNvmx from '../../src/backends/kvm-nvmx/index.js';
import bhyve from '../../src/backends/bhyve/index.js';
import { rateAlarms } from '../../src/fuzz/rates.js';

/** Run the campaign's own job loop (generation, judging, minimization) for `iterations`. */
function campaign(b: Backend, variant: string, iterations: number, engine: 'guided' | 'random' = 'guided') {
  let clock = 0;
  const found: string[] = [];
  const stats = runJob([{ backend: b, variant }], {
    seed: 'blind', job: 0, startIter: 0, deadline: iterations, maxEvents: 64, known: new Set(), engine,
  }, (f) => found.push(f.signature), () => {}, () => clock++);
  const unexpected = found.filter((s) => classify([b], s) === 'unexpected');
  return { stats, found, unexpected };
}

/** Interleavings until the first divergence (or the budget), and the causes seen on the way. */
function hunt(variant: ToyVariant, budget: number) {
  const causes = new Map<string, number>();
  let first = -1;
  for (let i = 0; i < budget && (first < 0 || i < first + 2000); i++) {
    const { result } = generateAndRun(`blind:${i}`, toyHv, variant);
    for (const d of result.divergences) causes.set(d.cause, (causes.get(d.cause) ?? 0) + 1);
    if (first < 0 && result.divergences.length > 0) first = i;
  }
  return { first, causes };
}

/** The class of cause each planted bug must land in, and the rule that catches it. */
const EXPECTED: Record<(typeof PLANTED)[number], [string, string]> = {
  'planted-lowest-first': ['stuck', 'REF-DISP-1'], // the higher vector is held while a lower one is taken
  'planted-nmi-after-intr': ['stuck', 'REF-DISP-4'], // the NMI is held behind the maskable interrupt
  'planted-nmi-count': ['duplicate', 'REF-NMI-1'], // a second NMI where bare metal latched one
  'planted-self-ipi-queue': ['duplicate', 'REF-LAT-2'], // a self-IPI collapses for good
  'planted-no-riv': ['read', 'REF-VEC-1'], // ESR lacks Receive Illegal Vector
  'planted-drop-eoi': ['eoi', 'REF-EOI-3'], // named at the EOI rather than by what it strands
  'planted-drop-reinject': ['core', 'REF-CORE-1'], // the handler bare metal entered was never entered
  'planted-hlt-wakes-if0': ['core', 'REF-HLT-1'], // ran although halted
  'planted-iret-early': ['nmi-blocked', 'REF-DISP-3'],
  'planted-tpr-lazy': ['stuck', 'REF-TIME-1'], // taken at the next exit instead of the next boundary
  'planted-double-skip': ['dropped', 'REF-CORE-2'], // a running vCPU's instruction never executed
};

describe('a correct hypervisor the oracle was not written for', () => {
  it('is silent over 8000 interleavings', () => {
    for (let i = 0; i < 8000; i++) {
      const { result } = generateAndRun(`blind:${i}`, toyHv, 'correct');
      if (result.divergences.length > 0) expect.fail(`blind:${i}: ${result.divergences.map((d) => d.signature).join(', ')}`);
    }
  }, 120_000);
});

describe('one planted bug, one root cause', () => {
  for (const bug of PLANTED) {
    if (bug === 'planted-nmi-count') continue; // rare in generation (≈1 in 8000): directed below
    it(`${EXPECTED[bug][1]}: ${bug} is caught, and its dominant cause is ${EXPECTED[bug][0]}`, () => {
      const { first, causes } = hunt(bug, 30_000);
      expect(first, `${bug} never flagged`).toBeGreaterThanOrEqual(0);
      const sorted = [...causes].sort((a, b) => b[1] - a[1]);
      const total = sorted.reduce((n, [, k]) => n + k, 0);
      expect(sorted[0]![0].split(':')[0]).toBe(EXPECTED[bug][0]);
      // Consequences ride with their cause: at most a trickle lands elsewhere.
      expect(sorted[0]![1] / total, JSON.stringify(sorted)).toBeGreaterThanOrEqual(0.95);
    }, 120_000);
  }

  it('REF-NMI-1: planted-nmi-count: two NMIs that landed while one was pending are delivered once on bare metal', () => {
    const s = parseScenario(readFileSync(new URL('./scenarios/two-nmis-latched.json', import.meta.url), 'utf8'));
    expect(runScenario(s, toyHv, 'correct').divergences).toEqual([]);
    const d = runScenario(s, toyHv, 'planted-nmi-count').divergences;
    expect(d.map((x) => x.cause)).toEqual(['duplicate:inject_pending']);
  });

  for (const bug of ['planted-drop-eoi', 'planted-drop-reinject', 'planted-hlt-wakes-if0', 'planted-lowest-first', 'planted-tpr-lazy', 'planted-double-skip'] as const) {
    it(`a campaign on ${bug} reports exactly one UNEXPECTED bucket`, () => {
      const { unexpected, stats } = campaign(toyHv, bug, 1500);
      expect(stats.divergent).toBeGreaterThan(0);
      expect(unexpected.map((s) => parseSignature(s)!.cause)).toEqual([expect.stringMatching(new RegExp(`^${EXPECTED[bug][0]}:`))]);
    }, 120_000);
  }
});

describe('bugs planted in the real models surface as UNEXPECTED, one bucket each', () => {
  it('kvm-nvmx/fixed whose apic_set_eoi makes no KVM_REQ_EVENT', () => {
    const { unexpected } = campaign(nvmxEoiNoRequest, 'fixed-planted-eoi-no-req-event', 600);
    expect(unexpected.map((s) => parseSignature(s)!.cause)).toEqual(['stuck:l1-no-kvm-req-event']);
  }, 120_000);

  it('bhyve/fixed whose level EOI never reaches the vIOAPIC', () => {
    const { unexpected } = campaign(bhyveLevelEoiLost, 'fixed-planted-level-eoi-lost', 3000);
    // One cause: the pin's Remote IRR is never cleared. The guest may read the bit back before the
    // held line is judged; a stale Remote IRR the backend says holds the line is that same cause.
    expect(unexpected.map((s) => parseSignature(s)!.cause)).toEqual(['stuck:ioapic-remote-irr-set']);
  }, 180_000);

  it('bhyve/fixed whose vioapic_update_tmr sets TMR for edge pins (not hidden by the documented TMR deviation)', () => {
    const { unexpected } = campaign(bhyveEdgeTmr, 'fixed-planted-edge-tmr', 3000);
    expect(unexpected.map((s) => parseSignature(s)!.cause)).toEqual(['read:tmr-set-without-level-message']);
  }, 180_000);

  it('xen/4.22 whose vlapic_get_ppr forgets the ISR (not hidden by the PPR reads Xen really gets wrong)', () => {
    const { unexpected } = campaign(xenPprIgnoresIsr, '4.22-planted-ppr-ignores-isr', 3000);
    expect(unexpected.map((s) => parseSignature(s)!.cause)).toEqual(['read:ppr-mismatch']);
  }, 180_000);
});

describe('slips planted in today\'s clean variants surface as UNEXPECTED', () => {
  const causes = (found: string[]) => found.map((s) => parseSignature(s)!.cause);

  it('kvm/v6.12 whose vmx_deliver_posted_interrupt never sets PIR.ON', () => {
    // vmx_sync_pir_to_irr skips a PIR whose ON is clear: what was posted while the vCPU was
    // outside guest mode stays there, named by where it is held.
    const { unexpected } = campaign(kvmPiOnNeverSet, 'v6.12-planted-pi-on-never-set', 400);
    expect(causes(unexpected)).toEqual(['stuck:pir-without-on']);
  }, 120_000);

  it('acrn/v3.3-adv whose apicv_advanced_accept_intr sends no notification vector', () => {
    // The documented self-notification latency (stuck:pir-self-notification-in-flight) is the same
    // place in PIR; the remote notification that never left is not it.
    const { unexpected } = campaign(acrnNoNotification, 'v3.3-adv-planted-no-pi-notification', 800);
    expect(causes(unexpected)).toEqual(['stuck:pir-notification-in-flight']);
  }, 120_000);

  it('acrn/v3.3-basic whose VMX_TPR_THRESHOLD write is lost (not hidden by the documented stale threshold)', () => {
    // Documented: a threshold vlapic_update_tpr_threshold computed before a TPR raise. A VMCS
    // threshold that no pass wrote is named by the stale PPR alone.
    const { unexpected } = campaign(acrnTprThresholdNotWritten, 'v3.3-basic-planted-tpr-threshold-not-written', 1000);
    expect(causes(unexpected)).toEqual(['stuck:irr-below-stale-ppr']);
  }, 120_000);

  it('kvm/v6.12-noapicv whose vmx_deliver_interrupt makes no KVM_REQ_EVENT is UNEXPECTED', () => {
    const { unexpected } = campaign(kvmNoapicvAcceptNoReqEvent, 'v6.12-noapicv-planted-accept-no-req-event', 300);
    expect(causes(unexpected)).toContain('stuck:irr-not-injected');
  }, 120_000);
  it.todo('kvm/v6.12-noapicv accept-no-req-event in one bucket: its held vector is also filed by the state it is found in '
    + '(stuck:irr-kvm-req-event-pending once a later request is pending, stuck:l1-pending-at-nested-entry on a nested machine, '
    + 'core:ran-while-halted when kvm_vcpu_has_events ends the HLT) — src/backends/kvm/index.ts whereStuck/irrStuckNoApicv/explain '
    + 'keep no diagnostic of the acceptance that made no request (not ours to edit)');

  it('xen/rework whose vlapic_set_irq calls vcpu_unblock instead of vcpu_kick is UNEXPECTED', () => {
    const { unexpected } = campaign(xenSetIrqNoKick, 'rework-planted-set-irq-no-kick', 300);
    expect(causes(unexpected)).toContain('stuck:irr');
  }, 120_000);
  it.todo('xen/rework set-irq-no-kick in one bucket: a vector held behind an avoided EOI Xen has not noticed (it notices only '
    + 'in svm_intr_assist, which the kick would have run) is filed as stuck:avoided-eoi-not-retired — src/backends/xen/machine.ts '
    + 'whereStuck asks the ISR/assist state before whether the running vCPU was ever kicked (not ours to edit)');
  it('bhyve/fixed whose vlapic_process_eoi forgets vlapic_update_ppr is UNEXPECTED', () => {
    const { unexpected } = campaign(bhyveEoiNoPprUpdate, 'fixed-planted-eoi-no-ppr-update', 300);
    expect(causes(unexpected)).toContain('stuck:virr');
  }, 120_000);
  it('bhyve/fixed eoi-no-ppr-update: a LINT vector raised from another CPU and then held by the stale PPR is not the documented remote raise', () => {
    // stuck:lint-raised-on-other-cpu documents the guest running on until vcpu_notify_event's IPI
    // makes it exit; once svm_inj_interrupts has run since the raise it has seen the vIRR, and the
    // hold is the stale PPR's (here on both vCPUs: one cause).
    const s = parseScenario(readFileSync(new URL('./scenarios/bhyve-planted-stale-ppr-with-remote-lint.json', import.meta.url), 'utf8'));
    expect(runScenario(s, bhyve, 'fixed').divergences).toEqual([]);
    expect(runScenario(s, bhyveEoiNoPprUpdate, 'fixed-planted-eoi-no-ppr-update').divergences.map((d) => d.cause)).toEqual(['stuck:virr']);
  });
  it.todo('bhyve/fixed eoi-no-ppr-update in one bucket: a PPR read before the hold is judged is read:ppr-mismatch, and a level '
    + 'pin whose re-sent vector the stale PPR holds is stuck:ioapic-remote-irr-set (src/backends/bhyve/machine.ts whereStuck/explain '
    + 'have no name for a stored PPR above what vlapic_update_ppr would compute)');
  it('xen/rework whose vioapic_deliver passes trig_mode 0 (Remote IRR never cleared) is UNEXPECTED, not the avoided-EOI deferral', () => {
    // whereStuck named any pin held by Remote IRR vioapic-eoi-deferred-by-avoided-eoi (assistCause's level default);
    // now only the vCPU whose avoided EOI is deferred, or a path that lost an EOI, names it.
    const { found, unexpected } = campaign(xenLevelAsEdge, 'rework-planted-vioapic-level-as-edge', 3000);
    expect(found.filter((s) => s.includes('vioapic-eoi-deferred-by-avoided-eoi'))).toEqual([]);
    expect(causes(unexpected)).toContain('read:tmr-clear-for-level');
  }, 180_000);
  it.todo('xen/rework vioapic-level-as-edge in one bucket: its consequences split over read:tmr-clear-for-level, '
    + 'read:tmr-cleared-after-eoi, read:redir-remote-irr-stale, stuck:untagged and priority:eventinj (the model keeps no '
    + 'diagnostic of a level message accepted as edge)');
});

describe('a documented cause that suddenly shows far more often', () => {
  it('raises a rate jump, not silence', () => {
    const b = nvmxNmiNoRequest;
    const v = b.variants[0]!;
    const doc = v.knownDeviations!.find((d) => d.cause === 'stuck:nmi-queued-after-request-check')!;
    expect(doc.rate).toBeDefined(); // measured (src/backends/kvm-nvmx/rates.ts)
    const { stats } = campaign(b, v.name, 3000);
    // Most of what the bug strands carries the documented tag, which classification alone
    // would file away; the campaign says that it shows many times more often than recorded.
    // Guided: the rates compare with its fresh generator runs alone (the random engine's runs, same seeds).
    const alarms = rateAlarms([b], stats.fresh.bySignature, stats.fresh.runs);
    expect(alarms.map((a) => a.signature)).toContain(`kvm-nvmx/${v.name}:stuck:nmi-queued-after-request-check`);
  }, 120_000);

  it('acrn/v3.3-basic whose vlapic_process_eoi makes no EVENT request: the documented stale TPR threshold, far more often', () => {
    // The EOI pass no longer recomputes the threshold, so a vector masked by a TPR raised before the
    // EOI waits exactly as stuck:irr-tpr-threshold-stale documents (the state is that mechanism's:
    // a threshold an earlier EVENT pass computed, no later pass recomputing it). Classification files
    // it away; the rate says it shows several times more often than recorded.
    const b = acrnEoiNoEvent;
    const v = b.variants[0]!;
    const { stats, unexpected } = campaign(b, v.name, 8000, 'random');
    expect(unexpected).toEqual([]);
    expect(stats.fresh.bySignature).toEqual(stats.bySignature); // random: every run is the generator's own
    expect(rateAlarms([b], stats.fresh.bySignature, stats.fresh.runs).map((a) => a.signature)).toEqual([`acrn/${v.name}:stuck:irr-tpr-threshold-stale`]);
  }, 120_000);

  it('stays quiet on the variant as it is', () => {
    const b = { ...kvmNvmx, variants: kvmNvmx.variants.filter((x) => x.name === 'fixed') };
    // The recorded rates are the generator's (random engine, the campaign's default); guided
    // search shifts how often each cause shows, so it is not what they are compared with.
    const { stats } = campaign(b, 'fixed', 3000, 'random');
    expect(rateAlarms([b], stats.fresh.bySignature, stats.fresh.runs)).toEqual([]);
  }, 120_000);

  it('stays quiet on the variant as it is under guided search too, counting its fresh generator runs alone', () => {
    const b = { ...kvmNvmx, variants: kvmNvmx.variants.filter((x) => x.name === 'fixed') };
    const { stats } = campaign(b, 'fixed', 6000, 'guided');
    // Half of guided's runs after the warm-up are the generator's (freshRun); the rest are feedback runs.
    const n = stats.scenarios;
    expect(n).toBeGreaterThan(1000);
    expect(stats.fresh.runs['kvm-nvmx/fixed']).toBe(64 + Math.ceil((n - 64) / 2));
    expect(rateAlarms([b], stats.fresh.bySignature, stats.fresh.runs)).toEqual([]);
  }, 120_000);
});
