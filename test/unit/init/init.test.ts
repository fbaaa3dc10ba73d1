import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FsRoot } from '../../../init/src/fsroot.ts';
import { loadInitConfig } from '../../../init/src/config.ts';
import { declaredMounts, mountPseudo, parseMounts, PSEUDO_MOUNTS } from '../../../init/src/mounts.ts';
import { zombieChildren } from '../../../init/src/reaper.ts';
import { Children, exitOf, spawnFailure } from '../../../init/src/children.ts';
import { hasPowerPress, powerButtons, readEvents } from '../../../init/src/power.ts';
import { closeSync, existsSync, open, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { backoffMs, shouldRestart, Supervisor } from '../../../init/src/services.ts';
import { cgroupFiles, enableIoCost, ioCostWrites, weighedDisks } from '../../../init/src/cgroups.ts';
import { initSpec, parseInitConfig } from '../../../common/init-spec.ts';
import { parseConfig } from '../../../common/schema.ts';
import { parsePressure } from '../../../init/src/status.ts';
import { fakeSys, fixtureRoot } from './fixtures.ts';
import { scratchDir } from '../scratch.ts';

test('a broken init.json: each bad key is reported and defaults are used; a missing file is defaults', async () => {
  const root = await fixtureRoot({
    'bad.json': JSON.stringify({ hostname: 7, statusPort: 70000, bogus: true, services: [{ name: 'x', command: 'relative', restart: 'sometimes' }] }),
    'notjson.json': '{ nope',
  });
  const { config, errors } = loadInitConfig(join(root, 'bad.json'));
  assert.deepEqual(errors.map((e) => e.key).sort(), ['bogus', 'hostname', 'services[0].command', 'services[0].restart', 'statusPort']);
  assert.equal(config.hostname, 'aios');
  assert.equal(config.statusPort, 8080);
  assert.deepEqual(config.services, []);
  const broken = loadInitConfig(join(root, 'notjson.json'));
  assert.match(broken.errors[0]!.message, /not valid JSON/);
  assert.deepEqual(loadInitConfig(join(root, 'missing.json')).errors, []);
});

test('pseudo filesystems: what stage 1 mounted is kept, the rest mounted once', async () => {
  const root = await fixtureRoot({ 'proc/mounts': 'proc /proc proc rw 0 0\nsysfs /sys sysfs rw 0 0\ndevtmpfs /dev devtmpfs rw 0 0\n' });
  const sys = fakeSys();
  const r = mountPseudo(sys, new FsRoot(root), () => {});
  assert.deepEqual(r.kept, ['/proc', '/sys', '/dev']);
  assert.deepEqual(
    r.mounted,
    PSEUDO_MOUNTS.filter((m) => !m.ifPresent)
      .map((m) => m.target)
      .filter((t) => !['/proc', '/sys', '/dev'].includes(t)),
  );
  assert.ok(sys.calls.some((c) => c.includes('cgroup2') && c.endsWith('favordynmods')));
  // A kernel without tracing has no /sys/kernel/tracing: nothing is made in sysfs, nothing fails.
  // Nor a BIOS boot's /sys/firmware/efi, nor a kernel without securityfs.
  assert.deepEqual(r.absent, ['/sys/kernel/tracing', '/sys/kernel/security', '/sys/firmware/efi/efivars']);
  assert.deepEqual(r.failed, []);
  assert.ok(!sys.calls.some((c) => c.includes('tracefs')));
});

test('tracefs is mounted where the kernel made /sys/kernel/tracing (the kernel.trace variant)', async () => {
  const root = await fixtureRoot({ 'proc/mounts': 'proc /proc proc rw 0 0\nsysfs /sys sysfs rw 0 0\n', 'sys/kernel/tracing/.keep': '' });
  const sys = fakeSys();
  const r = mountPseudo(sys, new FsRoot(root), () => {});
  assert.ok(r.mounted.includes('/sys/kernel/tracing'));
  assert.ok(!r.absent.includes('/sys/kernel/tracing'));
  assert.deepEqual(
    sys.calls.filter((c) => c.includes('tracefs')),
    [`mount tracefs ${join(root, '/sys/kernel/tracing')} tracefs 14`],
  );
});

test('cgroup2 without favordynmods (a kernel before 6.0 says EINVAL): mounted without it', async () => {
  const root = await fixtureRoot({ 'proc/mounts': 'proc /proc proc rw 0 0\n' });
  const sys = fakeSys();
  const mount = sys.mount;
  sys.mount = (...a) => {
    if (a[4].includes('favordynmods')) throw Object.assign(new Error('Invalid argument'), { code: 'EINVAL' });
    return mount(...a);
  };
  const r = mountPseudo(sys, new FsRoot(root), () => {});
  assert.ok(r.mounted.includes('/sys/fs/cgroup'));
  assert.deepEqual(
    sys.calls.filter((c) => c.includes('cgroup2')),
    [`mount cgroup2 ${join(root, '/sys/fs/cgroup')} cgroup2 14 `.trim()],
  );
});

test('a failing mount is reported and the others go on', async () => {
  const root = await fixtureRoot({ 'proc/mounts': '' });
  const sys = fakeSys({ mount: 'EPERM' });
  const logs: string[] = [];
  const r = mountPseudo(sys, new FsRoot(root), (m) => logs.push(m));
  const expected = PSEUDO_MOUNTS.filter((m) => !m.ifPresent).length;
  assert.equal(r.failed.length, expected);
  assert.equal(logs.length, expected);
});

test('mount table and fstab parsing', () => {
  assert.deepEqual(
    parseMounts('/dev/sda1 / ext4 rw,relatime 0 0\nnone /a\\040b tmpfs rw 0 0\n').map((m) => m.target),
    ['/', '/a b'],
  );
  assert.deepEqual(declaredMounts('# c\n/dev/root / auto rw 0 1\ntmpfs /var/tmp tmpfs defaults 0 0\n/swapfile none swap sw 0 0\n'), ['/', '/var/tmp']);
});

test('zombies: those whose parent is us, from /proc/<pid>/stat', async () => {
  const stat = (pid: number, state: string, ppid: number) => `${pid} (sh) ${state} ${ppid} 1 1 0 -1`;
  const root = await fixtureRoot({
    'proc/10/stat': stat(10, 'Z', 1),
    'proc/11/stat': stat(11, 'Z', 1),
    'proc/12/stat': stat(12, 'S', 1),
    'proc/13/stat': stat(13, 'Z', 5),
    'proc/self': 'x',
  });
  assert.deepEqual(zombieChildren(new FsRoot(root), 1).sort(), [10, 11]);
});

test('reaping: every exited child in one round; our own go to their callbacks as Node would say it, orphans are counted', () => {
  const sys = fakeSys();
  const warned: string[] = [];
  const children = new Children(sys, (m) => warned.push(m));
  const ends: string[] = [];
  const a = children.spawn({ command: '/bin/a', args: ['x'], env: { K: 'v' }, stdio: [-1, 5, 5] }, (e) => ends.push(`a ${e.code} ${e.signal}`));
  const b = children.spawn({ command: '/bin/b', args: [], env: {}, stdio: [-1, -1, -1], cgroupFd: 7 }, () => {
    throw new Error('a callback that throws');
  });
  const c = children.spawn({ command: '/bin/c', args: [], env: {}, stdio: [-1, -1, -1], keepCaps: 1024, nice: 5 }, (e) => ends.push(`c ${e.code} ${e.signal}`));
  assert.deepEqual(sys.calls, ['spawn /bin/a /bin/a,x K=v -1,5,5 -1 -1 0', 'spawn /bin/b /bin/b  -1,-1,-1 7 -1 0', 'spawn /bin/c /bin/c  -1,-1,-1 -1 1024 5']);
  sys.exited.push({ pid: 20, status: 0 }, { pid: a, status: 3 << 8 }, { pid: b, status: 0 }, { pid: c, status: 9 }, { pid: 21, status: 0 });
  assert.ok(children.running(a));
  assert.deepEqual(children.reap(), [20, 21], 'the orphans');
  assert.deepEqual(ends, ['a 3 null', 'c null SIGKILL'], 'a throwing callback does not stop the round');
  assert.match(warned.join('\n'), /after pid 101 ended: Error: a callback that throws/);
  assert.ok(!children.running(a), "reaped: its pid may be the kernel's to give again");
  assert.deepEqual(children.reap(), [], 'nothing exited: nothing reaped');
});

test('exit statuses and spawn failures in words', () => {
  assert.deepEqual(exitOf(0), { code: 0, signal: null });
  assert.deepEqual(exitOf(127 << 8), { code: 127, signal: null });
  assert.deepEqual(exitOf(15), { code: null, signal: 'SIGTERM' });
  assert.deepEqual(exitOf(0x80 | 6), { code: null, signal: 'SIGABRT' }, 'core dumped');
  const errno = (code: string, message: string) => Object.assign(new Error(message), { code });
  assert.equal(spawnFailure('/x', errno('ENOENT', '/x: No such file or directory')), '/x: not found (ENOENT)');
  assert.equal(spawnFailure('/x', errno('EACCES', '/x: Permission denied')), '/x: not executable (EACCES)');
  assert.equal(
    spawnFailure('/x', errno('EBADF', 'clone3 into the cgroup: Bad file descriptor')),
    '/x: cannot start: clone3 into the cgroup: Bad file descriptor',
  );
});

/** One struct input_event (64-bit): type, code and value after the 16-byte timestamp. */
function ev(type: number, code: number, value: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(type, 16);
  b.writeUInt16LE(code, 18);
  b.writeInt32LE(value, 20);
  return b;
}

test('power button: KEY_POWER key-down is found in evdev events; the device is found by name', async () => {
  assert.equal(hasPowerPress(Buffer.concat([ev(4, 4, 1), ev(1, 116, 1), ev(0, 0, 0)])), true);
  assert.equal(hasPowerPress(ev(1, 116, 0)), false, 'key-up is not a press');
  assert.equal(hasPowerPress(ev(1, 30, 1)), false);
  const root = await fixtureRoot({ 'sys/class/input/event0/device/name': 'Power Button\n', 'sys/class/input/event1/device/name': 'AT Keyboard\n' });
  assert.deepEqual(powerButtons(new FsRoot(root)), [join(root, '/dev/input/event0')]);
});

test('power button: events split across reads are put together; one press, one call', async () => {
  const dir = scratchDir('aios-evdev-');
  const fifo = join(dir, 'event0');
  execFileSync('mkfifo', [fifo]);
  const events = Buffer.concat([...Array.from({ length: 8 }, () => ev(4, 4, 1)), ev(1, 116, 1), ev(0, 0, 0), ev(1, 116, 0)]);
  let presses = 0;
  const ended = new Promise<string>((resolve) => {
    open(fifo, 'r', (err, fd) => {
      assert.ifError(err);
      readEvents(
        fd,
        () => presses++,
        (e) => {
          closeSync(fd);
          resolve(e.message);
        },
      );
    });
  });
  const w = openSync(fifo, 'w');
  // The press straddles two writes: 8 events and 10 bytes of it, then the rest.
  writeSync(w, events.subarray(0, 24 * 8 + 10));
  await new Promise((r) => setTimeout(r, 50));
  writeSync(w, events.subarray(24 * 8 + 10));
  closeSync(w);
  assert.equal(await ended, 'end of file');
  assert.equal(presses, 1);
  await rm(dir, { recursive: true });
});

test('services: restart policy, back-off and cgroup limits', () => {
  assert.equal(shouldRestart('always', 0, false), true);
  assert.equal(shouldRestart('on-failure', 0, false), false);
  assert.equal(shouldRestart('on-failure', 1, false), true);
  assert.equal(shouldRestart('always', 1, true), false, 'never during shutdown');
  assert.deepEqual([0, 1, 2, 10].map(backoffMs), [500, 1000, 2000, 30000]);
  const svc = {
    name: 'llm',
    command: '/bin/llm',
    args: [],
    env: {},
    user: '',
    group: '',
    rootDirectory: '',
    workingDirectory: '',
    restart: 'always' as const,
    cpuWeight: 800,
    startupCpuWeight: 1,
    memoryMax: '4G',
    cpuset: '0-1',
    memoryLow: '0',
    nice: 0,
    ioWeight: 100,
    capabilities: ['all'],
    tty: '',
    waitForNetwork: false,
    stableSeconds: 10,
    maxQuickFailures: 5,
    logMaxKB: 1024,
    consoleLinesPerSecond: 200,
  };
  assert.deepEqual(cgroupFiles(svc, false), { 'cpu.weight': '800', 'memory.max': '4G', 'cpuset.cpus': '0-1' });
  assert.equal(cgroupFiles(svc, true)['cpu.weight'], '1');
  assert.equal(cgroupFiles({ ...svc, memoryLow: '2G' }, false)['memory.low'], '2G', "the model's memory kept under pressure");
  assert.equal(cgroupFiles({ ...svc, ioWeight: 500 }, false)['io.weight'], 'default 500');
});

const SDA_DEVICE = 'devices/pci0000:00/0000:00:01.1/ata1/host0/target0:0:0/0:0:0:0';
/** A fixture root whose sda is an ATA disk with its device behind it, with `files` beside it. */
async function withSda(files: Record<string, string | { link: string }>): Promise<string> {
  const root = await fixtureRoot({ ...files, 'sys/block/sda/dev': '8:0\n', 'sys/block/sda/device': { link: `../../${SDA_DEVICE}` } });
  await mkdir(join(root, 'sys', SDA_DEVICE), { recursive: true });
  return root;
}

test('io.weight: the io controller and iocost on every disk with a device behind it, only once a service is weighed', async () => {
  const root = await withSda({
    'sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory pids\n',
    'sys/block/nvme0n1/dev': '259:0\n',
    'sys/block/nvme0n1/device': { link: '../../devices/pci0000:00/0000:00:04.0/nvme/nvme0' },
    'sys/block/loop0/dev': '7:0\n',
  });
  await mkdir(join(root, 'sys/devices/pci0000:00/0000:00:04.0/nvme/nvme0'), { recursive: true });
  const fs = new FsRoot(root);
  assert.deepEqual(
    weighedDisks(fs).sort((a, b) => a.name.localeCompare(b.name)),
    [
      { name: 'nvme0n1', dev: '259:0' },
      { name: 'sda', dev: '8:0' },
    ],
  );
  const logged: string[] = [];
  const sup = new Supervisor(
    fs,
    new Children(fakeSys(), () => {}),
    (m) => logged.push(m),
    () => {},
  );
  const svc = { ...parseConfig(initSpec, { services: [{ name: 'plain', command: '/bin/true' }] }, 'init.json').value.services[0]! };
  await sup.prepare([svc]);
  assert.equal(existsSync(join(root, 'sys/fs/cgroup/io.cost.qos')), false, 'nobody weighed: no iocost');
  await sup.prepare([{ ...svc, name: 'model', ioWeight: 500 }]);
  // The fixture's files keep the last write only: +io came after +cpu, +memory and +cpuset.
  assert.equal(readFileSync(join(root, 'sys/fs/cgroup/aios/cgroup.subtree_control'), 'utf8'), '+io');
  assert.match(readFileSync(join(root, 'sys/fs/cgroup/io.cost.qos'), 'utf8'), /^(8:0|259:0) enable=1$/);
  assert.equal(readFileSync(join(root, 'sys/fs/cgroup/aios/model/io.weight'), 'utf8'), 'default 500');
  assert.equal(existsSync(join(root, 'sys/fs/cgroup/aios/plain/io.weight')), false);
  assert.match(logged.join('\n'), /io\.weight: iocost on (nvme0n1 \(259:0\), sda \(8:0\)|sda \(8:0\), nvme0n1 \(259:0\))/);
});

test("ioCost: init.json's model goes to io.cost.model (ctrl=user) before iocost is turned on with its QoS; a disk without an entry keeps the kernel's", () => {
  const disks = [
    { name: 'sda', dev: '8:0' },
    { name: 'sdb', dev: '8:16' },
  ];
  assert.deepEqual(ioCostWrites(disks, [{ disk: 'sdb', model: ' rbps=16777216 rseqiops=4096 ', qos: 'rpct=95 rlat=5000' }]), [
    { disk: 'sda', file: 'io.cost.qos', line: '8:0 enable=1' },
    { disk: 'sdb', file: 'io.cost.model', line: '8:16 ctrl=user model=linear rbps=16777216 rseqiops=4096' },
    { disk: 'sdb', file: 'io.cost.qos', line: '8:16 enable=1 ctrl=user rpct=95 rlat=5000' },
  ]);
  assert.deepEqual(ioCostWrites(disks.slice(1), [{ disk: 'sdb', model: '', qos: '' }]), [{ disk: 'sdb', file: 'io.cost.qos', line: '8:16 enable=1' }]);
});

test('ioCost in init.json: a bad model or QoS, a missing, refused or repeated disk are each reported; an entry without a usable disk is left out', () => {
  const { config, errors } = parseInitConfig(
    JSON.stringify({
      ioCost: [
        { disk: 'sda', model: 'rbps=fast' },
        { disk: 'sdb', qos: 'latency=5' },
        { model: 'rbps=1' },
        { disk: '../sdc' },
        { disk: 'nvme0n1', model: 'rbps=2000000000 wbps=1500000000', qos: 'rpct=95.5 rlat=5000 min=50 max=150' },
        { disk: 'nvme0n1' },
      ],
    }),
    'init.json',
  );
  assert.deepEqual(
    errors.map((e) => e.key),
    ['ioCost[0].model', 'ioCost[1].qos', 'ioCost[3].disk', 'ioCost[2].disk', 'ioCost[5].disk'],
    JSON.stringify(errors),
  );
  assert.match(errors[0]!.message, /"rbps=fast" is not space-separated rbps=/);
  assert.match(errors[4]!.message, /"nvme0n1" has two ioCost entries/);
  // A bad value falls back to the default (the kernel's), as every other key does.
  assert.deepEqual(
    config.ioCost.map((c) => c.disk),
    ['sda', 'sdb', 'nvme0n1'],
  );
  assert.equal(config.ioCost[2]!.qos, 'rpct=95.5 rlat=5000 min=50 max=150');
});

test('ioCost on a machine: the disk it names gets its model and is said to; one it names that the machine lacks is said', async () => {
  const root = await withSda({ 'sys/fs/cgroup/io.cost.model': '' });
  const logged: string[] = [];
  enableIoCost(new FsRoot(root), (m) => logged.push(m), [
    { disk: 'sda', model: 'rbps=16777216', qos: '' },
    { disk: 'sdz', model: 'rbps=1', qos: '' },
  ]);
  assert.equal(readFileSync(join(root, 'sys/fs/cgroup/io.cost.model'), 'utf8'), '8:0 ctrl=user model=linear rbps=16777216');
  assert.equal(readFileSync(join(root, 'sys/fs/cgroup/io.cost.qos'), 'utf8'), '8:0 enable=1');
  assert.deepEqual(logged, [
    "io.weight: iocost on sda (8:0, init.json's ioCost)",
    "io.weight: init.json's ioCost names sdz, which this machine does not have as a disk",
  ]);
});

test('ioCost: a model the kernel refuses leaves iocost off on that disk, and says so with the line it refused', async () => {
  // A directory where the file should be: the write fails, as the kernel's EINVAL would.
  const root = await withSda({ 'sys/fs/cgroup/io.cost.model/refused': '' });
  const logged: string[] = [];
  enableIoCost(new FsRoot(root), (m) => logged.push(m), [{ disk: 'sda', model: 'rbps=1', qos: '' }]);
  assert.equal(existsSync(join(root, 'sys/fs/cgroup/io.cost.qos')), false, 'not turned on with the kernel model in its place');
  assert.match(logged[0]!, /^io\.weight: io\.cost\.model of sda \("8:0 ctrl=user model=linear rbps=1"\): EISDIR/);
  assert.equal(logged[1], 'io.weight: iocost on no disk');
});

test('pressure figures', () => {
  assert.deepEqual(parsePressure('some avg10=1.50 avg60=0.20 avg300=0.00 total=1\nfull avg10=0 avg60=0 avg300=0 total=0'), { avg10: 1.5, avg60: 0.2 });
  assert.equal(parsePressure(''), null);
});

test('supervision: a stable run resets the back-off; N quick failures in a row give up, with the reason', async () => {
  const { afterRun } = await import('../../../init/src/services.ts');
  const s = { stableSeconds: 10, maxQuickFailures: 3 };
  assert.deepEqual(afterRun(2, 12_000, s), { quickFailures: 0 }, 'a run of 12 s is stable');
  assert.deepEqual(afterRun(0, 500, s), { quickFailures: 1 });
  assert.deepEqual(afterRun(1, 500, s), { quickFailures: 2 });
  assert.deepEqual(afterRun(2, 500, s), { quickFailures: 3, giveUp: 'ended 3 times in a row within 10 s of starting' });
});

test("service names: letters, digits, - and _, each used once, none of aios-init's own; the bad ones are reported and left out", async () => {
  const { writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { loadInitConfig } = await import('../../../init/src/config.ts');
  const file = join(scratchDir('aios-names-'), 'init.json');
  const svc = (name: string) => ({ name, command: '/bin/true' });
  await writeFile(
    file,
    JSON.stringify({ services: [svc('web-1'), svc('../escape'), svc('web-1'), svc('a b'), svc('ok_2'), svc('dhcp-eth0'), svc('aios-probe')] }),
  );
  const { config, errors } = loadInitConfig(file);
  assert.deepEqual(
    config.services.map((s) => s.name),
    ['web-1', 'ok_2'],
  );
  assert.deepEqual(
    errors.map((e) => `${e.key}: ${e.message}`),
    [
      'services[1].name: "../escape" may hold only letters, digits, - and _',
      'services[2].name: "web-1" names two services',
      'services[3].name: "a b" may hold only letters, digits, - and _',
      'services[5].name: "dhcp-eth0" is reserved: aios-init names its own services aios-* and dhcp-*',
      'services[6].name: "aios-probe" is reserved: aios-init names its own services aios-* and dhcp-*',
    ],
  );
});

test('shutdown unmount: a mount busy at first is tried again, innermost first; then / goes read-only', async () => {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { unmountAll } = await import('../../../init/src/mounts.ts');
  const { FsRoot } = await import('../../../init/src/fsroot.ts');
  const mounts = [
    '/dev/sda1 / ext4 rw 0 0',
    'proc /proc proc rw 0 0',
    'tmpfs /run tmpfs rw 0 0',
    'tmpfs /var/tmp tmpfs rw 0 0',
    'tmpfs /var/tmp/inner tmpfs rw 0 0',
  ];
  const root = await fixtureRoot({ 'proc/mounts': `${mounts.join('\n')}\n` });
  const sys = fakeSys();
  let busy = 1;
  sys.umount = (target: string) => {
    sys.calls.push(`umount ${target}`);
    if (target === '/var/tmp' && busy-- > 0) throw Object.assign(new Error('EBUSY'), { code: 'EBUSY' });
    const file = join(root, 'proc/mounts');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.split(' ')[1] !== target)
        .join('\n'),
    );
  };
  const warnings: string[] = [];
  await unmountAll(sys, new FsRoot(root), (m) => warnings.push(m), 3, 1);
  assert.deepEqual(
    sys.calls.filter((c) => c.startsWith('umount')),
    ['umount /var/tmp/inner', 'umount /var/tmp', 'umount /run', 'umount /var/tmp'],
  );
  assert.match(sys.calls.at(-1)!, /^mount {2}\/ {2}33/, 'remount read-only (MS_REMOUNT | MS_RDONLY)');
  assert.deepEqual(warnings, []);
});

test('aios-init starts no process through Node: its reaper waits for any child and would take their statuses', async () => {
  const dir = join(import.meta.dirname, '../../../init/src');
  const users = (await readdir(dir)).filter((f) => /\bnode:child_process\b/.test(readFileSync(join(dir, f), 'utf8')));
  assert.deepEqual(users, []);
});
