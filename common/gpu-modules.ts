/** The spec's load-on-detection rule for GPUs, shared by aios-init (which loads) and aios check (which judges). */

/** Display controllers: PCI class 0x03xxxx. */
export const isDisplayClass = (cls: string) => cls.toLowerCase().startsWith('0x03');

/** The modules a display device of this vendor asks for, given which modules the image has. */
export function gpuModules(vendor: string, cls: string, available: (name: string) => boolean, want: { nvidiaModeset?: boolean } = {}): string[] {
  if (!isDisplayClass(cls)) return [];
  // NVIDIA's open modules when the image has them (gpu.nvidia), else nouveau.
  if (vendor === '0x10de') return available('nvidia') ? ['nvidia', 'nvidia_uvm', ...(want.nvidiaModeset ? ['nvidia_modeset', 'nvidia_drm'] : [])] : ['nouveau'];
  if (vendor === '0x1002') return ['amdgpu'];
  // QEMU's and Bochs' standard VGA (-device VGA, bochs-display): the display `aios check` attaches,
  // so that the load-and-bind rule is proven on a device every QEMU has.
  if (vendor === '0x1234') return ['bochs'];
  return [];
}

/**
 * The PCI driver name a module registers, which is what the device's sysfs `driver` link names
 * once the driver has bound: a module that loads and binds nothing leaves the link absent.
 */
const PCI_DRIVER: Record<string, string> = { bochs: 'bochs-drm' };

export const pciDriverOf = (module: string): string => PCI_DRIVER[module] ?? module;
