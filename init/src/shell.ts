import { readFileSync } from 'node:fs';
import { ownService, type InitConfig } from './config.ts';
import type { FsRoot } from './fsroot.ts';

type ServiceSpec = InitConfig['services'][number];

export { SHELL_FLAG } from '../../common/cmdline-flags.ts';
import { SHELL_FLAG } from '../../common/cmdline-flags.ts';

/** `aios.shell` or `aios.shell=1` on the kernel command line (`aios.shell=0` turns it off). */
export function shellFlag(cmdline: string): boolean | undefined {
  const m = new RegExp(`(?:^|\\s)${SHELL_FLAG.replace('.', '\\.')}(?:=(\\S*))?(?=\\s|$)`).exec(cmdline);
  if (!m) return undefined;
  return m[1] === undefined || !['0', 'off', 'no', 'false'].includes(m[1]);
}

/** The console's terminal (the last of /sys/class/tty/console/active is /dev/console's). */
export function consoleTty(fs: FsRoot): string | null {
  try {
    const names = readFileSync(fs.p('/sys/class/tty/console/active'), 'utf8').trim().split(/\s+/).filter(Boolean);
    return names.length ? `/dev/${names.at(-1)}` : null;
  } catch {
    return null;
  }
}

/** A root shell with job control on `tty`: setsid -c makes the terminal its controlling one. */
export function shellService(tty: string): ServiceSpec {
  return ownService({
    name: 'shell',
    command: '/bin/busybox',
    args: ['setsid', '-c', '/bin/sh', '-l'],
    env: { HOME: '/root', TERM: 'vt100', PS1: 'aios# ', SHELL: '/bin/sh' },
    restart: 'always',
    tty,
  });
}
