import { open, readFile, rm } from 'node:fs/promises';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from '../../common/pid-alive.ts';

/**
 * One build at a time per cache: `<cache>/.lock` holds the owner's pid. A second build waits,
 * saying for whom; a lock whose owner is gone (killed with SIGKILL, a crash) is taken over.
 */
export async function lockCache(cacheDir: string, say: (m: string) => void, pollMs = 1000): Promise<() => void> {
  const file = join(cacheDir, '.lock');
  let told = false;
  for (;;) {
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      const release = () => {
        process.removeListener('exit', release);
        try {
          unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
      process.once('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (!owner || !pidAlive(owner)) {
      // Half-written (no pid yet) locks are younger than a poll; a dead owner's is stale.
      if (!owner) await new Promise((r) => setTimeout(r, 50));
      const again = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (!again || !pidAlive(again)) await rm(file, { force: true });
      continue;
    }
    if (!told) say(`waiting for the build with pid ${owner}, which is using the cache ${cacheDir}`);
    told = true;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
