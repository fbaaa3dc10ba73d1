import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alternativeLinks, modulesStatus, pinnedRequest, USERSPACE_PACKAGES, userspaceMismatch } from '../../../scripts/gpu/userspace.ts';
import { parseControl } from '../../../scripts/lib/debian.ts';
import { parseSimulation } from '../../../scripts/project/packages.ts';

const at = (v: string) => USERSPACE_PACKAGES.map((name) => ({ name, version: v }));

test('the version pin: 535.309.01 user space is refused against 535.261.03 modules, each package named with what was found', () => {
  assert.equal(userspaceMismatch(at('535.261.03-1'), '535.261.03'), undefined);
  const newer = userspaceMismatch(at('535.309.01-0+deb12u1'), '535.261.03');
  assert.ok(newer);
  assert.match(newer, /must be of the modules' version 535\.261\.03/);
  assert.match(newer, /libcuda1 535\.309\.01-0\+deb12u1 \(535\.309\.01\)/);
  assert.match(newer, /nvidia-smi 535\.309\.01-0\+deb12u1/);
  // One package of another release is enough (apt picks the newest of what is not pinned).
  const mixed = at('535.261.03-1').map((p) => (p.name === 'libnvidia-pkcs11-openssl3' ? { ...p, version: '535.309.01-0+deb12u1' } : p));
  assert.match(userspaceMismatch(mixed, '535.261.03')!, /libnvidia-pkcs11-openssl3 535\.309\.01-0\+deb12u1 \(535\.309\.01\) is not$/);
  assert.match(userspaceMismatch(at('535.261.03-1').slice(1), '535.261.03')!, /libcuda1 \(not resolved\) are missing/);
});

test('every package is asked for at the Debian version of the driver, closure from apt -s kept in order', () => {
  assert.deepEqual(pinnedRequest('535.261.03-1').slice(0, 2), ['libcuda1=535.261.03-1', 'libnvidia-ml1=535.261.03-1']);
  assert.equal(pinnedRequest('535.261.03-1').length, USERSPACE_PACKAGES.length);
  const sim = `Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64]) []
Inst nvidia-legacy-check (535.309.01-0+deb12u1 Debian-Security:12/oldstable-security [amd64])
Inst libcuda1 (535.261.03-1 Debian:12.15/oldstable [amd64])
Conf libcuda1 (535.261.03-1 Debian:12.15/oldstable [amd64])
`;
  assert.deepEqual(parseSimulation(sim), [
    { name: 'libc6', version: '2.36-9+deb12u14' },
    { name: 'nvidia-legacy-check', version: '535.309.01-0+deb12u1' },
    { name: 'libcuda1', version: '535.261.03-1' },
  ]);
});

test('the private dpkg status says the modules are installed and provide what libcuda1 recommends, so DKMS is never pulled', () => {
  const rec = parseControl(modulesStatus('535.261.03'));
  assert.equal(rec.Status, 'install ok installed');
  assert.equal(rec.Version, '535.261.03');
  assert.deepEqual(rec.Provides!.split(', '), ['nvidia-open-kernel-535.261.03', 'nvidia-kernel-535.261.03']);
  // libcuda1's Recommends in bookworm: nvidia-kernel-dkms (= 535.261.03-1) | nvidia-kernel-535.261.03 | nvidia-open-kernel-535.261.03
  assert.ok(rec.Provides!.includes('nvidia-open-kernel-535.261.03'));
  assert.ok(!/dkms/.test(modulesStatus('535.261.03')));
});

test('the links the alternatives system would make: sonames into the multiarch directory, nvidia-smi into /usr/bin', () => {
  const files = [
    'usr/lib/x86_64-linux-gnu/nvidia/current/libcuda.so',
    'usr/lib/x86_64-linux-gnu/nvidia/current/libcuda.so.1',
    'usr/lib/x86_64-linux-gnu/nvidia/current/libcuda.so.535.261.03',
    'usr/lib/x86_64-linux-gnu/nvidia/current/libnvidia-ml.so.1',
    'usr/lib/x86_64-linux-gnu/nvidia/current/libnvidia-ml.so.535.261.03',
    'usr/lib/x86_64-linux-gnu/libnvidia-pkcs11-openssl3.so.535.261.03',
    'usr/lib/nvidia/current/nvidia-smi',
    'usr/lib/nvidia/current/nvidia-smi.1.gz',
    'usr/share/doc/libcuda1/copyright',
  ];
  assert.deepEqual(alternativeLinks(files), [
    { path: 'usr/bin/nvidia-smi', target: '../lib/nvidia/current/nvidia-smi' },
    { path: 'usr/lib/x86_64-linux-gnu/libcuda.so.1', target: 'nvidia/current/libcuda.so.1' },
    { path: 'usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1', target: 'nvidia/current/libnvidia-ml.so.1' },
  ]);
});
