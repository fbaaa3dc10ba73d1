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

/** Kill `child` if aios ends while it runs. */
export function killOnExit(child: ChildProcess): void {
  hookSignals();
  children.add(child);
  child.once('exit', () => children.delete(child));
}
