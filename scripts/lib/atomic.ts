import { mkdir, rename, rm, writeFile, cp } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';

/** A sibling path that no later run trusts: outputs are written here and renamed into place. */
export function tempPath(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
}

const pending = new Set<string>();
let hooked = false;

/** Remove half-written outputs when the user presses Ctrl-C (installed once, at start-up). */
export function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  const clean = (sig: NodeJS.Signals) => {
    for (const p of pending) {
      // Synchronous on purpose: the process exits right after.
      rmSync(p, { recursive: true, force: true });
    }
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', clean);
  process.once('SIGTERM', clean);
}

/** A temporary path beside `finalPath` for `fn`, removed afterwards however `fn` ends, Ctrl-C included. */
async function withTempPath<T>(finalPath: string, fn: (tmp: string) => Promise<T>): Promise<T> {
  hookSignals();
  await mkdir(dirname(finalPath), { recursive: true });
  const tmp = tempPath(finalPath);
  pending.add(tmp);
  try {
    return await fn(tmp);
  } finally {
    pending.delete(tmp);
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Produce `finalPath` by letting `produce` write a temporary path, then renaming it into place.
 * An interrupted or failed producer leaves only the temporary path, which is removed.
 */
export async function writeAtomically(finalPath: string, produce: (tmp: string) => Promise<void>): Promise<void> {
  await withTempPath(finalPath, async (tmp) => {
    await produce(tmp);
    await rm(finalPath, { recursive: true, force: true });
    await rename(tmp, finalPath);
  });
}

/** A temporary directory beside `finalPath` (what `fn` wants to keep, it renames out first). */
export async function withTempDir<T>(finalPath: string, fn: (tmp: string) => Promise<T>): Promise<T> {
  return withTempPath(finalPath, async (tmp) => {
    await mkdir(tmp);
    return fn(tmp);
  });
}

export async function writeFileAtomically(finalPath: string, data: string | Buffer): Promise<void> {
  await writeAtomically(finalPath, (tmp) => writeFile(tmp, data));
}

export async function copyAtomically(src: string, finalPath: string): Promise<void> {
  await writeAtomically(finalPath, (tmp) => cp(src, tmp, { recursive: true, preserveTimestamps: true }));
}
