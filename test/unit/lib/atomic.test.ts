// Work directories that leave nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withScratchDir } from '../../../scripts/lib/atomic.ts';
import { scratchDir } from '../scratch.ts';

test('a scratch directory has the same path every run, starts empty, and is gone afterwards, failure included', async () => {
  const dir = join(scratchDir('aios-atomic-'), 'build', 'nvidia-abc');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'left-by-a-killed-run.o'), 'x');
  const seen: string[] = [];
  await withScratchDir(dir, async (d) => {
    seen.push(d);
    assert.deepEqual(await readdir(d), [], 'what an earlier run left is gone');
    await writeFile(join(d, 'a.o'), 'a');
  });
  assert.ok(!existsSync(dir));
  await assert.rejects(
    withScratchDir(dir, async (d) => {
      seen.push(d);
      await writeFile(join(d, 'b.o'), 'b');
      throw new Error('make failed');
    }),
    /make failed/,
  );
  assert.ok(!existsSync(dir), 'a failed run leaves nothing');
  assert.deepEqual(seen, [dir, dir], 'both runs worked at the one path');
});
