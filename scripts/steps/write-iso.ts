import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedStep } from '../pipeline/cache.ts';
import type { BuildContext } from '../pipeline/context.ts';
import { run } from '../lib/exec.ts';
import { grubConfig, grubMkrescueArgs, mksquashfsArgs } from '../images/commands.ts';
import { pinTimes } from './stage-rootfs.ts';

const STEP_VERSION = 1;

/** aios.iso: GRUB for BIOS and UEFI (grub-mkrescue), kernel, initramfs, squashfs root. */
export async function writeIso(ctx: BuildContext): Promise<void> {
  const cmdline = ctx.opts.config.boot.cmdline;
  const inputs = { step: STEP_VERSION, rootfs: ctx.rootfs!.dir, kernel: ctx.kernel!.dir, initramfs: ctx.initramfs!.file, cmdline, epoch: ctx.sourceDateEpoch };
  const dir = await cachedStep(ctx, inputs, async (out) => {
    const iso = join(out, 'iso');
    await mkdir(join(iso, 'boot/grub'), { recursive: true });
    await mkdir(join(iso, 'aios'), { recursive: true });
    await copyFile(ctx.kernel!.bzImage, join(iso, 'boot/vmlinuz'));
    await copyFile(ctx.initramfs!.file, join(iso, 'boot/initramfs.img'));
    await writeFile(join(iso, 'boot/grub/grub.cfg'), grubConfig(cmdline));
    ctx.log.info('mksquashfs of the root filesystem');
    await run('mksquashfs', mksquashfsArgs(ctx.rootfs!.tree, join(iso, 'aios/rootfs.squashfs'), ctx.sourceDateEpoch));
    await pinTimes(iso, ctx.sourceDateEpoch);
    ctx.log.info('grub-mkrescue (BIOS + UEFI)');
    await run('grub-mkrescue', grubMkrescueArgs(iso, join(out, 'aios.iso'), ctx.sourceDateEpoch), { env: { SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch) } });
    await rm(iso, { recursive: true });
  });
  const file = join(dir, 'aios.iso');
  ctx.images.iso = file;
  ctx.log.info(`aios.iso: ${((await stat(file)).size / 1e6).toFixed(0)} MB`);
}
