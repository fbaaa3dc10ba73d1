import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appendVerity, parseRootHash, veritysetupFormatArgs, veritysetupVerifyArgs, VERITYSETUP } from '../../../scripts/images/verity.ts';
import { scratchDir } from '../scratch.ts';

test('the hash tree goes after the filesystem in the same file, with the salt and UUID given', () => {
  const a = veritysetupFormatArgs({ image: '/o/root.img', hashOffset: 8192, salt: 'ab', uuid: 'u' });
  assert.deepEqual(a, [
    'format',
    '--data-block-size=4096',
    '--hash-block-size=4096',
    '--data-blocks=2',
    '--hash-offset=8192',
    '--hash=sha256',
    '--salt=ab',
    '--uuid=u',
    '/o/root.img',
    '/o/root.img',
  ]);
  assert.throws(() => veritysetupFormatArgs({ image: 'x', hashOffset: 100, salt: 'a', uuid: 'u' }), /multiple of 4096/);
  assert.throws(() => parseRootHash('VERITY header information for x\n'), /no sha256 root hash/);
});

/** A 1 MiB "filesystem" of random-looking but fixed bytes. */
async function image(dir: string, name: string): Promise<string> {
  const f = join(dir, name);
  const data = Buffer.alloc(1 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  await writeFile(f, data);
  return f;
}

test('the same filesystem gives the same hash tree and root hash; veritysetup verify finds one changed byte', async () => {
  const dir = scratchDir('aios-verity-');
  const [a, b] = [await image(dir, 'a.img'), await image(dir, 'b.img')];
  const va = await appendVerity(a, 1 << 20, 'seed', () => {});
  const vb = await appendVerity(b, 1 << 20, 'seed', () => {});
  assert.equal(va.rootHash, vb.rootHash);
  assert.deepEqual(await readFile(a), await readFile(b), 'byte-identical files');
  assert.equal((await stat(a)).size % (1 << 20), 0, 'padded to whole MiB');
  execFileSync(VERITYSETUP, veritysetupVerifyArgs({ image: a, hashOffset: va.hashOffset, rootHash: va.rootHash }));
  const fh = await open(b, 'r+');
  await fh.write(Buffer.from([0x42]), 0, 1, 300_000);
  await fh.close();
  const r = spawnSync(VERITYSETUP, veritysetupVerifyArgs({ image: b, hashOffset: vb.hashOffset, rootHash: vb.rootHash }), { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr + r.stdout, /corrupt|failed/i);
  assert.notEqual((await appendVerity(await image(dir, 'c.img'), 1 << 20, 'other seed', () => {})).rootHash, va.rootHash, 'the salt comes from the seed');
});
