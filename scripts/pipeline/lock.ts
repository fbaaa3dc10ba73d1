import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/**
 * One build at a time per cache: an flock(2) on `<cache>/.lock`, held by flock(1) for as long as
 * aios lives. The kernel drops the lock when its holder dies, however it dies (SIGKILL, a crash),
 * so there is never a stale lock to take over and no window in which two builds both hold it. The
 * file keeps the holder's pid, for the message a second build prints while it waits.
 */
export async function lockCache(cacheDir: string, say: (m: string) => void, tellAfterMs = 200): Promise<() => void> {
  const file = join(cacheDir, '.lock');
  await mkdir(cacheDir, { recursive: true });
  // --close: the lock is flock(1)'s alone; `cat` ends when aios's end of its stdin closes.
  const holder = spawn('flock', ['--exclusive', '--close', file, 'sh', '-c', 'echo held; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as ChildProcessByStdio<Writable, Readable, Readable>;
  let stderr = '';
  holder.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const tell = setTimeout(() => {
    void readFile(file, 'utf8').then(
      (pid) => say(`waiting for the build with pid ${pid.trim() || '?'}, which is using the cache ${cacheDir}`),
      () => say(`waiting for the build that is using the cache ${cacheDir}`),
    );
  }, tellAfterMs);
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      holder.once('error', (err) => reject(new Error(`flock (util-linux) could not be started to lock ${file}: ${err.message}`)));
      holder.once('exit', (code) => reject(new Error(`flock ${file} ended with code ${code} before taking the lock: ${stderr.trim()}`)));
    });
  } finally {
    clearTimeout(tell);
  }
  await writeFile(file, String(process.pid));
  // Nothing of the holder keeps aios alive; its pipe closes when aios ends, and so does the lock.
  holder.unref();
  for (const s of [holder.stdin, holder.stdout, holder.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  holder.removeAllListeners('exit');
  const release = () => {
    process.removeListener('exit', release);
    holder.stdin.destroy();
    holder.kill('SIGTERM');
  };
  process.once('exit', release);
  return release;
}
