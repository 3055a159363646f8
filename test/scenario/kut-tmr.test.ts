// The four kvm-unit-tests TMR tests (x86/ioapic.c test_ioapic_{edge,level}_tmr{,_smp} at
// 1da1819e) assert register values, not only deliveries: TMR[0x79] before the interrupt and in
// its handler, and Remote IRR after the level EOI (poll_remote_irr). On baremetal/sdm each read
// shows what KUT expects, and the oracle determines every one of them: a machine that shows the
// opposite value at any single read is caught (the value is not left open by latency).
import { describe, expect, it } from 'vitest';
import type { Backend, ObsSink } from '../../src/backends/api.js';
import { baremetal } from '../../src/backends/baremetal/index.js';
import { runScenario } from '../../src/engine/session.js';
import { parseScenario } from '../../src/scenario/schema.js';
import type { MachineConfig, Reg } from '../../src/scenario/types.js';
import { readFileSync } from 'node:fs';
import { KUT_CASES } from '../fixtures/kut-scenarios.js';

const V = 0x79;
const REMOTE_IRR = 1 << 14;

/** What each TMR read shows of 0x79 ('T'/'F') and each redirection read of Remote IRR ('R1'/'R0'), in order. */
const EXPECTED: Record<string, string[]> = {
  // edge(false): before, handler; level acceptance: handler; edge(true): before, handler.
  'kut-ioapic-edge-tmr.json': ['F', 'F', 'T', 'T', 'F'],
  // level(false): before, handler; level(true): before, handler.
  'kut-ioapic-level-tmr.json': ['F', 'T', 'T', 'T'],
  'kut-ioapic-edge-tmr-smp.json': ['F', 'F', 'T', 'R0', 'T', 'F'],
  'kut-ioapic-level-tmr-smp.json': ['F', 'T', 'R0', 'T', 'T', 'R0'],
};

/** baremetal, recording the reads it reports and flipping the value shown at read number `flip` (-1: none). */
function recording(seen: string[], flip: number): Backend {
  return {
    ...baremetal,
    create(variant: string, machine: MachineConfig, sink: ObsSink) {
      const readValue = (c: number, r: Reg, v: Uint32Array | number): void => {
        let shown = v;
        const n = seen.length;
        if (r === 'tmr') {
          const t = new Uint32Array(v as Uint32Array);
          if (n === flip) t[V >>> 5]! ^= 1 << (V & 31);
          seen.push((t[V >>> 5]! >>> (V & 31)) & 1 ? 'T' : 'F');
          shown = t;
        } else if (r === 'redir-lo') {
          shown = n === flip ? (v as number) ^ REMOTE_IRR : v;
          seen.push((shown as number) & REMOTE_IRR ? 'R1' : 'R0');
        }
        sink.readValue(c, r, shown);
      };
      const own: ObsSink = {
        executed: (i) => sink.executed(i), deliver: (c, v, n, via) => sink.deliver(c, v, n, via), readValue,
        evaluate: (c) => sink.evaluate(c), vmexit: (c, r) => sink.vmexit(c, r), step: (c, n) => sink.step(c, n),
        crash: (c, w, m) => sink.crash(c, w, m), l1Exit: (c, r, v, x) => sink.l1Exit(c, r, v, x),
        l2Deliver: (c, v) => sink.l2Deliver(c, v), arbitrated: (c) => sink.arbitrated?.(c),
      };
      return baremetal.create(variant, machine, own);
    },
  };
}

describe('kvm-unit-tests TMR tests: the register values their assertions require', () => {
  for (const file of Object.keys(EXPECTED)) {
    it(`${file}: TMR and Remote IRR reads as KUT asserts, each one determined by the oracle`, () => {
      expect(KUT_CASES.some((c) => c.file === file)).toBe(true);
      const path = `corpus/kut/${file}`;
      const s = parseScenario(readFileSync(path, 'utf8'), path);
      const seen: string[] = [];
      expect(runScenario(s, recording(seen, -1), 'sdm').primary).toBeUndefined();
      expect(seen).toEqual(EXPECTED[file]);
      for (let k = 0; k < seen.length; k++) {
        const r = runScenario(s, recording([], k), 'sdm');
        expect(r.primary?.signature, `read ${k} flipped`).toMatch(/^baremetal\/sdm:read:(tmr-|redir-remote-irr-)/);
      }
    });
  }
});
