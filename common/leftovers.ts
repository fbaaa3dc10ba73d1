import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeOnExit } from './cleanup.ts';
import { pidAlive } from './pid-alive.ts';

/**
 * What aios keeps on disk while it runs carries its pid in the name. An aios killed outright
 * (SIGKILL, a crash) runs no clean-up; the next one tells such leftovers from a running aios's by
 * that pid and removes them: the entries of `dir` that `pattern` names (its first group the pid)
 * whose process is gone. Returns their paths.
 */
export async function removeLeftovers(dir: string, pattern: RegExp): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const f of names) {
    const pid = Number(pattern.exec(f)?.[1]);
    if (!(pid > 0) || pid === process.pid || pidAlive(pid)) continue;
    const path = join(dir, f);
    try {
      // Another user's are not ours to judge (its pid may be hidden from us), nor to remove.
      if ((await lstat(path)).uid !== process.getuid?.()) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      /* gone meanwhile, or not removable: clearing up must never stop the command */
    }
  }
  return removed;
}

/** aios's scratch directories: aios-<kind>-<pid>-XXXXXX in the system's temporary directory. */
const TEMP_DIR = /^aios-[a-z]+-(\d+)-[A-Za-z0-9]{6}$/;

/** A scratch directory, removed however aios ends; after a SIGKILL, by the next aios run or check. */
export async function tempDir(kind: string): Promise<{ path: string; release: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `aios-${kind}-${process.pid}-`));
  const forget = removeOnExit(path);
  return {
    path,
    release: async () => {
      await rm(path, { recursive: true, force: true });
      forget();
    },
  };
}

/** The scratch directories of aios processes that are gone. */
export function removeTempLeftovers(): Promise<string[]> {
  return removeLeftovers(tmpdir(), TEMP_DIR);
}
