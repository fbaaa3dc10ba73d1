import { constants } from 'node:os';
import type { Sys } from './sys.ts';

/** How a child ended, as Node's 'exit' event says it: an exit code, or the signal that killed it. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** waitpid's status word as an Exit. */
export function exitOf(status: number): Exit {
  const sig = status & 0x7f;
  if (!sig) return { code: (status >> 8) & 0xff, signal: null };
  const name = Object.entries(constants.signals).find(([, n]) => n === sig)?.[0];
  return { code: null, signal: (name ?? `SIG${sig}`) as NodeJS.Signals };
}

/** Why a program could not be started, from the exec's errno. */
export function spawnFailure(command: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return `${command}: not found (ENOENT)`;
  if (err.code === 'EACCES') return `${command}: not executable (EACCES)`;
  return `${command}: cannot start: ${err.message}`;
}

export interface SpawnSpec {
  command: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /** stdin, stdout, stderr; -1 is /dev/null. */
  stdio: readonly [number, number, number];
  /** An open cgroup directory the child starts in. */
  cgroupFd?: number;
  /** The capabilities the program keeps, a bit per capability number (capabilityMask); all when not given. */
  keepCaps?: number;
  /** Its nice value; 0 when not given. */
  nice?: number;
  /** The user it runs as (uid, gid, supplementary groups); root when not given. */
  user?: { uid: number; gid: number; groups: readonly number[] };
  /** A directory it sees as / (its command a path inside it), and its working directory there. */
  rootDirectory?: string;
  workingDirectory?: string;
}

/**
 * The processes aios-init starts, and the reaper of every child PID 1 has: it waits for any child
 * (waitpid -1), so orphans the kernel hands it and its own services are reaped alike, each of its
 * own going to the callback its starter gave. For that reason nothing in aios-init may start a
 * process through Node's child_process: this reaper would take the exit status from Node.
 */
export class Children {
  private exits = new Map<number, (e: Exit) => void>();
  constructor(
    private readonly sys: Pick<Sys, 'spawn' | 'waitpid' | 'pipe'>,
    private readonly warn: (m: string) => void,
  ) {}

  /** Start a program; `onExit` runs once it has been reaped. Throws what spawn throws (see spawnFailure). */
  spawn(s: SpawnSpec, onExit: (e: Exit) => void): number {
    const env = Object.entries(s.env).map(([k, v]) => `${k}=${v}`);
    const ids = s.user ? [s.user.uid, s.user.gid, ...s.user.groups] : [];
    const pid = this.sys.spawn(
      s.command,
      [s.command, ...s.args],
      env,
      s.stdio,
      s.cgroupFd ?? -1,
      s.keepCaps ?? -1,
      s.nice ?? 0,
      ids,
      s.rootDirectory ?? '',
      s.workingDirectory ?? '',
    );
    this.exits.set(pid, onExit);
    return pid;
  }

  /** A pipe for a child's output: [read end, write end], both close-on-exec. */
  pipe(): [number, number] {
    return this.sys.pipe();
  }

  /** Is `pid` one of ours and not reaped yet (so that a signal to it cannot reach a stranger)? */
  running(pid: number): boolean {
    return this.exits.has(pid);
  }

  /** Reap every child that has exited; the pids of those that were not ours (orphans). */
  reap(): number[] {
    const orphans: number[] = [];
    for (let r = this.sys.waitpid(-1); r; r = this.sys.waitpid(-1)) {
      const onExit = this.exits.get(r.pid);
      if (!onExit) {
        orphans.push(r.pid);
        continue;
      }
      this.exits.delete(r.pid);
      try {
        onExit(exitOf(r.status));
      } catch (err) {
        this.warn(`after pid ${r.pid} ended: ${(err as Error).stack ?? String(err)}`);
      }
    }
    return orphans;
  }

  /**
   * Reap on every SIGCHLD (several exits may come as one signal: each round reaps all), and every
   * `safetyMs` in case one is missed; that timer also keeps PID 1's event loop alive. Returns what
   * stops both.
   */
  listen(safetyMs: number): () => void {
    const round = () => {
      try {
        this.reap();
      } catch (err) {
        this.warn(`reaper: ${(err as Error).message}`);
      }
    };
    process.on('SIGCHLD', round);
    const timer = setInterval(round, safetyMs);
    round();
    return () => {
      process.off('SIGCHLD', round);
      clearInterval(timer);
    };
  }
}
