import { existsSync, writeSync } from 'node:fs';
import type { WatchdogInfo } from '../../common/boot-report.ts';
import type { FsRoot } from './fsroot.ts';
import type { Sys } from './sys.ts';

/** Keep-alives come three times per timeout, so that one late turn of the event loop is not a reset. */
export function keepAliveMs(timeoutSeconds: number): number {
  return Math.max(100, Math.floor((timeoutSeconds * 1000) / 3));
}

/**
 * The hardware watchdog, kept alive by a timer on PID 1's event loop: if the loop stops turning
 * (aios-init hung in a step, a system call or its own code), the keep-alives stop and the hardware
 * resets the machine. A timer on another thread would keep a hung PID 1 alive. It is never
 * closed: at reboot(2) the kernel stops the watchdogs whose drivers ask it to (iTCO_wdt,
 * sp5100_tco and i6300esb all do), and a BMC's IPMI watchdog gives a restart 120 s instead, so
 * that a restart that hangs is still reset.
 */
export class Watchdog {
  private fd = -1;
  private failed = false;

  constructor(
    private readonly sys: Sys,
    private readonly fs: FsRoot,
    private readonly warn: (m: string) => void,
  ) {}

  arm(device: string, timeoutSeconds: number): WatchdogInfo {
    if (!timeoutSeconds) return { device, armed: false, detail: 'off (init.json watchdog.timeoutSeconds is 0)' };
    if (!existsSync(this.fs.p(device))) return { device, armed: false, detail: 'not present' };
    let opened: ReturnType<Sys['watchdogOpen']>;
    try {
      opened = this.sys.watchdogOpen(this.fs.p(device), timeoutSeconds);
    } catch (err) {
      return { device, armed: false, detail: (err as Error).message };
    }
    this.fd = opened.fd;
    const every = keepAliveMs(opened.timeoutSeconds);
    setInterval(() => this.keepAlive(), every);
    return { device, armed: true, identity: opened.identity, timeoutSeconds: opened.timeoutSeconds, keepAliveMs: every };
  }

  private keepAlive(): void {
    try {
      // Any byte but "V" keeps it alive (and takes back a "V" written before).
      writeSync(this.fd, '\0');
      this.failed = false;
    } catch (err) {
      if (!this.failed) this.warn(`watchdog keep-alive failed: ${(err as Error).message}`);
      this.failed = true;
    }
  }
}
