import { readdirSync, readFileSync, rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';

// One place that knows what must not outlive aios: temporary paths to remove and child
// processes (QEMU) to kill, whichever way the process ends (Ctrl-C, SIGTERM, SIGHUP, exit).
const paths = new Set<string>();
const children = new Set<ChildProcess>();
/** Children started in a process group of their own (detached): the whole group is killed. */
const groups = new WeakSet<ChildProcess>();
let hooked = false;

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** Pids of the processes of these process groups that still run (zombies have stopped writing). */
export function runningInGroups(pgids: ReadonlySet<number>): number[] {
  const alive: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so read after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state !== 'Z' && state !== 'X' && pgids.has(Number(pgrp))) alive.push(Number(name));
  }
  return alive;
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function cleanUp(): void {
  const pgids = new Set<number>();
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null || !c.pid) continue;
    if (groups.has(c)) {
      pgids.add(c.pid);
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* the group is gone already */
      }
    } else c.kill('SIGKILL');
  }
  // Synchronous on purpose: the process is about to exit. A tree is removed only once nothing
  // that could still write into it runs (tar, make and the compilers they started).
  for (let i = 0; i < 200 && pgids.size && runningInGroups(pgids).length; i++) sleepSync(10);
  for (const p of paths) rmSync(p, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
}

/** Install the handlers once, at start-up; a signal cleans up and exits with 128 + its number. */
export function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', cleanUp);
  for (const sig of Object.keys(EXIT_CODES) as NodeJS.Signals[]) {
    process.once(sig, () => {
      cleanUp();
      process.exit(EXIT_CODES[sig]);
    });
  }
}

/** Remove `path` if aios ends before `release` is called. */
export function removeOnExit(path: string): () => void {
  hookSignals();
  paths.add(path);
  return () => paths.delete(path);
}

/**
 * `command argv` as a command line that the kernel kills when aios dies, however it dies: exit and
 * signal handlers cover Ctrl-C and SIGTERM, but SIGKILL and crashes run none. setpriv(1) sets
 * PR_SET_PDEATHSIG and then execs the command, which keeps its pid.
 */
export function diesWithAios(command: string, argv: readonly string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...argv]];
}

/** Kill `child` if aios ends while it runs; `group`: it leads a process group of its own, kill all of it. */
export function killOnExit(child: ChildProcess, o: { group?: boolean } = {}): void {
  hookSignals();
  children.add(child);
  if (o.group) groups.add(child);
  child.once('exit', () => children.delete(child));
}
