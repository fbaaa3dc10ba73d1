import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allowedModules, attachedDisplays, imageInitConfig } from '../../../qemu/policy.ts';
import { mountsWanted, parseFstab } from '../../../qemu/image-facts.ts';
import { goodImage } from './fixtures.ts';
import { scratchDir } from '../scratch.ts';

test("the allowed modules come from the image's init.json, its modules.dep and the display devices found", () => {
  const image = goodImage();
  const { config } = imageInitConfig(image.initJson);
  assert.deepEqual([...allowedModules(config, image, []).keys()].sort(), [...config.modules.always].sort());
  const amd = allowedModules(config, image, [{ slot: '0000:00:03.0', vendor: '0x1002', device: '0x5046', class: '0x030000', driver: null, modalias: '' }]);
  assert.equal(amd.get('amdgpu'), 'for the display device 0x1002:0x5046 at 0000:00:03.0');
  assert.equal(amd.get('i2c_core'), 'needed by amdgpu');
  assert.equal(amd.size, config.modules.always.length + 18);
  // NVIDIA: the open modules when the image has them.
  const nv = allowedModules(config, image, [{ slot: '0000:01:00.0', vendor: '0x10de', device: '0x2330', class: '0x030200', driver: null, modalias: '' }]);
  assert.ok(nv.has('nvidia') && nv.has('nvidia_uvm') && !nv.has('nouveau') && !nv.has('nvidia_drm'));
  // A never-load module is never allowed, not even when a device asks for it.
  const never = { ...config, modules: { ...config.modules, never: [...config.modules.never, 'amdgpu'] } };
  assert.ok(!allowedModules(never, image, [{ slot: 's', vendor: '0x1002', device: '0x5046', class: '0x030000', driver: null, modalias: '' }]).has('amdgpu'));
});

test("display devices in QEMU's arguments, by QEMU's fixed IDs or the host's sysfs for vfio-pci", () => {
  assert.deepEqual(attachedDisplays(['-device', 'ati-vga,addr=05.1', '-device', 'virtio-net-pci']), [
    { spec: 'ati-vga,addr=05.1', vendor: '0x1002', device: '0x5046' },
  ]);
  assert.deepEqual(attachedDisplays(['-device=ati-vga,model=rv100', '-vga', 'std']), [
    { spec: 'ati-vga,model=rv100', vendor: '0x1002', device: '0x5159' },
    { spec: '-vga std', vendor: '0x1234', device: '0x1111' },
  ]);
  const sys = scratchDir('aios-sysfs-');
  for (const [slot, cls] of [
    ['0000:01:00.0', '0x030200'],
    ['0000:02:00.0', '0x020000'],
  ] as const) {
    mkdirSync(join(sys, slot));
    writeFileSync(join(sys, slot, 'class'), `${cls}\n`);
    writeFileSync(join(sys, slot, 'vendor'), '0x10de\n');
    writeFileSync(join(sys, slot, 'device'), '0x2330\n');
  }
  assert.deepEqual(attachedDisplays(['-device', 'vfio-pci,host=01:00.0', '-device', 'vfio-pci,host=0000:02:00.0'], sys), [
    { spec: 'vfio-pci,host=01:00.0', vendor: '0x10de', device: '0x2330' },
  ]);
});

test('fstab: the mount points wanted at boot, parsed apart from aios-init', () => {
  const f = parseFstab(
    '# c\n/dev/root / auto rw 0 1\ntmpfs /var/tmp tmpfs mode=1777 0 0\n/swap none swap sw 0 0\n/dev/sdb1 /mnt/my\\040data ext4 noauto 0 2\nLABEL=x /data xfs defaults\n',
  );
  assert.deepEqual(
    mountsWanted(f).map((e) => e.target),
    ['/', '/var/tmp', '/data'],
  );
  assert.equal(f[3]!.target, '/mnt/my data');
  assert.deepEqual(
    mountsWanted(parseFstab('tmpfs /var/tmp tmpfs defaults 0 0')).map((e) => e.target),
    ['/', '/var/tmp'],
    'the root is wanted even when fstab does not name it',
  );
});
