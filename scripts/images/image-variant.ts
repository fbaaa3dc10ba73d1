import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import type { BuildJson } from '../../common/build-json.ts';
import { copySparse } from '../../common/copy-sparse.ts';
import { parseRootHash, veritysetupFormatArgs, VERITYSETUP } from './verity.ts';
import { parsePartitions } from '../../common/partitions.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Edits of a built image's direct-path files, made on a copy with debugfs (no root, no mount). */
export interface ImageEdit {
  /** /etc/aios/init.json of the image replaced by this edit of it. */
  initJson?: (j: Record<string, unknown>) => Record<string, unknown>;
  /** Files written into the image: path -> its content (mode 0644 unless given). */
  files?: Record<string, { content: string | Uint8Array; mode?: number }>;
  /** Files removed from the image. */
  remove?: string[];
  /** Hard links made in the image: new path -> the existing file it names too. */
  links?: Record<string, string>;
  /** vmlinuz padded with zeros to this many bytes (a bzImage ignores what follows it). */
  kernelBytes?: number;
  /** aios.json of a project the check reads (its budgets, its kernel command line). */
  project?: Record<string, unknown>;
  /** build.json of the variant replaced by this edit of it (after the root's new hash is recorded). */
  buildJson?: (b: Record<string, unknown>) => Record<string, unknown>;
  /** aios.iso copied too, for the ISO paths (edited by the caller, in place). */
  withIso?: boolean;
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
  for (const f of ['vmlinuz', 'initramfs.img', 'build.json', ...(v.withIso ? ['aios.iso'] : [])]) await copyFile(join(out, f), join(dir, f));
  await copySparse(join(out, 'rootfs.img'), join(dir, 'rootfs.img'));
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
    // debugfs says nothing when a write fails (its directory missing, say): look.
    if (!/Inode: \d+/.test(debugfsRead(`stat ${path}`))) throw new Error(`could not write ${path} into the variant (does its directory exist in the image?)`);
    await rm(src);
  }
  for (const [path, target] of Object.entries(v.links ?? {})) {
    // debugfs's ln leaves the link count alone; e2fsck -fn after the boot would see it wrong.
    const links = Number(/Links: (\d+)/.exec(debugfsRead(`stat ${target}`))?.[1]);
    debugfs(`ln ${target} ${path}`);
    debugfs(`sif ${target} links_count ${links + 1}`);
  }
  for (const path of v.remove ?? []) debugfs(`rm ${path}`);
  if (Object.keys(files).length || v.links || v.remove?.length) await reverity(dir);
  if (v.buildJson) {
    const file = join(dir, 'build.json');
    await writeFile(file, JSON.stringify(v.buildJson(JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>), null, 2));
  }
}

/**
 * A new hash tree and root hash for the edited root, recorded in the variant's build.json: the
 * variant is an image built with these files, not a corrupted one. (A test that wants a corrupted
 * root changes bytes after this.)
 */
async function reverity(dir: string): Promise<void> {
  const buildJson = join(dir, 'build.json');
  const build = JSON.parse(await readFile(buildJson, 'utf8')) as Partial<BuildJson>;
  const v = build.verity?.disk;
  if (!v) return;
  const disk = join(dir, 'rootfs.img');
  const [root] = parsePartitions(execFileSync('/sbin/sfdisk', ['--json', disk], { encoding: 'utf8' }));
  if (!root) throw new Error(`${disk} has no partition table`);
  const part = join(dir, 'root.part');
  const mib = 1 << 20;
  execFileSync('dd', [`if=${disk}`, `of=${part}`, 'bs=1M', `skip=${root.start / mib}`, `count=${v.hashOffset / mib}`, 'status=none']);
  const stdout = execFileSync(
    VERITYSETUP,
    veritysetupFormatArgs({ image: part, hashOffset: v.hashOffset, salt: randomBytes(32).toString('hex'), uuid: randomUUID() }),
    {
      encoding: 'utf8',
    },
  );
  execFileSync('dd', [`if=${part}`, `of=${disk}`, 'bs=1M', `seek=${root.start / mib}`, 'conv=notrunc', 'status=none']);
  await rm(part);
  build.verity = { ...build.verity!, disk: { ...v, rootHash: parseRootHash(stdout) } };
  await writeFile(buildJson, JSON.stringify(build, null, 2));
}
