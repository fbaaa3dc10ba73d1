import { openSync, writeSync } from 'node:fs';

/**
 * Write all of `text` to `fd` before returning, as a TTY stdout in Node would. Straight to the
 * descriptor: building process.stdout costs PID 1 some 40 ms of its start under TCG. The kernel
 * opens the console blocking; should it be non-blocking and full, EAGAIN is retried a bounded
 * number of times, and any other error drops the rest: a stuck console must not hang PID 1.
 */
export function writeAll(fd: number, text: string, retries = 10_000): void {
  let buf = Buffer.from(text);
  while (buf.length) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || retries-- <= 0) return;
    }
  }
}

/** Console and /dev/kmsg logging; every step's duration goes through here. */
export class Log {
  private kmsg: number | undefined;
  constructor(
    private readonly out: (line: string) => void = (l) => writeAll(1, `${l}\n`),
    kmsgPath = '/dev/kmsg',
  ) {
    try {
      this.kmsg = openSync(kmsgPath, 'w');
    } catch {
      this.kmsg = undefined;
    }
  }
  info(msg: string): void {
    this.line(`aios-init: ${msg}`, 6);
  }
  warn(msg: string): void {
    this.line(`aios-init: WARNING: ${msg}`, 4);
  }
  /** A raw console line (the boot report), not copied to the kernel log. */
  raw(line: string): void {
    this.out(line);
  }
  private line(text: string, level: number): void {
    this.out(text);
    if (this.kmsg !== undefined) {
      try {
        writeSync(this.kmsg, `<${level}>${text.slice(0, 900)}\n`);
      } catch {
        /* kmsg is best effort */
      }
    }
  }
}
