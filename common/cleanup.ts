import { rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';

// One place that knows what must not outlive aios: temporary paths to remove and child
// processes (QEMU) to kill, whichever way the process ends (Ctrl-C, SIGTERM, SIGHUP, exit).
const paths = new Set<string>();
const children = new Set<ChildProcess>();
let hooked = false;

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

function cleanUp(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // Synchronous on purpose: the process is about to exit.
  for (const p of paths) rmSync(p, { recursive: true, force: true });
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

/** Kill `child` if aios ends while it runs. */
export function killOnExit(child: ChildProcess): void {
  hookSignals();
  children.add(child);
  child.once('exit', () => children.delete(child));
}
