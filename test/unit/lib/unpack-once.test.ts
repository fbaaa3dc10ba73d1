// A source tree unpacked once per id, and never trusted without its stamp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { unpackOnce } from '../../../scripts/lib/unpack-once.ts';
import { scratchDir } from '../scratch.ts';

test('a tree is filled once per id; a stampless or other-id tree is filled again; a failed fill leaves nothing', async () => {
  const cacheDir = scratchDir('aios-unpack-');
  let fills = 0;
  const fill = async (tmp: string) => {
    fills++;
    await mkdir(join(tmp, 'tree'));
    await writeFile(join(tmp, 'tree', 'file'), `fill ${fills}`);
    return join(tmp, 'tree');
  };
  const o = { cacheDir, name: 'thing', id: 'sha512-abc/def+ghi==', stamp: '.stamp.json' };
  const dir = await unpackOnce(o, fill);
  assert.equal(dir, join(cacheDir, 'sources', 'thing-sha512abcdefghi'));
  assert.equal(await unpackOnce(o, fill), dir);
  assert.equal(fills, 1, 'the second call reuses the stamped tree');
  assert.deepEqual((await readdir(dir)).sort(), ['.stamp.json', 'file']);

  await rm(join(dir, '.stamp.json'));
  await unpackOnce(o, fill);
  assert.equal(await readFile(join(dir, 'file'), 'utf8'), 'fill 2', 'a tree without its stamp (an interrupted run) is not trusted');
  await writeFile(join(dir, '.stamp.json'), JSON.stringify({ id: 'another' }));
  await unpackOnce(o, fill);
  assert.equal(fills, 3, 'a stamp naming another id is not trusted');

  const failing = { ...o, id: 'sha256-0000' };
  await assert.rejects(
    unpackOnce(failing, async () => {
      throw new Error('bad tree');
    }),
    /bad tree/,
  );
  assert.deepEqual(await readdir(join(cacheDir, 'sources')), ['thing-sha512abcdefghi'], 'nothing half-made is left');
});
