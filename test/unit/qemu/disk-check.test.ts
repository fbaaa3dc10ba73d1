import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkBootedDisk } from '../../../qemu/disk-check.ts';
import { parsePartitions } from '../../../common/partitions.ts';
import { GPT_ESP, GPT_LINUX_DATA, sfdiskScript } from '../../../scripts/images/tool-args.ts';
import { secureBootProblem } from '../../../qemu/vm-options.ts';
import { scratchDir } from '../scratch.ts';

const MiB = 1 << 20;

const part = (sectors: number, type = GPT_LINUX_DATA) => ({ sectors, type, uuid: '01234567-89AB-4DEF-8123-456789ABCDEF', name: 'p' });

/** A disk as the build lays it out: GPT, a 4 MiB "root" partition, an 8 MiB ext4 state partition, a 1 MiB "EFI" partition. */
async function disk(dir: string): Promise<string> {
  const f = join(dir, 'rootfs.img');
  await writeFile(f, Buffer.alloc(15 * MiB));
  execFileSync('/sbin/sfdisk', ['-q', f], {
    input: sfdiskScript({ labelId: 'ABCDEF01-2345-4789-8ABC-DEF012345678', startSector: 2048, partitions: [part(8192), part(16384), part(2048, GPT_ESP)] }),
  });
  const state = join(dir, 'state.img');
  execFileSync('/sbin/mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'aios-state', state, '8M'], { stdio: 'ignore' });
  execFileSync('dd', [`if=${state}`, `of=${f}`, 'bs=1M', 'seek=5', 'conv=notrunc', 'status=none']);
  return f;
}

test('the partitions in bytes, as sfdisk --json reads them', () => {
  const t = JSON.stringify({
    partitiontable: {
      sectorsize: 512,
      partitions: [
        { start: 2048, size: 8192 },
        { start: 10240, size: 16384 },
      ],
    },
  });
  assert.deepEqual(parsePartitions(t), [
    { start: MiB, size: 4 * MiB },
    { start: 5 * MiB, size: 8 * MiB },
  ]);
});

test('the disk after a boot: the root partition byte for byte as built, the state partition clean; a written root fails', async () => {
  const dir = scratchDir('aios-disk-');
  const built = await disk(dir);
  const booted = join(dir, 'booted.img');
  await copyFile(built, booted);
  const good = await checkBootedDisk(booted, built);
  assert.equal(good.ok, true, good.detail);
  assert.match(good.detail, /^root partition unchanged; EFI partition unchanged; state partition: e2fsck -fn exit 0/);
  const fh = await open(booted, 'r+');
  await fh.write(Buffer.from('x'), 0, 1, 13 * MiB + 5);
  const espWritten = await checkBootedDisk(booted, built);
  assert.equal(espWritten.ok, false);
  assert.match(espWritten.detail, /EFI partition CHANGED by the boot/);
  await fh.write(Buffer.from('x'), 0, 1, 2 * MiB);
  await fh.close();
  const bad = await checkBootedDisk(booted, built);
  assert.equal(bad.ok, false);
  assert.match(bad.detail, /root partition CHANGED by the boot/);
});

test('the Secure Boot path refuses a build signed with keys the snakeoil variables do not trust, saying why', () => {
  assert.equal(secureBootProblem('direct', {}), undefined);
  assert.equal(secureBootProblem('iso-secureboot', { secureBoot: { keys: 'snakeoil', test: true, dbCertSha256: 'a', moduleCertSha256: 'b' } }), undefined);
  assert.match(
    secureBootProblem('iso-secureboot', { secureBoot: { keys: '/k', test: false, dbCertSha256: 'a', moduleCertSha256: 'b' } })!,
    /trust Debian's test key only; this build is signed with \/k/,
  );
  assert.match(secureBootProblem('iso-secureboot', {})!, /records no signing keys/);
});

test('on the A/B layout a boot that writes slot B fails the check too: no update ran, so neither slot may change', async () => {
  const dir = scratchDir('aios-disk-ab-');
  const f = join(dir, 'rootfs.img');
  await writeFile(f, Buffer.alloc(19 * MiB));
  execFileSync('/sbin/sfdisk', ['-q', f], {
    input: sfdiskScript({
      labelId: 'ABCDEF01-2345-4789-8ABC-DEF012345678',
      startSector: 2048,
      partitions: [part(8192), part(16384), part(2048, GPT_ESP), part(8192)],
    }),
  });
  const state = join(dir, 'state.img');
  execFileSync('/sbin/mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'aios-state', state, '8M'], { stdio: 'ignore' });
  execFileSync('dd', [`if=${state}`, `of=${f}`, 'bs=1M', 'seek=5', 'conv=notrunc', 'status=none']);
  const booted = join(dir, 'booted.img');
  await copyFile(f, booted);
  assert.match((await checkBootedDisk(booted, f)).detail, /^root partitions \(slots A and B\) unchanged/);
  const fh = await open(booted, 'r+');
  await fh.write(Buffer.from('x'), 0, 1, 14 * MiB + 7);
  await fh.close();
  const bad = await checkBootedDisk(booted, f);
  assert.equal(bad.ok, false);
  assert.match(bad.detail, /root partitions \(slots A and B\) CHANGED by the boot/);
});
