// The live dashboard stays within the terminal's height whatever the number of variants, so
// Ink redraws it in place; findings (with their labels) go above it, once.
import React from 'react';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { Dashboard, sparkline, type DashboardState } from '../../src/tui/dashboard.js';

function state(variants: number, height: number): DashboardState {
  const perTarget: DashboardState['perTarget'] = {};
  for (let i = 0; i < variants; i++) perTarget[`acrn/variant-${i}`] = [1000 + i, 50000, i];
  return {
    title: 'irqdiff fuzz: 29 variants', elapsed: 12, budget: 30, scenarios: 24000, events: 1_200_000, perTarget,
    findings: [{ signature: 'kvm/v4.10:stuck:pir-on-kick-noop', path: 'crashes/kvm/v4.10/stuck-1.json', label: 'documented bug' },
      { signature: 'xen/4.22:stuck:new-thing', path: 'crashes/xen/4.22/stuck-2.json', label: 'UNEXPECTED' }],
    warnings: [], rates: [90000, 100000, 110000, 100000], width: 80, height, color: false,
  };
}

describe('fuzz --tui dashboard', () => {
  for (const h of [24, 40]) {
    it(`29 variants at 80×${h}: the live part is at most ${h - 1} lines, with elapsed/remaining, rates, labels`, () => {
      const ui = render(<Dashboard s={state(29, h)} />);
      const frame = ui.lastFrame()!;
      const lines = frame.split('\n');
      // ink-testing-library puts <Static> output first: 2 finding lines, then the live part.
      expect(lines[0]).toMatch(/^NEW documented bug\s+kvm\/v4\.10:stuck:pir-on-kick-noop/);
      expect(lines[1]).toMatch(/^NEW UNEXPECTED\s+xen\/4\.22:stuck:new-thing/);
      const live = lines.slice(2);
      expect(live.length).toBeLessThanOrEqual(h - 1);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
      expect(frame).toMatch(/12s elapsed, 18s left · 24,000 execs 2000\/s · 100,000 events\/s/);
      expect(frame).toMatch(/events\/s [▁▂▃▄▅▆▇█]{4}/);
      expect(frame).toContain('2 new root causes (1 UNEXPECTED)');
      ui.unmount();
      // Far more variants than rows: the rest are counted, the height still holds.
      const many = render(<Dashboard s={state(120, h)} />);
      const f2 = many.lastFrame()!;
      expect(f2.split('\n').length - 2).toBeLessThanOrEqual(h - 1);
      expect(f2).toMatch(/\+\d+ more/);
      many.unmount();
    });
  }

  it('sparkline scales to the largest value', () => {
    expect(sparkline([0, 50, 100], 10)).toBe('▁▄█');
  });
});
