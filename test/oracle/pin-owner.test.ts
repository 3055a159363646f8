// A pin that sent a message bare metal would not send is owned by that cause: what the pin does
// afterwards rides with it (docs/oracle.md, "Consequences ride with their cause"). Each scenario
// is a guided-soak interleaving whose later symptom used to open an UNEXPECTED second bucket.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { runScenario } from '../../src/engine/session.js';
import { parseScenario } from '../../src/scenario/schema.js';

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
});
