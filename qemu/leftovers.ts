import { removeLeftovers, removeTempLeftovers } from '../common/leftovers.ts';

/** The copy of rootfs.img that one `aios check` boots and then examines; the name says whose it is. */
export function checkDiskName(pid: number): string {
  return `.check-${pid}-rootfs.img`;
}

/** The copies that checks killed outright (SIGKILL, a crash) left in `out`: a check removes its own on every other ending. */
export function removeStaleCheckDisks(out: string): Promise<string[]> {
  return removeLeftovers(out, /^\.check-(\d+)-rootfs\.img$/);
}

/** Remove what killed aios runs and checks left in the temporary directory, and say so. */
export async function removeKilledScratch(say: (m: string) => void): Promise<void> {
  const gone = await removeTempLeftovers();
  if (gone.length) say(`removed ${gone.length} scratch ${gone.length === 1 ? 'directory' : 'directories'} that killed aios processes left: ${gone.join(' ')}`);
}
