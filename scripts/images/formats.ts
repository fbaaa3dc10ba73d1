/** The output formats `aios build --format` knows, validated before any work starts. */
export const FORMATS = {
  iso: { file: 'aios.iso', doc: 'hybrid El Torito image for BIOS and UEFI (GRUB), root filesystem as squashfs under a tmpfs overlay' },
  disk: { file: 'rootfs.img', doc: 'raw disk with an MBR partition table, partition 1 ext4 with the root filesystem (root=/dev/sda1)' },
} as const;

export type FormatName = keyof typeof FORMATS;
export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];

export function parseFormats(list: readonly string[]): FormatName[] {
  const names = list
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(n in FORMATS));
  if (unknown.length) throw new Error(`unknown output format ${unknown.map((u) => `"${u}"`).join(', ')}; known formats: ${FORMAT_NAMES.join(', ')}`);
  if (!names.length) throw new Error(`no output format given; known formats: ${FORMAT_NAMES.join(', ')}`);
  return [...new Set(names)] as FormatName[];
}
