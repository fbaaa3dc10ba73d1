// PID 1's shutdown and supervision on a real boot: an image whose init.json (changed with
// debugfs in a copy of rootfs.img, nothing in aios-init) adds a service that ignores SIGTERM
// while holding a file on /var (the state partition) open for writing, one that crash-loops (exit 127, which a missing
// binary must not be confused with), one whose binary is missing, and one that waits for the
// network and shows its cgroup and, once the machine is ready, its CPU weight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { aios, makeVariant, qemuProcesses } from './helpers.ts';

test('a service that ignores SIGTERM and holds /var open still leaves the disk clean; crash loops and missing binaries end "failed"', async () => {
  const dir = await makeVariant({
    initJson: (j) => ({
      ...j,
      services: [
        ...(j.services as unknown[]),
        {
          name: 'stubborn',
          user: 'root',
          command: '/bin/sh',
          args: ['-c', 'trap "" TERM; exec 3>>/var/lib/aios/stubborn.log; while :; do echo tick >&3; sleep 1; done'],
          restart: 'always',
        },
        // 127 from the program itself: a crash like any other, not a missing binary.
        { name: 'crashloop', command: '/bin/sh', args: ['-c', 'exit 127'], restart: 'always', stableSeconds: 5, maxQuickFailures: 3 },
        { name: 'missing', command: '/usr/bin/does-not-exist', restart: 'always' },
        {
          name: 'needs-net',
          command: '/bin/sh',
          args: [
            '-c',
            'echo "addr: $(ip -4 -o addr show eth0)"; echo "cgroup: $(cat /proc/self/cgroup)"; i=0; while read -r w < /sys/fs/cgroup/aios/needs-net/cpu.weight; [ "$w" = 1 ] && [ $i -lt 50 ]; do i=$((i+1)); sleep 0.1; done; echo "weight: $w"',
          ],
          restart: 'never',
          cpuWeight: 300,
          waitForNetwork: true,
        },
      ],
    }),
  });
  try {
    const r = await aios(['check', '--out', dir, '--path', 'direct', '--accel', 'tcg']);
    assert.equal(r.code, 0, r.out);
    assert.match(
      r.out,
      /disk clean after shutdown \(root unchanged, state clean\) +PASS +root partitions \(slots A and B\) unchanged; EFI partition unchanged; state partition: e2fsck -fn exit 0/,
    );
    assert.match(r.out, /clean power-off +PASS/);
    const serial = await readFile(join(dir, 'logs', 'serial-direct.log'), 'utf8');
    assert.match(serial, /service stubborn ignored SIGTERM for 5 s: killing its cgroup/);
    assert.match(serial, /service crashloop failed: ended 3 times in a row within 5 s of starting \(last exit 127\); left alone/);
    assert.match(serial, /service missing failed: \/usr\/bin\/does-not-exist: not found \(ENOENT\); not restarted/);
    // Services start beside DHCP; one that asks to wait starts once eth0 has its address.
    const [early, lease, late] = ['service stubborn started', 'aios-init: network (', 'service needs-net started'].map((l) => serial.indexOf(l)) as [
      number,
      number,
      number,
    ];
    assert.ok(early >= 0 && early < lease && lease < late, `stubborn, then the lease, then needs-net:\n${serial.slice(0, 4000)}`);
    assert.match(serial, /needs-net: addr: .*inet 10\.0\.2\.15\//);
    // Started straight into its cgroup (clone3), no shell moving it there.
    assert.match(serial, /needs-net: cgroup: 0::\/aios\/needs-net\n/);
    // Its start-up weight (1) gave way to its own once the machine was ready (it looks for up to 5 s).
    assert.match(serial, /needs-net: weight: 300\n/);
    assert.deepEqual(await qemuProcesses(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
