import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probeNonce, probeService, PROBE_PATH } from '../../../init/src/probe.ts';

test('the probe runs only for aios.probe=<nonce> on the kernel command line, once, never restarted', () => {
  assert.equal(probeNonce('console=ttyS0 root=/dev/sda1 ro aios.probe=81d4bcae1d40 panic=-1'), '81d4bcae1d40');
  assert.equal(probeNonce('console=ttyS0 root=/dev/sda1 ro panic=-1'), undefined);
  assert.equal(probeNonce('aios.probe= quiet'), undefined);
  assert.equal(probeNonce('aios.probe=$(reboot)'), undefined, 'only letters and digits reach the script');
  assert.equal(probeNonce('xaios.probe=abc'), undefined);
  const s = probeService('abc');
  assert.equal(s.command, PROBE_PATH);
  assert.deepEqual(s.args, ['abc']);
  assert.equal(s.restart, 'never');
  assert.match(s.name, /^[A-Za-z0-9_-]+$/);
});
