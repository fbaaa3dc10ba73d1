import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyOf, resolveInputs } from '../../../scripts/pipeline/inputs.ts';
import { hashValue } from '../../../scripts/lib/hash.ts';
import { scratchDir } from '../scratch.ts';

test('declared inputs: files and trees count by content, earlier steps by key, tools by version; no cache path leaks', async () => {
  const dir = scratchDir('aios-in-');
  await mkdir(join(dir, 'overlay'));
  await writeFile(join(dir, 'overlay', 'motd'), 'hi');
  await writeFile(join(dir, 'lib.so'), 'v1');
  const decl = {
    version: 1,
    after: { kernel: '/home/a/.cache/aios/steps/kernel/0123456789ab' },
    trees: { overlay: join(dir, 'overlay') },
    files: { lib: join(dir, 'lib.so') },
    tools: ['node'],
    values: { epoch: 1 },
  };
  const key = async (d = decl) => hashValue(await resolveInputs(d));
  const k0 = await key();
  const r = await resolveInputs(decl);
  assert.deepEqual(r.after, { kernel: 'kernel/0123456789ab' });
  assert.match(String((r.tools as Record<string, string>).node), /^v\d+/);
  assert.equal(await key({ ...decl, after: { kernel: '/other/cache/steps/kernel/0123456789ab' } }), k0, 'another cache, the same key');
  await writeFile(join(dir, 'lib.so'), 'v2');
  const k1 = await key();
  assert.notEqual(k1, k0, 'a host library changed');
  await writeFile(join(dir, 'overlay', 'motd'), 'hello');
  assert.notEqual(await key(), k1, 'an overlay file changed');
  assert.notEqual(await key({ ...decl, tools: ['node', 'gcc'] }), await key(), 'one more tool');
  assert.equal(keyOf('/x/steps/rootfs/abc/tree'), 'rootfs/abc');
});
