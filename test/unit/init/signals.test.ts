import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PowerRequests, SIGNAL_ACTIONS } from '../../../init/src/signals.ts';

test('signal table: busybox halt, poweroff and reboot do what their names say; Ctrl-Alt-Del restarts', () => {
  assert.deepEqual(Object.fromEntries(Object.entries(SIGNAL_ACTIONS).map(([s, a]) => [s, a.action])), {
    SIGUSR1: 'halt',
    SIGUSR2: 'poweroff',
    SIGTERM: 'restart',
    SIGINT: 'restart',
  });
});

test('a power request before aios-init is ready is kept and carried out once it is; later ones go straight through', () => {
  const proc = new EventEmitter();
  const p = new PowerRequests();
  p.listen(proc as unknown as NodeJS.Process);
  assert.equal(proc.listenerCount('SIGUSR1'), 1, 'SIGUSR1 is handled, so Node never opens its inspector');
  proc.emit('SIGUSR2');
  proc.emit('SIGTERM'); // the first request wins
  const done: string[] = [];
  p.ready((action, why) => done.push(`${action}: ${why}`));
  assert.deepEqual(done, ['poweroff: SIGUSR2 (busybox poweroff)']);
  proc.emit('SIGUSR1');
  assert.deepEqual(done.at(-1), 'halt: SIGUSR1 (busybox halt)');
});

test('console shell: the kernel flag turns it on or off, the console terminal is the last active one', async () => {
  const { shellFlag, consoleTty, shellService } = await import('../../../init/src/shell.ts');
  const { FsRoot } = await import('../../../init/src/fsroot.ts');
  const { fixtureRoot } = await import('./fixtures.ts');
  assert.equal(shellFlag('console=ttyS0 root=/dev/sda1 aios.shell=1 panic=-1'), true);
  assert.equal(shellFlag('console=ttyS0 aios.shell'), true);
  assert.equal(shellFlag('aios.shell=0'), false);
  assert.equal(shellFlag('console=ttyS0 aios.shellx=1'), undefined);
  assert.equal(shellFlag('console=ttyS0'), undefined);
  const root = await fixtureRoot({ 'sys/class/tty/console/active': 'tty0 ttyS0\n' });
  assert.equal(consoleTty(new FsRoot(root)), '/dev/ttyS0');
  assert.equal(consoleTty(new FsRoot('/nonexistent')), null);
  const svc = shellService('/dev/ttyS0');
  assert.deepEqual([svc.command, ...svc.args], ['/bin/busybox', 'setsid', '-c', '/bin/sh', '-l']);
  assert.equal(svc.tty, '/dev/ttyS0');
  assert.equal(svc.restart, 'always');
});

test('aios-init does nothing unless it is process 1, and says why', async () => {
  const { notPid1 } = await import('../../../init/src/pid1.ts');
  assert.equal(notPid1(1), null);
  const why = notPid1(130);
  assert.match(why ?? '', /runs only as process 1; it is process 130, so it did nothing/);
  assert.ok(why?.endsWith('\n'));
});
