// mtools command lines on the EFI system partition, for aios-init (which reads and renames
// systemd-boot's entries without mounting the partition: the kernel has no FAT driver) and its tests.

/** Debian's mtools, one binary for all its commands (`mtools -c mdir ...`), installed in the image. */
export const MTOOLS = '/usr/bin/mtools';

/**
 * mtools converts short names through iconv to its code page (850), and gives up without glibc's
 * module for it, which the image carries in a directory of its own with a gconv-modules naming
 * only it (glibc's whole set is 8 MB).
 */
export const GCONV_DIR = '/usr/lib/aios/gconv';
export const HOST_IBM850 = '/usr/lib/x86_64-linux-gnu/gconv/IBM850.so';
export const GCONV_MODULES = ['alias\tCP850//\tIBM850//', 'module\tIBM850//\tINTERNAL\tIBM850\t1', 'module\tINTERNAL\tIBM850//\tIBM850\t1', ''].join('\n');

/** mtools checks a FAT's geometry against a floppy's and refuses others unless told not to. */
export const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: '1', GCONV_PATH: GCONV_DIR } as const;

const at = (p: string): string => {
  if (!p.startsWith('/') || /[\x00-\x1f\x7f]|(^|\/)\.\.(\/|$)/.test(p)) throw new Error(`${JSON.stringify(p)}: not an absolute path on the EFI partition`);
  return `::${p}`;
};

/** The argument vectors of `mtools -c ...` on the partition `dev`. */
export const mtoolsArgs = {
  list: (dev: string, dir: string) => ['-c', 'mdir', '-b', '-i', dev, at(dir)],
  read: (dev: string, file: string) => ['-c', 'mtype', '-i', dev, at(file)],
  rename: (dev: string, from: string, to: string) => ['-c', 'mren', '-i', dev, at(from), at(to)],
  remove: (dev: string, file: string) => ['-c', 'mdel', '-i', dev, at(file)],
  /** Copy a host file onto the partition, replacing a file of that name. */
  put: (dev: string, host: string, file: string) => ['-c', 'mcopy', '-o', '-i', dev, host, at(file)],
};

/** `mdir -b` output: the names in the directory (its lines are ::/dir/name). */
export function parseBareList(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('::/'))
    .map((l) => l.slice(l.lastIndexOf('/') + 1))
    .filter(Boolean);
}
