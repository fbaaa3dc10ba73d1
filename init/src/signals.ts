/** What PID 1 does on each signal, as busybox's halt/poweroff/reboot and sysvinit expect. */
export type PowerAction = 'halt' | 'poweroff' | 'restart';

export const SIGNAL_ACTIONS: Readonly<Record<'SIGUSR1' | 'SIGUSR2' | 'SIGTERM' | 'SIGINT', { action: PowerAction; why: string }>> = {
  // Also keeps Node from opening its inspector on 127.0.0.1:9229, which it does on SIGUSR1
  // when nothing handles it: a root debugger in PID 1 for any local process.
  SIGUSR1: { action: 'halt', why: 'SIGUSR1 (busybox halt)' },
  SIGUSR2: { action: 'poweroff', why: 'SIGUSR2 (busybox poweroff)' },
  SIGTERM: { action: 'restart', why: 'SIGTERM (busybox reboot)' },
  // With Ctrl-Alt-Del handed to PID 1 (reboot(2) CAD_OFF at start), the kernel sends SIGINT.
  SIGINT: { action: 'restart', why: 'SIGINT (Ctrl-Alt-Del)' },
};

/**
 * Power requests may arrive before aios-init can act on them (a power button pressed during
 * DHCP): the first one is kept and carried out as soon as the machinery is up.
 */
export class PowerRequests {
  private pending?: { action: PowerAction; why: string };
  private handler?: (action: PowerAction, why: string) => void;

  request(action: PowerAction, why: string): void {
    if (this.handler) return this.handler(action, why);
    this.pending ??= { action, why };
  }

  /** From now on requests go to `handler`; one that came early runs now. */
  ready(handler: (action: PowerAction, why: string) => void): void {
    this.handler = handler;
    const p = this.pending;
    this.pending = undefined;
    if (p) handler(p.action, p.why);
  }

  /** Install the signal handlers: done first thing, before any slow step. */
  listen(proc: Pick<NodeJS.Process, 'on'> = process): void {
    for (const [sig, { action, why }] of Object.entries(SIGNAL_ACTIONS)) proc.on(sig, () => this.request(action, why));
  }
}
