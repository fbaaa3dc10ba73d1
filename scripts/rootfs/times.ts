import { lstat, lutimes, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../common/exec.ts';
import { listTree } from '../lib/hash.ts';

/** Pin every timestamp so that the images made from the tree do not depend on when it was made. */
export async function pinTimes(tree: string, epoch: number): Promise<void> {
  const all = [...(await listTree(tree))];
  for (const rel of all) {
    const p = join(tree, rel);
    if ((await lstat(p)).isSymbolicLink()) await lutimes(p, epoch, epoch);
    else await utimes(p, epoch, epoch);
  }
  const { stdout } = await run('find', [tree, '-type', 'd']);
  for (const d of stdout.split('\n').filter(Boolean)) await utimes(d, epoch, epoch);
}
