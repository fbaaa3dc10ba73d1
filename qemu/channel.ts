import { closeSync, openSync, readSync } from 'node:fs';

/**
 * The lines QEMU writes to the check channel's file (the guest's ttyS1), as they come: the file
 * is read from where the last read ended, every `everyMs`. The tty turns each newline into \r\n.
 */
export function followLines(file: string, onLine: (line: string) => void, everyMs = 50): { stop: () => void } {
  let offset = 0;
  let rest = '';
  const buf = Buffer.alloc(64 * 1024);
  const read = () => {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return; // not made yet: QEMU creates it as it starts
    }
    try {
      for (let n = readSync(fd, buf, 0, buf.length, offset); n > 0; n = readSync(fd, buf, 0, buf.length, offset)) {
        offset += n;
        rest += buf.subarray(0, n).toString('utf8');
        const parts = rest.split('\n');
        rest = parts.pop()!;
        for (const p of parts) onLine(p.replace(/\r$/, ''));
      }
    } finally {
      closeSync(fd);
    }
  };
  const timer = setInterval(read, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      read();
    },
  };
}
