import type { UkiInputs } from '../images/esp.ts';
import { need, type BuildContext } from '../pipeline/context.ts';

/** What a signed UKI of this build is made of (the ISO's and the disk's), with its command line. */
export function ukiInputs(ctx: BuildContext, cmdline: string): UkiInputs {
  return {
    kernel: need(ctx, 'kernel').bzImage,
    initrd: need(ctx, 'initramfs').file,
    rootTree: need(ctx, 'rootfs').tree,
    cmdline,
    keys: need(ctx, 'keys'),
    epoch: ctx.sourceDateEpoch,
    log: (m) => ctx.log.info(m),
  };
}
