// The watchdog on a fake device (a file in a fixture root): armed with the timeout init.json gives
// and kept alive on the event loop's timers; never armed when absent or off.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keepAliveMs, Watchdog } from '../../../init/src/watchdog.ts';
import { FsRoot } from '../../../init/src/fsroot.ts';
import { fakeSys, fixtureRoot } from './fixtures.ts';
import { realAddon } from './real-addon.ts';

test('keep-alives come three times per timeout', () => {
  assert.equal(keepAliveMs(60), 20_000);
  assert.equal(keepAliveMs(1), 333);
});

test('armed: a keep-alive byte on each turn of the timer, never a "V" (which would let a close stop it)', async () => {
  const root = await fixtureRoot({ 'dev/watchdog0': '' });
  const sys = fakeSys();
  const warned: string[] = [];
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const dog = new Watchdog(sys, new FsRoot(root), (m) => warned.push(m));
    const info = dog.arm('/dev/watchdog0', 30);
    assert.deepEqual(info, { device: '/dev/watchdog0', armed: true, identity: 'fake watchdog', timeoutSeconds: 30, keepAliveMs: 10_000 });
    assert.deepEqual(sys.calls, [`watchdogOpen ${join(root, 'dev/watchdog0')} 30`]);
    const written = () => readFileSync(join(root, 'dev/watchdog0'), 'latin1');
    mock.timers.tick(9_999);
    assert.equal(written(), '');
    mock.timers.tick(1);
    mock.timers.tick(20_000);
    assert.equal(written(), '\0\0\0');
    mock.timers.tick(40_000);
    assert.equal(written(), '\0\0\0\0\0\0\0');
    assert.deepEqual(warned, []);
  } finally {
    mock.timers.reset();
  }
});

test('not armed: no device, a timeout of 0, or the driver refusing (its error in the report)', async () => {
  const root = await fixtureRoot({ 'dev/watchdog0': '' });
  const none = fakeSys();
  assert.deepEqual(new Watchdog(none, new FsRoot(root), () => {}).arm('/dev/watchdog1', 30), { device: '/dev/watchdog1', armed: false, detail: 'not present' });
  assert.deepEqual(new Watchdog(none, new FsRoot(root), () => {}).arm('/dev/watchdog0', 0), {
    device: '/dev/watchdog0',
    armed: false,
    detail: 'off (init.json watchdog.timeoutSeconds is 0)',
  });
  assert.deepEqual(none.calls, []);
  const refusing = fakeSys({ watchdogOpen: 'EINVAL' });
  const info = new Watchdog(refusing, new FsRoot(root), () => {}).arm('/dev/watchdog0', 3600);
  assert.deepEqual(info, { device: '/dev/watchdog0', armed: false, detail: 'EINVAL' });
});

test('addon: a device that is no watchdog is refused with the ioctl named, and its descriptor closed', () => {
  const sys = realAddon();
  const before = readFdCount();
  assert.throws(() => sys.watchdogOpen('/dev/null', 30), { code: 'ENOTTY', message: 'WDIOC_GETSUPPORT: Inappropriate ioctl for device' });
  assert.throws(() => sys.watchdogOpen('/nonexistent/watchdog0', 30), { code: 'ENOENT' });
  assert.equal(readFdCount(), before);
});

function readFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}
