import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renameInto, withTempDir } from './atomic.ts';

/** Where `unpackOnce` keeps the tree of `name` whose content `id` identifies. */
function unpackedDir(cacheDir: string, name: string, id: string): string {
  return join(cacheDir, 'sources', `${name}-${id.replace(/[^A-Za-z0-9]/g, '').slice(-16)}`);
}

/**
 * A source tree unpacked once into `<cache>/sources/<name>-<id>`: `fill` writes it into a
 * temporary directory and returns the tree to keep. The stamp (a file named `stamp` in the tree,
 * holding `id`) is written last, so a tree left by an interrupted run is never trusted.
 */
export async function unpackOnce(o: { cacheDir: string; name: string; id: string; stamp: string }, fill: (tmp: string) => Promise<string>): Promise<string> {
  const { id, stamp } = o;
  const dir = unpackedDir(o.cacheDir, o.name, id);
  const stamped = await readFile(join(dir, stamp), 'utf8').then(
    (t) => (JSON.parse(t) as { id: string }).id,
    () => undefined,
  );
  if (stamped === id) return dir;
  return withTempDir(dir, async (tmp) => {
    const tree = await fill(tmp);
    await writeFile(join(tree, stamp), JSON.stringify({ id }));
    await renameInto(tree, dir);
    return dir;
  });
}
