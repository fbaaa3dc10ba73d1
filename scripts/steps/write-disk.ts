import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { sha256 } from '../lib/hash.ts';
import { debugfsErrors, debugfsPinScript, mke2fsArgs, sfdiskScript, uuidFrom } from '../images/tool-args.ts';
import { readFile, writeFile } from 'node:fs/promises';

const STEP_VERSION = 3;
const MiB = 1024 * 1024;

/** The disk's command lines as the builders make them (sizes and identities aside): a change to one must not reuse an old image. */
export function diskKeyValues(epoch: number) {
  return {
    epoch,
    mke2fs: mke2fsArgs({ tree: 'tree', image: 'image', sizeMiB: 0, label: 'aios-root', uuid: 'uuid', hashSeed: 'seed' }),
    pin: debugfsPinScript(['/path'], epoch),
    sfdisk: sfdiskScript({ labelId: 'id', startSector: 2048, sectors: 0 }),
  };
}

/** rootfs.img: MBR + partition 1 ext4 (mke2fs -d from the staged tree), no loop device, no mount. */
export async function writeDisk(ctx: BuildContext): Promise<void> {
  const tree = need(ctx, 'rootfs').tree;
  const inputs = {
    version: STEP_VERSION,
    after: { rootfs: need(ctx, 'rootfs').dir },
    tools: ['/sbin/mke2fs', '/sbin/debugfs', '/sbin/sfdisk'],
    values: diskKeyValues(ctx.sourceDateEpoch),
  };
  const dir = await cachedStep(ctx, inputs, async (out) => {
    const manifestText = await readFile(need(ctx, 'rootfs').manifest, 'utf8');
    // The content seeds the filesystem identities (every file's bytes and mode, and the epoch, from
    // the manifest): the same root filesystem gets the same UUIDs, however its inputs were keyed.
    const seed = sha256(`${manifestText}\0${ctx.sourceDateEpoch}`);
    const { stdout } = await run('du', ['-sb', tree]);
    const bytes = Number(stdout.split(/\s/)[0]);
    const sizeMiB = Math.ceil((bytes * 1.25) / MiB) + 64;
    const part = join(out, 'part.img');
    const env = { SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch), E2FSPROGS_FAKE_TIME: String(ctx.sourceDateEpoch) };
    ctx.log.info(`mke2fs -d: ${sizeMiB} MiB ext4`);
    await run(
      '/sbin/mke2fs',
      mke2fsArgs({ tree, image: part, sizeMiB, label: 'aios-root', uuid: uuidFrom(seed.slice(0, 32)), hashSeed: uuidFrom(seed.slice(32, 64)) }),
      { env },
    );
    const manifest = JSON.parse(manifestText) as { files: { path: string }[] };
    const script = join(out, 'pin.debugfs');
    await writeFile(script, debugfsPinScript(['/lost+found', ...manifest.files.map((f) => f.path)], ctx.sourceDateEpoch));
    const pinned = await run('/sbin/debugfs', ['-w', '-f', script, part], { env });
    // debugfs exits 0 whatever its commands did: an inode it could not set is in its stderr.
    const failed = debugfsErrors(pinned.stderr);
    if (failed.length) throw new Error(`debugfs could not pin owners and times in ${part}:\n  ${failed.slice(0, 10).join('\n  ')}`);
    await rm(script);
    const disk = join(out, 'rootfs.img');
    const fh = await open(disk, 'w');
    await fh.truncate(MiB + sizeMiB * MiB);
    await fh.close();
    await run('/sbin/sfdisk', ['--no-reread', '--no-tell-kernel', '-q', disk], {
      input: sfdiskScript({ labelId: seed.slice(0, 8), startSector: 2048, sectors: (sizeMiB * MiB) / 512 }),
    });
    await run('dd', [`if=${part}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none']);
    await run('/sbin/e2fsck', ['-fn', part]);
    await rm(part);
  });
  const file = join(dir, 'rootfs.img');
  ctx.images.disk = file;
  ctx.log.info(`rootfs.img: ${((await stat(file)).size / 1e6).toFixed(0)} MB`);
}
