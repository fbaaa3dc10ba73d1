import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, lstat, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { memoDigest } from './digest-memo.ts';

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): Promise<string> {
  return memoDigest(path, 'sha256', async (p) => {
    const h = createHash('sha256');
    for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
    return h.digest('hex');
  });
}

/** Every regular file and symlink under root, sorted, as paths relative to root. */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(root, p));
    }
  }
  await walk(root);
  return out.sort();
}

/** Every directory under root (root itself as ''), sorted, as paths relative to root. */
export async function listDirs(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [rel];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) if (e.isDirectory()) out.push(...(await listDirs(root, join(rel, e.name))));
  return rel ? out : out.sort();
}

/**
 * A hash of a directory's content (names, types and modes of every entry, directories and empty
 * ones included; file bytes, link targets, device numbers): a step's input key.
 */
export async function hashTree(root: string): Promise<string> {
  const h = createHash('sha256');
  const entries = [...(await listTree(root)).map((rel) => ({ rel, dir: false })), ...(await listDirs(root)).map((rel) => ({ rel, dir: true }))];
  for (const { rel, dir } of entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))) {
    const p = join(root, rel);
    const st = await lstat(p);
    h.update(`${rel}\0${st.mode.toString(8)}\0`);
    if (dir) h.update('dir');
    else if (st.isSymbolicLink()) h.update(`->${await readlink(p)}`);
    else if (st.isFile()) h.update(await readFile(p));
    else h.update(`dev:${st.rdev}`);
    h.update('\0');
  }
  return h.digest('hex');
}

/** A stable hash of any JSON-able value (object keys sorted). */
export function hashValue(value: unknown): string {
  return sha256(stableJson(value));
}

export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A Subresource Integrity value (`sha512-<base64>`, as npm's registry gives) of a file. */
export function integrityOf(path: string, algo = 'sha512'): Promise<string> {
  return memoDigest(path, `integrity-${algo}`, async (p) => {
    const h = createHash(algo);
    for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
    return `${algo}-${h.digest('base64')}`;
  });
}

/**
 * A cheap fingerprint of a large tree that a user edits in place (names, sizes, mtimes, link
 * targets): an edited file changes it without reading 200 MB of sources on every build.
 */
export async function fingerprintTree(root: string, skip: (rel: string) => boolean = () => false): Promise<string> {
  const h = createHash('sha256');
  for (const rel of await listTree(root)) {
    if (skip(rel)) continue;
    const st = await lstat(join(root, rel));
    h.update(`${rel}\0${st.mode & 0o7777}\0${st.size}\0${Math.floor(st.mtimeMs)}\0${st.isSymbolicLink() ? await readlink(join(root, rel)) : ''}\n`);
  }
  return h.digest('hex');
}
