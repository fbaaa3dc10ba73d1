import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Edits of a built image's direct-path files, made on a copy with debugfs (no root, no mount). */
export interface ImageEdit {
  /** /etc/aios/init.json of the image replaced by this edit of it. */
  initJson?: (j: Record<string, unknown>) => Record<string, unknown>;
  /** Files written into the image: path -> its content (mode 0644 unless given). */
  files?: Record<string, { content: string | Uint8Array; mode?: number }>;
  /** Hard links made in the image: new path -> the existing file it names too. */
  links?: Record<string, string>;
  /** vmlinuz padded with zeros to this many bytes (a bzImage ignores what follows it). */
  kernelBytes?: number;
  /** aios.json of a project the check reads (its budgets, its kernel command line). */
  project?: Record<string, unknown>;
}

/**
 * A copy of the direct-path files of the build in `out`, in a scratch directory, changed as `v`
 * says: for the boot tests' broken images and the benchmark's image with nothing to start.
 */
export async function makeImageVariant(out: string, v: ImageEdit): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aios-variant-'));
  try {
    await edit(out, dir, v);
    return dir;
  } catch (err) {
    // No half-made variant is left behind.
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function edit(out: string, dir: string, v: ImageEdit): Promise<void> {
  for (const f of ['vmlinuz', 'initramfs.img', 'build.json', 'rootfs.img']) await copyFile(join(out, f), join(dir, f));
  if (v.kernelBytes) await truncate(join(dir, 'vmlinuz'), v.kernelBytes);
  if (v.project) await writeFile(join(dir, 'aios.json'), JSON.stringify(v.project));
  const files = { ...v.files };
  const part = `${join(dir, 'rootfs.img')}?offset=${1 << 20}`;
  const debugfs = (cmd: string) => execFileSync('/sbin/debugfs', ['-w', '-R', cmd, part], { stdio: 'ignore' });
  const debugfsRead = (cmd: string) => execFileSync('/sbin/debugfs', ['-R', cmd, part], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (v.initJson) {
    const current = JSON.parse(debugfsRead('cat /etc/aios/init.json')) as Record<string, unknown>;
    files['/etc/aios/init.json'] = { content: JSON.stringify(v.initJson(current)) };
  }
  let n = 0;
  for (const [path, f] of Object.entries(files)) {
    const src = join(dir, `file-${n++}`);
    await writeFile(src, f.content);
    debugfs(`rm ${path}`);
    debugfs(`write ${src} ${path}`);
    debugfs(`sif ${path} mode 0${(0o100000 | (f.mode ?? 0o644)).toString(8)}`);
    await rm(src);
  }
  for (const [path, target] of Object.entries(v.links ?? {})) {
    // debugfs's ln leaves the link count alone; e2fsck -fn after the boot would see it wrong.
    const links = Number(/Links: (\d+)/.exec(debugfsRead(`stat ${target}`))?.[1]);
    debugfs(`ln ${target} ${path}`);
    debugfs(`sif ${target} links_count ${links + 1}`);
  }
}
