// A build of the ISO alone (formats: ["iso"], which an error message recommends) is judged from
// the ISO's own root: its fstab, init.json and module index, read on the host from the squashfs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aios, qemuProcesses, extended } from './helpers.ts';

test('an ISO-only build passes aios check --path iso-bios, every check judged from the ISO', extended, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aios-isoonly-'));
  try {
    const b = await aios(['build', '--format', 'iso', '--out', dir]);
    assert.equal(b.code, 0, b.out);
    assert.ok(existsSync(join(dir, 'aios.iso')) && !existsSync(join(dir, 'rootfs.img')), 'the ISO alone');
    const r = await aios(['check', '--out', dir, '--path', 'iso-bios', '--json', join(dir, 'check.json')]);
    assert.equal(r.code, 0, r.out);
    for (const name of ['filesystems mounted', 'no unneeded modules loaded', 'image configuration accepted', 'inference answers'])
      assert.match(r.out, new RegExp(`iso-bios +${name} +PASS`), r.out);
    assert.deepEqual(await qemuProcesses(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
