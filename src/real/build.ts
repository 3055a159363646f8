// Builds the guest test kernel (harness/guest/, x86-64 long mode) with the machine's gcc and
// converts it to a 32-bit ELF container with objcopy (QEMU's multiboot loader refuses ELF64),
// cached under .irqdiff-cache/guest/<hash of the sources and flags>/kernel.elf.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CFLAGS = [
  '-m64', '-mno-red-zone', '-mcmodel=small', '-ffreestanding', '-nostdlib', '-fno-pic', '-fno-pie', '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables', '-mgeneral-regs-only', '-O2', '-Wall', '-Wextra',
];
const LDFLAGS = ['-m64', '-nostdlib', '-no-pie', '-Wl,--build-id=none', '-Wl,--no-warn-rwx-segments', '-Wl,-z,max-page-size=0x1000'];

/** The repository root (this file is src/real/build.ts or dist/real/build.js). */
export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export class BuildError extends Error {
  constructor(message: string) { super(message); this.name = 'BuildError'; }
}

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.error) throw new BuildError(`cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new BuildError(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
}

/** Check that gcc can build x86-64 freestanding objects and objcopy exists; a clear message if not. */
export function checkToolchain(): void {
  const r = spawnSync('gcc', ['-m64', '-ffreestanding', '-nostdlib', '-x', 'c', '-c', '-', '-o', '/dev/null'], { input: 'int x;\n', encoding: 'utf8' });
  if (r.error) throw new BuildError('gcc not found: install gcc (apt-get install -y gcc)');
  if (r.status !== 0) throw new BuildError(`gcc cannot build x86-64 code (gcc -m64 failed); an x86-64 gcc is needed (apt-get install -y gcc)\n${r.stderr}`);
  const o = spawnSync('objcopy', ['--version'], { encoding: 'utf8' });
  if (o.error || o.status !== 0) throw new BuildError('objcopy not found: install binutils (apt-get install -y binutils)');
}

/** Build the guest kernel if needed; returns the path of kernel.elf. */
export function buildGuest(opts: { root?: string; cacheDir?: string } = {}): string {
  const root = opts.root ?? repoRoot();
  const src = join(root, 'harness', 'guest');
  const files = readdirSync(src).filter((f) => /\.(c|h|S|ld)$/.test(f)).sort();
  if (!files.includes('kernel.c') || !files.includes('boot.S') || !files.includes('link.ld')) {
    throw new BuildError(`${src}: guest sources missing (kernel.c, boot.S, link.ld)`);
  }
  const h = createHash('sha256');
  h.update(CFLAGS.join(' ') + '|' + LDFLAGS.join(' '));
  for (const f of files) { h.update(f); h.update(readFileSync(join(src, f))); }
  const key = h.digest('hex').slice(0, 16);
  const cache = opts.cacheDir ?? join(root, '.irqdiff-cache', 'guest');
  const out = join(cache, key, 'kernel.elf');
  if (existsSync(out)) return out;
  checkToolchain();
  const tmp = join(cache, `${key}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    run('gcc', [...CFLAGS, '-c', join(src, 'boot.S'), '-o', join(tmp, 'boot.o')], src);
    run('gcc', [...CFLAGS, '-c', join(src, 'kernel.c'), '-o', join(tmp, 'kernel.o')], src);
    run('gcc', [...LDFLAGS, '-T', join(src, 'link.ld'), '-o', join(tmp, 'kernel64.elf'), join(tmp, 'boot.o'), join(tmp, 'kernel.o')], src);
    run('objcopy', ['-O', 'elf32-i386', join(tmp, 'kernel64.elf'), join(tmp, 'kernel.elf')], src);
    mkdirSync(dirname(out), { recursive: true });
    renameSync(join(tmp, 'kernel.elf'), out);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}
