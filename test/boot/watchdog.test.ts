// The hardware watchdog on QEMU's i6300esb (`-action watchdog=poweroff`: when it fires, QEMU
// turns the machine off). On an image whose init.json asks for a 3 s timeout, the kernel's sysfs
// says it is armed and the machine lives through a whole check, inference included, and powers off
// cleanly. When a service stops PID 1 with ptrace, the hardware turns the machine off within
// seconds, with no boot report and no power-off by the kernel. A machine halted by busybox halt
// stays on: the kernel stops the watchdog at reboot(2), and nothing in the image keeps it going.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { checkVariant, makeVariant, qemuProcesses, extended } from './helpers.ts';
import { assertFrozenPid1Stopped, assertHaltedStaysOn } from './watchdog-helpers.ts';

const WATCHDOG_DEVICE = ['--qemu-arg=-device', '--qemu-arg=i6300esb', '--qemu-arg=-action', '--qemu-arg=watchdog=poweroff'];
const withWatchdog = (j: Record<string, unknown>, services: Record<string, unknown>[]) => ({
  ...j,
  watchdog: { timeoutSeconds: 3 },
  services: [...(j.services as Record<string, unknown>[]), ...services],
});

const showSysfs = [
  'd=/sys/class/watchdog/watchdog0',
  'until [ "$(cat $d/state 2>/dev/null)" = active ]; do sleep 0.2; done',
  'for f in identity state timeout; do echo "$f=$(cat $d/$f)"; done',
].join('; ');

test("the watchdog is armed with init.json's timeout and kept alive through a whole check and a clean power-off", async () => {
  await checkVariant(
    {
      initJson: (j) => withWatchdog(j, [{ name: 'dogwatch', command: '/bin/sh', args: ['-c', showSysfs], restart: 'never', user: 'root' }]),
      args: WATCHDOG_DEVICE,
    },
    ({ r, failed, serial }) => {
      const tail = `${r.out}\n--- serial ---\n${serial.slice(-4000)}`;
      assert.equal(r.code, 0, tail);
      assert.deepEqual(failed, []);
      assert.match(serial, /dogwatch: identity=i6300ESB timer\n/, tail);
      assert.match(serial, /dogwatch: state=active\n/);
      assert.match(serial, /dogwatch: timeout=3\n/);
      assert.match(serial, /watchdog: i6300ESB timer \(\/dev\/watchdog0\) armed, 3 s, kept alive every 1000 ms/);
      // A built-in driver's watchdog is armed before the slow steps, not after the modules.
      const armed = serial.indexOf('watchdog: i6300ESB timer');
      assert.ok(armed >= 0 && armed < serial.indexOf('network start ('), 'armed before the network starts');
      // The kernel says this when the device is closed without the magic "V": PID 1 never closes it.
      assert.doesNotMatch(serial, /watchdog did not stop/);
      assert.match(serial, /reboot: Power down/);
    },
  );
});

test('a PID 1 that stops turning its event loop is turned off by the hardware', extended, async () => {
  await assertFrozenPid1Stopped(withWatchdog, WATCHDOG_DEVICE);
});

test('halted by busybox halt, the machine stays on: the kernel stopped the watchdog at reboot(2)', extended, async () => {
  const dir = await makeVariant({ initJson: (j) => withWatchdog(j, []) });
  try {
    // Unstopped, the i6300esb fires after two stages of 3 s each, and QEMU powers the machine off.
    await assertHaltedStaysOn(dir, WATCHDOG_DEVICE, /watchdog: i6300ESB timer \(\/dev\/watchdog0\) armed, 3 s/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(await qemuProcesses(dir), []);
});
