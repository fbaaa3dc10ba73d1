import assert from 'node:assert/strict';
import { aiosRun, checkVariant, staticFixture, stop } from './helpers.ts';

/**
 * Boots the image in `dir` with a console shell, halts it with busybox halt once the watchdog is
 * armed and inference is ready, and asserts QEMU is still running 15 s later (a watchdog left
 * running would have fired by then: the images under test ask for 3 s), then quits QEMU.
 */
export async function assertHaltedStaysOn(dir: string, qemuArgs: string[], armed: RegExp): Promise<void> {
  const vm = aiosRun(['--shell', ...qemuArgs], dir);
  try {
    await vm.waitFor(armed);
    await vm.waitFor(/aios# /);
    await vm.waitFor(/inference: ready/);
    vm.type('halt\n');
    await vm.waitFor(/reboot: System halted/, 90_000);
    const exited = await Promise.race([vm.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
    assert.equal(exited, false, `QEMU exited after the halt:\n${vm.text().slice(-3000)}`);
    vm.type('\x01x');
    assert.equal(await vm.exited, 0, vm.text().slice(-3000));
  } finally {
    await stop(vm);
  }
}

/**
 * Checks an image whose extra service stops PID 1 with ptrace (fixtures/freeze-pid1.c): the
 * watchdog's action must end QEMU before any boot report and without a power-off by the kernel.
 * `armed`, when given, must be on the console first.
 */
export async function assertFrozenPid1Stopped(
  initJson: (j: Record<string, unknown>, services: Record<string, unknown>[]) => Record<string, unknown>,
  qemuArgs: string[],
  armed?: RegExp,
): Promise<void> {
  await checkVariant(
    {
      initJson: (j) => initJson(j, [{ name: 'freeze', command: '/usr/libexec/aios/freeze-pid1', restart: 'never', user: 'root' }]),
      files: { '/usr/libexec/aios/freeze-pid1': { content: await staticFixture('freeze-pid1'), mode: 0o755 } },
      args: qemuArgs,
    },
    ({ r, serial }) => {
      const tail = `${r.out}\n--- serial ---\n${serial.slice(-4000)}`;
      assert.equal(r.code, 1, tail);
      if (armed) assert.match(serial, armed, tail);
      assert.match(serial, /freeze-pid1: PID 1 stopped/, tail);
      // QEMU exits (the watchdog's action), whether PID 1 was stopped before its report or after
      // it (a loaded machine ran it that far first, seen in a cold .ci/run): a PID 1 that still
      // worked would have powered off, and a machine with no watchdog would still be running
      // when the check gave up on it.
      assert.match(r.out, /QEMU exited before any boot report|QEMU exited by itself [\d.]+ s after start, after system_powerdown/, tail);
      assert.doesNotMatch(serial.slice(serial.indexOf('freeze-pid1: PID 1 stopped')), /reboot: /, tail);
    },
  );
}
