import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECK_CHANNEL, probeNonce, probeService, PROBE_PATH } from '../../../init/src/probe.ts';
import { FsRoot } from '../../../init/src/fsroot.ts';
import { fixtureRoot as tree } from './fixtures.ts';

const fixtureRoot = async (files: Record<string, string>) => new FsRoot(await tree(files));

test("the probe runs only with a nonce in QEMU's fw_cfg (never from the command line), once, never restarted", async () => {
  const fw = 'sys/firmware/qemu_fw_cfg/by_name/opt/aios/probe/raw';
  assert.equal(probeNonce(await fixtureRoot({ [fw]: '81d4bcae1d40' })), '81d4bcae1d40');
  assert.equal(probeNonce(await fixtureRoot({ 'proc/cmdline': 'aios.probe=81d4bcae1d40' })), undefined);
  assert.equal(probeNonce(await fixtureRoot({ [fw]: '' })), undefined);
  assert.equal(probeNonce(await fixtureRoot({ [fw]: '$(reboot)' })), undefined, 'only letters and digits reach the script');
  const s = probeService('abc', CHECK_CHANNEL);
  assert.equal(s.command, PROBE_PATH);
  assert.equal(s.tty, '/dev/ttyS1', "the check channel, the second serial port: no service's output is there");
  assert.equal(s.user, 'root');
  assert.deepEqual(s.args, ['abc']);
  assert.equal(s.restart, 'never');
  assert.match(s.name, /^[A-Za-z0-9_-]+$/);
});
