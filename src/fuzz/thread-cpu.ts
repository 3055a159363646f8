// CPU time of the calling thread. process.cpuUsage() counts every thread of the process
// (workers, GC and JIT helpers); a campaign reports its threads one by one.
import { readFileSync } from 'node:fs';

/** Linux: /proc/thread-self/stat utime + stime (clock ticks of 10 ms), in ms; undefined elsewhere. */
export function threadCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (Number(f[11]) + Number(f[12])) * 10;
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}
