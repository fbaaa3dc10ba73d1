// PID 1's shutdown and supervision on a real boot: an image whose init.json (changed with
// debugfs in a copy of rootfs.img, nothing in aios-init) adds a service that ignores SIGTERM
// while holding a file on / open for writing, one that crash-loops, and one whose binary is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aios, OUT, qemuProcesses } from './helpers.ts';

test('a service that ignores SIGTERM and holds / open still leaves the disk clean; crash loops and missing binaries end "failed"', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aios-shutdown-'));
  try {
    for (const f of ['vmlinuz', 'initramfs.img', 'build.json', 'rootfs.img']) await copyFile(join(OUT, f), join(dir, f));
    const part = join(dir, 'part.img');
    execFileSync('dd', [`if=${join(dir, 'rootfs.img')}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none']);
    const initJson = JSON.parse(
      execFileSync('/sbin/debugfs', ['-R', 'cat /etc/aios/init.json', part], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    ) as { services: unknown[] };
    initJson.services.push(
      {
        name: 'stubborn',
        command: '/bin/sh',
        args: ['-c', 'trap "" TERM; exec 3>>/var/lib/aios/stubborn.log; while :; do echo tick >&3; sleep 1; done'],
        restart: 'always',
      },
      { name: 'crashloop', command: '/bin/sh', args: ['-c', 'exit 3'], restart: 'always', stableSeconds: 5, maxQuickFailures: 3 },
      { name: 'missing', command: '/usr/bin/does-not-exist', restart: 'always' },
    );
    await writeFile(join(dir, 'init.json'), JSON.stringify(initJson));
    execFileSync('/sbin/debugfs', ['-w', '-R', 'rm /etc/aios/init.json', part], { stdio: 'ignore' });
    execFileSync('/sbin/debugfs', ['-w', '-R', `write ${join(dir, 'init.json')} /etc/aios/init.json`, part], { stdio: 'ignore' });
    execFileSync('dd', [`if=${part}`, `of=${join(dir, 'rootfs.img')}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
    await rm(part);
    const r = await aios(['check', '--out', dir, '--path', 'direct', '--accel', 'tcg']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /root filesystem clean after shutdown +PASS +e2fsck -fn exit 0/);
    assert.match(r.out, /clean power-off +PASS/);
    const serial = await readFile(join(dir, 'logs', 'serial-direct.log'), 'utf8');
    assert.match(serial, /service stubborn ignored SIGTERM for 5 s: killing its cgroup/);
    assert.match(serial, /service crashloop failed: ended 3 times in a row within 5 s of starting \(last exit 3\); left alone/);
    assert.match(serial, /service missing failed: \/usr\/bin\/does-not-exist: not found \(exit 127\); not restarted/);
    assert.deepEqual(await qemuProcesses(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
