import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseReportLba, readIsoFacts } from '../../../qemu/image-facts.ts';
import { scratchDir } from '../scratch.ts';

test("an ISO's facts come from its own squashfs root: fstab, init.json, the module index; a file it lacks is null", async () => {
  const dir = scratchDir('aios-isofacts-');
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'etc/aios'), { recursive: true });
  mkdirSync(join(tree, 'lib/modules/6.1.0-test'), { recursive: true });
  writeFileSync(join(tree, 'etc/fstab'), 'tmpfs /var/tmp tmpfs rw,nosuid 0 0\n');
  writeFileSync(join(tree, 'lib/modules/6.1.0-test/modules.dep'), 'kernel/drivers/gpu/drm/amd/amdgpu/amdgpu.ko: kernel/drivers/gpu/drm/drm.ko\n');
  const iso = join(dir, 'iso');
  mkdirSync(join(iso, 'aios'), { recursive: true });
  execFileSync('mksquashfs', [tree, join(iso, 'aios/rootfs.squashfs'), '-quiet', '-no-progress']);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', join(dir, 'aios.iso'), iso], { stdio: 'ignore' });
  const facts = await readIsoFacts(join(dir, 'aios.iso'), '6.1.0-test');
  assert.deepEqual(facts.fstab, [{ source: 'tmpfs', target: '/var/tmp', fstype: 'tmpfs', options: ['rw', 'nosuid'] }]);
  assert.equal(facts.initJson, null, 'no init.json in this root');
  assert.deepEqual(facts.moduleDeps.get('amdgpu'), ['drm']);
  assert.match(facts.source, /aios\.iso \(\/aios\/rootfs\.squashfs\)$/);
});

test("the ISO's root is read where it lies: xorriso's report_lba, one extent only", () => {
  const report = [
    'Report layout: xt , Startlba ,   Blocks , Filesize , ISO image path',
    "File data lba:  0 ,       35 ,        1 ,         2 , '/boot/x'",
    "File data lba:  0 ,    15649 ,    56320 , 115343360 , '/aios/rootfs.squashfs'",
  ].join('\n');
  assert.deepEqual(parseReportLba(report, '/aios/rootfs.squashfs'), { offset: 15649 * 2048, size: 115343360 });
  assert.throws(() => parseReportLba(report, '/aios/other'), /the ISO has no \/aios\/other/);
  const split = `${report}\nFile data lba:  1 ,    99999 ,        4 ,      8192 , '/aios/rootfs.squashfs'`;
  assert.throws(() => parseReportLba(split, '/aios/rootfs.squashfs'), /lies in 2 extents/);
});
