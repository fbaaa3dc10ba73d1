import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stage1Layout, stage1Tools } from '../../../scripts/initramfs/stage1-tools.ts';
import { scratchDir } from '../scratch.ts';

test('tools go to sbin/, libraries to the multiarch directory under the name the loader looks for, the loader where it is', () => {
  const l = stage1Layout(
    [{ name: 'veritysetup', from: '/usr/sbin/veritysetup' }],
    [
      { name: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6' },
      { name: 'libcryptsetup.so.12', path: '/usr/lib/x86_64-linux-gnu/libcryptsetup.so.12.9.0' },
      { name: '/lib64/ld-linux-x86-64.so.2', path: '/lib64/ld-linux-x86-64.so.2' },
    ],
  );
  assert.deepEqual(l, [
    { path: 'lib/x86_64-linux-gnu/libc.so.6', from: '/lib/x86_64-linux-gnu/libc.so.6' },
    { path: 'lib/x86_64-linux-gnu/libcryptsetup.so.12', from: '/usr/lib/x86_64-linux-gnu/libcryptsetup.so.12.9.0' },
    { path: 'lib64/ld-linux-x86-64.so.2', from: '/lib64/ld-linux-x86-64.so.2' },
    { path: 'sbin/veritysetup', from: '/usr/sbin/veritysetup' },
  ]);
});

test("stage 1's veritysetup runs from what the initramfs carries alone (a chroot of just those files)", async () => {
  const root = scratchDir('aios-stage1-');
  for (const t of await stage1Tools()) {
    mkdirSync(join(root, dirname(t.path)), { recursive: true });
    copyFileSync(t.from, join(root, t.path));
    chmodSync(join(root, t.path), 0o755);
  }
  assert.match(execFileSync('chroot', [root, '/sbin/veritysetup', '--version'], { encoding: 'utf8' }), /^veritysetup 2\./);
});
