import { readdirSync, readFileSync } from 'node:fs';
import type { FsRoot } from './fsroot.ts';
import type { Sys } from './sys.ts';

/** Zombie processes whose parent is `parent`, from /proc/<pid>/stat. */
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

/**
 * Reap orphans that were reparented to us, by pid, never with waitpid(-1): a child that Node
 * started itself keeps its status for Node.
 */
export function reapOrphans(sys: Sys, fs: FsRoot, own: ReadonlySet<number>, self = process.pid): number[] {
  const reaped: number[] = [];
  for (const pid of zombieChildren(fs, self)) {
    if (own.has(pid)) continue;
    try {
      if (sys.waitpid(pid)) reaped.push(pid);
    } catch {
      /* already reaped by someone else */
    }
  }
  return reaped;
}

/**
 * Reap the orphans that have exited, on SIGCHLD, without reading /proc: look at the next exited
 * child (WNOWAIT) and reap it unless Node started it. An exited child of Node's own stops the
 * round, since it stays first in line until Node reaps it; call again once Node has.
 */
export function reapExited(sys: Sys, own: ReadonlySet<number>): number[] {
  const reaped: number[] = [];
  for (let pid = sys.nextExited(); pid !== null && !own.has(pid); pid = sys.nextExited()) {
    if (!sys.waitpid(pid)) break; // someone else reaped it between the look and the wait
    reaped.push(pid);
  }
  return reaped;
}
