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
