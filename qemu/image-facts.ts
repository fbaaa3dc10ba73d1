import { run } from '../common/exec.ts';
import { modName } from '../common/module-names.ts';
import { unescapeOctal } from '../common/probe.ts';

/**
 * What the built image says it should be, read on the host from its root filesystem with
 * debugfs (never from what aios-init reports): fstab, init.json, and the kernel's module index.
 */
export interface ImageFacts {
  /** Where these were read from (rootfs.img, partition 1). */
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

export async function readImageFacts(disk: string, release: string): Promise<ImageFacts> {
  const [fstab, initJson, dep, builtin] = await Promise.all([
    catFile(disk, '/etc/fstab'),
    catFile(disk, '/etc/aios/init.json'),
    catFile(disk, `/lib/modules/${release}/modules.dep`),
    catFile(disk, `/lib/modules/${release}/modules.builtin`),
  ]);
  return {
    source: `${disk} (partition 1)`,
    fstab: parseFstab(fstab ?? ''),
    initJson,
    moduleDeps: parseModulesDep(dep ?? ''),
    builtin: new Set((builtin ?? '').split('\n').filter(Boolean).map(modName)),
  };
}
