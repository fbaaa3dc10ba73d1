// Getting inside a running image: the console shell through a pipe, and the kernel under GDB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { OUT, ROOT, aiosRun, checkVariant, qemuProcesses, stop, extended } from './helpers.ts';
import { freePort } from '../../qemu/runner.ts';
import { removeTempLeftovers } from '../../common/leftovers.ts';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';

for (const [command, kernelSays, exits] of [
  ['poweroff', /reboot: Power down/, true],
  ['reboot', /reboot: Restarting system/, true],
  ['halt', /reboot: System halted/, false],
] as const) {
  test(`aios run --shell: a root shell with job control on the console; busybox ${command} does what it says`, extended, async () => {
    const vm = aiosRun(['--shell']);
    try {
      await vm.waitFor(/AIOS-BOOT-REPORT /);
      await vm.waitFor(/aios# /);
      // llama-server writes to the console while it loads: type once it is quiet.
      await vm.waitFor(/inference: ready/);
      vm.type('echo BEGIN-$((1+1)); cat /proc/1/comm; echo END-$((6*7)); set -o | grep -c monitor.*on\n');
      await vm.waitFor(/BEGIN-2\r?\naios-init\r?\nEND-42\r?\n1\r?\n/, 60_000);
      // DHCP by a udhcpc that stays up to renew, and resolv.conf from the lease's DNS server.
      vm.type('echo DNS-$(grep -c "^nameserver 10.0.2.3$" /etc/resolv.conf)-UDHCPC-$(pidof udhcpc | wc -w)\n');
      await vm.waitFor(/DNS-1-UDHCPC-1\r?\n/, 30_000);
      if (command === 'reboot') {
        // A renewal (udhcpc's SIGUSR1) is applied by aios-init from the script's report line: the
        // route and resolv.conf taken away here come back.
        vm.type('route del default; rm /run/aios/resolv.conf; echo RENEW-$((2*3)); kill -USR1 $(pidof udhcpc)\n');
        await vm.waitFor(/RENEW-6\r?\n[\s\S]*AIOS_DHCP (renew|bound) eth0 /, 60_000);
        vm.type('echo ROUTE-$(grep -c "^eth0.00000000.0202000A" /proc/net/route)-DNS-$(grep -c "^nameserver 10.0.2.3$" /etc/resolv.conf)\n');
        await vm.waitFor(/ROUTE-1-DNS-1\r?\n/, 30_000);
      }
      if (command === 'poweroff') {
        // aios-init started from the shell refuses to be a second init: no second udhcpc.
        vm.type('/usr/sbin/aios-init; echo RC-$?-UDHCPC-$(pidof udhcpc | wc -w)\n');
        await vm.waitFor(/it is process \d+, so it did nothing\.[\s\S]*RC-2-UDHCPC-1\r?\n/, 60_000);
      }
      if (command === 'halt') {
        // busybox halt is SIGUSR1, on which Node opens its inspector unless PID 1 handles it. A
        // watcher that outlives the shell's SIGTERM looks for port 9229 (0x2405) until the halt.
        // It leaves the shell's cgroup, so that only the last kill(-1) of the shutdown ends it, and
        // writes to /dev/console: the shell's terminal is hung up when the shell ends.
        vm.type(
          `sh -c 'echo $$ > /sys/fs/cgroup/cgroup.procs; trap "" TERM HUP; while :; do echo "INSPECTOR-$(grep -c ":2405 " /proc/net/tcp)" > /dev/console; sleep 0.3; done' &\n`,
        );
        await vm.waitFor(/INSPECTOR-0\r?\n/, 30_000);
      }
      vm.type(`${command}\n`);
      await vm.waitFor(kernelSays, 90_000);
      // The shell ignores SIGTERM as every interactive shell does; it is hung up instead.
      assert.doesNotMatch(vm.text(), /service shell ignored SIGTERM/);
      if (command === 'halt') {
        const after = vm.text().slice(vm.text().indexOf('SIGUSR1 (busybox halt)'));
        assert.ok(after.length < vm.text().length, 'aios-init took SIGUSR1 as halt');
        assert.ok((after.match(/INSPECTOR-0\r?\n/g) ?? []).length >= 2, `the watcher looked after SIGUSR1:\n${after.slice(0, 3000)}`);
        assert.doesNotMatch(after, /INSPECTOR-[1-9]/, 'nothing listens on 9229 after SIGUSR1');
      }
      if (!exits) vm.type('\x01x'); // halted: the machine stays on until QEMU is told to quit
      assert.equal(await vm.exited, 0, vm.text().slice(-3000));
      assert.match(vm.text(), /console shell: on \/dev\/ttyS0 \(kernel command line aios\.shell\)/);
    } finally {
      await stop(vm);
    }
    assert.deepEqual(await qemuProcesses(OUT), []);
  });
}

test('NODE_OPTIONS and AIOS_ADDON on the kernel command line never reach PID 1: no inspector, no other addon, every check passes', async () => {
  // Before stage 1 dropped it, this boot never got as far as the boot report; AIOS_ADDON made
  // PID 1 dlopen the file it named (here one that is no library: the addon would be missing).
  await checkVariant({ project: { boot: { cmdline: 'quiet loglevel=3 NODE_OPTIONS=--inspect=0.0.0.0:9229 AIOS_ADDON=/etc/hostname' } } }, ({ r, serial }) => {
    assert.equal(r.code, 0, `${r.out}\n--- serial ---\n${serial.slice(-3000)}`);
    assert.match(serial, /NODE_OPTIONS=--inspect=0\.0\.0\.0:9229/, 'the flag was on the kernel command line');
    assert.doesNotMatch(serial, /Debugger listening/);
  });
});

test('aios run killed with SIGKILL, which runs no handler, takes its QEMU with it; the next aios removes its scratch directory', async () => {
  const vm = aiosRun([]);
  try {
    await vm.waitFor(/AIOS-BOOT-REPORT /);
    assert.equal((await qemuProcesses(OUT)).length, 1, 'one QEMU runs the build');
    const scratch = (await readdir(tmpdir())).filter((d) => d.startsWith(`aios-run-${vm.child.pid}-`)).map((d) => join(tmpdir(), d));
    assert.equal(scratch.length, 1, "aios run's scratch directory is named for its pid");
    vm.child.kill('SIGKILL');
    await vm.exited;
    for (let i = 0; i < 50 && (await qemuProcesses(OUT)).length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await qemuProcesses(OUT), [], vm.text().slice(-2000));
    // What the next aios run or check does first:
    assert.ok((await removeTempLeftovers()).includes(scratch[0]!), `${scratch[0]} is taken for a leftover`);
    assert.deepEqual(await readdir(scratch[0]!).catch(() => 'gone'), 'gone');
  } finally {
    await stop(vm);
    // Should the test fail, no QEMU of it stays behind.
    for (const p of await qemuProcesses(OUT)) process.kill(Number(p.split(':')[0]), 'SIGKILL');
  }
});

test('aios run --gdb: the guest waits for gdb, which reads a register and start_kernel, then boots on', extended, async () => {
  const port = await freePort();
  const vm = aiosRun(['--gdb', String(port)]);
  try {
    await vm.waitFor(/attach with:\n\s+gdb -q \S+vmlinux -ex 'target remote 127\.0\.0\.1:\d+'/);
    const gdb = spawnSync(
      'gdb',
      [
        '-batch',
        '-q',
        join(OUT, 'vmlinux'),
        '-ex',
        `target remote 127.0.0.1:${port}`,
        '-ex',
        'info registers rip',
        '-ex',
        'info address start_kernel',
        '-ex',
        'detach',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    const out = gdb.stdout + gdb.stderr;
    assert.match(out, /rip\s+0xfff0/, `stopped at the reset vector:\n${out}\n--- aios run ---\n${vm.text().slice(-3000)}`);
    assert.match(out, /Symbol "start_kernel" is (a function )?at 0xffffffff[0-9a-f]+/, out);
    await vm.waitFor(/AIOS-BOOT-REPORT /);
    vm.type('\x01x');
    assert.equal(await vm.exited, 0);
  } finally {
    await stop(vm);
  }
  assert.deepEqual(await qemuProcesses(OUT), []);
});
