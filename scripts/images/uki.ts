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

/** The PE checksum (as the Windows loader and objcopy compute it): 16-bit sums folded, the field itself skipped, plus the length. */
export function peChecksum(file: Buffer): number {
  const at = file.readUInt32LE(0x3c) + 24 + 64;
  let sum = 0;
  for (let i = 0; i < file.length; i += 2) {
    if (i === at || i === at + 2) continue;
    sum += i + 1 < file.length ? file.readUInt16LE(i) : file[i]!;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum + file.length) >>> 0;
}

/**
 * objcopy stamps the PE header with the time it ran (SOURCE_DATE_EPOCH is not read for it): set
 * the epoch instead, and the checksum again, before the image is signed (the signature covers the
 * stamp).
 */
export function pinPeTimestamp(file: Buffer, epoch: number): Buffer {
  const out = Buffer.from(file);
  const pe = out.readUInt32LE(0x3c);
  out.writeUInt32LE(epoch >>> 0, pe + 8);
  out.writeUInt32LE(peChecksum(out), pe + 24 + 64);
  return out;
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

/** Debian's libfaketime, which sbsign runs under. */
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

/**
 * sbsign puts the time it signs at into the signature (PKCS#7's signingTime attribute, signed
 * with the rest), and reads no SOURCE_DATE_EPOCH: it runs with the clock at the epoch, so that the
 * same image and key give the same signature. Without it, 265 bytes differ between two builds:
 * the UTCTime, the 256-byte RSA signature over it, and the PE checksum.
 */
export function sbsignEnv(epoch: number): Record<string, string> {
  const t = new Date(epoch * 1000).toISOString().replace('T', ' ').slice(0, 19);
  return { LD_PRELOAD: LIBFAKETIME, FAKETIME: `@${t}`, TZ: 'UTC' };
}

/** The signed UKI's command line: the ISO's, with the kernel locked down (integrity) since nothing on it can change. */
export function ukiCmdline(isoCmdline: string): string {
  return `${isoCmdline} lockdown=integrity`;
}
