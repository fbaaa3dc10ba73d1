import { copyFile, mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run } from '../../common/exec.ts';
import { efiImageArgs } from './tool-args.ts';
import { EFI_STUB, peLayout, pinPeTimestamp, sbsignArgs, sbsignEnv, ukiObjcopyArgs, type UkiSection } from './uki.ts';
import { pinTimes } from '../rootfs/times.ts';

const MiB = 1024 * 1024;

export interface UkiInputs {
  kernel: string;
  initrd: string;
  /** The root filesystem's tree: its /etc/os-release becomes the .osrel section. */
  rootTree: string;
  cmdline: string;
  keys: { dbKey: string; dbCert: string; name: string };
  epoch: number;
  log: (m: string) => void;
}

/** objcopy the stub with os-release, the command line, the initramfs and the kernel; sbsign it with the db key. */
export async function makeSignedUki(u: UkiInputs, work: string, signed: string): Promise<void> {
  const parts = join(work, 'uki-parts');
  await mkdir(parts);
  const osrel = join(parts, 'os-release');
  await copyFile(join(u.rootTree, 'etc/os-release'), osrel).catch(() => writeFile(osrel, 'NAME=aiOS\nID=aios\n'));
  const cmd = join(parts, 'cmdline');
  await writeFile(cmd, `${u.cmdline}\0`);
  const files: [UkiSection['name'], string][] = [
    ['.osrel', osrel],
    ['.cmdline', cmd],
    ['.initrd', u.initrd],
    ['.linux', u.kernel],
  ];
  const sections: UkiSection[] = await Promise.all(files.map(async ([name, file]) => ({ name, file, bytes: (await stat(file)).size })));
  const unsigned = join(parts, 'aios-unsigned.efi');
  u.log('unified kernel image (objcopy onto the systemd EFI stub)');
  await run('objcopy', ukiObjcopyArgs(EFI_STUB, peLayout(await readFile(EFI_STUB)), sections, unsigned));
  await writeFile(unsigned, pinPeTimestamp(await readFile(unsigned), u.epoch));
  u.log(`sbsign with db (${u.keys.name})`);
  await run('sbsign', sbsignArgs({ key: u.keys.dbKey, cert: u.keys.dbCert, input: unsigned, output: signed }), { env: sbsignEnv(u.epoch) });
  await rm(parts, { recursive: true });
}

/**
 * A FAT file system holding `files` (its path -> a host file) at the epoch's times: the ISO's El
 * Torito image (the signed UKI as EFI/BOOT/BOOTX64.EFI), and the disk's EFI system partition
 * (systemd-boot, the slots' UKIs, its entries). `mib` is its size, or the files' and a few MiB for
 * FAT's tables when not given.
 */
export async function makeEfiImage(img: string, files: Record<string, string>, work: string, epoch: number, mib?: number): Promise<void> {
  const tree = join(work, 'esp');
  let size = 0;
  for (const [at, from] of Object.entries(files)) {
    const dest = join(tree, at);
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(from, dest);
    size += (await stat(from)).size;
  }
  await pinTimes(tree, epoch);
  const bytes = (mib ?? Math.ceil(size / MiB) + 4) * MiB;
  if (size + 4 * MiB > bytes) throw new Error(`the EFI partition's files (${(size / MiB).toFixed(1)} MiB) do not fit an EFI partition of ${mib} MiB`);
  await writeFile(img, '');
  await truncate(img, bytes);
  const a = efiImageArgs(img, tree, epoch, [...new Set(Object.keys(files).map((f) => f.split('/').filter(Boolean)[0]!))].sort());
  await run('mformat', a.mformat);
  await run('mcopy', a.mcopy, { env: { SOURCE_DATE_EPOCH: String(epoch) } });
  await rm(tree, { recursive: true });
}

/** A host file signed with the db key (systemd-boot for the disk's ESP), its signature's time pinned to the epoch. */
export async function signEfiBinary(input: string, output: string, keys: UkiInputs['keys'], epoch: number): Promise<void> {
  await run('sbsign', sbsignArgs({ key: keys.dbKey, cert: keys.dbCert, input, output }), { env: sbsignEnv(epoch) });
}
