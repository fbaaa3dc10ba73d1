import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { listDirs, listTree, sha256File } from '../lib/hash.ts';
import { devNumbers, entryProblem, kindOf, showName, type Allowed } from './confine.ts';

export interface ManifestEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  mode: string;
  size: number;
  sha256?: string;
  target?: string;
  /** `major:minor` of a device node. */
  device?: string;
}

/** Every file, directory and link of a staged tree, sorted, with size and sha256. */
export async function buildManifest(root: string): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  for (const rel of [...(await listTree(root)), ...(await listDirs(root)).filter(Boolean)].sort()) {
    const p = join(root, rel);
    const st = await lstat(p);
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    const type = kindOf(st);
    if (type === 'symlink') entries.push({ path: `/${rel}`, type, mode, size: 0, target: await readlink(p) });
    else if (type === 'dir' || type === 'fifo' || type === 'socket') entries.push({ path: `/${rel}`, type, mode, size: 0 });
    // Never read: a device node of the tree names a device of the build host.
    else if (type === 'char' || type === 'block') {
      const { major, minor } = devNumbers(st.rdev);
      entries.push({ path: `/${rel}`, type, mode, size: 0, device: `${major}:${minor}` });
    } else if (type === 'file') entries.push({ path: `/${rel}`, type, mode, size: st.size, sha256: await sha256File(p) });
  }
  return entries;
}

/**
 * Files that must not reach the image: world-writable ones (a directory only with the sticky
 * bit). Owners need no check here: both images give every file to root (the debugfs pass of
 * rootfs.img, mksquashfs -all-root), so none keeps the build user's uid, and no root is needed.
 */
export function unsafeEntries(entries: readonly ManifestEntry[]): string[] {
  return entries
    .filter((e) => e.type !== 'symlink')
    .filter((e) => {
      const mode = parseInt(e.mode, 8);
      return mode & 0o002 && !(e.type === 'dir' && mode & 0o1000);
    })
    .map((e) => `${e.path} is world-writable (mode ${e.mode})`);
}

/** The privileged entries of an image: what manifest.json lists and `aios build` counts. */
export function privilegedEntries(entries: readonly ManifestEntry[]): { setuid: string[]; devices: string[] } {
  return {
    setuid: entries.filter((e) => e.type === 'file' && parseInt(e.mode, 8) & 0o6000).map((e) => e.path),
    devices: entries.filter((e) => ['char', 'block', 'fifo'].includes(e.type)).map((e) => e.path),
  };
}

/**
 * The last look at the finished tree, whatever put an entry there (a hook included): a name the
 * image tools cannot carry, or privilege that aios.json does not declare.
 */
export function undeclaredEntries(entries: readonly ManifestEntry[], allow: Allowed): string[] {
  return entries
    .map((e) => {
      const why = entryProblem(e.path.slice(1), e.type, parseInt(e.mode, 8), '/', allow);
      return why && `${showName(e.path)} ${why}`;
    })
    .filter((x): x is string => Boolean(x));
}
