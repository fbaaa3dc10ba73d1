import { ownService, type InitConfig } from './config.ts';
import { PROBE_FLAG } from '../../common/probe.ts';

/** The probe script in the image: busybox prints the machine's facts for aios check. */
export const PROBE_PATH = '/usr/libexec/aios/probe';

/** The nonce of `aios.probe=<nonce>` on the kernel command line, which aios check adds. */
export function probeNonce(cmdline: string): string | undefined {
  return new RegExp(`(?:^|\\s)${PROBE_FLAG.replace('.', '\\.')}=([A-Za-z0-9]{1,64})(?=\\s|$)`).exec(cmdline)?.[1];
}

/**
 * A one-shot service: the probe runs once the network is up (it reads the addresses), and writes
 * to the console itself, not through aios-init's service log, so that what aios check reads has
 * not passed through aios-init.
 */
export function probeService(nonce: string): InitConfig['services'][number] {
  return ownService({ name: 'aios-probe', command: PROBE_PATH, args: [nonce], restart: 'never', tty: '/dev/console', waitForNetwork: true });
}
