import { open } from 'node:fs/promises';
import { run } from '../../common/exec.ts';

export interface NeededLib {
  /** The name the dynamic loader looks for (the soname, or the loader's own path). */
  name: string;
  path: string;
}

/** The libraries a dynamic executable needs, as `ld.so --list` resolves them. */
export function parseLddMap(text: string): NeededLib[] {
  const libs = new Map<string, NeededLib>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s*(\/\S+)/.exec(line) ?? /^\s*((\/\S+))\s+\(/.exec(line);
    if (m) libs.set(m[2]!, { name: m[1]!, path: m[2]! });
  }
  return [...libs.values()].sort((a, b) => a.path.localeCompare(b.path));
}

export function parseLddList(text: string): string[] {
  return parseLddMap(text).map((l) => l.path);
}

export const LOADER = '/lib64/ld-linux-x86-64.so.2';

/** Ask the dynamic loader which libraries an ELF file needs (it does not run the file). */
export async function neededLibs(file: string, libraryPath?: string): Promise<NeededLib[]> {
  const { stdout } = await run(LOADER, [...(libraryPath ? ['--library-path', libraryPath] : []), '--list', file]);
  return parseLddMap(stdout);
}

/** Whether a file (not a link) starts with the ELF magic. */
export async function isElf(file: string): Promise<boolean> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    if (!(await fh.stat()).isFile()) return false;
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return bytesRead === 4 && b.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    await fh.close();
  }
}
