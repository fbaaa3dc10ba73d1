import { copyFile, mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { verityArgs, type VerityRecord } from '../../common/build-json.ts';
import { sha256 } from '../lib/hash.ts';
import { EFI_BOOT_IMAGE, efiImageArgs, grubConfig, grubMkrescueArgs, isoCmdline, mksquashfsArgs } from '../images/tool-args.ts';
import { appendVerity, VERITY_BLOCK, veritysetupFormatArgs, VERITYSETUP } from '../images/verity.ts';
import { EFI_STUB, LIBFAKETIME, ukiCmdline } from '../images/uki.ts';
import { makeEfiImage, makeSignedUki } from '../images/esp.ts';
import { BOOTLOADER_ON_ESP } from '../../common/slots.ts';
import { ukiInputs } from './uki-inputs.ts';
import { pinTimes } from '../rootfs/times.ts';

const STEP_VERSION = 5;

/** The ISO's command lines and GRUB's files as the builders make them: a change to one must not reuse an old ISO. */
export function isoKeyValues(cmdline: string, epoch: number, onCorruption: string, debugShell = false) {
  const rootArgs = verityArgs({ rootHash: 'h', hashOffset: 0 }, onCorruption, false);
  return {
    epoch,
    // grub.cfg and the UKI hold the kernel command line.
    grub: grubConfig(cmdline, rootArgs, debugShell),
    uki: ukiCmdline(isoCmdline(cmdline, rootArgs)),
    mksquashfs: mksquashfsArgs('tree', 'out', epoch),
    verity: veritysetupFormatArgs({ image: 'image', hashOffset: 0, salt: 'salt', uuid: 'uuid' }),
    mkrescue: grubMkrescueArgs('iso', 'out', epoch),
    efi: efiImageArgs('img', 'tree', epoch),
  };
}

/**
 * aios.iso: the root as a squashfs image with its dm-verity hash tree after it; GRUB for BIOS
 * (grub-mkrescue); for UEFI, a FAT El Torito image whose only file is the signed unified kernel
 * image (kernel, initramfs, and the command line with the root hash, in one signed PE file).
 */
export async function writeIso(ctx: BuildContext): Promise<void> {
  const cmdline = ctx.opts.config.boot.cmdline;
  const onCorruption = ctx.opts.config.verity.onCorruption;
  const debugShell = ctx.opts.config.boot.debugShell;
  const keys = need(ctx, 'keys');
  const inputs = {
    version: STEP_VERSION,
    after: { rootfs: need(ctx, 'rootfs').dir, kernel: need(ctx, 'kernel').dir, initramfs: need(ctx, 'initramfs').file },
    tools: ['grub-mkrescue', 'xorriso', 'mksquashfs', 'mformat', 'mcopy', VERITYSETUP, 'objcopy', 'sbsign'],
    files: { stub: EFI_STUB, dbCert: keys.dbCert, libfaketime: LIBFAKETIME },
    values: { ...isoKeyValues(cmdline, ctx.sourceDateEpoch, onCorruption, debugShell), dbKey: sha256(await readFile(keys.dbKey)) },
  };
  const dir = await cachedStep(ctx, inputs, async (out) => {
    const iso = join(out, 'iso');
    await mkdir(join(iso, 'boot/grub'), { recursive: true });
    await mkdir(join(iso, 'aios'), { recursive: true });
    const squashfs = join(iso, 'aios/rootfs.squashfs');
    ctx.log.info('mksquashfs of the root filesystem');
    await run('mksquashfs', mksquashfsArgs(need(ctx, 'rootfs').tree, squashfs, ctx.sourceDateEpoch));
    const hashOffset = Math.ceil((await stat(squashfs)).size / VERITY_BLOCK) * VERITY_BLOCK;
    await truncate(squashfs, hashOffset);
    const manifest = await readFile(need(ctx, 'rootfs').manifest, 'utf8');
    const verity = await appendVerity(squashfs, hashOffset, sha256(`${manifest}\0${ctx.sourceDateEpoch}\0iso`), (m) => ctx.log.info(m));
    const line = isoCmdline(cmdline, verityArgs(verity, onCorruption, false));
    await copyFile(need(ctx, 'kernel').bzImage, join(iso, 'boot/vmlinuz'));
    await copyFile(need(ctx, 'initramfs').file, join(iso, 'boot/initramfs.img'));
    await writeFile(join(iso, 'boot/grub/grub.cfg'), grubConfig(cmdline, verityArgs(verity, onCorruption, false), debugShell));
    const uki = join(out, 'aios.efi');
    await makeSignedUki(ukiInputs(ctx, ukiCmdline(line)), out, uki);
    await makeEfiImage(join(iso, EFI_BOOT_IMAGE), { [BOOTLOADER_ON_ESP]: uki }, out, ctx.sourceDateEpoch);
    await pinTimes(iso, ctx.sourceDateEpoch);
    ctx.log.info('grub-mkrescue (BIOS) + the UEFI boot image');
    await run('grub-mkrescue', grubMkrescueArgs(iso, join(out, 'aios.iso'), ctx.sourceDateEpoch), {
      env: { SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch) },
    });
    await rm(iso, { recursive: true });
    await writeFile(join(out, 'verity.json'), JSON.stringify(verity) + '\n');
  });
  const file = join(dir, 'aios.iso');
  ctx.images.iso = file;
  ctx.uki = { ...ctx.uki, iso: join(dir, 'aios.efi') };
  const verity = JSON.parse(await readFile(join(dir, 'verity.json'), 'utf8')) as VerityRecord;
  ctx.verity = { ...ctx.verity, iso: verity };
  ctx.log.info(`aios.iso: ${((await stat(file)).size / 1e6).toFixed(0)} MB; verity root hash ${verity.rootHash}; UKI signed with ${keys.name}`);
}
