import { run } from '../common/exec.ts';
import { modName } from '../common/module-names.ts';
import { unescapeOctal } from '../common/probe.ts';

/**
 * What the built image says it should be, read on the host from its root filesystem with
 * debugfs (never from what aios-init reports): fstab, init.json, and the kernel's module index.
 */
export interface ImageFacts {
  /** Where these were read from (rootfs.img's partition 1, or aios.iso's squashfs). */
  source: string;
  fstab: FstabEntry[];
  /** /etc/aios/init.json as text; null when the image has none. */
  initJson: string | null;
  /** modules.dep: module name -> the names it needs. */
  moduleDeps: Map<string, string[]>;
  builtin: Set<string>;
}

export interface FstabEntry {
  source: string;
  target: string;
  fstype: string;
  options: string[];
}

/** Partition 1 of rootfs.img starts at 1 MiB; e2fsprogs open it in place with ?offset=. */
export const PARTITION_OFFSET = 1 << 20;

/** fstab(5), parsed here apart from aios-init's own reader, so that the judge does not share its mistakes. */
export function parseFstab(text: string): FstabEntry[] {
  const out: FstabEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
    if (f.length < 3) continue;
    out.push({ source: unescapeOctal(f[0]!), target: unescapeOctal(f[1]!), fstype: f[2]!, options: (f[3] ?? 'defaults').split(',') });
  }
  return out;
}

/** The mount points an fstab asks to be mounted at boot: not swap, not noauto; the root always. */
export function mountsWanted(fstab: readonly FstabEntry[]): FstabEntry[] {
  const wanted = fstab.filter((e) => e.fstype !== 'swap' && e.target !== 'none' && !e.options.includes('noauto'));
  return wanted.some((e) => e.target === '/')
    ? wanted
    : [{ source: '(root= on the kernel command line)', target: '/', fstype: 'auto', options: [] }, ...wanted];
}

export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [file, rest = ''] = line.split(':');
    if (!file?.trim()) continue;
    deps.set(modName(file.trim()), rest.trim().split(/\s+/).filter(Boolean).map(modName));
  }
  return deps;
}

/** `debugfs -R "cat PATH"`: the file's text, or null when the image has no such file. */
async function catFile(disk: string, path: string): Promise<string | null> {
  const r = await run('/sbin/debugfs', ['-R', `cat ${path}`, `${disk}?offset=${PARTITION_OFFSET}`]);
  if (/not found by ext2_lookup|File not found/i.test(r.stderr)) return null;
  if (/Bad magic number|Couldn't find valid filesystem|while trying to open/i.test(r.stderr))
    throw new Error(`${disk}: no ext4 file system at ${PARTITION_OFFSET} bytes (debugfs: ${r.stderr.trim().split('\n').pop()})`);
  return r.stdout;
}

/** The facts from a root filesystem that `cat` reads files of (null: no such file). */
async function factsFrom(cat: (path: string) => Promise<string | null>, release: string, source: string): Promise<ImageFacts> {
  const [fstab, initJson, dep, builtin] = await Promise.all([
    cat('/etc/fstab'),
    cat('/etc/aios/init.json'),
    cat(`/lib/modules/${release}/modules.dep`),
    cat(`/lib/modules/${release}/modules.builtin`),
  ]);
  return {
    source,
    fstab: parseFstab(fstab ?? ''),
    initJson,
    moduleDeps: parseModulesDep(dep ?? ''),
    builtin: new Set((builtin ?? '').split('\n').filter(Boolean).map(modName)),
  };
}

export const readImageFacts = (disk: string, release: string): Promise<ImageFacts> => factsFrom((p) => catFile(disk, p), release, `${disk} (partition 1)`);

/** Where the ISO keeps its root (squashfs, its dm-verity tree after it). */
export const ISO_ROOT = '/aios/rootfs.squashfs';

/** Where the ISO's root lies inside the ISO file: an ISO 9660 file is one run of 2 KiB blocks. */
export interface IsoExtent {
  offset: number;
  size: number;
}

/**
 * The extent in `xorriso -find PATH -exec report_lba`'s answer ("File data lba: xt , Startlba ,
 * Blocks , Filesize , path"). A file of several extents (over 4 GiB) is refused, not half read.
 */
export function parseReportLba(text: string, path: string): IsoExtent {
  const lines = [...text.matchAll(/^File data lba:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*'(.*)'\s*$/gm)].filter((m) => m[5] === path);
  if (lines.length === 0) throw new Error(`the ISO has no ${path}`);
  if (lines.length > 1) throw new Error(`${path} lies in ${lines.length} extents of the ISO; aios reads it only as one`);
  const m = lines[0]!;
  return { offset: Number(m[2]) * 2048, size: Number(m[4]) };
}

/** Where aios.iso keeps its root (the squashfs and its dm-verity tree), read without copying it out. */
export async function isoRootExtent(iso: string): Promise<IsoExtent> {
  const r = await run('xorriso', ['-indev', iso, '-find', ISO_ROOT, '-exec', 'report_lba']);
  if (r.exitCode !== 0) throw new Error(`xorriso cannot read ${iso}: ${r.stderr.trim().split('\n').pop()}`);
  return parseReportLba(r.stdout, ISO_ROOT);
}

/**
 * The same facts from aios.iso's own root (an ISO-only build, and the ISO paths): its files read
 * with `unsquashfs -o` where the squashfs lies in the ISO (no copy, no mount, no root).
 */
export async function readIsoFacts(iso: string, release: string): Promise<ImageFacts> {
  const { offset } = await isoRootExtent(iso);
  const cat = async (p: string) => {
    const r = await run('unsquashfs', ['-o', String(offset), '-cat', iso, p], { okCodes: [2] });
    return r.exitCode === 0 ? r.stdout : null;
  };
  return factsFrom(cat, release, `${iso} (${ISO_ROOT})`);
}
