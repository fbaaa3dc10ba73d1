import { readdirSync, readFileSync } from 'node:fs';
import type { FsRoot } from './fsroot.ts';

/** Zombie processes whose parent is `parent`, from /proc/<pid>/stat (the boot report lists them). */
export function zombieChildren(fs: FsRoot, parent: number): number[] {
  const out: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync(fs.p('/proc')).filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(fs.p(`/proc/${pid}/stat`), 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] === 'Z' && Number(rest[1]) === parent) out.push(Number(pid));
    } catch {
      /* the process went away while we looked */
    }
  }
  return out;
}
