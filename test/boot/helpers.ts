import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const OUT = process.env.AIOS_TEST_OUT ?? join(ROOT, 'out');

/** Run the aios CLI; resolves with its exit code and output (never rejects on a non-zero exit). */
export function aios(args: string[], timeoutMs = 90 * 60_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/aios.js'), ...args],
      { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, env: { ...process.env, CI: '1' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

/** QEMU processes whose command line mentions `needle`. */
export async function qemuProcesses(needle: string): Promise<string[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const out: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.startsWith('qemu-system') && cmd.includes(needle)) out.push(`${pid}: ${cmd.replace(/\0/g, ' ')}`);
  }
  return out;
}
