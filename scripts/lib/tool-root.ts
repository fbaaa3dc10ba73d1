import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * aiOS's own root: where kernel-config/, init/ and rootfs/ are. The nearest package.json named
 * "aios" above this module, so that it holds for the sources (scripts/lib/) and for the
 * compiled CLI (dist/) of an installed package alike.
 */
export const PROJECT_ROOT = findRoot(import.meta.dirname);

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'aios') return dir;
    } catch {
      /* not here */
    }
    if (dirname(dir) === dir) throw new Error(`aiOS's package.json was not found above ${from}`);
  }
}
