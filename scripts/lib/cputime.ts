import { readFileSync } from 'node:fs';

/**
 * CPU seconds of this process and of its children that have been waited for (make, gcc, ...),
 * from /proc/self/stat; process.cpuUsage() alone would miss the children, where the work is.
 */
export function cpuSecondsWithChildren(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime are fields 14..17 of the line, 12..15 after the name.
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
    return ticks / 100;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
}
