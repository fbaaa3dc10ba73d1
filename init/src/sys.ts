import * as sea from 'node:sea';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The system calls aios-init needs. Behind an interface so that tests run without root. */
export interface Sys {
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  umount(target: string, flags: number): void;
  /** reboot(2): power off, restart, halt, or cad-off (Ctrl-Alt-Del becomes SIGINT to PID 1). */
  reboot(how: 'poweroff' | 'restart' | 'halt' | 'cad-off'): void;
  sync(): void;
  sethostname(name: string): void;
  finitModule(path: string, params: string): void;
  /** mknod(2) of a character device (umask applies, as for any mknod). */
  mknodChar(path: string, mode: number, major: number, minor: number): void;
  /** Reap `pid` (-1: any child) if it has exited (WNOHANG); null when none has, or there is no child. */
  waitpid(pid: number): { pid: number; status: number } | null;
  /**
   * clone3 + execve: the child's pid. `stdio` descriptors of -1 are /dev/null; `cgroupFd` (an open
   * cgroup directory, or -1) is where the child starts (CLONE_INTO_CGROUP). Throws the exec's errno
   * (code ENOENT, EACCES...) when the program cannot be run. `ids` is [uid, gid, ...groups] for a
   * service of another user (its `keepCaps` raised as ambient capabilities), [] to stay root.
   * `root` is a directory the child sees as / (chroot, before the user changes; "" for none), and
   * `cwd` its working directory ("" for /).
   */
  spawn(
    file: string,
    argv: readonly string[],
    env: readonly string[],
    stdio: readonly [number, number, number],
    cgroupFd: number,
    keepCaps: number,
    nice: number,
    ids: readonly number[],
    root: string,
    cwd: string,
  ): number;
  /** pipe2(O_CLOEXEC): [read end, write end]. */
  pipe(): [number, number];
  linkUp(name: string): void;
  setAddress(name: string, ip: string, netmask: string): void;
  /**
   * Replace the default routes through `dev` with one through each of `gateways` (1 to 8), metric
   * 0 for the first, 1 for the next: the kernel sends by the first, the others wait behind it.
   */
  setDefaultRoutes(dev: string, gateways: readonly string[]): void;
  /**
   * Open a watchdog device, which starts it, and set its timeout: the descriptor (keep-alives are
   * writes to it, "V" then close stops it) and the timeout the driver took. On any error the
   * device is stopped again before the throw.
   */
  watchdogOpen(path: string, timeoutSeconds: number): { fd: number; timeoutSeconds: number; identity: string };
  /** Register a PSI trigger on a pressure file; `onEvent` runs on the event loop at each event. */
  psiWatch(path: string, trigger: string, onEvent: () => void): void;
}

export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_REMOUNT = 32;
export const MS_MOVE = 8192;
export const MNT_DETACH = 2;

/** The addon's name among the single executable's assets. */
export { ADDON_ASSET } from '../../common/code-cache.ts';
import { ADDON_ASSET } from '../../common/code-cache.ts';

/** Where the addon can be written before anything is mounted: /run, then devtmpfs, then /tmp. */
const ADDON_DIRS = ['/run/aios', '/dev/.aios', '/tmp/aios'];

/**
 * Load the addon carried inside the single executable (a SEA asset), or from AIOS_ADDON when
 * run unbundled (the unit tests). It is written to the first writable place and loaded with
 * process.dlopen. The image's aios-init is always the single executable: there, no variable
 * can name another file to load into PID 1.
 */
export async function loadAddon(): Promise<Sys> {
  let path = sea.isSea() ? undefined : process.env.AIOS_ADDON;
  if (!path) {
    if (!sea.isSea()) throw new Error('not running as a single executable and AIOS_ADDON is not set');
    const bytes = Buffer.from(sea.getAsset(ADDON_ASSET));
    const errors: string[] = [];
    for (const dir of ADDON_DIRS) {
      try {
        mkdirSync(dir, { recursive: true });
        path = join(dir, ADDON_ASSET);
        writeFileSync(path, bytes, { mode: 0o500 });
        break;
      } catch (err) {
        errors.push(`${dir}: ${(err as Error).message}`);
        path = undefined;
      }
    }
    if (!path) throw new Error(`no writable place for the addon (${errors.join('; ')})`);
  }
  const mod = { exports: {} as Sys };
  process.dlopen(mod, path);
  return mod.exports;
}

/** Used when the addon cannot be loaded: every call says what it could not do, nothing crashes. */
export function unavailableSys(reason: string): Sys {
  const no = (what: string) => () => {
    throw new Error(`${what}: the system-call addon is not loaded (${reason})`);
  };
  return {
    mount: no('mount'),
    umount: no('umount'),
    reboot: no('reboot'),
    sync: () => {},
    sethostname: no('sethostname'),
    finitModule: no('finit_module'),
    mknodChar: no('mknod'),
    waitpid: () => null,
    spawn: no('spawn'),
    pipe: no('pipe'),
    linkUp: no('link up'),
    setAddress: no('set address'),
    setDefaultRoutes: no('set default routes'),
    psiWatch: no('PSI trigger'),
    watchdogOpen: no('watchdog'),
  };
}
