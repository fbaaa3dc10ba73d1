import { ownService, type InitConfig } from './config.ts';
import { readFileSync } from 'node:fs';
import { NONCE_PATTERN, PROBE_FW_CFG_FILE } from '../../common/probe.ts';
import type { FsRoot } from './fsroot.ts';

/** The probe script in the image: busybox prints the machine's facts for aios check. */
export const PROBE_PATH = '/usr/libexec/aios/probe';

/** The nonce aios check hands this boot through QEMU's fw_cfg; undefined when there is none (or it is malformed). */
export function probeNonce(fs: FsRoot): string | undefined {
  let raw: string;
  try {
    raw = readFileSync(fs.p(PROBE_FW_CFG_FILE), 'utf8').trim();
  } catch {
    return undefined;
  }
  return NONCE_PATTERN.test(raw) ? raw : undefined;
}

/** The second serial port, which aios check attaches to a file of its own (qemu/cmdline.ts checkChannel). */
export const CHECK_CHANNEL = '/dev/ttyS1';

/**
 * A one-shot service: the probe runs once the network is up (it reads the addresses), and writes
 * to the check channel itself, not through aios-init's service log, so that what aios check reads
 * has not passed through aios-init, nor beside any service's output.
 */
export function probeService(nonce: string, tty: string): InitConfig['services'][number] {
  return ownService({ name: 'aios-probe', command: PROBE_PATH, args: [nonce], restart: 'never', tty, waitForNetwork: true });
}
