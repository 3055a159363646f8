// Human-readable rendering of events, for traces and the triage screen.
import { hex } from '../apic/vecset.js';
import type { Event } from './types.js';

export function formatEvent(e: Event): string {
  switch (e.k) {
    case 'ipi': {
      const sh = e.shorthand ?? 'none';
      const to = sh !== 'none' ? sh : e.logical ? `logical ${hex(e.dest ?? 0)}` : `vCPU${e.dest}`;
      return `vCPU${e.cpu} guest: IPI ${e.nmi ? 'NMI' : hex(e.vector)}${e.lowest ? ' lowest-priority' : ''} → ${to}`;
    }
    case 'eoi': return `vCPU${e.cpu} guest: EOI${e.assist ? ' (honours No-EOI-required)' : ''}`;
    case 'tpr': return `vCPU${e.cpu} guest: ${e.via === 'cr8' ? `mov cr8, ${e.value >> 4}` : `TPR ← ${hex(e.value)}`}`;
    case 'read': return `vCPU${e.cpu} guest: read ${e.reg.toUpperCase()}`;
    case 'work': return `vCPU${e.cpu} guest: set flag ${e.flag}`;
    case 'wait': return `vCPU${e.cpu} guest: wait for flag ${e.flag}`;
    case 'assist': return `vCPU${e.cpu} guest: VP assist page ${e.on ? 'on' : 'off'}`;
    case 'vmentry': return `vCPU${e.cpu} L1: VMRESUME${e.inject !== undefined ? ` injecting ${hex(e.inject)}` : ''}`;
    case 'l2': return `vCPU${e.cpu} L2: ${e.op}`;
    case 'msi': return `device: MSI ${hex(e.vector)}${e.lowest ? ' lowest-priority' : ''} → ${e.logical ? 'logical ' + hex(e.dest) : 'vCPU' + e.dest}`;
    case 'lapic_write': return `vCPU${e.cpu} guest: ${e.reg.toUpperCase()} ← ${hex(e.value)}`;
    case 'lapic_read': return `vCPU${e.cpu} guest: read ${e.reg.toUpperCase()}`;
    case 'self_ipi': return `vCPU${e.cpu} guest: SELF_IPI ${hex(e.vector)}`;
    case 'ioapic_write': return `vCPU${e.cpu} guest: IOAPIC pin ${e.pin} ← ${hex(e.vector)} ${e.trigger}${e.lowest ? ' lowest-priority' : ''} → ${e.logical ? 'logical ' + hex(e.dest) : 'APIC ' + e.dest}${e.masked ? ' masked' : ''}`;
    case 'lvt_timer': return `vCPU${e.cpu} guest: LVT timer ← ${hex(e.vector)} ${e.mode}${e.masked ? ' masked' : ''}`;
    case 'timer_initial': return `vCPU${e.cpu} guest: TMICT ← ${e.count}`;
    case 'tsc_deadline': return `vCPU${e.cpu} guest: TSC_DEADLINE ← ${e.deadline}`;
    case 'lvt_lint': return `vCPU${e.cpu} guest: LVT LINT${e.pin} ← ${e.nmi ? 'NMI' : hex(e.vector) + ' ' + e.trigger}${e.masked ? ' masked' : ''}`;
    case 'lint': return `vCPU${e.cpu} LINT${e.pin}: ${e.op}`;
    case 'int': return `vCPU${e.cpu} guest: int ${hex(e.vector)}`;
    case 'time': return `vCPU${e.cpu} clock: +${e.advance}`;
    case 'ioapic_reg_write': return `vCPU${e.cpu} guest: IOAPIC ${e.reg.toUpperCase()} ← ${hex(e.value)}`;
    case 'ioapic_read': return `vCPU${e.cpu} guest: read IOAPIC ${e.reg}${e.pin !== undefined ? ` of pin ${e.pin}` : ''}`;
    case 'ioapic': return `device: IOAPIC pin ${e.pin} ${e.op}`;
    case 'exit': return `vCPU${e.cpu}: VM exit (${e.reason})`;
    case 'enter': return `vCPU${e.cpu} hv: run entry path`;
    case 'enter_step': return `vCPU${e.cpu} hv: one entry step`;
    case 'pirq': return `vCPU${e.cpu} pCPU: physical interrupts arrive`;
    case 'fault': return `vCPU${e.cpu}: next delivery faults (EPT/NPT)`;
    default: return `vCPU${e.cpu} guest: ${e.k}`;
  }
}
