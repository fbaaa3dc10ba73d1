import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { withTempDir, renameInto } from '../lib/atomic.ts';
import { PROJECT_ROOT } from '../lib/tool-root.ts';
import { projectTemplate } from '../project/template.ts';
import { CONFIG_NAME } from '../project/locate.ts';

/** `aios init DIR`: a working starting point, written whole or not at all, never over an existing project. */
export async function initCommand(args: { dir: string }): Promise<number> {
  const dir = resolve(args.dir);
  if (dir === PROJECT_ROOT) throw new Error(`${dir} is aiOS's own installation; make the project in a directory of its own`);
  if (existsSync(join(dir, CONFIG_NAME))) throw new Error(`${dir} already holds ${CONFIG_NAME}: nothing written`);
  const files = projectTemplate(basename(dir));
  const clash = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (clash.length) throw new Error(`${dir} already has ${clash.join(', ')}: nothing written`);
  await mkdir(dirname(dir), { recursive: true });
  await withTempDir(dir, async (tmp) => {
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(dirname(join(tmp, rel)), { recursive: true });
      await writeFile(join(tmp, rel), text);
    }
    if (!existsSync(dir)) return renameInto(tmp, dir);
    // An existing directory (empty, or with other files) keeps them: each file moves in on its own.
    for (const rel of Object.keys(files)) {
      await mkdir(dirname(join(dir, rel)), { recursive: true });
      await renameInto(join(tmp, rel), join(dir, rel));
    }
  });
  console.log(`wrote ${Object.keys(files).join(', ')} in ${dir}\nnext: aios build --project ${args.dir}`);
  return 0;
}
