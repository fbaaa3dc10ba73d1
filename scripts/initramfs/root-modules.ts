/**
 * Drivers stage 1 may need to reach a root device: disk controllers, CD-ROM, the filesystems
 * of rootfs.img and of the ISO. Built-in ones need nothing; those built as modules go into the
 * initramfs with their dependencies, in load order.
 */
export const ROOT_DEVICE_MODULES = [
  'ata_piix',
  'ahci',
  'libata',
  'sd_mod',
  'sr_mod',
  'virtio_blk',
  'virtio_pci',
  'nvme',
  'ext4',
  'isofs',
  'squashfs',
  'loop',
  'overlay',
];

/** modules.dep lines -> the files to load (relative to the modules dir), dependencies first. */
export function rootModuleFiles(modulesDep: string, wanted: readonly string[] = ROOT_DEVICE_MODULES): string[] {
  const deps = new Map<string, { file: string; needs: string[] }>();
  const name = (f: string) =>
    f
      .replace(/^.*\//, '')
      .replace(/\.ko(\.\w+)?$/, '')
      .replace(/-/g, '_');
  for (const line of modulesDep.split('\n')) {
    const [file, rest = ''] = line.split(':');
    if (file) deps.set(name(file), { file, needs: rest.trim().split(/\s+/).filter(Boolean) });
  }
  const order: string[] = [];
  const visit = (file: string) => {
    if (order.includes(file)) return;
    for (const d of deps.get(name(file))?.needs ?? []) visit(d);
    order.push(file);
  };
  for (const w of wanted) {
    const e = deps.get(w);
    if (e) visit(e.file);
  }
  return order;
}
