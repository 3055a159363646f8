// `irqdiff real --record`: the outcome on a real hypervisor is kept in the scenario file
// itself ("real": {kvm|tcg: ...}), next to the models' expectations, written atomically.
import { execFileSync } from 'node:child_process';
import { readScenarioFile, scenarioText, writeAtomic } from '../store/files.js';
import { kvmFlavour } from './qemu.js';
import type { RealResult } from './run.js';

let qemuVersion: string | undefined;
function hostLine(r: RealResult): string {
  if (qemuVersion === undefined) {
    try { qemuVersion = execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim(); } catch { qemuVersion = 'qemu (version unknown)'; }
  }
  const caps = r.info.filter((i) => /accel|iret|x2apic|kvm/i.test(i)).join('; ');
  // Which KVM: KVM-PVM and KVM on VMX/SVM give different outcomes for the same scenario.
  const flavour = r.accel === 'kvm' ? ` (kvm-${kvmFlavour()})` : '';
  return `${qemuVersion}, -accel ${r.accel}${flavour}${caps ? `; ${caps}` : ''}`;
}

export function recordReal(r: RealResult): void {
  const s = readScenarioFile(r.file);
  const notes = r.notes.map((n) => `${n.action} ${n.index >= 0 ? `event ${n.index} (${n.k})` : 'machine'}: ${n.reason}`);
  const rec = {
    status: r.status,
    signatures: r.divergences.map((d) => d.signature),
    notes,
    host: hostLine(r),
    at: new Date().toISOString(),
  };
  writeAtomic(r.file, scenarioText({ ...s, real: { ...s.real, [r.accel]: rec } }));
}
