import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainAptFailure, parseSimulation } from '../../../scripts/project/packages.ts';
import { PACKAGE_SPEC } from '../../../scripts/project/config.ts';

const SIM = `NOTE: This is only a simulation!
Inst gcc-12-base (12.2.0-14+deb12u1 Debian:12.15/oldstable [amd64])
Inst libgcc-s1 (12.2.0-14+deb12u1 Debian:12.15/oldstable [amd64]) []
Inst libc6 [2.36-9] (2.36-9+deb12u14 Debian:12.15/oldstable [amd64])
Inst strace (6.1-0.1 Debian:12.15/oldstable [amd64])
Conf strace (6.1-0.1 Debian:12.15/oldstable [amd64])
`;

test('apt-get -s install: every package of the closure with the version Debian resolves', () => {
  assert.deepEqual(parseSimulation(SIM), [
    { name: 'gcc-12-base', version: '12.2.0-14+deb12u1' },
    { name: 'libgcc-s1', version: '12.2.0-14+deb12u1' },
    { name: 'libc6', version: '2.36-9+deb12u14' },
    { name: 'strace', version: '6.1-0.1' },
  ]);
});

test("apt's failures become errors that name the input and the fix", () => {
  const where = '/p/aios.json: packages';
  assert.match(
    explainAptFailure('E: Unable to locate package stracee', ['stracee'], where),
    /^\/p\/aios\.json: packages: Debian has no package stracee .*apt-cache search/,
  );
  assert.match(
    explainAptFailure("E: Version '1.0' for 'strace' was not found", ['strace=1.0'], where),
    /strace=1\.0: no such version in Debian; leave the version out/,
  );
  const unmet = [
    'Some packages could not be installed. This may mean that you have',
    'The following packages have unmet dependencies:',
    ' openssl : Depends: libssl3 (>= 3.0.17) but 3.0.16-1~deb12u1 is to be installed',
    'E: Unable to correct problems, you have held broken packages.',
  ].join('\n');
  const msg = explainAptFailure(unmet, ['openssl', 'libssl3=3.0.16-1~deb12u1'], where);
  assert.match(msg, /the dependencies of openssl, libssl3=3\.0\.16-1~deb12u1 cannot be resolved/);
  assert.match(msg, /openssl : Depends: libssl3 \(>= 3\.0\.17\) but 3\.0\.16-1~deb12u1 is to be installed/);
  assert.match(msg, /relax the versions pinned/);
});

test('package specs: a name, optionally =version', () => {
  assert.ok(PACKAGE_SPEC.test('ca-certificates'));
  assert.ok(PACKAGE_SPEC.test('libc6=2.36-9+deb12u14'));
  assert.ok(PACKAGE_SPEC.test('g++'));
  assert.ok(!PACKAGE_SPEC.test('strace; rm -rf /'));
  assert.ok(!PACKAGE_SPEC.test('Strace'));
});
