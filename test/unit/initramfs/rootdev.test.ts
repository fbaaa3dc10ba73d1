import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile, mkdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const lib = join(import.meta.dirname, '../../../initramfs/lib/rootdev.sh');

/** Run find_root against a fixture /dev and a fake blkid that prints `blkidLines`. */
async function findRoot(spec: string, devNodes: string[], blkidLines: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aios-root-'));
  await mkdir(join(dir, 'dev'));
  for (const n of devNodes) await writeFile(join(dir, 'dev', n), '');
  const blkid = join(dir, 'blkid');
  await writeFile(blkid, `#!/bin/sh\ncat <<'X'\n${blkidLines.join('\n')}\nX\n`);
  await chmod(blkid, 0o755);
  return execFileSync('sh', ['-c', `. ${lib}; find_root "$1"`, 'sh', spec], { env: { PATH: process.env.PATH, DEV: join(dir, 'dev'), BLKID: blkid } }).toString().trim();
}

const blkid = ['/dev/sda1: LABEL="aios-root" UUID="1234-abcd" TYPE="ext4"', '/dev/sr0: LABEL="AIOS" TYPE="iso9660"', '/dev/sdb1: LABEL="AIOS-old" UUID="9999" TYPE="ext4"'];

test('root=/dev/sda1 is found when its node exists, not otherwise', async () => {
  assert.match(await findRoot('/dev/sda1', ['sda', 'sda1'], []), /\/dev\/sda1$/);
  assert.equal(await findRoot('/dev/sda1', ['sda'], []), '');
});

test('LABEL= and UUID= come from blkid, exact match only', async () => {
  assert.equal(await findRoot('LABEL=AIOS', [], blkid), '/dev/sr0');
  assert.equal(await findRoot('LABEL=aios-root', [], blkid), '/dev/sda1');
  assert.equal(await findRoot('UUID=9999', [], blkid), '/dev/sdb1');
  assert.equal(await findRoot('LABEL=MISSING', [], blkid), '');
});

test('the stage-1 script is valid POSIX sh', () => {
  execFileSync('sh', ['-n', join(import.meta.dirname, '../../../initramfs/init')]);
});
