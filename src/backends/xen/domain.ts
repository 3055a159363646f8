// What every Xen path needs from the domain, and the scheduler/softirq primitives that wake
// and kick vCPUs: vcpu_kick (arch/x86/domain.c), vcpu_unblock / vcpu_wake (common/sched),
// cpu_raise_softirq (common/softirq.c), domain_crash (common/domain.c).
import type { ApicMode } from '../../scenario/types.js';
import type { ObsSink } from '../api.js';
import type { XenCode, XenVariant } from './code.js';
import { Phase, type XenVcpu } from './state.js';
import type { XenVioapic } from './vioapic.js';

/** A device model or timer on some other pCPU (never current for any vCPU). */
export const DEVICE_CPU = -1;

export interface XenVm {
  readonly variant: XenVariant;
  readonly code: XenCode;
  readonly sink: ObsSink;
  readonly vcpu: readonly XenVcpu[];
  readonly nvcpus: number;
  readonly mode: ApicMode;
  /** has_viridian_apic_assist(d): a viridian domain with HVMPV_apic_assist. */
  readonly apicAssist: boolean;
  readonly vioapic: XenVioapic;
  crashed: boolean;
  /** hvm_domain_irq(d)->round_robin_prev_vcpu: where vlapic_lowest_prio's scan starts (after it). */
  roundRobinPrevVcpu: number;
}

/** v->is_running: the vCPU is scheduled on its pCPU (in the guest or in Xen on its behalf). */
export function isRunning(v: XenVcpu): boolean {
  return v.phase <= Phase.Clgi;
}

/**
 * cpu_raise_softirq(v->processor, VCPU_KICK_SOFTIRQ): set the pending bit; only a 0 → 1
 * change sends the event-check IPI, and never to the sending pCPU itself.
 */
function cpuRaiseSoftirq(vm: XenVm, target: number, from: number): void {
  const v = vm.vcpu[target]!;
  if (v.kickSoftirq) return;
  v.kickSoftirq = true;
  if (from === target) return;
  v.ipiPending = true;
}

/** vcpu_unblock: clear _VPF_blocked and vcpu_wake. A _VPF_down vCPU stays down. */
export function vcpuUnblock(vm: XenVm, target: number): void {
  const v = vm.vcpu[target]!;
  if (v.phase !== Phase.Blocked) return;
  vm.sink.step(target, 'vcpu_unblock');
  v.phase = Phase.Runnable;
  v.wokenBy = 1;
}

/**
 * vcpu_kick: unblock, and if the vCPU was running and is not the caller's current vCPU,
 * raise VCPU_KICK_SOFTIRQ on its pCPU. `from` is the vCPU whose context sends (its pCPU),
 * or DEVICE_CPU.
 */
export function vcpuKick(vm: XenVm, target: number, from: number): void {
  const v = vm.vcpu[target]!;
  const running = isRunning(v);
  vcpuUnblock(vm, target);
  if (running && from !== target) cpuRaiseSoftirq(vm, target, from);
}

/** domain_crash: the domain is shut down; none of its vCPUs runs guest code again. */
export function domainCrash(vm: XenVm, cpu: number, where: string, message: string): void {
  if (vm.crashed) return;
  vm.crashed = true;
  for (const v of vm.vcpu) v.phase = Phase.Dead;
  vm.sink.crash(cpu, where, message);
}
