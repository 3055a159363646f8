// Issue 8, shared vectors on by default: the shapes `unexpected-scan --shared 1` still left unnamed
// (seeds sw:0–9999), each now named by the mechanism the model's own step records, or accepted by
// the reference where the SDM leaves the outcome open (that one: test/oracle/shared-vector.test.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { runScenario } from '../../src/engine/session.js';
import { parseScenario } from '../../src/scenario/schema.js';
import { classify } from '../../src/fuzz/classify.js';

const load = (name: string) => parseScenario(readFileSync(new URL(`./scenarios/${name}`, import.meta.url), 'utf8'), name);
const backend = (n: string) => BACKENDS.find((b) => b.name === n)!;
const causes = (file: string, b: string, v: string) => runScenario(load(file), backend(b), v).divergences.map((d) => d.cause);
const known = (b: string, v: string, cause: string) => classify(BACKENDS, `${b}/${v}:${cause}`);

describe('shared vectors: the last unnamed shapes', () => {
  it('kvm -vtd: the EOI of a copy re-sent because VT-d left TMR set re-sends the pin again; a masked edge entry of the vector earlier in the table does not lose that cause', () => {
    // kvm_ioapic_update_eoi visits every entry with the vector (ioapic.c); the owed diagnostic is read once per EOI.
    for (const v of ['v4.10', 'v4.11', 'v4.16', 'v6.12']) {
      expect(causes('kvm-vtd-kept-tmr-eoi-resend-beside-masked-edge-entry.json', 'kvm', `${v}-vtd`), v).toEqual(['ioapic:tmr-kept-by-vtd-posted-msi']);
      expect(known('kvm', `${v}-vtd`, 'ioapic:tmr-kept-by-vtd-posted-msi')).toBe('known');
      // Without VT-d the MSI clears TMR in __apic_accept_irq, as bare metal's acceptance does.
      expect(causes('kvm-vtd-kept-tmr-eoi-resend-beside-masked-edge-entry.json', 'kvm', v), v).toEqual([]);
    }
  });

  it('bhyve: Remote IRR kept across an edge entry (RTBL_RO_BITS) holds the message the level rewrite sends on bare metal: stuck:remote-irr-kept-on-edge-entry', () => {
    for (const v of ['prefix', 'fixed', 'main']) {
      expect(causes('bhyve-remote-irr-kept-on-edge-then-level-rewrite.json', 'bhyve', v), v).toEqual(['stuck:remote-irr-kept-on-edge-entry']);
      expect(known('bhyve', v, 'stuck:remote-irr-kept-on-edge-entry')).toBe('known');
    }
  });

  it('acrn/2018-basic: an instance bare metal merged and ACRN holds below its stale PPR, read in IRR, is read:irr-below-stale-ppr even when a pin shares the vector', () => {
    const c = causes('acrn-2018-stale-ppr-holds-shared-pin-vector-irr-read.json', 'acrn', '2018-basic');
    expect(c).toEqual(['masked-ppr:injected-above-stale-ppr', 'read:irr-below-stale-ppr']);
    for (const x of c) expect(known('acrn', '2018-basic', x)).toBe('known');
  });

  it('acrn advanced x2APIC: a virtualized self-IPI at a software-disabled APIC on a pin\'s vector is filed under the pin\'s class, the same mechanism', () => {
    for (const v of ['3374-adv', 'pre-4937-adv', 'pre-8507-adv', 'v3.3-adv']) {
      expect(causes('acrn-adv-self-ipi-sw-disabled-on-pin-vector.json', 'acrn', v), v).toEqual(['ioapic:self-ipi-virtualized-while-sw-disabled']);
      expect(known('acrn', v, 'ioapic:self-ipi-virtualized-while-sw-disabled')).toBe('known');
    }
    // Basic mode intercepts the SELF_IPI MSR: vlapic_accept_intr drops it while software-disabled.
    expect(causes('acrn-adv-self-ipi-sw-disabled-on-pin-vector.json', 'acrn', 'v3.3-basic')).toEqual([]);
  });

  it('acrn v3.3 basic: a level message collapsed into a pending edge instance without setting TMR (apicv_basic_accept_intr) is accepted', () => {
    expect(causes('acrn-basic-level-collapsed-into-self-ipi-keeps-tmr.json', 'acrn', 'v3.3-basic')).toEqual([]);
  });

  it('kvm with APICv: a virtualized self-IPI of a level pin\'s vector leaves TMR set (SDM 29.1.5): the TMR read and the EOI re-send are tmr-kept-by-virtualized-self-ipi', () => {
    for (const v of ['v4.10', 'v4.16', 'v6.12', 'v6.12-vtd']) {
      expect(causes('kvm-virtualized-self-ipi-keeps-level-tmr.json', 'kvm', v), v).toEqual(['read:tmr-kept-by-virtualized-self-ipi']);
      expect(causes('kvm-virtualized-self-ipi-tmr-eoi-resends-pin.json', 'kvm', v), v).toEqual(['ioapic:tmr-kept-by-virtualized-self-ipi']);
      for (const c of ['read', 'ioapic']) expect(known('kvm', v, `${c}:tmr-kept-by-virtualized-self-ipi`)).toBe('known');
    }
    // Without APICv the SELF_IPI write exits into __apic_accept_irq, which clears TMR as bare metal's acceptance does.
    expect(causes('kvm-virtualized-self-ipi-keeps-level-tmr.json', 'kvm', 'v6.12-noapicv')).toEqual([]);
    expect(causes('kvm-virtualized-self-ipi-tmr-eoi-resends-pin.json', 'kvm', 'v6.12-noapicv')).toEqual([]);
    expect(known('kvm', 'v6.12-noapicv', 'read:tmr-kept-by-virtualized-self-ipi')).toBe('unexpected');
  });

  it('bhyve: the table\'s TMR makes the EOI of a level pin\'s vector broadcast after an IPI of it was accepted: ioapic:eoi-of-edge-instance-broadcast-by-table-tmr', () => {
    for (const v of ['prefix', 'fixed', 'main']) {
      expect(causes('bhyve-table-tmr-eoi-broadcast-after-shared-ipi.json', 'bhyve', v), v).toEqual(['ioapic:eoi-of-edge-instance-broadcast-by-table-tmr']);
      expect(known('bhyve', v, 'ioapic:eoi-of-edge-instance-broadcast-by-table-tmr')).toBe('known');
    }
  });

  it('acrn 2018 tree: another pin\'s edge entry of a level pin\'s vector clears its TMR bit, the level EOI is lost: stuck:eoi-lost-tmr-cleared-by-edge-entry; since 2019 TMR follows acceptance', () => {
    for (const v of ['2018-basic', 'pre-1443-vid', '1443-vid']) {
      expect(causes('acrn-2018-edge-entry-clears-level-tmr-eoi-lost.json', 'acrn', v), v).toEqual(['stuck:eoi-lost-tmr-cleared-by-edge-entry']);
      expect(known('acrn', v, 'stuck:eoi-lost-tmr-cleared-by-edge-entry')).toBe('known');
    }
    expect(causes('acrn-2018-edge-entry-clears-level-tmr-eoi-lost.json', 'acrn', 'v3.3-basic')).toEqual([]);
  });

  it('kvm v6.12: an IPI of a level pin\'s vector that vector hashing dropped leaves TMR set, the EOI re-sends the pin: ioapic:lowest-priority-hashed-to-absent-apic', () => {
    for (const v of ['v6.12', 'v6.12-vtd', 'v6.12-noapicv']) {
      expect(causes('kvm-lowest-hashed-absent-ipi-keeps-level-tmr.json', 'kvm', v), v).toEqual(['ioapic:lowest-priority-hashed-to-absent-apic']);
      expect(known('kvm', v, 'ioapic:lowest-priority-hashed-to-absent-apic')).toBe('known');
    }
    // v4.x re-services the entry at the redirection write first (documented there).
    expect(causes('kvm-lowest-hashed-absent-ipi-keeps-level-tmr.json', 'kvm', 'v4.16')).toEqual(['ioapic:level-resent-on-redirection-write']);
  });

  it('all ten are silent on bare metal', () => {
    for (const f of ['kvm-lowest-hashed-absent-ipi-keeps-level-tmr.json', 'bhyve-table-tmr-eoi-broadcast-after-shared-ipi.json', 'acrn-2018-edge-entry-clears-level-tmr-eoi-lost.json','kvm-virtualized-self-ipi-keeps-level-tmr.json', 'kvm-virtualized-self-ipi-tmr-eoi-resends-pin.json',
      'kvm-vtd-kept-tmr-eoi-resend-beside-masked-edge-entry.json', 'bhyve-remote-irr-kept-on-edge-then-level-rewrite.json',
      'acrn-2018-stale-ppr-holds-shared-pin-vector-irr-read.json', 'acrn-adv-self-ipi-sw-disabled-on-pin-vector.json',
      'acrn-basic-level-collapsed-into-self-ipi-keeps-tmr.json']) {
      expect(runScenario(load(f), backend('baremetal'), 'sdm').divergences, f).toEqual([]);
    }
  });
});
