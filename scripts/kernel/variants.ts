/**
 * Kernel variants: each one a fragment in kernel-config/variants/, merged after the base
 * fragments, and an object tree and cache entry of its own, so that switching one on and off
 * rebuilds neither kernel. The order is fixed: it names the object tree.
 */
export const KERNEL_VARIANTS = ['debug', 'trace'] as const;
export type KernelVariant = (typeof KERNEL_VARIANTS)[number];

/** The variants aios.json's `kernel` asks for, in their fixed order. */
export function variantsOf(kernel: Record<KernelVariant, boolean>): KernelVariant[] {
  return KERNEL_VARIANTS.filter((v) => kernel[v]);
}
