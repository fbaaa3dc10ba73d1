import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { STATE_LABEL, verityArgs, type VerityRecord } from '../../common/build-json.ts';
import { sha256, sha256File } from '../lib/hash.ts';
import { sign } from 'node:crypto';
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
import { makeEfiImage, makeSignedUki, signEfiBinary } from '../images/esp.ts';
import {
  BOOTLOADER_ON_ESP,
  buildIdOf,
  ENTRIES_DIR,
  entryFileName,
  entryText,
  ESP_PART_NAME,
  LOADER_CONF,
  SLOTS,
  slotPartName,
  ukiOnEsp,
  type Slot,
  type UpdateManifest,
} from '../../common/slots.ts';
import { ukiInputs } from './uki-inputs.ts';

const STEP_VERSION = 6;
const MiB = 1024 * 1024;
/** The writable state partition (/var): made from the staged /var, the same size for every image. */
export const STATE_MIB = 256;
/** The EFI system partition: the signed UKI (about 9 MB today), with room for a second one (A/B). */
export const ESP_MIB = 64;
/** systemd-boot as Debian's systemd-boot-efi ships it: signed with db for the disk's ESP. */
export const SYSTEMD_BOOT = '/usr/lib/systemd/boot/efi/systemd-bootx64.efi';
/** What the disk step leaves beside rootfs.img, and `aios build` puts in out/: what `aios serve` hands out as an update. */
export const UPDATE_FILES = ['update.json', 'update.json.sig', 'aios-a.efi', 'aios-b.efi'] as const;

/** The disk's command lines as the builders make them (sizes and identities aside): a change to one must not reuse an old image. */
export function diskKeyValues(cmdline: string, epoch: number, onCorruption: string, slotMiB: number) {
  const part = { sectors: 0, type: GPT_LINUX_DATA, uuid: 'uuid', name: 'p' };
  return {
    epoch,
    stateMiB: STATE_MIB,
    espMiB: ESP_MIB,
    slotMiB,
    loader: LOADER_CONF,
    entry: entryText({ slot: 'a', build: 'b', version: 1 }),
    mke2fs: mke2fsArgs({ tree: 'tree', image: 'image', sizeMiB: 0, label: ROOT_LABEL, uuid: 'uuid', hashSeed: 'seed', journal: false }),
    mke2fsState: mke2fsArgs({ tree: 'tree', image: 'image', sizeMiB: STATE_MIB, label: STATE_LABEL, uuid: 'uuid', hashSeed: 'seed' }),
    verity: veritysetupFormatArgs({ image: 'image', hashOffset: 0, salt: 'salt', uuid: 'uuid' }),
    pin: debugfsPinScript(['/path'], epoch),
    sfdisk: sfdiskScript({ labelId: 'id', startSector: 2048, partitions: [part, part, { ...part, type: GPT_ESP }, part] }),
    uki: SLOTS.map((slot) => ukiCmdline(diskCmdline(cmdline, verityArgs({ rootHash: 'h', hashOffset: 0 }, onCorruption, true), slot))),
    efi: efiImageArgs('img', 'tree', epoch, ['EFI', 'loader']),
  };
}

/**
 * rootfs.img: a GPT with slot A's root (ext4 without a journal, read-only, followed by its dm-verity
 * hash tree), the state partition (ext4, /var), the EFI system partition (systemd-boot, signed, and
 * slot A's signed UKI with its entry) and slot B, empty until an update writes it; made without a
 * loop device or a mount. Beside it, what `aios serve` hands out as an update of this build.
 */
export async function writeDisk(ctx: BuildContext): Promise<void> {
  const tree = need(ctx, 'rootfs').tree;
  const keys = need(ctx, 'keys');
  const cmdline = ctx.opts.config.boot.cmdline;
  const onCorruption = ctx.opts.config.verity.onCorruption;
  const slotMiB = ctx.opts.config.update.slotMiB;
  const inputs = {
    version: STEP_VERSION,
    after: { rootfs: need(ctx, 'rootfs').dir, kernel: need(ctx, 'kernel').dir, initramfs: need(ctx, 'initramfs').file },
    tools: ['/sbin/mke2fs', '/sbin/debugfs', '/sbin/sfdisk', VERITYSETUP, 'objcopy', 'sbsign', 'mformat', 'mcopy'],
    files: { stub: EFI_STUB, systemdBoot: SYSTEMD_BOOT, dbCert: keys.dbCert, libfaketime: LIBFAKETIME },
    values: { ...diskKeyValues(cmdline, ctx.sourceDateEpoch, onCorruption, slotMiB), dbKey: sha256(await readFile(keys.dbKey)) },
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

    const ids = (s: string) => ({ uuid: uuidFrom(s.slice(0, 32)), hashSeed: uuidFrom(s.slice(32, 64)) });
    // The state partition beside the root: it needs nothing of it.
    const state = join(out, 'state.img');
    const stateMade = (async () => {
      ctx.log.info(`mke2fs -d: ${STATE_MIB} MiB ext4 state partition (${STATE_LABEL}) from the staged /var`);
      await run('/sbin/mke2fs', mke2fsArgs({ tree: join(tree, 'var'), image: state, sizeMiB: STATE_MIB, label: STATE_LABEL, ...ids(stateSeed) }), { env });
      const inVar = paths.filter((p) => p.startsWith('/var/')).map((p) => p.slice('/var'.length));
      await pin(state, ['/lost+found', ...inVar], out, ctx.sourceDateEpoch, env);
      await run('/sbin/e2fsck', ['-fn', state]);
    })();
    // Awaited below; marked handled now, in case the root fails first.
    stateMade.catch(() => undefined);

    const root = join(out, 'root.img');
    ctx.log.info(`mke2fs -d: ${sizeMiB} MiB ext4 root, no journal (read-only)`);
    await run('/sbin/mke2fs', mke2fsArgs({ tree, image: root, sizeMiB, label: ROOT_LABEL, ...ids(seed), journal: false }), { env });
    await pin(root, ['/lost+found', ...paths], out, ctx.sourceDateEpoch, env);
    await run('/sbin/e2fsck', ['-fn', root]);
    const verity = await appendVerity(root, sizeMiB * MiB, seed, (m) => ctx.log.info(m));
    const rootBytes = (await stat(root)).size;
    const slotBytes = slotSize(rootBytes, slotMiB);

    // Side by side, each on what the root's verity made: the slots' UKIs, systemd-boot signed, and
    // the root's sha256 for the update manifest. One signed UKI per slot: the same kernel,
    // initramfs and root hash, each naming its own partition.
    const ukis = { a: join(out, 'aios-a.efi'), b: join(out, 'aios-b.efi') };
    const ukisMade = Promise.all(
      SLOTS.map(async (slot) => {
        const work = join(out, `uki-${slot}`);
        await mkdir(work);
        await makeSignedUki(ukiInputs(ctx, ukiCmdline(diskCmdline(cmdline, verityArgs(verity, onCorruption, true), slot))), work, ukis[slot]);
        await rm(work, { recursive: true });
      }),
    );
    const loader = join(out, 'systemd-boot.efi');
    const loaderSigned = signEfiBinary(SYSTEMD_BOOT, loader, keys, ctx.sourceDateEpoch);
    const rootFacts = fileFacts(root);
    await Promise.all([stateMade, ukisMade, loaderSigned, rootFacts]);
    const manifest = await updateManifest(await rootFacts, verity, ukis);
    await writeFile(join(out, 'update.json'), JSON.stringify(manifest, null, 1) + '\n');
    // The manifest is what a machine checks, against the db certificate its root carries.
    await writeFile(join(out, 'update.json.sig'), sign('sha256', await readFile(join(out, 'update.json')), await readFile(keys.dbKey)));

    ctx.log.info(`EFI partition: systemd-boot (signed with ${keys.name}), slot A's UKI and its entry (build ${manifest.build})`);
    const conf = join(out, 'loader.conf');
    await writeFile(conf, LOADER_CONF);
    const entry = join(out, 'entry.conf');
    await writeFile(entry, entryText({ slot: 'a', build: manifest.build, version: 1 }));
    const esp = join(out, 'esp.img');
    const espFiles = {
      [BOOTLOADER_ON_ESP]: loader,
      '/loader/loader.conf': conf,
      [`${ENTRIES_DIR}/${entryFileName({ slot: 'a' })}`]: entry,
      [ukiOnEsp('a')]: ukis.a,
    };
    await makeEfiImage(esp, espFiles, out, ctx.sourceDateEpoch, ESP_MIB);
    for (const f of [loader, conf, entry]) await rm(f);

    const rootSectors = slotBytes / 512;
    const stateSectors = (STATE_MIB * MiB) / 512;
    const espSectors = (ESP_MIB * MiB) / 512;
    const disk = join(out, 'rootfs.img');
    const fh = await open(disk, 'w');
    // The backup GPT takes the last 33 sectors: a MiB after the last partition keeps it aligned.
    await fh.truncate(MiB + 2 * slotBytes + STATE_MIB * MiB + ESP_MIB * MiB + MiB);
    await fh.close();
    const guid = (n: string) => uuidFrom(sha256(`${seed}\0${n}`).slice(0, 32)).toUpperCase();
    const slotPart = (slot: Slot) => ({ sectors: rootSectors, type: GPT_LINUX_DATA, uuid: guid(`root-${slot}`), name: slotPartName(slot) });
    await run('/sbin/sfdisk', ['--no-reread', '--no-tell-kernel', '-q', disk], {
      input: sfdiskScript({
        labelId: guid('disk'),
        startSector: 2048,
        partitions: [
          slotPart('a'),
          { sectors: stateSectors, type: GPT_LINUX_DATA, uuid: guid('state'), name: STATE_LABEL },
          { sectors: espSectors, type: GPT_ESP, uuid: guid('esp'), name: ESP_PART_NAME },
          slotPart('b'),
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
  ctx.uki = { ...ctx.uki, disk: join(dir, 'aios-a.efi') };
  ctx.update = { dir };
  const verity = JSON.parse(await readFile(join(dir, 'verity.json'), 'utf8')) as VerityRecord;
  ctx.verity = { ...ctx.verity, disk: verity };
  const build = (JSON.parse(await readFile(join(dir, 'update.json'), 'utf8')) as UpdateManifest).build;
  ctx.log.info(
    `rootfs.img: ${((await stat(file)).size / 1e6).toFixed(0)} MB, build ${build} in slot A; verity root hash ${verity.rootHash}; systemd-boot and the UKIs signed with ${keys.name}`,
  );
}

/**
 * A slot's size: update.slotMiB, or room for a root half again as large as this one's (an update
 * must fit the slot the first image made; slot B is a hole in the file until one is written).
 */
export function slotSize(rootBytes: number, slotMiB: number): number {
  const bytes = slotMiB > 0 ? slotMiB * MiB : Math.ceil((rootBytes * 1.5) / MiB) * MiB;
  if (bytes < rootBytes)
    throw new Error(`update.slotMiB: ${slotMiB} MiB is smaller than this build's root and its hash tree (${Math.ceil(rootBytes / MiB)} MiB)`);
  return bytes;
}

const fileFacts = async (f: string) => ({ bytes: (await stat(f)).size, sha256: await sha256File(f) });

/** update.json of a slot's content and its UKIs (sha256 of each, and the build identity they make). */
async function updateManifest(root: { bytes: number; sha256: string }, verity: VerityRecord, ukis: Record<Slot, string>): Promise<UpdateManifest> {
  const body = {
    root: { ...root, rootHash: verity.rootHash, hashOffset: verity.hashOffset },
    uki: { a: await fileFacts(ukis.a), b: await fileFacts(ukis.b) },
  };
  return { format: 1, build: buildIdOf(sha256, body), ...body };
}

/** Give every inode root as owner and the epoch as its times (debugfs fails silently: its stderr says). */
async function pin(image: string, paths: readonly string[], out: string, epoch: number, env: Record<string, string>): Promise<void> {
  const script = join(out, `${basename(image)}.debugfs`);
  await writeFile(script, debugfsPinScript(paths, epoch));
  const pinned = await run('/sbin/debugfs', ['-w', '-f', script, image], { env });
  const failed = debugfsErrors(pinned.stderr);
  if (failed.length) throw new Error(`debugfs could not pin owners and times in ${image}:\n  ${failed.slice(0, 10).join('\n  ')}`);
  await rm(script);
}
