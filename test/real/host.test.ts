// What decides whether the KVM tests run and which recorded outcomes apply: /dev/kvm must be
// openable read-write (as QEMU opens it), and the host's KVM module names its kind.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kvmFlavour, kvmUnusable } from '../../src/real/qemu.js';

describe('KVM host checks', () => {
  it('an absent /dev/kvm and one that cannot be opened read-write are each named as the reason to skip', () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqdiff-kvm-'));
    expect(kvmUnusable(join(dir, 'kvm'))).toMatch(/is absent/);
    // A directory cannot be opened read-write even by root: the "present but not openable" case.
    expect(kvmUnusable(dir)).toMatch(/present but cannot be opened read-write \(EISDIR\)/);
    writeFileSync(join(dir, 'dev'), '');
    expect(kvmUnusable(join(dir, 'dev'))).toBeNull();
  });

  it('the KVM kind comes from the loaded vendor module (this machine loads kvm_pvm alone)', () => {
    const kind = (mods: string[]) => {
      const sys = mkdtempSync(join(tmpdir(), 'irqdiff-sysmod-'));
      for (const m of mods) mkdirSync(join(sys, m));
      return kvmFlavour(sys);
    };
    expect(kind(['kvm'])).toBe('unknown');
    expect(kind(['kvm', 'kvm_intel'])).toBe('vmx');
    expect(kind(['kvm', 'kvm_amd'])).toBe('svm');
    expect(kind(['kvm', 'kvm_pvm'])).toBe('pvm');
  });
});
