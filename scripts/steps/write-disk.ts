import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { STATE_LABEL, verityArgs, type VerityRecord } from '../../common/build-json.ts';
import { sha256 } from '../lib/hash.ts';
import {
  debugfsErrors,
  debugfsPinScript,
  diskCmdline,
  GPT_ESP,
  GPT_LINUX_DATA,
  mke2fsArgs,
  ROOT_LABEL,
  sfdiskScript,
  uuidFrom,
  efiImageArgs,
} from '../images/tool-args.ts';
import { appendVerity, veritysetupFormatArgs, VERITYSETUP } from '../images/verity.ts';
import { EFI_STUB, LIBFAKETIME, ukiCmdline } from '../images/uki.ts';
import { makeEfiImage, makeSignedUki } from '../images/esp.ts';
import { ukiInputs } from './uki-inputs.ts';

const STEP_VERSION = 5;
const MiB = 1024 * 1024;
/** The writable state partition (/var): made from the staged /var, the same size for every image. */
export const STATE_MIB = 256;
/** The EFI system partition: the signed UKI (about 9 MB today), with room for a second one (A/B). */
export const ESP_MIB = 64;
/** The disk's signed UKI, kept beside rootfs.img in the step's cache entry. */
export const DISK_UKI = 'aios-disk.efi';

/** The disk's command lines as the builders make them (sizes and identities aside): a change to one must not reuse an old image. */
export function diskKeyValues(cmdline: string, epoch: number, onCorruption: string) {
  const part = { sectors: 0, type: GPT_LINUX_DATA, uuid: 'uuid', name: 'p' };
  return {
    epoch,
    stateMiB: STATE_MIB,
    espMiB: ESP_MIB,
    mke2fs: mke2fsArgs({ tree: 'tree', image: 'image', sizeMiB: 0, label: ROOT_LABEL, uuid: 'uuid', hashSeed: 'seed', journal: false }),
    mke2fsState: mke2fsArgs({ tree: 'tree', image: 'image', sizeMiB: STATE_MIB, label: STATE_LABEL, uuid: 'uuid', hashSeed: 'seed' }),
    verity: veritysetupFormatArgs({ image: 'image', hashOffset: 0, salt: 'salt', uuid: 'uuid' }),
    pin: debugfsPinScript(['/path'], epoch),
    sfdisk: sfdiskScript({ labelId: 'id', startSector: 2048, partitions: [part, part, { ...part, type: GPT_ESP }] }),
    uki: ukiCmdline(diskCmdline(cmdline, verityArgs({ rootHash: 'h', hashOffset: 0 }, onCorruption, true))),
    efi: efiImageArgs('img', 'tree', epoch),
  };
}

/**
 * rootfs.img: a GPT with the root (ext4 without a journal, read-only, followed by its dm-verity
 * hash tree), the state partition (ext4, /var) and the EFI system partition (the signed UKI, whose
 * command line holds the root hash), made without a loop device or a mount.
 */
export async function writeDisk(ctx: BuildContext): Promise<void> {
  const tree = need(ctx, 'rootfs').tree;
  const keys = need(ctx, 'keys');
  const cmdline = ctx.opts.config.boot.cmdline;
  const onCorruption = ctx.opts.config.verity.onCorruption;
  const inputs = {
    version: STEP_VERSION,
    after: { rootfs: need(ctx, 'rootfs').dir, kernel: need(ctx, 'kernel').dir, initramfs: need(ctx, 'initramfs').file },
    tools: ['/sbin/mke2fs', '/sbin/debugfs', '/sbin/sfdisk', VERITYSETUP, 'objcopy', 'sbsign', 'mformat', 'mcopy'],
    files: { stub: EFI_STUB, dbCert: keys.dbCert, libfaketime: LIBFAKETIME },
    values: { ...diskKeyValues(cmdline, ctx.sourceDateEpoch, onCorruption), dbKey: sha256(await readFile(keys.dbKey)) },
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

    const uki = join(out, DISK_UKI);
    await makeSignedUki(ukiInputs(ctx, ukiCmdline(diskCmdline(cmdline, verityArgs(verity, onCorruption, true)))), out, uki);
    const esp = join(out, 'esp.img');
    await makeEfiImage(esp, uki, out, ctx.sourceDateEpoch, ESP_MIB);

    const rootSectors = (await stat(root)).size / 512;
    const stateSectors = (STATE_MIB * MiB) / 512;
    const disk = join(out, 'rootfs.img');
    const fh = await open(disk, 'w');
    // The backup GPT takes the last 33 sectors: a MiB after the last partition keeps it aligned.
    await fh.truncate(MiB + rootSectors * 512 + STATE_MIB * MiB + ESP_MIB * MiB + MiB);
    await fh.close();
    const guid = (n: string) => uuidFrom(sha256(`${seed}\0${n}`).slice(0, 32)).toUpperCase();
    await run('/sbin/sfdisk', ['--no-reread', '--no-tell-kernel', '-q', disk], {
      input: sfdiskScript({
        labelId: guid('disk'),
        startSector: 2048,
        partitions: [
          { sectors: rootSectors, type: GPT_LINUX_DATA, uuid: guid('root'), name: ROOT_LABEL },
          { sectors: stateSectors, type: GPT_LINUX_DATA, uuid: guid('state'), name: STATE_LABEL },
          { sectors: (ESP_MIB * MiB) / 512, type: GPT_ESP, uuid: guid('esp'), name: 'aios-esp' },
        ],
      }),
    });
    await run('dd', [`if=${root}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none']);
    await run('dd', [`if=${state}`, `of=${disk}`, 'bs=512', `seek=${2048 + rootSectors}`, 'conv=notrunc,sparse', 'status=none']);
    await run('dd', [`if=${esp}`, `of=${disk}`, 'bs=512', `seek=${2048 + rootSectors + stateSectors}`, 'conv=notrunc,sparse', 'status=none']);
    await rm(root);
    await rm(state);
    await rm(esp);
    await writeFile(join(out, 'verity.json'), JSON.stringify(verity) + '\n');
  });
  const file = join(dir, 'rootfs.img');
  ctx.images.disk = file;
  ctx.uki = { ...ctx.uki, disk: join(dir, DISK_UKI) };
  const verity = JSON.parse(await readFile(join(dir, 'verity.json'), 'utf8')) as VerityRecord;
  ctx.verity = { ...ctx.verity, disk: verity };
  ctx.log.info(
    `rootfs.img: ${((await stat(file)).size / 1e6).toFixed(0)} MB; verity root hash ${verity.rootHash}; its EFI partition's UKI signed with ${keys.name}`,
  );
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
