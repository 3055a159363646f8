// The generator's long clock scale (issue 8): on it, every periodic count is at or above each
// hypervisor's minimum period, so a periodic timer runs at its programmed period on kvm, xen and
// acrn (on the short scale, counts 1–16, every one is raised to the minimum: a documented cause).
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/api.js';
import { MIN_TIMER_PERIOD_TICKS } from '../../src/backends/acrn/timer.js';
import { MIN_TIMER_PERIOD_NS } from '../../src/backends/kvm/timer.js';
import { BACKENDS } from '../../src/backends/registry.js';
import { MIN_PERIOD } from '../../src/backends/xen/vpt.js';
import { runScenario } from '../../src/engine/run.js';
import { DEFAULT_GEN, generateAndRun, LONG_CLOCK } from '../../src/gen/generator.js';
import { validateScenario } from '../../src/scenario/schema.js';
import type { Event, Scenario } from '../../src/scenario/types.js';

const be = (name: string): Backend => BACKENDS.find((b) => b.name === name)!;
const V = 0x40;

/** A periodic timer of `count` ticks, taken three times, each after `count` ticks of the clock. */
function periodic(count: number): Scenario {
  const events: Event[] = [
    { k: 'lvt_timer', cpu: 0, vector: V, mode: 'periodic', masked: false }, { k: 'enter', cpu: 0 },
    { k: 'timer_initial', cpu: 0, count }, { k: 'enter', cpu: 0 },
  ];
  // Each tick: the clock reaches it, the entry path injects it, the handler EOIs (an exit) and IRETs.
  for (let i = 0; i < 3; i++) {
    events.push({ k: 'time', cpu: 0, advance: count }, { k: 'enter', cpu: 0 }, { k: 'enter_step', cpu: 0 }, { k: 'step', cpu: 0 },
      { k: 'eoi', cpu: 0 }, { k: 'enter', cpu: 0 }, { k: 'iret', cpu: 0 }, { k: 'step', cpu: 0 });
  }
  return { irqdiff: 1, machine: { vcpus: 1, apic: 'xapic', ioapic: [] }, events };
}

// Each backend's clean variant and the cause its minimum period shows as on the short scale.
const CLEAN: [string, string, string][] = [
  ['kvm', 'v6.12', 'stuck:periodic-timer-period-limited'],
  ['xen', '4.22', 'stuck:periodic-timer-period-clamped-to-100us'],
  ['acrn', 'v3.3-basic', 'stuck:timer-period-raised-to-minimum'],
];

describe('long clock scale', () => {
  it('is at or above every hypervisor minimum period, in clock units', () => {
    // kvm: 1 unit = 1 ns (APIC_BUS_CYCLE_NS 1); xen: 1 unit = one 10 ns tick; acrn: 1 unit = one 2 GHz TSC tick.
    expect(LONG_CLOCK).toBeGreaterThanOrEqual(MIN_TIMER_PERIOD_NS);
    expect(LONG_CLOCK).toBeGreaterThanOrEqual(MIN_PERIOD);
    expect(LONG_CLOCK).toBeGreaterThanOrEqual(MIN_TIMER_PERIOD_TICKS);
  });

  for (const [name, variant, cause] of CLEAN) {
    it(`${name}/${variant}: the short scale's largest count runs at the minimum, the long scale's smallest at its own period`, () => {
      const short = runScenario(periodic(16), be(name), variant).divergences.map((d) => d.cause);
      expect(short).toContain(cause);
      const long = runScenario(periodic(LONG_CLOCK), be(name), variant);
      expect(long.divergences.map((d) => d.signature)).toEqual([]);
    });
  }

  it('a share of generated machines is on it: counts, advances and deadlines all scaled, every scenario valid', () => {
    const kvm = be('kvm');
    let long = 0, short = 0;
    for (let i = 0; i < 300; i++) {
      const { scenario } = generateAndRun(`long:${i}`, kvm, 'v6.12', DEFAULT_GEN);
      validateScenario(JSON.parse(JSON.stringify(scenario)) as unknown, `long:${i}`);
      const clock = scenario.events.flatMap((e) => (e.k === 'time' ? [e.advance] : e.k === 'timer_initial' ? [e.count] : e.k === 'tsc_deadline' ? [e.deadline] : []));
      const nonzero = clock.filter((x) => x > 0);
      if (nonzero.length === 0) continue;
      // One scale per scenario: all on it (multiples of LONG_CLOCK) or none.
      const onLong = nonzero.filter((x) => x >= LONG_CLOCK);
      expect(onLong.length === 0 || onLong.length === nonzero.length, `long:${i}`).toBe(true);
      for (const x of onLong) expect(x % LONG_CLOCK).toBe(0);
      if (onLong.length > 0) long++; else short++;
    }
    expect(long).toBeGreaterThan(40);
    expect(short).toBeGreaterThan(long);
  });

  it('a backend without a timer gets no clock events (and no draw for the scale)', () => {
    const nvmx = be('kvm-nvmx');
    for (let i = 0; i < 100; i++) {
      const { scenario } = generateAndRun(`long:${i}`, nvmx, 'fixed');
      for (const e of scenario.events) expect(e.k === 'time' || e.k === 'timer_initial' || e.k === 'tsc_deadline').toBe(false);
    }
  });
});
