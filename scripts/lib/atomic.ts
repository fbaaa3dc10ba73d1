import { lstat, mkdir, rename, rm, writeFile, cp } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { removeOnExit } from '../../common/cleanup.ts';

export { hookSignals } from '../../common/cleanup.ts';

/** A sibling path that no later run trusts: outputs are written here and renamed into place. */
export function tempPath(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
}

/** A temporary path beside `finalPath` for `fn`, removed afterwards however `fn` ends, Ctrl-C included. */
export async function withTempPath<T>(finalPath: string, fn: (tmp: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(finalPath), { recursive: true });
  const tmp = tempPath(finalPath);
  return removedAfter(tmp, () => fn(tmp));
}

/** Run `fn`, then remove `path`, also when `fn` throws or the process is interrupted. */
async function removedAfter<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const release = removeOnExit(path);
  try {
    return await fn();
  } finally {
    release();
    await rm(path, { recursive: true, force: true });
  }
}

/**
 * Produce `finalPath` by letting `produce` write a temporary path, then renaming it into place.
 * An interrupted or failed producer leaves only the temporary path, which is removed.
 */
export async function writeAtomically(finalPath: string, produce: (tmp: string) => Promise<void>): Promise<void> {
  await withTempPath(finalPath, async (tmp) => {
    await produce(tmp);
    await renameInto(tmp, finalPath);
  });
}

/**
 * Put `tmp` at `finalPath`. A file replaces the old one in one rename; a directory cannot, so
 * the old one is moved aside first and removed after: there is never a half-written output.
 */
export async function renameInto(tmp: string, finalPath: string): Promise<void> {
  const old = await lstat(finalPath).then(
    (st) => (st.isDirectory() ? tempPath(finalPath) : undefined),
    () => undefined,
  );
  if (old) await rename(finalPath, old);
  await rename(tmp, finalPath);
  if (old) await rm(old, { recursive: true, force: true });
}

/** A temporary directory beside `finalPath` (what `fn` wants to keep, it renames out first). */
export async function withTempDir<T>(finalPath: string, fn: (tmp: string) => Promise<T>): Promise<T> {
  return withTempPath(finalPath, async (tmp) => {
    await mkdir(tmp);
    return fn(tmp);
  });
}

/**
 * A work directory at a fixed path, emptied before `fn` and removed after it however it ends.
 * For builds whose compiler lines name their directory: a path that is the same on every run
 * lets ccache find what an earlier run compiled, where a fresh temporary name never would.
 * Only one build holds a cache at a time (pipeline/lock.ts), so the fixed name is safe.
 */
export async function withScratchDir<T>(dir: string, fn: (dir: string) => Promise<T>): Promise<T> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return removedAfter(dir, () => fn(dir));
}

export async function writeFileAtomically(finalPath: string, data: string | Buffer): Promise<void> {
  await writeAtomically(finalPath, (tmp) => writeFile(tmp, data));
}

export async function copyAtomically(src: string, finalPath: string): Promise<void> {
  await writeAtomically(finalPath, (tmp) => cp(src, tmp, { recursive: true, preserveTimestamps: true }));
}
