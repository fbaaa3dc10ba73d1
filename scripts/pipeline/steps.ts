import type { Step } from './context.ts';
import { fetchKernel } from '../steps/fetch-kernel.ts';
import { configureKernel } from '../steps/configure-kernel.ts';
import { buildKernel } from '../steps/build-kernel.ts';
import { bundleInit } from '../steps/bundle-init.ts';
import { stageRootfs } from '../steps/stage-rootfs.ts';
import { buildInitramfs } from '../steps/build-initramfs.ts';
import { writeDisk } from '../steps/write-disk.ts';
import { writeIso } from '../steps/write-iso.ts';

/** The kernel half of the pipeline; `aios config` runs the first two. */
export const KERNEL_STEPS: readonly Step[] = [
  { name: 'fetch', title: 'Kernel source', run: fetchKernel },
  { name: 'config', title: 'Kernel configuration', run: configureKernel },
  { name: 'kernel', title: 'Kernel build', run: buildKernel },
];

export const BUILD_STEPS: readonly Step[] = [
  ...KERNEL_STEPS,
  { name: 'init', title: 'aios-init (esbuild + Node SEA + addon)', run: bundleInit },
  { name: 'rootfs', title: 'Root filesystem', run: stageRootfs },
  { name: 'initramfs', title: 'Initramfs (stage 1)', run: buildInitramfs },
  { name: 'disk', title: 'rootfs.img', when: (ctx) => ctx.opts.formats.includes('disk'), run: writeDisk },
  { name: 'iso', title: 'aios.iso', when: (ctx) => ctx.opts.formats.includes('iso'), run: writeIso },
];
