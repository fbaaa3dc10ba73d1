// Power-off, reboot and halt: services stopped in order, every other process ended, the disks
// synced and unmounted, then reboot(2). Asked once; a failed reboot(2) leaves the machine up.
import { readdirSync, readFileSync } from 'node:fs';
import type { Booted } from './boot.ts';
import { unmountAll } from './mounts.ts';
import type { PowerAction } from './signals.ts';

export class Shutdown {
  private running = false;

  /** `stopRequests` closes whatever takes requests from outside (the status endpoint). */
  constructor(
    private readonly b: Booted,
    private readonly stopRequests: () => void,
  ) {}

  get started(): boolean {
    return this.running;
  }

  async run(how: PowerAction, why: string): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { log, step, sys, fs, config, supervisor } = this.b;
    log.info(`${why}: ${how}`);
    // Nobody's requests take PID 1's time from here on.
    this.stopRequests();
    this.b.inference?.stop();
    await step('stop services', () => supervisor.stopAll(config.shutdownTimeoutSeconds * 1000));
    await step('stop other processes', () => killEveryone(config.shutdownTimeoutSeconds * 1000));
    sys.sync();
    await step('unmount', () => unmountAll(sys, fs, (m) => log.warn(m)));
    log.info(`${how} now`);
    try {
      sys.reboot(how);
    } catch (err) {
      log.warn(`reboot(2) failed: ${(err as Error).message}; staying up`);
      this.running = false;
    }
  }
}

/** kill(-1): every process but PID 1, SIGTERM and then SIGKILL, so none holds / open for writing. */
async function killEveryone(graceMs: number): Promise<void> {
  const others = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p) && p !== '1' && !isKernelThread(p));
  try {
    process.kill(-1, 'SIGTERM');
  } catch {
    return; // nobody left
  }
  for (let waited = 0; waited < Math.min(graceMs, 2000) && others().length; waited += 100) await new Promise((r) => setTimeout(r, 100));
  try {
    process.kill(-1, 'SIGKILL');
  } catch {
    /* nobody left */
  }
}

function isKernelThread(pid: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`).length === 0;
  } catch {
    return true;
  }
}
