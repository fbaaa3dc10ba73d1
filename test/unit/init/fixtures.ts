import { mkdir, writeFile, symlink } from 'node:fs/promises';
import { openSync } from 'node:fs';
import { join, dirname } from 'node:path';
import type { Sys } from '../../../init/src/sys.ts';
import { scratchDir } from '../scratch.ts';

/** Build a fixture root from a map of path -> file content (or { link } for a symlink). */
export async function fixtureRoot(files: Record<string, string | { link: string }>): Promise<string> {
  const root = scratchDir('aios-root-');
  for (const [p, v] of Object.entries(files)) {
    const full = join(root, p);
    await mkdir(dirname(full), { recursive: true });
    if (typeof v === 'string') await writeFile(full, v);
    else await symlink(v.link, full);
  }
  return root;
}

export function pciDevice(slot: string, vendor: string, device: string, cls: string, driver?: string): Record<string, string | { link: string }> {
  const base = `sys/bus/pci/devices/${slot}`;
  return {
    [`${base}/vendor`]: `${vendor}\n`,
    [`${base}/device`]: `${device}\n`,
    [`${base}/class`]: `${cls}\n`,
    ...(driver ? { [`${base}/driver`]: { link: `../../../../bus/pci/drivers/${driver}` } } : {}),
    // As the kernel writes it: upper-case IDs, the class without 0x and leading zeros.
    [`${base}/uevent`]: [
      ...(driver ? [`DRIVER=${driver}`] : []),
      `PCI_CLASS=${cls.slice(2).replace(/^0+/, '').toUpperCase()}`,
      `PCI_ID=${vendor.slice(2).toUpperCase()}:${device.slice(2).toUpperCase()}`,
      `PCI_SLOT_NAME=${slot}`,
      '',
    ].join('\n'),
  };
}

/**
 * A Sys that records every call and can be told to fail some. `exited` is its children that have
 * exited, in the kernel's order, with their wait statuses; spawn gives pids from 100 up.
 */
export function fakeSys(fail: Partial<Record<keyof Sys, string>> = {}): Sys & { calls: string[]; exited: { pid: number; status: number }[] } {
  const calls: string[] = [];
  const exited: { pid: number; status: number }[] = [];
  let nextPid = 100;
  const rec =
    (name: keyof Sys) =>
    (...args: unknown[]) => {
      calls.push(`${name} ${args.join(' ')}`.trim());
      if (fail[name]) {
        const e = new Error(fail[name]) as NodeJS.ErrnoException;
        e.code = fail[name];
        throw e;
      }
      return null;
    };
  return {
    calls,
    mount: rec('mount'),
    umount: rec('umount'),
    reboot: rec('reboot'),
    sync: rec('sync'),
    sethostname: rec('sethostname'),
    finitModule: rec('finitModule'),
    mknodChar: rec('mknodChar'),
    waitpid: (pid: number) => {
      calls.push(`waitpid ${pid}`);
      const i = pid === -1 ? 0 : exited.findIndex((e) => e.pid === pid);
      return i >= 0 && exited[i] ? exited.splice(i, 1)[0]! : null;
    },
    spawn: (...args: Parameters<Sys['spawn']>) => {
      rec('spawn')(...args);
      return nextPid++;
    },
    pipe: () => [90, 91],
    exited,
    linkUp: rec('linkUp'),
    setAddress: rec('setAddress'),
    setDefaultRoutes: rec('setDefaultRoutes'),
    psiWatch: rec('psiWatch'),
    // The "device" is the file at `path` in the fixture's root: keep-alives and the magic close land in it.
    watchdogOpen: (path: string, timeoutSeconds: number) => {
      rec('watchdogOpen')(path, timeoutSeconds);
      return { fd: openSync(path, 'w'), timeoutSeconds, identity: 'fake watchdog' };
    },
  };
}
