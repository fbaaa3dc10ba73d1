// A BMC's watchdog, on QEMU's simulated BMC (ipmi-bmc-sim behind a KCS interface, which QEMU
// describes in ACPI as IPI0001). Its driver is a module: init.json's modules.extra loads ipmi_si
// and ipmi_watchdog, and aios-init arms /dev/watchdog after the modules step. The kernel's own
// module parameters say the timeout took; a PID 1 stopped by ptrace right after the arm (before
// its first timer tick) is reset by the BMC (`-no-reboot` turns the reset into QEMU's exit), with
// no boot report and no power-off. ipmi_watchdog starts the BMC's timer on the first keep-alive,
// not at open: an arm without one at once failed this test. A machine halted by busybox halt
// stays on: ipmi_watchdog's reboot notifier stops the timer for a halt or a power-off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { checkVariant, makeVariant, qemuProcesses, extended } from './helpers.ts';
import { assertFrozenPid1Stopped, assertHaltedStaysOn } from './watchdog-helpers.ts';

const BMC = ['-device', 'ipmi-bmc-sim,id=bmc0', '-device', 'isa-ipmi-kcs,bmc=bmc0'].map((a) => `--qemu-arg=${a}`);
const withBmcWatchdog = (j: Record<string, unknown>, services: Record<string, unknown>[]) => ({
  ...j,
  modules: { ...(j.modules as Record<string, unknown>), extra: ['ipmi_si', 'ipmi_watchdog'] },
  watchdog: { device: '/dev/watchdog', timeoutSeconds: 3 },
  services: [...(j.services as Record<string, unknown>[]), ...services],
});

const showParameters = ['p=/sys/module/ipmi_watchdog/parameters', 'for f in timeout action; do echo "$f=$(cat $p/$f)"; done', 'ls /dev/watchdog*'].join('; ');

test("a BMC's watchdog, loaded from modules.extra, is armed after the modules step and kept alive through a check", extended, async () => {
  await checkVariant(
    {
      initJson: (j) => withBmcWatchdog(j, [{ name: 'bmcwatch', command: '/bin/sh', args: ['-c', showParameters], restart: 'never', user: 'root' }]),
      args: BMC,
    },
    ({ r, failed, serial }) => {
      const tail = `${r.out}\n--- serial ---\n${serial.slice(-4000)}`;
      assert.equal(r.code, 0, tail);
      // The modules it asked for are accounted for by the check's "no unneeded modules" item.
      assert.deepEqual(failed, []);
      assert.match(serial, /watchdog: IPMI \(\/dev\/watchdog\) armed, 3 s, kept alive every 1000 ms/, tail);
      const armed = serial.indexOf('watchdog: IPMI');
      assert.ok(armed > serial.indexOf('aios-init: modules ('), 'armed once its module is loaded');
      assert.match(serial, /bmcwatch: timeout=3\n/, tail);
      assert.match(serial, /bmcwatch: action=reset\n/, tail);
      assert.match(serial, /bmcwatch: .*\/dev\/watchdog\b/, tail);
      assert.doesNotMatch(serial, /watchdog did not stop/);
      assert.match(serial, /reboot: Power down/);
    },
  );
});

test('a PID 1 that stops turning its event loop is reset by the BMC', extended, async () => {
  await assertFrozenPid1Stopped(withBmcWatchdog, BMC, /watchdog: IPMI \(\/dev\/watchdog\) armed, 3 s/);
});

test("halted by busybox halt, the machine stays on: ipmi_watchdog stops the BMC's timer at reboot(2)", extended, async () => {
  const dir = await makeVariant({ initJson: (j) => withBmcWatchdog(j, []) });
  try {
    await assertHaltedStaysOn(dir, BMC, /watchdog: IPMI \(\/dev\/watchdog\) armed, 3 s/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(await qemuProcesses(dir), []);
});
