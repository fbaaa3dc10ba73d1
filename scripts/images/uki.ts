/**
 * The unified kernel image: systemd's EFI stub (Debian's systemd-boot-efi) with the kernel, the
 * initramfs, the command line and os-release added as PE sections by objcopy (bookworm has no
 * ukify), then signed with sbsign. Pure builders here; the ISO step runs them.
 */

export const EFI_STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';

/** What the PE header of the stub says about where its image ends. */
export interface PeLayout {
  imageBase: bigint;
  sizeOfImage: number;
}

/** ImageBase and SizeOfImage of a PE32+ file, from its headers. */
export function peLayout(file: Buffer): PeLayout {
  if (file.readUInt16LE(0) !== 0x5a4d) throw new Error('not a PE file: no MZ header');
  const pe = file.readUInt32LE(0x3c);
  if (file.readUInt32LE(pe) !== 0x4550) throw new Error('not a PE file: no PE signature');
  const opt = pe + 24;
  if (file.readUInt16LE(opt) !== 0x20b) throw new Error('not a PE32+ (64-bit) image');
  return { imageBase: file.readBigUInt64LE(opt + 24), sizeOfImage: file.readUInt32LE(opt + 56) };
}

export interface UkiSection {
  name: '.osrel' | '.cmdline' | '.initrd' | '.linux';
  file: string;
  bytes: number;
}

const PAGE = 0x1000;
const align = (n: bigint) => ((n + BigInt(PAGE - 1)) / BigInt(PAGE)) * BigInt(PAGE);

/**
 * objcopy's arguments: each section placed, page-aligned, after the stub's image and the section
 * before it (as ukify places them), so that none overlaps another when the firmware loads it.
 */
export function ukiObjcopyArgs(stub: string, layout: PeLayout, sections: readonly UkiSection[], out: string): string[] {
  const args: string[] = [];
  let vma = align(layout.imageBase + BigInt(layout.sizeOfImage));
  for (const s of sections) {
    args.push('--add-section', `${s.name}=${s.file}`, '--change-section-vma', `${s.name}=0x${vma.toString(16)}`);
    vma = align(vma + BigInt(s.bytes));
  }
  return [...args, stub, out];
}

export function sbsignArgs(o: { key: string; cert: string; input: string; output: string }): string[] {
  return ['--key', o.key, '--cert', o.cert, '--output', o.output, o.input];
}

/** The signed UKI's command line: the ISO's, with the kernel locked down (integrity) since nothing on it can change. */
export function ukiCmdline(isoCmdline: string): string {
  return `${isoCmdline} lockdown=integrity`;
}
