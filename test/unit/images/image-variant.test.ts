import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeImageVariant } from '../../../scripts/images/image-variant.ts';
import { scratchDir } from '../scratch.ts';
import { appendVerity, veritysetupVerifyArgs, VERITYSETUP } from '../../../scripts/images/verity.ts';
import { GPT_LINUX_DATA, sfdiskScript } from '../../../scripts/images/tool-args.ts';

const MiB = 1 << 20;

/**
 * A build directory laid out as the build lays it out: an MBR, partition 1 a small ext4 made
 * from `tree` with its dm-verity hash tree after it, and build.json recording the root hash.
 */
async function tinyBuild(): Promise<string> {
  const out = scratchDir('aios-tinybuild-');
  const tree = join(out, 'tree');
  mkdirSync(join(tree, 'etc/aios'), { recursive: true });
  writeFileSync(join(tree, 'etc/aios/init.json'), JSON.stringify({ hostname: 'aios', services: [{ name: 'a' }] }));
  writeFileSync(join(tree, 'etc/hostname'), 'aios\n');
  const part = join(out, 'part.img');
  execFileSync('/sbin/mke2fs', ['-q', '-F', '-t', 'ext4', '-O', '^has_journal', '-d', tree, part, '4M'], { stdio: 'ignore' });
  const verity = await appendVerity(part, 4 * MiB, 'seed', () => {});
  const disk = join(out, 'rootfs.img');
  writeFileSync(disk, '');
  execFileSync('truncate', ['-s', String(2 * MiB + statSync(part).size), disk]);
  const p1 = { sectors: statSync(part).size / 512, type: GPT_LINUX_DATA, uuid: '01234567-89AB-4DEF-8123-456789ABCDEF', name: 'aios-root' };
  execFileSync('/sbin/sfdisk', ['-q', disk], { input: sfdiskScript({ labelId: '01020304-0506-4708-890A-0B0C0D0E0F10', startSector: 2048, partitions: [p1] }) });
  execFileSync('dd', [`if=${part}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
  for (const f of ['vmlinuz', 'initramfs.img']) writeFileSync(join(out, f), f);
  writeFileSync(join(out, 'build.json'), JSON.stringify({ verity: { disk: verity, onCorruption: 'panic' } }));
  return out;
}

/** Partition 1 of a variant checked against the root hash its build.json records. */
function verityVerify(dir: string): void {
  const v = (JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')) as { verity: { disk: { rootHash: string; hashOffset: number } } }).verity.disk;
  const part = join(dir, 'check.part');
  execFileSync('dd', [`if=${join(dir, 'rootfs.img')}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none']);
  execFileSync(VERITYSETUP, veritysetupVerifyArgs({ image: part, hashOffset: v.hashOffset, rootHash: v.rootHash }), { stdio: 'ignore' });
}

const cat = (dir: string, path: string) =>
  execFileSync('/sbin/debugfs', ['-R', `cat ${path}`, `${join(dir, 'rootfs.img')}?offset=${1 << 20}`], {
    encoding: 'latin1',
    stdio: ['ignore', 'pipe', 'ignore'],
  });

test('an image variant: init.json edited and a file written in a copy, with a new verity root hash; the build itself untouched', async () => {
  const out = await tinyBuild();
  const before = readFileSync(join(out, 'build.json'), 'utf8');
  const dir = await makeImageVariant(out, {
    initJson: (j) => ({ ...j, services: [], network: { dhcp: false } }),
    files: { '/etc/hostname': { content: 'other\n' }, '/etc/blob': { content: Uint8Array.of(0, 0xff, 0x56, 10), mode: 0o755 } },
  });
  try {
    assert.deepEqual(JSON.parse(cat(dir, '/etc/aios/init.json')), { hostname: 'aios', services: [], network: { dhcp: false } });
    assert.equal(cat(dir, '/etc/hostname'), 'other\n');
    assert.deepEqual([...Buffer.from(cat(dir, '/etc/blob'), 'latin1')], [0, 0xff, 0x56, 10], 'binary content written as it is');
    assert.deepEqual(JSON.parse(cat(out, '/etc/aios/init.json')).services, [{ name: 'a' }], 'the build is as it was');
    execFileSync('/sbin/e2fsck', ['-fn', `${join(dir, 'rootfs.img')}?offset=${1 << 20}`], { stdio: 'ignore' });
    assert.notEqual(readFileSync(join(dir, 'build.json'), 'utf8'), before, 'a new root hash for the new root');
    verityVerify(dir);
    verityVerify(out);
    assert.equal(readFileSync(join(out, 'build.json'), 'utf8'), before);
  } finally {
    execFileSync('rm', ['-rf', dir]);
  }
});

test('an image variant that cannot be made leaves no scratch directory behind', async () => {
  const out = scratchDir('aios-nobuild-');
  const before = readdirSync(tmpdir()).filter((d) => d.startsWith('aios-variant-'));
  await assert.rejects(makeImageVariant(out, {}), /ENOENT/);
  assert.deepEqual(
    readdirSync(tmpdir()).filter((d) => d.startsWith('aios-variant-')),
    before,
  );
});
