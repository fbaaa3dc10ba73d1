import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { grubConfig, grubMkrescueArgs, mformatWrapper, mksquashfsArgs } from '../images/tool-args.ts';
import { chmod } from 'node:fs/promises';
import { pinTimes } from '../rootfs/times.ts';

const STEP_VERSION = 2;

/** The ISO's command lines and GRUB's files as the builders make them: a change to one must not reuse an old ISO. */
export function isoKeyValues(cmdline: string, epoch: number) {
  return {
    epoch,
    // grub.cfg holds the kernel command line.
    grub: grubConfig(cmdline),
    mksquashfs: mksquashfsArgs('tree', 'out', epoch),
    mkrescue: grubMkrescueArgs('iso', 'out', epoch),
    mformat: mformatWrapper(epoch),
  };
}

/** aios.iso: GRUB for BIOS and UEFI (grub-mkrescue), kernel, initramfs, squashfs root. */
export async function writeIso(ctx: BuildContext): Promise<void> {
  const cmdline = ctx.opts.config.boot.cmdline;
  const inputs = {
    version: STEP_VERSION,
    after: { rootfs: need(ctx, 'rootfs').dir, kernel: need(ctx, 'kernel').dir, initramfs: need(ctx, 'initramfs').file },
    tools: ['grub-mkrescue', 'xorriso', 'mksquashfs', 'mformat'],
    values: isoKeyValues(cmdline, ctx.sourceDateEpoch),
  };
  const dir = await cachedStep(ctx, inputs, async (out) => {
    const iso = join(out, 'iso');
    await mkdir(join(iso, 'boot/grub'), { recursive: true });
    await mkdir(join(iso, 'aios'), { recursive: true });
    await copyFile(need(ctx, 'kernel').bzImage, join(iso, 'boot/vmlinuz'));
    await copyFile(need(ctx, 'initramfs').file, join(iso, 'boot/initramfs.img'));
    await writeFile(join(iso, 'boot/grub/grub.cfg'), grubConfig(cmdline));
    ctx.log.info('mksquashfs of the root filesystem');
    await run('mksquashfs', mksquashfsArgs(need(ctx, 'rootfs').tree, join(iso, 'aios/rootfs.squashfs'), ctx.sourceDateEpoch));
    await pinTimes(iso, ctx.sourceDateEpoch);
    ctx.log.info('grub-mkrescue (BIOS + UEFI)');
    const bin = join(out, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'mformat'), mformatWrapper(ctx.sourceDateEpoch));
    await chmod(join(bin, 'mformat'), 0o755);
    await run('grub-mkrescue', grubMkrescueArgs(iso, join(out, 'aios.iso'), ctx.sourceDateEpoch), {
      env: { SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch), PATH: `${bin}:${process.env.PATH}` },
    });
    await rm(iso, { recursive: true });
    await rm(bin, { recursive: true });
  });
  const file = join(dir, 'aios.iso');
  ctx.images.iso = file;
  ctx.log.info(`aios.iso: ${((await stat(file)).size / 1e6).toFixed(0)} MB`);
}
