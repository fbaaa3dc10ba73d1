import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { STATE_LABEL, type VerityRecord } from '../../common/build-json.ts';
import { sha256 } from '../lib/hash.ts';
import { debugfsErrors, debugfsPinScript, mke2fsArgs, sfdiskScript, uuidFrom } from '../images/tool-args.ts';
import { appendVerity, veritysetupFormatArgs, VERITYSETUP } from '../images/verity.ts';

const STEP_VERSION = 4;
const MiB = 1024 * 1024;
/** The writable state partition (/var): made from the staged /var, the same size for every image. */
export const STATE_MIB = 256;
export const ROOT_LABEL = 'aios-root';

/** The disk's command lines as the builders make them (sizes and identities aside): a change to one must not reuse an old image. */
export function diskKeyValues(epoch: number) {
  return {
    epoch,
    stateMiB: STATE_MIB,
    mke2fs: mke2fsArgs({ tree: 'tree', image: 'image', sizeMiB: 0, label: ROOT_LABEL, uuid: 'uuid', hashSeed: 'seed', journal: false }),
    mke2fsState: mke2fsArgs({ tree: 'tree', image: 'image', sizeMiB: STATE_MIB, label: STATE_LABEL, uuid: 'uuid', hashSeed: 'seed' }),
    verity: veritysetupFormatArgs({ image: 'image', hashOffset: 0, salt: 'salt', uuid: 'uuid' }),
    pin: debugfsPinScript(['/path'], epoch),
    sfdisk: sfdiskScript({ labelId: 'id', startSector: 2048, partitions: [0, 0] }),
  };
}

/**
 * rootfs.img: an MBR with the root (ext4 without a journal, read-only, followed by its dm-verity
 * hash tree) and the state partition (ext4, /var), made without a loop device or a mount.
 */
export async function writeDisk(ctx: BuildContext): Promise<void> {
  const tree = need(ctx, 'rootfs').tree;
  const inputs = {
    version: STEP_VERSION,
    after: { rootfs: need(ctx, 'rootfs').dir },
    tools: ['/sbin/mke2fs', '/sbin/debugfs', '/sbin/sfdisk', VERITYSETUP],
    values: diskKeyValues(ctx.sourceDateEpoch),
  };
  const dir = await cachedStep(ctx, inputs, async (out) => {
    const manifestText = await readFile(need(ctx, 'rootfs').manifest, 'utf8');
    // The content seeds the filesystem identities (every file's bytes and mode, and the epoch, from
    // the manifest): the same root filesystem gets the same UUIDs, however its inputs were keyed.
    const seed = sha256(`${manifestText}\0${ctx.sourceDateEpoch}`);
    const stateSeed = sha256(`${seed}\0state`);
    const paths = (JSON.parse(manifestText) as { files: { path: string }[] }).files.map((f) => f.path);
    const { stdout } = await run('du', ['-sb', tree]);
    const bytes = Number(stdout.split(/\s/)[0]);
    const sizeMiB = Math.ceil((bytes * 1.25) / MiB) + 64;
    const env = { SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch), E2FSPROGS_FAKE_TIME: String(ctx.sourceDateEpoch) };

    const root = join(out, 'root.img');
    ctx.log.info(`mke2fs -d: ${sizeMiB} MiB ext4 root, no journal (read-only)`);
    const ids = (s: string) => ({ uuid: uuidFrom(s.slice(0, 32)), hashSeed: uuidFrom(s.slice(32, 64)) });
    await run('/sbin/mke2fs', mke2fsArgs({ tree, image: root, sizeMiB, label: ROOT_LABEL, ...ids(seed), journal: false }), { env });
    await pin(root, ['/lost+found', ...paths], out, ctx.sourceDateEpoch, env);
    await run('/sbin/e2fsck', ['-fn', root]);
    const verity = await appendVerity(root, sizeMiB * MiB, seed, (m) => ctx.log.info(m));

    const state = join(out, 'state.img');
    ctx.log.info(`mke2fs -d: ${STATE_MIB} MiB ext4 state partition (${STATE_LABEL}) from the staged /var`);
    await run('/sbin/mke2fs', mke2fsArgs({ tree: join(tree, 'var'), image: state, sizeMiB: STATE_MIB, label: STATE_LABEL, ...ids(stateSeed) }), { env });
    const inVar = paths.filter((p) => p.startsWith('/var/')).map((p) => p.slice('/var'.length));
    await pin(state, ['/lost+found', ...inVar], out, ctx.sourceDateEpoch, env);
    await run('/sbin/e2fsck', ['-fn', state]);

    const rootSectors = (await stat(root)).size / 512;
    const disk = join(out, 'rootfs.img');
    const fh = await open(disk, 'w');
    await fh.truncate(MiB + rootSectors * 512 + STATE_MIB * MiB);
    await fh.close();
    await run('/sbin/sfdisk', ['--no-reread', '--no-tell-kernel', '-q', disk], {
      input: sfdiskScript({ labelId: seed.slice(0, 8), startSector: 2048, partitions: [rootSectors, (STATE_MIB * MiB) / 512] }),
    });
    await run('dd', [`if=${root}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none']);
    await run('dd', [`if=${state}`, `of=${disk}`, 'bs=512', `seek=${2048 + rootSectors}`, 'conv=notrunc,sparse', 'status=none']);
    await rm(root);
    await rm(state);
    await writeFile(join(out, 'verity.json'), JSON.stringify(verity) + '\n');
  });
  const file = join(dir, 'rootfs.img');
  ctx.images.disk = file;
  const verity = JSON.parse(await readFile(join(dir, 'verity.json'), 'utf8')) as VerityRecord;
  ctx.verity = { ...ctx.verity, disk: verity };
  ctx.log.info(`rootfs.img: ${((await stat(file)).size / 1e6).toFixed(0)} MB; verity root hash ${verity.rootHash}`);
}

/** Give every inode root as owner and the epoch as its times (debugfs fails silently: its stderr says). */
async function pin(image: string, paths: readonly string[], out: string, epoch: number, env: Record<string, string>): Promise<void> {
  const script = join(out, 'pin.debugfs');
  await writeFile(script, debugfsPinScript(paths, epoch));
  const pinned = await run('/sbin/debugfs', ['-w', '-f', script, image], { env });
  const failed = debugfsErrors(pinned.stderr);
  if (failed.length) throw new Error(`debugfs could not pin owners and times in ${image}:\n  ${failed.slice(0, 10).join('\n  ')}`);
  await rm(script);
}
