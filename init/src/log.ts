import { openSync, writeSync } from 'node:fs';

/** Console and /dev/kmsg logging; every step's duration goes through here. */
export class Log {
  private kmsg: number | undefined;
  constructor(
    private readonly out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
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
