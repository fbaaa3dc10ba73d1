import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile, mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '../scratch.ts';

const lib = join(import.meta.dirname, '../../../initramfs/lib/rootdev.sh');

/** Run find_root against a fixture /dev and a fake findfs that knows the devices in `table`. */
async function findRoot(spec: string, devNodes: string[], table: string[]): Promise<string> {
  const dir = scratchDir('aios-root-');
  await mkdir(join(dir, 'dev'));
  for (const n of devNodes) await writeFile(join(dir, 'dev', n), '');
  const findfs = join(dir, 'findfs');
  // Like busybox findfs: print the device whose LABEL= or UUID= matches exactly, else fail.
  await writeFile(
    findfs,
    `#!/bin/sh\nwhile read -r dev label uuid; do\n  [ "$1" = "LABEL=$label" ] || [ "$1" = "UUID=$uuid" ] && { echo "$dev"; exit 0; }\ndone <<'X'\n${table.join('\n')}\nX\nexit 1\n`,
  );
  await chmod(findfs, 0o755);
  return execFileSync('sh', ['-c', `. ${lib}; find_root "$1"`, 'sh', spec], { env: { PATH: process.env.PATH, DEV: join(dir, 'dev'), FINDFS: findfs } })
    .toString()
    .trim();
}

const blkid = ['/dev/sda1 aios-root 1234-abcd', '/dev/sr0 AIOS 2024-01-01', '/dev/sdb1 AIOS-old 9999'];

test('root=/dev/sda1 is found when its node exists, not otherwise', async () => {
  assert.match(await findRoot('/dev/sda1', ['sda', 'sda1'], []), /\/dev\/sda1$/);
  assert.equal(await findRoot('/dev/sda1', ['sda'], []), '');
});

test('LABEL= and UUID= are looked up with findfs, exact match only; no match is no device', async () => {
  assert.equal(await findRoot('LABEL=AIOS', [], blkid), '/dev/sr0');
  assert.equal(await findRoot('LABEL=aios-root', [], blkid), '/dev/sda1');
  assert.equal(await findRoot('UUID=9999', [], blkid), '/dev/sdb1');
  assert.equal(await findRoot('LABEL=MISSING', [], blkid), '');
});

test('the stage-1 script is valid POSIX sh', () => {
  execFileSync('sh', ['-n', join(import.meta.dirname, '../../../initramfs/init')]);
});

test("PARTLABEL= is the GPT partition of that name, from the kernel's uevent (exact, not a prefix); none is no device", async () => {
  const dir = scratchDir('aios-sys-');
  const parts: Record<string, string> = { vda1: 'aios-root-a', vda2: 'aios-state', vda4: 'aios-root-b', sda1: 'aios-root-bb' };
  for (const [dev, name] of Object.entries(parts)) {
    await mkdir(join(dir, 'class/block', dev), { recursive: true });
    await writeFile(join(dir, 'class/block', dev, 'uevent'), `MAJOR=254\nMINOR=1\nDEVNAME=${dev}\nDEVTYPE=partition\nPARTN=1\nPARTNAME=${name}\n`);
  }
  await mkdir(join(dir, 'class/block/vda'), { recursive: true });
  await writeFile(join(dir, 'class/block/vda/uevent'), 'MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n');
  const find = (spec: string) =>
    execFileSync('sh', ['-c', `. ${lib}; find_root "$1"`, 'sh', spec], { env: { PATH: process.env.PATH, DEV: '/dev', SYS: dir } })
      .toString()
      .trim();
  assert.equal(find('PARTLABEL=aios-root-b'), '/dev/vda4');
  assert.equal(find('PARTLABEL=aios-root-a'), '/dev/vda1');
  assert.equal(find('PARTLABEL=aios-root'), '');
  assert.equal(find('PARTLABEL=aios-root-.'), '', 'a name, not a pattern');
});
