import { open, read, readdirSync, readFileSync } from 'node:fs';
import type { FsRoot } from './fsroot.ts';

const EV_KEY = 1;
const KEY_POWER = 116;
/** struct input_event on 64-bit: struct timeval (16 bytes), type (2), code (2), value (4). */
const EVENT_SIZE = 24;

/** Is there a key-down of KEY_POWER in this chunk of evdev events? */
export function hasPowerPress(buf: Buffer): boolean {
  for (let off = 0; off + EVENT_SIZE <= buf.length; off += EVENT_SIZE) {
    if (buf.readUInt16LE(off + 16) === EV_KEY && buf.readUInt16LE(off + 18) === KEY_POWER && buf.readInt32LE(off + 20) === 1) return true;
  }
  return false;
}

/** evdev devices that can send KEY_POWER (ACPI power button), by their name in sysfs. */
export function powerButtons(fs: FsRoot): string[] {
  let names: string[];
  try {
    names = readdirSync(fs.p('/sys/class/input')).filter((n) => n.startsWith('event'));
  } catch {
    return [];
  }
  return names
    .filter((n) => {
      try {
        return /power button/i.test(readFileSync(fs.p(`/sys/class/input/${n}/device/name`), 'utf8'));
      } catch {
        return false;
      }
    })
    .map((n) => fs.p(`/dev/input/${n}`));
}

/**
 * Call `onPress` when any power button is pressed. Returns the devices watched. A plain read loop
 * (fs.read on the thread pool), not a ReadStream: the stream modules cost PID 1 some 50 ms to load
 * under TCG, before anything else may start.
 */
export function watchPowerButton(fs: FsRoot, onPress: () => void, log: (m: string) => void): string[] {
  const devices = powerButtons(fs);
  for (const dev of devices) {
    open(dev, 'r', (err, fd) => {
      if (err) return log(`power button ${dev}: ${err.message}`);
      readEvents(fd, onPress, (e) => log(`power button ${dev}: ${e.message}`));
    });
  }
  return devices;
}

/** Read whole evdev events from `fd` for good, calling `onPress` at each power key-down. */
export function readEvents(fd: number, onPress: () => void, onError: (err: Error) => void): void {
  const buf = Buffer.alloc(EVENT_SIZE * 8);
  let have = 0;
  const next = (): void =>
    read(fd, buf, have, buf.length - have, null, (err, n) => {
      if (err) return onError(err);
      if (n === 0) return onError(new Error('end of file'));
      have += n;
      const whole = have - (have % EVENT_SIZE);
      if (hasPowerPress(buf.subarray(0, whole))) onPress();
      buf.copy(buf, 0, whole, have);
      have -= whole;
      next();
    });
  next();
}
