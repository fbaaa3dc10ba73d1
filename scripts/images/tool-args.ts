import { PROBE_DISK_CFG } from '../../common/probe.ts';
/** Pure builders of the image tools' command lines, so that tests can check them. */

/** A UUID-shaped value derived from a hash, so that the same inputs give the same filesystem. */
export function uuidFrom(hex: string): string {
  const h = hex.padEnd(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function mke2fsArgs(o: { tree: string; image: string; sizeMiB: number; label: string; uuid: string; hashSeed: string }): string[] {
  return [
    '-q',
    '-F',
    '-t',
    'ext4',
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

/** sfdisk input: an MBR with one bootable Linux partition starting at 1 MiB. */
export function sfdiskScript(o: { labelId: string; startSector: number; sectors: number }): string {
  return `label: dos\nlabel-id: 0x${o.labelId}\nunit: sectors\n\nstart=${o.startSector}, size=${o.sectors}, type=83, bootable\n`;
}

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
    '-mkfs-time',
    String(epoch),
    '-all-time',
    String(epoch),
    '-processors',
    '1',
  ];
}

export const ISO_VOLUME_LABEL = 'AIOS';

/**
 * grub-mkrescue formats the EFI system partition with `mformat` and no `-N`, so its FAT serial
 * is random. This wrapper, first on grub-mkrescue's PATH, passes a serial derived from the epoch.
 */
export function mformatWrapper(epoch: number, realMformat = '/usr/bin/mformat'): string {
  const serial = (epoch >>> 0).toString(16).padStart(8, '0');
  return `#!/bin/sh\nexec ${realMformat} -N ${serial} "$@"\n`;
}

/** xorriso's volume dates as it wants them: YYYYMMDDhhmmsscc, in UTC. */
export function isoDate(epoch: number): string {
  return `${new Date(epoch * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14)}00`;
}

/**
 * grub-mkrescue passes what follows `--` to xorriso: the label, and every volume date (the
 * UUID and GPT GUIDs derive from it) pinned to SOURCE_DATE_EPOCH instead of the clock.
 */
export function grubMkrescueArgs(isoDir: string, out: string, epoch: number): string[] {
  const d = isoDate(epoch);
  return [
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
  ];
}

/**
 * The spec's GRUB entry, adapted to the live medium: root is the squashfs on the ISO. A second
 * entry adds a root shell on the console (aios.shell=1); hold Esc as GRUB starts to choose it.
 */
export function grubConfig(cmdline: string): string {
  const problem = grubCmdlineProblem(cmdline);
  if (problem) throw new Error(`boot.cmdline: ${problem}`);
  const words = grubWords(cmdline);
  const linux = (extra: string) =>
    `    linux /boot/vmlinuz root=live:LABEL=${ISO_VOLUME_LABEL} ro ${words} console=ttyS0,115200 init=/usr/sbin/aios-init${extra} $aios_check_args`;
  return [
    'set timeout=0',
    'set default=0',
    'serial --unit=0 --speed=115200',
    'terminal_input serial console',
    'terminal_output serial console',
    '',
    // aios check attaches a small disk holding /aios-check.cfg, which sets aios_check_args (its
    // probe flag) for that one boot; without that disk the entries are as written.
    'set aios_check_args=""',
    `if search --no-floppy --set=aios_check --file /${PROBE_DISK_CFG}; then source ($aios_check)/${PROBE_DISK_CFG}; fi`,
    '',
    'menuentry "aiOS" {',
    linux(''),
    '    initrd /boot/initramfs.img',
    '}',
    '',
    'menuentry "aiOS with a console shell" {',
    linux(' aios.shell=1'),
    '    initrd /boot/initramfs.img',
    '}',
    '',
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
