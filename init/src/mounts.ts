import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { MountInfo } from '../../common/boot-report.ts';
import { MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT, MNT_DETACH, type Sys } from './sys.ts';
import type { FsRoot } from './fsroot.ts';

export interface PseudoMount {
  target: string;
  fstype: string;
  source: string;
  flags: number;
  data: string;
  /** Options a kernel may not know: tried first, then the mount is made without them. */
  extraData?: string;
  /** Mounted only where the kernel made its mount point (a filesystem only some kernels have). */
  ifPresent?: boolean;
}

/** The pseudo filesystems of a running system, in mount order. */
export const PSEUDO_MOUNTS: readonly PseudoMount[] = [
  { target: '/proc', fstype: 'proc', source: 'proc', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC, data: '' },
  { target: '/sys', fstype: 'sysfs', source: 'sysfs', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC, data: '' },
  { target: '/dev', fstype: 'devtmpfs', source: 'devtmpfs', flags: MS_NOSUID, data: 'mode=0755' },
  { target: '/dev/pts', fstype: 'devpts', source: 'devpts', flags: MS_NOSUID | MS_NOEXEC, data: 'gid=5,mode=0620,ptmxmode=0666' },
  { target: '/dev/shm', fstype: 'tmpfs', source: 'shm', flags: MS_NOSUID | MS_NODEV, data: 'mode=1777' },
  { target: '/run', fstype: 'tmpfs', source: 'run', flags: MS_NOSUID | MS_NODEV, data: 'mode=0755' },
  { target: '/tmp', fstype: 'tmpfs', source: 'tmp', flags: MS_NOSUID | MS_NODEV, data: 'mode=1777' },
  // favordynmods (Linux 6.0): moving a process into a cgroup no longer waits for an RCU grace
  // period, which every service's start does; forks and exits pay a little instead.
  { target: '/sys/fs/cgroup', fstype: 'cgroup2', source: 'cgroup2', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC, data: '', extraData: 'favordynmods' },
  // The kernel.trace variant's tracing files, where bpftrace and bcc look for them (tracepoint
  // formats, kprobe and uprobe events); sysfs makes the directory only in a kernel with tracing.
  { target: '/sys/kernel/tracing', fstype: 'tracefs', source: 'tracefs', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC, data: '', ifPresent: true },
  // The lockdown state (/sys/kernel/security/lockdown) and the firmware's variables (SecureBoot),
  // where a UEFI firmware booted the kernel; read-only: nothing here writes firmware variables.
  { target: '/sys/kernel/security', fstype: 'securityfs', source: 'securityfs', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC, data: '', ifPresent: true },
  {
    target: '/sys/firmware/efi/efivars',
    fstype: 'efivarfs',
    source: 'efivarfs',
    flags: MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
    data: '',
    ifPresent: true,
  },
];

export function parseMounts(text: string): MountInfo[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [source = '', target = '', fstype = '', options = ''] = l.split(' ');
      const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
      return { source: unescape(source), target: unescape(target), fstype, options };
    });
}

export function readMounts(fs: FsRoot): MountInfo[] {
  try {
    return parseMounts(readFileSync(fs.p('/proc/mounts'), 'utf8'));
  } catch {
    return [];
  }
}

/** Mount what is not mounted yet; a mount stage 1 already made is kept, not mounted twice. */
export function mountPseudo(sys: Sys, fs: FsRoot, log: (m: string) => void): { mounted: string[]; kept: string[]; failed: string[]; absent: string[] } {
  const result = { mounted: [] as string[], kept: [] as string[], failed: [] as string[], absent: [] as string[] };
  const mountedNow = () => new Set(readMounts(fs).map((x) => x.target));
  // Read once, and again once /proc is there to be read.
  let present = mountedNow();
  for (const m of PSEUDO_MOUNTS) {
    if (present.has(m.target)) {
      result.kept.push(m.target);
      continue;
    }
    if (m.ifPresent && !existsSync(fs.p(m.target))) {
      result.absent.push(m.target);
      continue;
    }
    try {
      if (!existsSync(fs.p(m.target))) mkdirSync(fs.p(m.target), { recursive: true });
      mountWithExtra(sys, fs.p(m.target), m);
      result.mounted.push(m.target);
      if (m.target === '/proc') present = mountedNow();
    } catch (err) {
      result.failed.push(m.target);
      log(`mount ${m.target} (${m.fstype}) failed: ${(err as Error).message}`);
    }
  }
  return result;
}

function mountWithExtra(sys: Sys, target: string, m: PseudoMount): void {
  if (m.extraData) {
    try {
      return sys.mount(m.source, target, m.fstype, m.flags, [m.data, m.extraData].filter(Boolean).join(','));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    }
  }
  sys.mount(m.source, target, m.fstype, m.flags, m.data);
}

/** Mount points the image declares in /etc/fstab (comments and swap ignored). */
export function declaredMounts(fstab: string): string[] {
  return fstab
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/))
    .filter((f) => f.length >= 3 && f[2] !== 'swap' && f[1] !== 'none')
    .map((f) => f[1]!);
}

/** Mount the /etc/fstab entries that are not mounted yet (noauto skipped). */
export function mountFstab(sys: Sys, fs: FsRoot, fstab: string, log: (m: string) => void): void {
  for (const l of fstab
    .split('\n')
    .map((x) => x.trim())
    .filter((x) => x && !x.startsWith('#'))) {
    const [source, target, fstype, options = 'defaults'] = l.split(/\s+/);
    if (!source || !target || !fstype || fstype === 'swap' || options.split(',').includes('noauto')) continue;
    if (readMounts(fs).some((m) => m.target === target)) {
      if (target === '/' && !options.split(',').includes('ro')) {
        try {
          sys.mount('', '/', '', MS_REMOUNT, '');
        } catch (err) {
          log(`remount / read-write failed: ${(err as Error).message}`);
        }
      }
      continue;
    }
    try {
      mkdirSync(fs.p(target), { recursive: true });
      sys.mount(
        source,
        fs.p(target),
        fstype,
        options.split(',').includes('ro') ? MS_RDONLY : 0,
        options
          .split(',')
          .filter((o) => !['defaults', 'ro', 'rw'].includes(o))
          .join(','),
      );
    } catch (err) {
      log(`mount ${target} from /etc/fstab failed: ${(err as Error).message}`);
    }
  }
}

/** Unmount everything but the root in reverse order; remount / read-only when it stays busy. */
/**
 * Unmount everything but the pseudo filesystems (innermost first), then remount / read-only,
 * each tried a few times: a process that is still closing its files makes the first try EBUSY.
 */
export async function unmountAll(sys: Sys, fs: FsRoot, log: (m: string) => void, tries = 3, pauseMs = 300): Promise<void> {
  const keep = new Set(['/', '/proc', '/sys', '/dev']);
  for (let t = 1; t <= tries; t++) {
    const left = readMounts(fs)
      .reverse()
      .filter((m) => !keep.has(m.target) && !m.target.startsWith('/proc/') && !m.target.startsWith('/sys/') && !m.target.startsWith('/dev/'));
    const failed: string[] = [];
    for (const m of left) {
      try {
        sys.umount(m.target, t === tries ? MNT_DETACH : 0);
      } catch (err) {
        failed.push(`${m.target}: ${(err as Error).message}`);
      }
    }
    if (!failed.length) break;
    if (t === tries) log(`umount: ${failed.join('; ')}`);
    else await sleep(pauseMs);
  }
  for (let t = 1; t <= tries; t++) {
    try {
      sys.mount('', '/', '', MS_REMOUNT | MS_RDONLY, '');
      return;
    } catch (err) {
      if (t === tries) log(`remount / read-only: ${(err as Error).message}`);
      else await sleep(pauseMs);
    }
  }
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));
