// A reproducer as a standalone C test in the style of kvm-unit-tests' x86/apic.c: each vCPU
// runs its guest instructions from a table, as harness/guest/kernel.c does — an interrupt
// handler continues the vCPU's program until the program's IRET, so EOIs and IRETs happen
// where the scenario puts them. Hypervisor and hardware steps (VM exits, entries, posted-
// interrupt arrival) cannot be ordered by a guest: they stay as comments, and a real host
// interleaves them as it does. The expected counts are what the bare-metal reference delivers.
import { hex } from '../apic/vecset.js';
import type { Backend } from '../backends/api.js';
import { formatEvent } from '../scenario/format.js';
import type { Event, Scenario } from '../scenario/types.js';
import { replay } from '../tui/replay.js';

const REG: Record<string, string> = { irr: 'APIC_IRR', isr: 'APIC_ISR', tmr: 'APIC_TMR', ppr: 'APIC_PROCPRI', tpr: 'APIC_TASKPRI', esr: 'APIC_ESR' };

/** One op of a vCPU's program, as a C initializer; undefined: not a guest instruction. */
function op(e: Event): string | undefined {
  switch (e.k) {
    case 'ipi': {
      const sh = e.shorthand ?? 'none';
      const short = sh === 'self' ? 'APIC_DEST_SELF' : sh === 'all' ? 'APIC_DEST_ALLINC' : sh === 'others' ? 'APIC_DEST_ALLBUT' : '0';
      const mode = e.nmi ? 'APIC_DM_NMI' : 'APIC_DM_FIXED';
      return `{ OP_IPI, ${e.nmi ? 0 : hex(e.vector)}, ${e.dest ?? 0}, ${short} | ${mode}${e.logical ? ' | APIC_DEST_LOGICAL' : ''} }`;
    }
    case 'eoi': return '{ OP_EOI }';
    case 'iret': return '{ OP_IRET }';
    case 'cli': return '{ OP_CLI }';
    case 'sti': return '{ OP_STI }';
    case 'hlt': return '{ OP_HLT }';
    case 'step': return '{ OP_NOP }';
    case 'tpr': return `{ OP_TPR, ${hex(e.value)} }`;
    case 'read': return `{ OP_READ, ${REG[e.reg]} }`;
    case 'work': return `{ OP_SET_FLAG, ${e.flag} }`;
    case 'wait': return `{ OP_WAIT_FLAG, ${e.flag} }`;
    default: return undefined;
  }
}

export function cTest(s: Scenario, name: string, backends: readonly Backend[]): string {
  const n = s.machine.vcpus;
  const prog: string[][] = Array.from({ length: n }, () => []);
  const vectors = new Set<number>();
  s.events.forEach((e, i) => {
    const o = op(e);
    const text = formatEvent(e).replace(/\*\//g, '* /');
    if (o !== undefined && 'cpu' in e) {
      prog[e.cpu]!.push(`\t${o},\t/* ${i}: ${text} */`);
      if (e.k === 'ipi' && !e.nmi) vectors.add(e.vector);
    } else {
      for (const p of prog) p.push(`\t/* ${i}: ${text}: hypervisor/hardware, ordered by the host */`);
      if (e.k === 'msi') vectors.add(e.vector);
    }
  });
  for (const pin of s.machine.ioapic) vectors.add(pin.vector);
  // Expected deliveries: the bare-metal reference's, per vCPU and vector.
  const bm = backends.find((b) => b.name === 'baremetal');
  const expect: number[][] = Array.from({ length: n }, () => []);
  if (bm && bm.supports(s.machine) === null) {
    const r = replay(s, bm, bm.variants[0]!.name);
    for (const st of r.steps) for (const x of st.notes) {
      const m = /^deliver 0x([0-9a-f]+)$/.exec(x.text);
      if (m && x.cpu >= 0) { const v = parseInt(m[1]!, 16); expect[x.cpu]![v] = (expect[x.cpu]![v] ?? 0) + 1; }
    }
  }
  const checks: string[] = [];
  for (let c = 0; c < n; c++) for (const v of [...vectors].sort((a, b) => a - b)) {
    checks.push(`\treport(delivered[${c}][${hex(v)}] == ${expect[c]![v] ?? 0}, "vCPU${c} took ${hex(v)} %d times (bare metal: ${expect[c]![v] ?? 0})", delivered[${c}][${hex(v)}]);`);
  }
  return `/*
 * ${name}: exported by irqdiff from ${s.found ? `${s.found.signature} (seed ${s.found.seed})` : 'a scenario'}.
 * ${(s.description ?? '').replace(/\*\//g, '* /').slice(0, 600).replace(/\n/g, '\n * ')}
 *
 * Drop into kvm-unit-tests x86/ (and add to x86/Makefile.common and x86/unittests.cfg with
 * smp = ${n}${s.machine.apic === 'x2apic' ? ', x2apic on' : ''}). Each vCPU runs its program; an interrupt handler
 * continues it until the program's IRET, as irqdiff's guest kernel does.
 */
#include "libcflat.h"
#include "apic.h"
#include "apic-defs.h"
#include "isr.h"
#include "processor.h"
#include "smp.h"
#include "atomic.h"

enum { OP_END, OP_IPI, OP_EOI, OP_IRET, OP_CLI, OP_STI, OP_HLT, OP_NOP, OP_TPR, OP_READ, OP_SET_FLAG, OP_WAIT_FLAG };
struct op { int kind; unsigned a, b, c; };

#define NCPUS ${n}
static volatile int delivered[NCPUS][256];
static volatile int flags[16];
static volatile unsigned pc[NCPUS];
static volatile int done;
static u32 reads[NCPUS][64];

static const struct op prog[NCPUS][${Math.max(1, ...prog.map((p) => p.filter((l) => !l.startsWith('\t/*')).length)) + 1}] = {
${prog.map((p, c) => `    [${c}] = {\n${p.map((l) => '    ' + l).join('\n')}\n\t{ OP_END } },`).join('\n')}
};

/* Run this vCPU's program; return at its IRET (inside a handler) or at its end. */
static void run(int cpu)
{
	for (;;) {
		const struct op *o = &prog[cpu][pc[cpu]++];
		switch (o->kind) {
		case OP_END: pc[cpu]--; return;
		case OP_IPI: apic_icr_write(o->c | o->a, o->b /* QEMU: APIC ID = vCPU index */); break;
		case OP_EOI: eoi(); break;
		case OP_IRET: return;
		case OP_CLI: irq_disable(); break;
		case OP_STI: irq_enable(); break;
		case OP_HLT: safe_halt(); break;
		case OP_NOP: asm volatile("nop"); break;
		case OP_TPR: apic_write(APIC_TASKPRI, o->a); break;
		case OP_READ: reads[cpu][pc[cpu] & 63] = apic_read(o->a); break;
		case OP_SET_FLAG: flags[o->a] = 1; break;
		case OP_WAIT_FLAG: while (!flags[o->a]) pause(); break;
		}
	}
}

static void handler(isr_regs_t *regs)
{
	int cpu = smp_id();
	delivered[cpu][regs->vector & 0xff]++;
	run(cpu);
}

static void vcpu_main(void *unused)
{
	irq_enable();	/* irqdiff's vCPUs start with IF = 1 */
	run(smp_id());
	__atomic_fetch_add(&done, 1, __ATOMIC_SEQ_CST);
}

int main(void)
{
	setup_vm();
	if (cpu_count() < NCPUS)
		report_skip("need %d vCPUs", NCPUS);
	else {
${[...vectors].sort((a, b) => a - b).map((v) => `\t\thandle_irq(${hex(v)}, handler);`).join('\n')}
		for (int c = 1; c < NCPUS; c++)
			on_cpu_async(c, vcpu_main, NULL);
		vcpu_main(NULL);
		while (done < NCPUS)
			pause();
${checks.map((l) => '\t' + l).join('\n')}
	}
	return report_summary();
}
`;
}
