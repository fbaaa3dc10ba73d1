import { chmod, copyFile, lstat, mkdir, readdir, readlink, realpath, rename, rm, symlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { run } from '../../common/exec.ts';

/**
 * The one boundary where entries from outside (a layer, an overlay, a package, a hook) enter the
 * root tree, and where the build's own writes into that tree are checked: names with control
 * characters, `..` or an absolute form are refused; a write never follows a link out of the tree;
 * setuid/setgid files and device nodes come in only when aios.json's `allow` names them.
 */
export class HostileInputError extends Error {}

/** Image paths (`/usr/bin/ping`) that aios.json's `allow` lets in with privilege. */
export interface Allowed {
  setuid: readonly string[];
  devices: readonly string[];
}

export const NOTHING_ALLOWED: Allowed = { setuid: [], devices: [] };

/** How a name is shown in an error: every byte visible, quotes and backslashes escaped. */
export function showName(name: string): string {
  return JSON.stringify(name);
}

/** Why an entry name (relative, `/`-separated) cannot enter the tree; undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(name)) return 'holds a control character (a newline, a tab, an escape)';
  if (name.startsWith('/')) return 'is an absolute path';
  if (name.split('/').includes('..')) return 'climbs out of its directory with ..';
  return undefined;
}

/** `entry` without `./` and trailing slashes, as a path relative to the tree. */
export function relName(entry: string): string {
  return entry.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** The image path of `rel` under `prefix` (the image path the tree's root lands at). */
export function imagePath(prefix: string, rel: string): string {
  return posix.join('/', prefix, rel);
}

export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'socket';

/** What an entry brings, as far as privilege goes: the reason it is refused, or undefined. */
export function privilegeProblem(kind: EntryKind, mode: number, path: string, allow: Allowed): string | undefined {
  if (kind === 'socket') return 'is a socket, which an image cannot carry';
  if ((kind === 'char' || kind === 'block' || kind === 'fifo') && !allow.devices.includes(path))
    return `is a ${kind === 'fifo' ? 'FIFO' : `${kind} device node`}; list it in aios.json's allow.devices if the image must have it`;
  if (kind === 'file' && mode & 0o6000 && !allow.setuid.includes(path))
    return `is ${mode & 0o4000 ? 'setuid' : 'setgid'} (mode ${(mode & 0o7777).toString(8).padStart(4, '0')}); list it in aios.json's allow.setuid if the image must have it`;
  return undefined;
}

export function kindOf(st: Stats): EntryKind {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'dir';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'file';
}

/** Why an entry (`rel` in a tree laid at `prefix`) cannot enter the image: its name, or privilege not declared. */
export function entryProblem(rel: string, kind: EntryKind, mode: number, prefix: string, allow: Allowed): string | undefined {
  return nameProblem(rel) ?? privilegeProblem(kind, mode, imagePath(prefix, rel), allow);
}

/** Throws one error listing every refused entry of `input`, each with its reason, and the fix. */
export function refuse(input: string, problems: readonly string[], fix: string): void {
  if (!problems.length) return;
  const shown = problems.slice(0, 30).map((p) => `  ${p}`);
  if (problems.length > 30) shown.push(`  ... and ${problems.length - 30} more`);
  throw new HostileInputError(`${input}: ${problems.length} entr${problems.length === 1 ? 'y is' : 'ies are'} refused:\n${shown.join('\n')}\n${fix}`);
}

const inside = (real: string, root: string) => real === root || real.startsWith(`${root}/`);

/**
 * The host path a write of `rel` must use: each parent resolved to its real path, refused when a
 * link leads out of `root` or nowhere. The last component is not followed: a caller that writes a
 * file replaces a link found there instead of writing through it.
 */
export async function pathInside(root: string, rel: string, where: string): Promise<string> {
  const name = relName(rel.replace(/^\/+/, ''));
  const bad = nameProblem(name);
  if (bad) throw new HostileInputError(`${where}: ${showName(name)} ${bad}`);
  const realRoot = await realpath(root);
  let cur = realRoot;
  const parts = name.split('/').filter(Boolean);
  for (const [i, part] of parts.slice(0, -1).entries()) {
    const next = join(cur, part);
    const st = await lstat(next).catch(() => undefined);
    if (!st) return join(next, ...parts.slice(i + 1));
    if (st.isSymbolicLink()) {
      const real = await realpath(next).catch(() => undefined);
      if (!real || !inside(real, realRoot))
        throw new HostileInputError(
          `${where}: /${parts.slice(0, i + 1).join('/')} is a link to ${await readlink(next)}, ${real ? 'outside the root filesystem' : 'which does not exist'}; the build does not write through it to /${name}`,
        );
      cur = real;
    } else if (st.isDirectory()) cur = next;
    else throw new HostileInputError(`${where}: /${parts.slice(0, i + 1).join('/')} is not a directory, so /${name} cannot be written`);
  }
  return parts.length ? join(cur, parts[parts.length - 1]!) : realRoot;
}

/** `mkdir -p` of `rel` inside `root`, through links only where they stay inside; returns its real path. */
export async function mkdirInside(root: string, rel: string, where: string, mode = 0o755): Promise<string> {
  const p = await pathInside(root, rel, where);
  const st = await lstat(p).catch(() => undefined);
  if (st?.isSymbolicLink()) {
    const real = await realpath(p).catch(() => '');
    if (!real || !inside(real, await realpath(root)) || !(await lstat(real)).isDirectory())
      throw new HostileInputError(
        `${where}: ${rel} is a link to ${await readlink(p)}, outside the root filesystem or not a directory; the build does not write through it`,
      );
    return real;
  }
  // A directory replaces a file there, as an upper layer's does in an overlay filesystem.
  if (st && !st.isDirectory()) await rm(p, { force: true });
  if (!st?.isDirectory()) {
    await mkdir(p, { recursive: true });
    await chmod(p, mode);
  }
  return p;
}

/** Remove whatever is at `dest` (a link itself, never its target), so that a new entry takes its place. */
async function clear(dest: string): Promise<void> {
  const st = await lstat(dest).catch(() => undefined);
  if (st) await rm(dest, { recursive: st.isDirectory(), force: true });
}

/** Copy a file into the tree (`dest` from pathInside): a link there is replaced, never written through. */
export async function putFile(src: string, dest: string, mode?: number): Promise<void> {
  await clear(dest);
  await copyFile(src, dest);
  if (mode !== undefined) await chmod(dest, mode);
}

export async function putSymlink(target: string, dest: string): Promise<void> {
  await clear(dest);
  await symlink(target, dest);
}

/** major/minor of a device number as Linux packs it (st_rdev). */
export function devNumbers(rdev: number): { major: number; minor: number } {
  const big = BigInt(rdev);
  return { major: Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn)), minor: Number((big & 0xffn) | ((big >> 12n) & ~0xffn)) };
}

/** An allowed device node or FIFO made in the tree by mknod(1): copying one would read the device. */
export async function putSpecial(kind: 'char' | 'block' | 'fifo', mode: number, dev: { major: number; minor: number }, dest: string): Promise<void> {
  await clear(dest);
  const m = (mode & 0o7777).toString(8);
  await run('mknod', ['-m', m, '--', dest, ...(kind === 'fifo' ? ['p'] : [kind === 'char' ? 'c' : 'b', String(dev.major), String(dev.minor)])]);
}

interface Staged {
  rel: string;
  kind: EntryKind;
  mode: number;
  rdev: number;
}

async function walk(dir: string, rel = ''): Promise<Staged[]> {
  const out: Staged[] = [];
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(dir, r));
    out.push({ rel: r, kind: kindOf(st), mode: st.mode & 0o7777, rdev: st.rdev });
    if (st.isDirectory()) out.push(...(await walk(dir, r)));
  }
  return out;
}

/** Every entry of a staged tree that cannot enter the image, as `"name": reason` lines. */
export async function stagedProblems(staged: string, prefix: string, allow: Allowed): Promise<string[]> {
  const problems: string[] = [];
  for (const e of await walk(staged)) {
    const why = entryProblem(e.rel, e.kind, e.mode, prefix, allow);
    if (why) problems.push(`${showName(imagePath(prefix, e.rel))} ${why}`);
  }
  return problems;
}

/**
 * Lay a staged tree (a package unpacked, a layer extracted, an overlay) over `root` at `prefix`,
 * as an overlay filesystem stacks an upper layer: files and links replace what is there,
 * directories merge (an existing one keeps its mode). Every entry is checked first, all refusals
 * reported at once; every write goes through pathInside. `move` renames instead of copying
 * (the staged tree is the build's own scratch); an overlay of the user's is copied.
 */
export async function mergeInto(
  root: string,
  staged: string,
  o: { input: string; prefix: string; allow: Allowed; move: boolean; fix?: string },
): Promise<void> {
  refuse(
    o.input,
    await stagedProblems(staged, o.prefix, o.allow),
    o.fix ?? 'Rename or remove those entries at their source, or declare the privileged ones in aios.json (`allow`).',
  );
  for (const e of await walk(staged)) {
    const src = join(staged, e.rel);
    const target = imagePath(o.prefix, e.rel);
    if (e.kind === 'dir') {
      await mkdirInside(root, target, o.input, e.mode);
      continue;
    }
    const dest = await pathInside(root, target, o.input);
    if (e.kind === 'symlink') await putSymlink(await readlink(src), dest);
    else if (e.kind === 'file' && o.move) {
      await clear(dest);
      await rename(src, dest);
    } else if (e.kind === 'file') await putFile(src, dest, e.mode);
    else if (e.kind === 'char' || e.kind === 'block' || e.kind === 'fifo') await putSpecial(e.kind, e.mode, devNumbers(e.rdev), dest);
  }
}
