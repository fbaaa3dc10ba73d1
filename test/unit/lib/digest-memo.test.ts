import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { forgetDigests, memoDigest, rememberDigests, MEMO_MIN_BYTES } from '../../../scripts/lib/digest-memo.ts';

const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

test('a large file is read once while it stays the same version; a write, or its old mtime put back, reads it again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aios-memo-'));
  try {
    const memoFile = join(dir, 'digests.json');
    const big = join(dir, 'big.bin');
    await writeFile(big, Buffer.alloc(MEMO_MIN_BYTES, 1));
    let reads = 0;
    const counted = (p: string) => (reads++, sha(p));
    await rememberDigests(memoFile);
    const first = await memoDigest(big, 'sha256', counted);
    assert.equal(await memoDigest(big, 'sha256', counted), first);
    assert.equal(reads, 1);
    // Another process: the memo is on disk.
    await rememberDigests(memoFile);
    assert.equal(await memoDigest(big, 'sha256', counted), first);
    assert.equal(reads, 1);
    // Same size, other bytes, and the old mtime put back: ctime still tells.
    const before = await stat(big);
    await writeFile(big, Buffer.alloc(MEMO_MIN_BYTES, 2));
    await utimes(big, before.atime, before.mtime);
    const second = await memoDigest(big, 'sha256', counted);
    assert.equal(reads, 2);
    assert.notEqual(second, first);
    assert.equal(second, await sha(big));
    // Another kind of digest of the same version is its own entry.
    await memoDigest(big, 'integrity-sha512', async () => (reads++, 'x'));
    assert.equal(reads, 3);
    assert.equal(await memoDigest(big, 'sha256', counted), second);
    assert.equal(reads, 3);
  } finally {
    forgetDigests();
    await rm(dir, { recursive: true, force: true });
  }
});

test('small files, files without a memo, and a memo file of another shape are read every time', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aios-memo-'));
  try {
    const small = join(dir, 'small');
    const big = join(dir, 'big');
    await writeFile(small, 'x');
    await writeFile(big, Buffer.alloc(MEMO_MIN_BYTES));
    let reads = 0;
    const counted = (p: string) => (reads++, sha(p));
    forgetDigests();
    await memoDigest(big, 'sha256', counted);
    await memoDigest(big, 'sha256', counted);
    assert.equal(reads, 2, 'no memo named: every call reads');
    const memoFile = join(dir, 'digests.json');
    await writeFile(memoFile, JSON.stringify({ [big]: { key: 1, digests: [] } }));
    await rememberDigests(memoFile);
    await memoDigest(small, 'sha256', counted);
    await memoDigest(small, 'sha256', counted);
    assert.equal(reads, 4, 'a small file is read each time');
    await memoDigest(big, 'sha256', counted);
    assert.equal(reads, 5, 'the malformed memo is not trusted');
    await memoDigest(big, 'sha256', counted);
    assert.equal(reads, 5);
  } finally {
    forgetDigests();
    await rm(dir, { recursive: true, force: true });
  }
});
