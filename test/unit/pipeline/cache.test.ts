import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cachedOutput } from '../../../scripts/pipeline/cache.ts';
import { hashTree, hashValue } from '../../../scripts/lib/hash.ts';
import { scratchDir } from '../scratch.ts';

test('the cache key changes when, and only when, an input changes', () => {
  const a = { source: 'abc', fragments: [{ name: 'aios.config', sha: '1' }], jobs: undefined };
  assert.equal(hashValue(a), hashValue({ fragments: [{ sha: '1', name: 'aios.config' }], source: 'abc' }), 'key order and undefined do not matter');
  assert.notEqual(hashValue(a), hashValue({ ...a, source: 'abd' }));
  assert.notEqual(hashValue(a), hashValue({ ...a, fragments: [{ name: 'aios.config', sha: '2' }] }));
});

test('a tree hash follows file contents and names, not timestamps', async () => {
  const dir = scratchDir('aios-tree-');
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src/main.ts'), 'one');
  const h1 = await hashTree(dir);
  await writeFile(join(dir, 'src/main.ts'), 'one');
  assert.equal(await hashTree(dir), h1);
  await writeFile(join(dir, 'src/main.ts'), 'two');
  assert.notEqual(await hashTree(dir), h1);
});

test('a step runs once per key; a failed step leaves nothing trusted behind', async () => {
  const cache = scratchDir('aios-cache-');
  let runs = 0;
  const produce = async (d: string) => {
    runs++;
    await writeFile(join(d, 'out'), 'x');
  };
  const first = await cachedOutput(cache, 'step', { v: 1 }, produce);
  const second = await cachedOutput(cache, 'step', { v: 1 }, produce);
  assert.equal(first.hit, false);
  assert.equal(second.hit, true);
  assert.equal(runs, 1);
  await cachedOutput(cache, 'step', { v: 2 }, produce);
  assert.equal(runs, 2);
  await assert.rejects(
    cachedOutput(cache, 'step', { v: 3 }, async (d) => {
      await writeFile(join(d, 'half'), 'x');
      throw new Error('interrupted');
    }),
  );
  const left = await readdir(join(cache, 'steps', 'step'));
  assert.equal(left.length, 2, `only the two complete outputs remain: ${left.join(', ')}`);
  assert.ok(existsSync(join(first.dir, '.complete')));
});

test('a step that needs what an earlier step makes says which, when that step has not run', async () => {
  const { need } = await import('../../../scripts/pipeline/context.ts');
  const ctx = { current: { name: 'rootfs' } } as unknown as Parameters<typeof need>[0];
  assert.throws(() => need(ctx, 'kernel'), /the rootfs step needs kernel, which the kernel step makes: that step has not run before it/);
  const kernel = { release: '6.12' };
  assert.equal(need({ ...ctx, kernel } as unknown as Parameters<typeof need>[0], 'kernel'), kernel);
});
