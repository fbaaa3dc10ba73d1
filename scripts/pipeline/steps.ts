import type { Step } from './context.ts';
import { fetchKernel } from '../steps/fetch-kernel.ts';
import { configureKernel } from '../steps/configure-kernel.ts';
import { buildKernel } from '../steps/build-kernel.ts';
import { buildRuntime } from '../steps/build-runtime.ts';
import { makeModel } from '../steps/make-model.ts';
import { buildGpuModules } from '../steps/build-gpu-modules.ts';
import { installGpuUserspace } from '../steps/install-gpu-userspace.ts';
import { resolveProject } from '../steps/resolve-project.ts';
import { resolveKeys } from '../steps/resolve-keys.ts';
import { bundleInit } from '../steps/make-aios-init.ts';
import { stageRootfs } from '../steps/stage-rootfs.ts';
import { buildInitramfs } from '../steps/build-initramfs.ts';
import { writeDisk } from '../steps/write-disk.ts';
import { writeIso } from '../steps/write-iso.ts';

/** What `aios config` runs: the kernel source and its configuration, proven symbol by symbol. */
export const CONFIG_STEPS: readonly Step[] = [
  { name: 'fetch', title: 'Kernel source', run: fetchKernel },
  { name: 'config', title: 'Kernel configuration', run: configureKernel },
];

// The runtime and the model come before the kernel build, so that a bad model is reported in
// minutes, not after the half hour a cold kernel takes.
export const BUILD_STEPS: readonly Step[] = [
  // The project's own inputs first: a missing overlay or an unknown package is reported in seconds.
  { name: 'project', title: 'Project inputs (overlays, Debian packages, container images, hooks)', run: resolveProject },
  { name: 'keys', title: 'Signing keys (secureBoot.keys)', run: resolveKeys },
  ...CONFIG_STEPS,
  { name: 'runtime', title: 'llama-server (CMake + Ninja: CPU variants, GPU backends asked for)', run: buildRuntime },
  { name: 'model', title: 'Model (GGUF, checked)', run: makeModel },
  { name: 'kernel', title: 'Kernel build', run: buildKernel },
  { name: 'gpu-modules', title: 'NVIDIA open GPU kernel modules', when: (ctx) => ctx.opts.config.gpu.nvidia === 'open', run: buildGpuModules },
  {
    name: 'gpu-userspace',
    title: "NVIDIA driver's user space (libcuda, NVML, nvidia-smi)",
    when: (ctx) => ctx.opts.config.gpu.nvidia === 'open' && ctx.opts.config.gpu.nvidiaUserspace,
    run: installGpuUserspace,
  },
  { name: 'init', title: 'aios-init (esbuild + code cache + Node SEA + addon)', run: bundleInit },
  { name: 'rootfs', title: 'Root filesystem', run: stageRootfs },
  { name: 'initramfs', title: 'Initramfs (stage 1)', run: buildInitramfs },
  // Side by side: mke2fs, debugfs and veritysetup on one core, mksquashfs on every one.
  { name: 'disk', title: 'rootfs.img', when: (ctx) => ctx.opts.formats.includes('disk'), run: writeDisk, concurrent: true },
  { name: 'iso', title: 'aios.iso', when: (ctx) => ctx.opts.formats.includes('iso'), run: writeIso, concurrent: true },
];
