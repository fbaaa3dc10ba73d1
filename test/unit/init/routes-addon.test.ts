// The addon's network calls on a real kernel, in a network namespace of their own (root only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsRoot } from '../../../init/src/fsroot.ts';
import { defaultRoutes } from '../../../init/src/routes.ts';
import { realAddonPath } from './real-addon.ts';
import { scratchDir } from '../scratch.ts';

// Runs inside `unshare -n`: loopback is the namespace's only interface, given an address on a
// subnet of its own so that gateways on it are reachable. Prints /proc/net/route after each call.
const CHILD = `
const sys = { exports: {} };
process.dlopen(sys, process.argv[2]);
const { linkUp, setAddress, setDefaultRoutes } = sys.exports;
const routes = () => require('node:fs').readFileSync('/proc/net/route', 'utf8');
const steps = [];
const step = (what, fn) => {
  try { fn(); steps.push({ what, routes: routes() }); } catch (e) { steps.push({ what, error: e.code + ' ' + e.message, routes: routes() }); }
};
linkUp('lo');
setAddress('lo', '10.9.0.5', '255.255.255.0');
step('two', () => setDefaultRoutes('lo', ['10.9.0.1', '10.9.0.2']));
step('renewed', () => setDefaultRoutes('lo', ['10.9.0.3', '10.9.0.1']));
step('not an address', () => setDefaultRoutes('lo', ['10.9.0.4', 'gateway']));
step('none', () => setDefaultRoutes('lo', []));
step('unreachable', () => setDefaultRoutes('lo', ['192.0.2.1', '10.9.0.6']));
console.log(JSON.stringify(steps));
`;

const root = process.getuid?.() === 0;

test(
  'setDefaultRoutes on a real kernel: a route through each gateway in order, a renewal replaces them, bad input changes nothing, a refused gateway is named',
  { skip: root ? false : 'needs root for a network namespace of its own (unshare -n)' },
  () => {
    const dir = scratchDir('aios-netns-');
    writeFileSync(join(dir, 'child.cjs'), CHILD);
    const out = execFileSync('unshare', ['-n', process.execPath, join(dir, 'child.cjs'), realAddonPath()], { encoding: 'utf8' });
    const steps = JSON.parse(out) as { what: string; error?: string; routes: string }[];
    const fs = new FsRoot(join(dir, 'root'));
    mkdirSync(join(dir, 'root/proc/net'), { recursive: true });
    const seen = Object.fromEntries(
      steps.map((s) => {
        writeFileSync(join(dir, 'root/proc/net/route'), s.routes);
        return [s.what, { error: s.error, gateways: defaultRoutes(fs, 'lo') }];
      }),
    );
    assert.deepEqual(seen.two, { error: undefined, gateways: ['10.9.0.1', '10.9.0.2'] });
    assert.deepEqual(seen.renewed, { error: undefined, gateways: ['10.9.0.3', '10.9.0.1'] }, 'the old routes are gone, the new order kept');
    assert.deepEqual(
      seen['not an address'],
      { error: 'EINVAL gateway: Invalid argument', gateways: ['10.9.0.3', '10.9.0.1'] },
      'checked before any route is touched',
    );
    assert.match(seen.none!.error ?? '', /1 to 8 gateway/);
    assert.deepEqual(seen.none!.gateways, ['10.9.0.3', '10.9.0.1']);
    // A gateway off every subnet is refused by the kernel and named; the next one is still set.
    assert.match(seen.unreachable!.error ?? '', /^ENETUNREACH lo via 192\.0\.2\.1: /);
    assert.deepEqual(seen.unreachable!.gateways, ['10.9.0.6']);
  },
);
