import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive } from '../../common/pid-alive.ts';

const PATTERN = /^\.check-(\d+)-rootfs\.img$/;

/** The copy of rootfs.img that one `aios check` boots and then examines; the name says whose it is. */
export function checkDiskName(pid: number): string {
  return `.check-${pid}-rootfs.img`;
}

/**
 * Remove the copies that checks killed outright (SIGKILL, a crash) left in `out`: a check removes
 * its own on every other ending. A copy whose process still runs is left to it.
 */
export async function removeStaleCheckDisks(out: string): Promise<string[]> {
  const stale = (await readdir(out)).filter((f) => {
    const m = PATTERN.exec(f);
    return m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]));
  });
  for (const f of stale) await rm(join(out, f), { force: true });
  return stale.map((f) => join(out, f));
}
