import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeCpio, type CpioEntry } from '../../../scripts/initramfs/cpio.ts';
import { scratchDir } from '../scratch.ts';

const entries: CpioEntry[] = [
  { path: 'init', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
  { path: 'bin', type: 'dir', mode: 0o755 },
  { path: 'bin/sh', type: 'symlink', mode: 0o777, target: 'busybox' },
  { path: 'bin/busybox', type: 'file', mode: 0o755, data: Buffer.from('odd-length!') },
];

test('GNU cpio lists our archive, sorted', () => {
  const out = execFileSync('cpio', ['-t', '--quiet'], { input: writeCpio(entries, 1700000000) }).toString();
  assert.deepEqual(out.trim().split('\n'), ['bin', 'bin/busybox', 'bin/sh', 'init']);
});

test('GNU cpio extracts the same bytes, modes, links and mtime', async () => {
  const dir = scratchDir('aios-cpio-');
  execFileSync('cpio', ['-i', '--quiet', '--make-directories', '--preserve-modification-time', '--no-absolute-filenames'], {
    cwd: dir,
    input: writeCpio(entries, 1700000000),
  });
  assert.equal(await readFile(join(dir, 'init'), 'utf8'), '#!/bin/sh\necho hi\n');
  assert.equal(await readFile(join(dir, 'bin/busybox'), 'utf8'), 'odd-length!');
  assert.equal(await readlink(join(dir, 'bin/sh')), 'busybox');
  assert.equal((await stat(join(dir, 'init'))).mode & 0o7777, 0o755);
  assert.equal((await stat(join(dir, 'init'))).mtimeMs / 1000, 1700000000);
});

test('the archive is deterministic: input order does not matter', () => {
  assert.deepEqual(writeCpio(entries, 5), writeCpio([...entries].reverse(), 5));
  assert.notDeepEqual(writeCpio(entries, 5), writeCpio(entries, 6));
});
