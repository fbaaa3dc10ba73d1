// Service output: lines named on the console, kept in a size-capped file, a flood cut off the console.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat } from 'node:fs/promises';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CappedFile, LineSplitter, ServiceLog } from '../../../init/src/service-log.ts';
import { ownService, type InitConfig } from '../../../init/src/config.ts';
import { scratchDir } from '../scratch.ts';
import { realSupervisor } from './real-addon.ts';

test('lines: split across chunks, \\r\\n, UTF-8 cut mid-character, long lines cut, the rest at the end', () => {
  const s = new LineSplitter(8);
  const euro = Buffer.from('€'); // three bytes
  assert.deepEqual(s.push(Buffer.from('one\r\ntw')), ['one']);
  assert.deepEqual(s.push(Buffer.concat([Buffer.from('o '), euro.subarray(0, 1)])), []);
  assert.deepEqual(s.push(Buffer.concat([euro.subarray(1), Buffer.from('\n')])), ['two €']);
  assert.deepEqual(s.push(Buffer.from('0123456789abcdefXY\n')), ['01234567', '89abcdef', 'XY']);
  assert.deepEqual(s.push(Buffer.from('0123456789')), ['01234567'], 'a line with no end yet is cut too');
  assert.deepEqual(s.end(), ['89']);
  assert.deepEqual(s.end(), []);
});

test('a capped file: past the cap it becomes .1 and a new one starts; never more than the cap each', async () => {
  const dir = scratchDir('aios-log-');
  const f = new CappedFile(join(dir, 'svc.log'), 100);
  for (let i = 0; i < 30; i++) f.write(`line ${String(i).padStart(2, '0')}\n`); // 8 bytes each
  f.close();
  assert.deepEqual((await readdir(dir)).sort(), ['svc.log', 'svc.log.1']);
  const now = await readFile(join(dir, 'svc.log'), 'utf8');
  const before = await readFile(join(dir, 'svc.log.1'), 'utf8');
  assert.ok((await stat(join(dir, 'svc.log'))).size <= 100 && (await stat(join(dir, 'svc.log.1'))).size <= 100);
  assert.ok(now.endsWith('line 29\n'), 'the newest line is kept');
  assert.equal(`${before}${now}`.split('\n').filter(Boolean).at(0), 'line 12', 'whole files of the oldest lines went first (12 lines of 8 bytes fit in 100)');
  const big = new CappedFile(join(dir, 'big.log'), 10);
  big.write('0123456789ABCDEF');
  big.close();
  assert.equal(await readFile(join(dir, 'big.log'), 'utf8'), '6789ABCDEF', 'one write over the cap keeps its tail');
});

test('a flood: the console gets N lines a second and a count of the rest; the file gets every line', async () => {
  const dir = scratchDir('aios-log-');
  const shown: string[] = [];
  const seen: string[] = [];
  let now = 10_000;
  const log = new ServiceLog('chatty', {
    path: join(dir, 'chatty.log'),
    maxBytes: 1 << 20,
    consoleLinesPerSecond: 3,
    console: (l) => shown.push(l),
    onLine: (l) => seen.push(l),
    now: () => now,
  });
  log.lines(['a', 'b', 'c', 'd', 'e']);
  now += 1000;
  log.lines(['f']);
  log.close();
  log.lines(['after close']);
  assert.deepEqual(shown, [
    'chatty: a',
    'chatty: b',
    'chatty: c',
    `chatty: (2 more line(s) in ${dir}/chatty.log only: over 3 per second)`,
    'chatty: f',
    'chatty: after close',
  ]);
  assert.equal(await readFile(join(dir, 'chatty.log'), 'utf8'), 'a\nb\nc\nd\ne\nf\n', 'closed: /run can be unmounted');
  assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e', 'f', 'after close'], 'the line watcher sees what the console limit holds back');
});

test("a service's line watcher sees each line it writes, across its restarts", async () => {
  const { sup, stop } = realSupervisor();
  const seen: string[] = [];
  sup.start(
    ownService({ name: 'reporter', command: '/bin/sh', args: ['-c', 'echo "run $$"; exit 1'], restart: 'always', maxQuickFailures: 2, stableSeconds: 5 }),
    (l) => seen.push(l),
  );
  for (let i = 0; i < 150 && sup.info()[0]!.state !== 'failed'; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(seen.length, 2, seen.join('\n'));
  assert.ok(seen.every((l) => /^run \d+$/.test(l)) && seen[0] !== seen[1], 'one line from each of two processes');
  await sup.stopAll(1000);
  stop();
});

test('a supervised service: stdout and stderr reach the console with its name and /run/aios/log/<name>.log', async () => {
  const root = scratchDir('aios-root-');
  const { sup, shown, stop } = realSupervisor(root);
  sup.start(ownService({ name: 'talker', command: '/bin/sh', args: ['-c', 'echo out-line; echo err-line >&2; printf "no newline"'], restart: 'never' }));
  for (let i = 0; i < 100 && sup.info()[0]!.state === 'running'; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(shown, ['talker: out-line', 'talker: err-line', 'talker: no newline'], 'one pipe for both: the order they were written in');
  assert.equal(sup.info()[0]!.log, '/run/aios/log/talker.log');
  assert.equal(sup.info()[0]!.state, 'exited');
  const file = await readFile(join(root, 'run/aios/log/talker.log'), 'utf8');
  assert.equal(file, 'out-line\nerr-line\nno newline\n');
  await sup.stopAll(1000);
  stop();
});

test('a program exiting 127 itself is a failure to restart, not "not found"; a missing one is failed at once', async () => {
  const { sup, logged, stop } = realSupervisor();
  sup.start(ownService({ name: 'exits127', command: '/bin/sh', args: ['-c', 'exit 127'], restart: 'always', maxQuickFailures: 2, stableSeconds: 5 }));
  sup.start(ownService({ name: 'missing', command: '/usr/bin/does-not-exist', args: [], restart: 'always' }));
  for (let i = 0; i < 150 && sup.info()[0]!.state !== 'failed'; i++) await new Promise((r) => setTimeout(r, 20));
  const [exits127, missing] = sup.info();
  assert.equal(exits127!.state, 'failed', logged.join('\n'));
  assert.equal(exits127!.reason, 'ended 2 times in a row within 5 s of starting (last exit 127)');
  assert.deepEqual([missing!.state, missing!.reason, missing!.pid], ['failed', '/usr/bin/does-not-exist: not found (ENOENT)', null]);
  assert.ok(logged.includes('service missing failed: /usr/bin/does-not-exist: not found (ENOENT); not restarted'), logged.join('\n'));
  await sup.stopAll(1000);
  stop();
});

test('cgroups made ahead on the thread pool carry the limits; a directory that is no cgroup2 fails the start, saying so', async () => {
  const root = scratchDir('aios-root-');
  mkdirSync(join(root, 'sys/fs/cgroup'), { recursive: true });
  writeFileSync(join(root, 'sys/fs/cgroup/cgroup.controllers'), 'cpu memory\n');
  const { sup, logged, stop } = realSupervisor(root);
  const a = ownService({ name: 'a', command: '/bin/sh', args: ['-c', 'exit 0'], restart: 'never', memoryMax: '64M', cpuWeight: 200 });
  const b = ownService({ name: 'b', command: '/bin/sh', args: ['-c', 'exit 0'], restart: 'never' });
  await sup.prepare([a, b]);
  const cg = (n: string, f: string) => readFile(join(root, 'sys/fs/cgroup/aios', n, f), 'utf8');
  assert.equal(await cg('a', 'memory.max'), '64M');
  assert.equal(await cg('a', 'cpu.weight'), '1');
  assert.equal(await cg('b', 'memory.max'), 'max');
  // Not a real cgroup here (the boot tests start services in real ones): the kernel refuses it.
  sup.start(a);
  assert.equal(sup.info()[0]!.cgroup, join(root, 'sys/fs/cgroup/aios/a'));
  assert.deepEqual([sup.info()[0]!.state, sup.info()[0]!.reason], ['failed', '/bin/sh: cannot start: clone3 into the cgroup: Bad file descriptor']);
  stop();
});

test('until ready() each cgroup has its startupCpuWeight, then its cpuWeight; one made later has its cpuWeight at once', async () => {
  const root = scratchDir('aios-root-');
  mkdirSync(join(root, 'sys/fs/cgroup'), { recursive: true });
  writeFileSync(join(root, 'sys/fs/cgroup/cgroup.controllers'), 'cpu memory\n');
  const { sup, stop } = realSupervisor(root);
  const svc = (name: string, w: Partial<InitConfig['services'][number]>) =>
    ownService({ name, command: '/bin/sh', args: ['-c', 'exit 0'], restart: 'never', ...w });
  await sup.prepare([svc('low', { cpuWeight: 1000 }), svc('own', { cpuWeight: 300, startupCpuWeight: 40 })]);
  const weight = (n: string) => readFile(join(root, 'sys/fs/cgroup/aios', n, 'cpu.weight'), 'utf8');
  assert.deepEqual([await weight('low'), await weight('own')], ['1', '40']);
  sup.ready();
  assert.deepEqual([await weight('low'), await weight('own')], ['1000', '300']);
  // Its start fails on this fake cgroup, after the cgroup is made.
  sup.start(svc('later', { cpuWeight: 70 }));
  assert.equal(await weight('later'), '70');
  stop();
});

test('no cgroup2 at /sys/fs/cgroup (nothing mounted, or a v1 tmpfs): services run without cgroups, and it is said once', async () => {
  const { sup, logged, stop } = realSupervisor();
  sup.start(ownService({ name: 'a', command: '/bin/sh', args: ['-c', 'exit 0'], restart: 'never' }));
  sup.start(ownService({ name: 'b', command: '/bin/sh', args: ['-c', 'exit 0'], restart: 'never' }));
  assert.deepEqual(
    sup.info().map((s) => [s.cgroup, s.state]),
    [
      [null, 'running'],
      [null, 'running'],
    ],
  );
  assert.equal(logged.filter((m) => /no cgroups for services \(no cgroup2 at .*\/sys\/fs\/cgroup\)/.test(m)).length, 1, logged.join('\n'));
  await sup.stopAll(1000);
  stop();
});

test('a service of another user runs as it, owns /var/lib/<name>, keeps no capability; an unknown user fails the service, saying so', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: only root can become another user');
  const root = scratchDir('aios-root-');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:901:901::/var/lib/web:/bin/false\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nweb:x:901:\nvideo:x:44:web\n');
  const { sup, logged, stop } = realSupervisor(root);
  const seen: string[] = [];
  const script = 'id -u; id -G; echo "HOME=$HOME USER=$USER"; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status';
  sup.start({ ...ownService({ name: 'web', command: '/bin/sh', args: ['-c', script], restart: 'never' }), user: 'web' }, (l) => seen.push(l));
  sup.start({ ...ownService({ name: 'ghost', command: '/bin/true', args: [], restart: 'never' }), user: 'ghost' });
  for (let i = 0; i < 100 && sup.info()[0]!.state === 'running'; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(seen, ['901', '901 44', 'HOME=/var/lib/web USER=web', 'CapEff:\t0000000000000000', 'NoNewPrivs:\t1'], logged.join('\n'));
  const st = statSync(join(root, 'var/lib/web'));
  assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [901, 901, 0o700]);
  const ghost = sup.info().find((s) => s.name === 'ghost')!;
  assert.deepEqual([ghost.state, ghost.reason], ['failed', 'user "ghost" is not in /etc/passwd']);
  await sup.stopAll(1000);
  stop();
});
