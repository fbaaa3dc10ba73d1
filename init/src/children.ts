import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Processes aios-init started itself. Node reaps those (libuv waits for each by pid); the
 * orphan reaper must leave them alone or it would steal their exit statuses.
 */
export const ownPids = new Set<number>();

let afterOwnReaped: () => void = () => {};
/** Run `fn` each time Node has reaped a child it started (the orphan reaper's next round). */
export function onOwnReaped(fn: () => void): void {
  afterOwnReaped = fn;
}

export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, options);
  if (child.pid) {
    const pid = child.pid;
    ownPids.add(pid);
    // 'close' fires after libuv has reaped the child; until then its zombie is ours, not an orphan.
    child.once('close', () => {
      ownPids.delete(pid);
      afterOwnReaped();
    });
  }
  return child;
}

/** Run a command to completion and collect its output (udhcpc, the NVIDIA installer). */
export function runTracked(command: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let child: ChildProcess;
    try {
      child = spawnTracked(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      return resolve({ code: null, stdout, stderr: (err as Error).message });
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + err.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
