// Real-fuzz throughput: runs `real-fuzz --accel tcg` several times for each given checkout
// (interleaved, so the machine's load falls on all of them alike) and prints the median
// scenarios per second. A checkout is a directory with a built dist/ (e.g. an older commit
// unpacked with `git archive`), so a change can be measured against the code before it.
//   node dist/real/bench.js [--count 300] [--seed 7] [--runs 3] [ROOT...]   (default ROOT: this checkout)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './build.js';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Seconds the scenarios took, as real-fuzz reports them ("... in 17.1 s" / "(17.1 s"). */
export function parseSeconds(text: string): number | null {
  const m = /clean \d+, divergent \d+, error \d+, inconclusive \d+ in ([\d.]+) s/.exec(text) ?? /agreement [\d.]+% \(([\d.]+) s/.exec(text);
  return m ? Number(m[1]) : null;
}

function runOnce(root: string, count: number, seed: string): number {
  const out = mkdtempSync(join(tmpdir(), 'irqdiff-bench-'));
  try {
    const r = spawnSync(process.execPath, [join(root, 'dist', 'real', 'main.js'), 'real-fuzz', '--accel', 'tcg', '--count', String(count), '--seed', seed, '--out', out], { encoding: 'utf8', cwd: root });
    const s = parseSeconds(`${r.stdout}\n${r.stderr}`);
    if (s === null) throw new Error(`${root}: real-fuzz printed no timing (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
    return s;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function main(argv: string[]): void {
  let count = 300, seed = '7', runs = 3;
  const roots: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--count') count = Number(argv[++i]);
    else if (a === '--seed') seed = argv[++i] ?? seed;
    else if (a === '--runs') runs = Number(argv[++i]);
    else roots.push(resolve(a));
  }
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(runs) || runs < 1) { process.stderr.write('usage: bench [--count N] [--seed S] [--runs N] [ROOT...]\n'); process.exitCode = 2; return; }
  if (!roots.length) roots.push(repoRoot());
  const secs = roots.map(() => [] as number[]);
  for (let k = 0; k < runs; k++) roots.forEach((root, i) => { secs[i]!.push(runOnce(root, count, seed)); });
  roots.forEach((root, i) => {
    const m = median(secs[i]!);
    process.stdout.write(`${root}: real-fuzz --accel tcg --count ${count} --seed ${seed}: ${secs[i]!.map((s) => s.toFixed(1)).join(' / ')} s; median ${m.toFixed(1)} s = ${(count / m).toFixed(2)} scenarios/s\n`);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
