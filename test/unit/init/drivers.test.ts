import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsRoot } from '../../../init/src/fsroot.ts';
import { loadInitConfig } from '../../../init/src/config.ts';
import { setupModules } from '../../../init/src/drivers.ts';
import { charMajors, nvidiaNodes } from '../../../init/src/nvidia.ts';
import { fakeSys, fixtureRoot, pciDevice } from './fixtures.ts';

const REL = '6.12.117';
const KERNEL_DEP = [
  'kernel/drivers/gpu/drm/drm.ko:',
  'kernel/drivers/gpu/drm/drm_kms_helper.ko: kernel/drivers/gpu/drm/drm.ko',
  'kernel/drivers/gpu/drm/amd/amdgpu/amdgpu.ko: kernel/drivers/gpu/drm/drm_kms_helper.ko kernel/drivers/gpu/drm/drm.ko',
  'kernel/drivers/gpu/drm/nouveau/nouveau.ko: kernel/drivers/gpu/drm/drm_kms_helper.ko kernel/drivers/gpu/drm/drm.ko',
];
const NVIDIA_DEP = [
  'extra/nvidia.ko:',
  'extra/nvidia-uvm.ko: extra/nvidia.ko',
  'extra/nvidia-modeset.ko: extra/nvidia.ko',
  'extra/nvidia-drm.ko: extra/nvidia-modeset.ko extra/nvidia.ko kernel/drivers/gpu/drm/drm_kms_helper.ko kernel/drivers/gpu/drm/drm.ko',
];
const PROC_DEVICES = 'Character devices:\n  1 mem\n  4 tty\n195 nvidia-frontend\n235 nvidia-caps\n511 nvidia-uvm\n\nBlock devices:\n  8 sd\n259 blkext\n';
const H100 = '0000:41:00.0';

/** A machine: its PCI devices, the image's modules.dep, and what /proc says once drivers ran. */
async function machine(devices: Record<string, string | { link: string }>, dep: string[], proc: Record<string, string> = {}) {
  const files: Record<string, string | { link: string }> = {
    'proc/sys/kernel/osrelease': `${REL}\n`,
    'proc/modules': '',
    [`lib/modules/${REL}/modules.dep`]: dep.join('\n') + '\n',
    [`lib/modules/${REL}/modules.builtin`]: '',
    ...Object.fromEntries(dep.map((l) => [`lib/modules/${REL}/${l.split(':')[0]}`, 'ko'])),
    ...devices,
    ...proc,
  };
  const root = await fixtureRoot(files);
  await writeFile(join(root, 'init.json'), JSON.stringify({ modules: { always: [] } }));
  return { root, fs: new FsRoot(root), config: loadInitConfig(join(root, 'init.json')).config };
}

const quiet = { info: () => {}, warn: () => {} };
const loads = (calls: string[]) => calls.filter((c) => c.startsWith('finitModule')).map((c) => c.split(' ')[1]!.split('/').pop());

test('an H100 (10de:2330) gets nvidia and nvidia_uvm and their device nodes, not nouveau', async () => {
  const m = await machine(pciDevice(H100, '0x10de', '0x2330', '0x030200'), [...KERNEL_DEP, ...NVIDIA_DEP], {
    // What the kernel shows once nvidia and nvidia_uvm are in.
    'proc/modules': 'nvidia_uvm 1 0 - Live 0x0\nnvidia 1 1 nvidia_uvm, Live 0x0\n',
    'proc/devices': PROC_DEVICES,
    [`proc/driver/nvidia/gpus/${H100}/information`]: 'Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 56\nDevice Minor: \t 0\n',
  });
  const sys = fakeSys();
  const r = setupModules(sys, m.fs, m.config, quiet);
  assert.deepEqual(r.strategy.detected, ['nvidia', 'nvidia_uvm']);
  assert.deepEqual(
    r.gpus.map((g) => [g.device, g.module]),
    [['0x2330', 'nvidia']],
  );
  assert.ok(!loads(sys.calls).includes('nouveau.ko'));
  assert.deepEqual(
    sys.calls.filter((c) => c.startsWith('mknodChar')).map((c) => c.replace(m.root, '')),
    [
      'mknodChar /dev/nvidiactl 438 195 255',
      'mknodChar /dev/nvidia0 438 195 0',
      'mknodChar /dev/nvidia-uvm 438 511 0',
      'mknodChar /dev/nvidia-uvm-tools 438 511 1',
    ],
  );
  assert.deepEqual(r.nodes, ['/dev/nvidiactl', '/dev/nvidia0', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools']);
});

test('an H100 before the driver took it: nvidia and nvidia_uvm are planned and loaded, dependencies first', async () => {
  const m = await machine(pciDevice(H100, '0x10de', '0x2330', '0x030200'), [...KERNEL_DEP, ...NVIDIA_DEP]);
  const sys = fakeSys();
  setupModules(sys, m.fs, m.config, quiet);
  assert.deepEqual(loads(sys.calls), ['nvidia.ko', 'nvidia-uvm.ko']);
  assert.equal(sys.calls.filter((c) => c.startsWith('mknodChar')).length, 0, 'no node before the driver is in');
});

test('with modules.nvidiaModeset, nvidia_drm is loaded with modeset=1 after its dependencies', async () => {
  const m = await machine(pciDevice(H100, '0x10de', '0x2330', '0x030200'), [...KERNEL_DEP, ...NVIDIA_DEP]);
  m.config.modules.nvidiaModeset = true;
  const sys = fakeSys();
  setupModules(sys, m.fs, m.config, quiet);
  assert.deepEqual(loads(sys.calls), ['nvidia.ko', 'nvidia-uvm.ko', 'nvidia-modeset.ko', 'drm.ko', 'drm_kms_helper.ko', 'nvidia-drm.ko']);
  assert.ok(sys.calls.find((c) => c.includes('nvidia-drm.ko'))!.endsWith(' modeset=1'));
});

test('an NVIDIA GPU in an image without the NVIDIA modules (gpu.nvidia "none") gets nouveau', async () => {
  const m = await machine(pciDevice(H100, '0x10de', '0x2330', '0x030200'), KERNEL_DEP);
  const sys = fakeSys();
  const r = setupModules(sys, m.fs, m.config, quiet);
  assert.deepEqual(r.strategy.detected, ['nouveau']);
  assert.deepEqual(loads(sys.calls), ['drm.ko', 'drm_kms_helper.ko', 'nouveau.ko']);
  assert.deepEqual(r.nodes, []);
});

test('an AMD GPU gets amdgpu, whatever NVIDIA modules the image holds', async () => {
  const m = await machine(pciDevice('0000:03:00.0', '0x1002', '0x740f', '0x038000'), [...KERNEL_DEP, ...NVIDIA_DEP]);
  const sys = fakeSys();
  const r = setupModules(sys, m.fs, m.config, quiet);
  assert.deepEqual(r.strategy.detected, ['amdgpu']);
  assert.deepEqual(loads(sys.calls), ['drm.ko', 'drm_kms_helper.ko', 'amdgpu.ko']);
});

test('/proc/devices: character majors only; nodes follow the minors the driver gave, uvm only with its major', () => {
  const majors = charMajors(PROC_DEVICES);
  assert.equal(majors.get('nvidia-uvm'), 511);
  assert.equal(majors.get('sd'), undefined, 'block devices are not character majors');
  const nodes = nvidiaNodes(new Map(), [1, 0], ['nvidia', 'nvidia_uvm', 'nvidia_modeset']);
  assert.deepEqual(
    nodes.map((n) => `${n.path} ${n.major}:${n.minor}`),
    ['/dev/nvidiactl 195:255', '/dev/nvidia0 195:0', '/dev/nvidia1 195:1', '/dev/nvidia-modeset 195:254'],
  );
  assert.deepEqual(nvidiaNodes(majors, [0], []), []);
});
