import assert from 'node:assert/strict';
import { aiosRun, stop } from './helpers.ts';

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
