import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeImageVariant } from '../../../scripts/lib/image-variant.ts';
import { scratchDir } from '../scratch.ts';

/** A build directory whose rootfs.img is 1 MiB of nothing, then a small ext4 made from `tree` (as the build lays it out). */
function tinyBuild(): string {
  const out = scratchDir('aios-tinybuild-');
  const tree = join(out, 'tree');
  mkdirSync(join(tree, 'etc/aios'), { recursive: true });
  writeFileSync(join(tree, 'etc/aios/init.json'), JSON.stringify({ hostname: 'aios', services: [{ name: 'a' }] }));
  writeFileSync(join(tree, 'etc/hostname'), 'aios\n');
  execFileSync('/sbin/mke2fs', ['-q', '-F', '-t', 'ext4', '-d', tree, '-E', `offset=${1 << 20}`, join(out, 'rootfs.img'), '4M'], { stdio: 'ignore' });
  for (const f of ['vmlinuz', 'initramfs.img', 'build.json']) writeFileSync(join(out, f), f);
  return out;
}

const cat = (dir: string, path: string) =>
  execFileSync('/sbin/debugfs', ['-R', `cat ${path}`, `${join(dir, 'rootfs.img')}?offset=${1 << 20}`], {
    encoding: 'latin1',
    stdio: ['ignore', 'pipe', 'ignore'],
  });

test('an image variant: init.json edited and a file written in a copy; the build itself untouched', async () => {
  const out = tinyBuild();
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
