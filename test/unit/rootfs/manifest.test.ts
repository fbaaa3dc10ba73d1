import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { buildManifest, unsafeEntries } from '../../../scripts/rootfs/manifest.ts';
import { scratchDir } from '../scratch.ts';

async function tree(): Promise<string> {
  const root = scratchDir('aios-manifest-');
  await mkdir(join(root, 'etc'));
  await mkdir(join(root, 'tmp'));
  await chmod(join(root, 'tmp'), 0o1777);
  await writeFile(join(root, 'etc/hostname'), 'aios\n');
  await chmod(join(root, 'etc/hostname'), 0o644);
  await symlink('../bin/busybox', join(root, 'etc/sh'));
  return root;
}

test('the manifest lists every file, directory and link with mode, size and sha256, sorted', async () => {
  const m = await buildManifest(await tree());
  assert.deepEqual(
    m.map((e) => e.path),
    ['/etc', '/etc/hostname', '/etc/sh', '/tmp'],
  );
  const host = m.find((e) => e.path === '/etc/hostname')!;
  const sha = createHash('sha256').update('aios\n').digest('hex');
  assert.deepEqual({ ...host }, { path: '/etc/hostname', type: 'file', mode: '0644', size: 5, sha256: sha });
  assert.equal(m.find((e) => e.path === '/etc/sh')!.target, '../bin/busybox');
});

test('a world-writable file fails; a sticky world-writable directory (/tmp) does not', async () => {
  const root = await tree();
  assert.deepEqual(unsafeEntries(await buildManifest(root)), []);
  await chmod(join(root, 'etc/hostname'), 0o666);
  assert.deepEqual(unsafeEntries(await buildManifest(root)), ['/etc/hostname is world-writable (mode 0666)']);
});
