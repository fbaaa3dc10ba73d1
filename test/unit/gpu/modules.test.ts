import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModinfo, vermagicMatches } from '../../../scripts/gpu/modinfo.ts';
import { NVIDIA_MODULES, pickUpstream, upstreamVersion } from '../../../scripts/gpu/pins.ts';
import { detectLayout, parseDriverVersion } from '../../../scripts/gpu/source.ts';
import { nvidiaInstallArgs, nvidiaModulesArgs } from '../../../scripts/gpu/make.ts';

const MODINFO = `filename:       /x/extra/nvidia-uvm.ko
version:        535.261.03
supported:      external
license:        Dual MIT/GPL
depends:        nvidia
retpoline:      Y
name:           nvidia_uvm
vermagic:       6.12.117 SMP mod_unload 
parm:           uvm_ats_mode:Set to 0 to disable ATS (int)
`;

test('modinfo: name, version, dependencies and vermagic', () => {
  const m = parseModinfo(MODINFO);
  assert.deepEqual(m, { name: 'nvidia_uvm', version: '535.261.03', vermagic: '6.12.117 SMP mod_unload', depends: ['nvidia'], license: 'Dual MIT/GPL' });
  assert.equal(vermagicMatches(m.vermagic, '6.12.117'), true);
  assert.equal(vermagicMatches(m.vermagic, '6.12.11'), false);
  assert.equal(vermagicMatches('6.1.0-28-amd64 SMP preempt mod_unload modversions ', '6.12.117'), false);
});

test('Debian versions: the upstream part, and the firmware version that matches a driver', () => {
  assert.equal(upstreamVersion('535.261.03-1'), '535.261.03');
  assert.equal(upstreamVersion('1:535.309.01-0+deb12u1'), '535.309.01');
  assert.equal(pickUpstream(['535.309.01-0+deb12u1', '535.261.03-1'], '535.261.03'), '535.261.03-1');
  assert.equal(pickUpstream(['535.309.01-0+deb12u1'], '535.261.03'), undefined);
});

test('source layouts: Debian kernel-open tree, NVIDIA repository, neither', () => {
  const has = (files: string[]) => (rel: string) => files.includes(rel);
  assert.equal(detectLayout(has(['Kbuild', 'conftest.sh', 'nvidia/nv-kernel.o_binary'])), 'kernel-open');
  assert.equal(detectLayout(has(['kernel-open/Kbuild', 'src/nvidia', 'Makefile'])), 'repository');
  assert.equal(detectLayout(has(['Kbuild', 'conftest.sh'])), undefined);
  assert.equal(parseDriverVersion('ccflags-y += -DNV_VERSION_STRING=\\"535.261.03\\"\n'), '535.261.03');
  assert.equal(parseDriverVersion('NVIDIA_VERSION = 550.54.14\n'), '550.54.14');
  assert.equal(parseDriverVersion('obj-m += nvidia.o'), undefined);
});

test('make lines: NVIDIA Makefile against the kernel trees with the same compiler; install under extra/ without depmod', () => {
  const m = { tree: '/w/t', kernelSrc: '/k/src', kernelObj: '/k/obj', jobs: 2, ccache: true };
  assert.deepEqual(nvidiaModulesArgs(m), [
    '-C',
    '/w/t',
    '-j2',
    'SYSSRC=/k/src',
    'SYSOUT=/k/obj',
    'ARCH=x86_64',
    'CC=ccache gcc',
    `NV_KERNEL_MODULES=${NVIDIA_MODULES.join(' ')}`,
    'KCFLAGS=-ffile-prefix-map=/w/t/=',
    'modules',
  ]);
  assert.ok(!NVIDIA_MODULES.includes('nvidia-peermem' as never));
  const install = nvidiaInstallArgs({ ...m, ccache: false }, '/out/modules');
  assert.deepEqual(install.slice(0, 4), ['-C', '/k/src', 'O=/k/obj', 'M=/w/t']);
  for (const a of ['INSTALL_MOD_PATH=/out/modules', 'INSTALL_MOD_DIR=extra', 'INSTALL_MOD_STRIP=1', 'DEPMOD=true']) assert.ok(install.includes(a), a);
  assert.equal(install.at(-1), 'modules_install');
});
