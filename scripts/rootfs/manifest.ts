import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { listTree, sha256File } from '../lib/hash.ts';
import { readdir } from 'node:fs/promises';

export interface ManifestEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: string;
  size: number;
  sha256?: string;
  target?: string;
}

async function listDirs(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    if (e.isDirectory()) out.push(join(rel, e.name), ...(await listDirs(root, join(rel, e.name))));
  }
  return out;
}

/** Every file, directory and link of a staged tree, sorted, with size and sha256. */
export async function buildManifest(root: string): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  for (const rel of [...(await listTree(root)), ...(await listDirs(root))].sort()) {
    const p = join(root, rel);
    const st = await lstat(p);
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    if (st.isSymbolicLink()) entries.push({ path: `/${rel}`, type: 'symlink', mode, size: 0, target: await readlink(p) });
    else if (st.isDirectory()) entries.push({ path: `/${rel}`, type: 'dir', mode, size: 0 });
    else entries.push({ path: `/${rel}`, type: 'file', mode, size: st.size, sha256: await sha256File(p) });
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
