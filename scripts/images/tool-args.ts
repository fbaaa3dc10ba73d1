/** Pure builders of the image tools' command lines, so that tests can check them. */
import { slotPartName, type Slot } from '../../common/slots.ts';

/** A UUID-shaped value derived from a hash, so that the same inputs give the same filesystem. */
export function uuidFrom(hex: string): string {
  const h = hex.padEnd(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `journal: false` for a filesystem that is never written after the build (the verity root). */
export function mke2fsArgs(o: { tree: string; image: string; sizeMiB: number; label: string; uuid: string; hashSeed: string; journal?: boolean }): string[] {
  return [
    '-q',
    '-F',
    '-t',
    'ext4',
    ...(o.journal === false ? ['-O', '^has_journal'] : []),
    '-b',
    '4096',
    '-I',
    '256',
    '-L',
    o.label,
    '-U',
    o.uuid,
    '-E',
    `hash_seed=${o.hashSeed},root_owner=0:0`,
    '-d',
    o.tree,
    o.image,
    `${o.sizeMiB}M`,
  ];
}

/**
 * debugfs commands that give every inode root as owner and SOURCE_DATE_EPOCH as every time:
 * mke2fs -d copies owners and atime/ctime from the staged files, which the clock and the build
 * user decide.
 */
export function debugfsPinScript(paths: readonly string[], epoch: number): string {
  return (
    ['/', ...paths]
      .flatMap((p) => ['uid', 'gid', 'atime', 'ctime', 'mtime', 'crtime'].map((f) => `sif ${debugfsQuote(p)} ${f} ${f.endsWith('id') ? 0 : `@${epoch}`}`))
      .join('\n') + '\n'
  );
}

/** The lines of debugfs's stderr that report a failed command (all but its version banner). */
export function debugfsErrors(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^debugfs \d[\d.]* \(/.test(l));
}

/**
 * A path as one argument of a debugfs script line: inside double quotes, a quote is written
 * twice (libss's rule); nothing else is special there. A line cannot carry a control character,
 * so names with one are refused before this (rootfs/confine.ts); this refuses them again.
 */
export function debugfsQuote(p: string): string {
  if (/[\x00-\x1f\x7f]/.test(p)) throw new Error(`${JSON.stringify(p)} holds a control character, which a debugfs script cannot carry`);
  return `"${p.replace(/"/g, '""')}"`;
}

/** The root filesystem's ext4 label (the same in both slots: the UKI names its slot's partition by its GPT name). */
export const ROOT_LABEL = 'aios-root';

/** GPT partition types: Linux data (the root with its hash tree, the state), and the EFI system partition. */
export const GPT_LINUX_DATA = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
export const GPT_ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

export interface GptPartition {
  sectors: number;
  type: string;
  /** Its PARTUUID, from the content, so that the same image gets the same table. */
  uuid: string;
  name: string;
}

/** sfdisk input: a GPT whose partitions follow each other from `startSector`, each with its type, identity and name. */
export function sfdiskScript(o: { labelId: string; startSector: number; partitions: readonly GptPartition[] }): string {
  let start = o.startSector;
  const lines = o.partitions.map((p) => {
    if (!/^[\w-]+$/.test(p.name)) throw new Error(`GPT partition name ${JSON.stringify(p.name)}: letters, digits, - and _ only`);
    const l = `start=${start}, size=${p.sectors}, type=${p.type}, uuid=${p.uuid}, name="${p.name}"`;
    start += p.sectors;
    return l;
  });
  return `label: gpt\nlabel-id: ${o.labelId}\nunit: sectors\nfirst-lba: ${o.startSector}\n\n${lines.join('\n')}\n`;
}

/**
 * The ISO's root. gzip at level 1, on every core: measured on the default root (248 MB), 5.0 s
 * and 124 MB against 33 s and 116 MB at mksquashfs's default level 9 on one core, the same
 * decompression in the guest. squashfs-tools 4.5 writes the same bytes whatever the number of
 * processors (compared on that root), so the image stays reproducible across machines.
 */
export function mksquashfsArgs(tree: string, out: string, epoch: number): string[] {
  return [
    tree,
    out,
    '-noappend',
    '-no-progress',
    '-all-root',
    '-no-xattrs',
    '-comp',
    'gzip',
    '-Xcompression-level',
    '1',
    '-mkfs-time',
    String(epoch),
    '-all-time',
    String(epoch),
  ];
}

export const ISO_VOLUME_LABEL = 'AIOS';

/** Where the UEFI El Torito image (a FAT file system holding the signed UKI) lies in the ISO tree. */
export const EFI_BOOT_IMAGE = 'boot/efi.img';
/** GRUB for BIOS only: UEFI starts the signed UKI directly. */
export const GRUB_BIOS_DIR = '/usr/lib/grub/i386-pc';

/** The FAT image's command lines: its serial from the epoch, the tree's top directories copied with their (pinned) times, as mkfs and mcopy do nothing else. */
export function efiImageArgs(img: string, tree: string, epoch: number, tops: readonly string[] = ['EFI']): { mformat: string[]; mcopy: string[] } {
  const serial = (epoch >>> 0).toString(16).padStart(8, '0');
  return { mformat: ['-i', img, '-N', serial, '::'], mcopy: ['-s', '-m', '-i', img, ...tops.map((t) => `${tree}/${t}`), '::/'] };
}

/** xorriso's volume dates as it wants them: YYYYMMDDhhmmsscc, in UTC. */
export function isoDate(epoch: number): string {
  return `${new Date(epoch * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14)}00`;
}

/**
 * grub-mkrescue for BIOS (GRUB's El Torito image), then, after `--`, xorriso's own commands: the
 * label, every volume date (the UUID derives from it) pinned to SOURCE_DATE_EPOCH, and a second
 * El Torito entry for UEFI, the FAT image with the signed UKI.
 */
export function grubMkrescueArgs(isoDir: string, out: string, epoch: number): string[] {
  const d = isoDate(epoch);
  return [
    '-d',
    GRUB_BIOS_DIR,
    '-o',
    out,
    isoDir,
    '--',
    '-volid',
    ISO_VOLUME_LABEL,
    '-volume_date',
    'uuid',
    d,
    '-volume_date',
    'c',
    d,
    '-volume_date',
    'm',
    d,
    '-volume_date',
    'all_file_dates',
    `=${epoch}`,
    '-boot_image',
    'any',
    'next',
    '-boot_image',
    'any',
    `efi_path=/${EFI_BOOT_IMAGE}`,
    // The same image as a GPT partition too, for UEFI firmware booting the ISO written to a USB stick.
    '-boot_image',
    'any',
    'efi_boot_part=--efi-boot-image',
    // That GPT's GUIDs from the volume UUID (pinned above), not random.
    '-boot_image',
    'any',
    'gpt_disk_guid=volume_date_uuid',
  ];
}

/**
 * A disk slot's kernel command line (its signed UKI's): the slot's root partition by its GPT name,
 * with its verity and state arguments. It starts with panic=10: a kernel panic (aios-init gone, a
 * corrupt block) reboots the machine, so that a slot on trial is counted and given up; a panic= of
 * the project's, which comes later, wins.
 */
export function diskCmdline(cmdline: string, rootArgs: string, slot: Slot = 'a'): string {
  return `root=PARTLABEL=${slotPartName(slot)} ro ${rootArgs} ${DISK_PANIC} ${cmdline} console=ttyS0,115200 init=/usr/sbin/aios-init`
    .replace(/\s+/g, ' ')
    .trim();
}

/** How the disk's kernel answers a panic: a reboot after 10 s (the time to read the console). */
export const DISK_PANIC = 'panic=10';

/** The ISO's kernel command line: the live medium's root (with its verity arguments), the project's words, the console. */
export function isoCmdline(cmdline: string, rootArgs: string): string {
  return `root=live:LABEL=${ISO_VOLUME_LABEL} ro ${rootArgs} ${cmdline} console=ttyS0,115200 init=/usr/sbin/aios-init`.replace(/\s+/g, ' ').trim();
}

/**
 * The spec's GRUB entry, adapted to the live medium, for BIOS (UEFI starts the signed UKI, with
 * no GRUB). With `debugShell`, a second entry adds a root shell on the console (aios.shell=1);
 * hold Esc as GRUB starts to choose it. Nothing outside the ISO is read: no disk can add to the
 * command line.
 */
export function grubConfig(cmdline: string, rootArgs = '', debugShell = false): string {
  const problem = grubCmdlineProblem(cmdline);
  if (problem) throw new Error(`boot.cmdline: ${problem}`);
  const linux = (extra: string) => `    linux /boot/vmlinuz ${grubWords(isoCmdline(cmdline, rootArgs))}${extra}`;
  return [
    'set timeout=0',
    'set default=0',
    'serial --unit=0 --speed=115200',
    'terminal_input serial console',
    'terminal_output serial console',
    '',
    'menuentry "aiOS" {',
    linux(''),
    '    initrd /boot/initramfs.img',
    '}',
    '',
    ...(debugShell ? ['menuentry "aiOS with a console shell" {', linux(' aios.shell=1'), '    initrd /boot/initramfs.img', '}', ''] : []),
  ].join('\n');
}

/**
 * Why GRUB cannot hand `cmdline` to the kernel exactly as the direct path does, or undefined.
 * GRUB's `linux` rebuilds the command line from its arguments, putting a backslash before each
 * quote and backslash (grub_create_loader_cmdline): such a word would reach the kernel changed.
 */
export function grubCmdlineProblem(cmdline: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(cmdline)) return 'holds a control character; give one line of kernel arguments';
  const bad = [...new Set(cmdline.match(/["'\\]/g) ?? [])];
  if (bad.length)
    return `holds ${bad.map((c) => JSON.stringify(c)).join(' and ')}, which GRUB passes to the kernel with a backslash added: the ISO would boot with another command line than the direct path; leave quotes and backslashes out (a kernel argument cannot hold a space on every path)`;
  return undefined;
}

/** The command line's words as grub.cfg arguments: single-quoted where GRUB's script syntax would read `$`, `;`, `{`... */
export function grubWords(cmdline: string): string {
  return cmdline
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w}'`))
    .join(' ');
}
