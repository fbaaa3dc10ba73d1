import { close, closeSync, read } from 'node:fs';
import type { Children } from './children.ts';

/** How a tool ran: its exit (code, or the signal that ended it) and what it wrote. */
export interface ToolResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** What is kept of each of a tool's outputs. */
const MAX_OUTPUT = 1 << 20;

/** All of a descriptor's bytes until end of file (read on the thread pool, as power.ts does), then closed. */
function drain(fd: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    const buf = Buffer.alloc(64 * 1024);
    const next = (): void =>
      read(fd, buf, 0, buf.length, null, (err, n) => {
        if (err || n === 0) {
          close(fd, () => resolve(Buffer.concat(chunks).toString('utf8')));
          return;
        }
        if (kept < MAX_OUTPUT) {
          chunks.push(Buffer.from(buf.subarray(0, Math.min(n, MAX_OUTPUT - kept))));
          kept += n;
        }
        next();
      });
    next();
  });
}

/** How long a tool may run before it is killed: the boot report waits for the slots' reads. */
const TOOL_TIMEOUT_MS = 15_000;

/** What runTool needs of the reaper. */
export type ToolChildren = Pick<Children, 'spawn' | 'pipe' | 'running'>;

/**
 * Run a short-lived program as root and collect its output: through the reaper's own spawn (PID 1
 * must not use child_process, whose exit status the reaper would take). One that hangs (a disk
 * that stops answering) is killed after TOOL_TIMEOUT_MS.
 */
export function runTool(children: ToolChildren, command: string, args: readonly string[], env: Record<string, string> = {}): Promise<ToolResult> {
  const [outR, outW] = children.pipe();
  const [errR, errW] = children.pipe();
  let exited: Promise<{ code: number | null; signal: string | null }>;
  try {
    exited = new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const pid = children.spawn({ command, args, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: [-1, outW, errW] }, (e) => {
        clearTimeout(timer);
        resolve(e);
      });
      timer = setTimeout(() => children.running(pid) && process.kill(pid, 'SIGKILL'), TOOL_TIMEOUT_MS);
    });
  } catch (err) {
    for (const fd of [outR, errR]) closeSync(fd);
    throw err;
  } finally {
    // The child holds its own copies: end of file comes once it exits.
    closeSync(outW);
    closeSync(errW);
  }
  return Promise.all([exited, drain(outR), drain(errR)]).then(([e, stdout, stderr]) => ({ ...e, stdout, stderr }));
}

/** The result, or an error that quotes the command, its exit and the tail of its stderr. */
export async function runToolOk(children: ToolChildren, command: string, args: readonly string[], env?: Record<string, string>): Promise<string> {
  const r = await runTool(children, command, args, env);
  if (r.code === 0) return r.stdout;
  const how = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  throw new Error(`${command} ${args.join(' ')}: ${how}: ${r.stderr.trim().split('\n').slice(-3).join(' | ') || 'no error output'}`);
}
