import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FsRoot } from '../../../init/src/fsroot.ts';
import { gpuInfo, isDisplay, modulesFor, parsePciUevent, scanPci } from '../../../init/src/pci.ts';
import { loadModules, planModules, readModuleIndex } from '../../../init/src/modules.ts';
import { fakeSys, fixtureRoot, pciDevice } from './fixtures.ts';

const REL = '6.12.117';
const modulesDep = [
  'kernel/drivers/gpu/drm/drm.ko:',
  'kernel/drivers/gpu/drm/drm_kms_helper.ko: kernel/drivers/gpu/drm/drm.ko',
  'kernel/drivers/gpu/drm/amd/amdgpu/amdgpu.ko: kernel/drivers/gpu/drm/drm_kms_helper.ko kernel/drivers/gpu/drm/drm.ko',
  'kernel/drivers/gpu/drm/nouveau/nouveau.ko: kernel/drivers/gpu/drm/drm_kms_helper.ko kernel/drivers/gpu/drm/drm.ko',
  'kernel/sound/core/snd.ko:',
  'kernel/drivers/hid/hid-generic.ko:',
].join('\n');
const modFiles = {
  [`lib/modules/${REL}/modules.dep`]: modulesDep,
  [`lib/modules/${REL}/modules.builtin`]: 'kernel/fs/ext4/ext4.ko\nkernel/drivers/ata/ahci.ko\n',
};

test('PCI scan: an NVIDIA GPU asks for nouveau when the proprietary module is absent', async () => {
  const root = await fixtureRoot({
    ...pciDevice('0000:01:00.0', '0x10de', '0x2204', '0x030000'),
    ...pciDevice('0000:00:01.0', '0x8086', '0x7000', '0x060100', 'piix'),
  });
  const devs = scanPci(new FsRoot(root));
  assert.equal(devs.length, 2);
  const gpu = devs.filter(isDisplay);
  assert.deepEqual(
    gpu.map((d) => d.slot),
    ['0000:01:00.0'],
  );
  assert.deepEqual(
    modulesFor(gpu[0]!, () => false),
    ['nouveau'],
  );
  assert.deepEqual(
    modulesFor(gpu[0]!, (n) => n === 'nvidia'),
    ['nvidia', 'nvidia_uvm'],
  );
  assert.equal(gpuInfo(gpu[0]!, 'nouveau').vendorName, 'NVIDIA');
});

test('PCI scan: an AMD display device asks for amdgpu, an AMD non-display device asks for nothing', async () => {
  const root = await fixtureRoot({
    ...pciDevice('0000:00:02.0', '0x1002', '0x5046', '0x030000'),
    ...pciDevice('0000:00:03.0', '0x1002', '0x1234', '0x040300'),
  });
  const devs = scanPci(new FsRoot(root));
  assert.deepEqual(
    devs.map((d) => modulesFor(d, () => true)),
    [['amdgpu'], []],
  );
});

test('PCI scan: no GPU, and no /sys at all, are both fine', async () => {
  const root = await fixtureRoot(pciDevice('0000:00:01.0', '0x8086', '0x7000', '0x060100'));
  assert.deepEqual(scanPci(new FsRoot(root)).filter(isDisplay), []);
  assert.deepEqual(scanPci(new FsRoot('/nonexistent-aios')), []);
});

test('module plan: dependencies first, built-in noted, missing reported, never-load refused even when asked', async () => {
  const root = await fixtureRoot(modFiles);
  const index = readModuleIndex(new FsRoot(root), REL);
  const plan = planModules(index, { always: ['ext4', 'ahci', 'nvme'], detected: ['amdgpu'], extra: ['snd', 'hid-generic'], never: ['snd', 'hid'], loaded: [] });
  assert.deepEqual(
    plan.files.map((f) => f.split('/').pop()),
    ['drm.ko', 'drm_kms_helper.ko', 'amdgpu.ko'],
  );
  assert.deepEqual(plan.strategy.builtin, ['ext4', 'ahci']);
  assert.deepEqual(plan.strategy.missing, ['nvme']);
  assert.deepEqual(plan.strategy.refused, ['snd', 'hid_generic']);
  assert.deepEqual(plan.strategy.planned, ['drm', 'drm_kms_helper', 'amdgpu']);
});

test('module plan: what /proc/modules already lists is not loaded again', async () => {
  const root = await fixtureRoot(modFiles);
  const plan = planModules(readModuleIndex(new FsRoot(root), REL), { always: [], detected: ['nouveau'], extra: [], never: [], loaded: ['drm'] });
  assert.deepEqual(
    plan.files.map((f) => f.split('/').pop()),
    ['drm_kms_helper.ko', 'nouveau.ko'],
  );
});

test('loading: a missing file and a failing module are reported, the rest still load', async () => {
  const root = await fixtureRoot({ 'm/a.ko': '', 'm/b.ko': '' });
  const sys = fakeSys();
  const logs: string[] = [];
  const failed = loadModules(sys, [`${root}/m/a.ko`, `${root}/m/gone.ko`, `${root}/m/b.ko`], (m) => logs.push(m));
  assert.equal(sys.calls.filter((c) => c.startsWith('finitModule')).length, 2);
  assert.deepEqual(failed, [`${root}/m/gone.ko`]);
  assert.match(logs[0]!, /gone\.ko is missing/);
});

test('built-in code seen only in /sys/module (AppArmor) counts as built in, loaded modules do not', async () => {
  const { builtinFromSysfs } = await import('../../../init/src/modules.ts');
  const root = await fixtureRoot({ 'sys/module/apparmor/parameters/enabled': 'Y', 'sys/module/drm/refcnt': '1' });
  assert.deepEqual(builtinFromSysfs(new FsRoot(root), ['drm']), ['apparmor']);
  assert.deepEqual(builtinFromSysfs(new FsRoot('/nonexistent-aios'), []), []);
});

test('PCI uevent: IDs and class in the spelling of the sysfs files; no DRIVER line is no driver', () => {
  const nvidia =
    'DRIVER=nvidia\nPCI_CLASS=30000\nPCI_ID=10DE:2204\nPCI_SUBSYS_ID=10DE:1454\nPCI_SLOT_NAME=0000:01:00.0\nMODALIAS=pci:v000010DEd00002204sv000010DEsd00001454bc03sc00i00\n';
  assert.deepEqual(parsePciUevent('0000:01:00.0', nvidia), { slot: '0000:01:00.0', vendor: '0x10de', device: '0x2204', class: '0x030000', driver: 'nvidia' });
  const bridge = parsePciUevent('0000:00:00.0', 'PCI_CLASS=60000\nPCI_ID=8086:1237\n');
  assert.equal(bridge.driver, null);
  assert.equal(bridge.class, '0x060000');
  assert.equal(parsePciUevent('0000:00:01.0', 'DRIVER=virtio-pci\nPCI_CLASS=FFFF00\nPCI_ID=1AF4:1045\n').class, '0xffff00');
});
