import type { Step } from './context.ts';
import { fetchKernel } from '../steps/fetch-kernel.ts';
import { configureKernel } from '../steps/configure-kernel.ts';
import { buildKernel } from '../steps/build-kernel.ts';

/** The kernel half of the pipeline; `aios config` runs the first two. */
export const KERNEL_STEPS: readonly Step[] = [
  { name: 'fetch', title: 'Kernel source', run: fetchKernel },
  { name: 'config', title: 'Kernel configuration', run: configureKernel },
  { name: 'kernel', title: 'Kernel build', run: buildKernel },
];

export const BUILD_STEPS: readonly Step[] = [...KERNEL_STEPS];
