// Network bring-up: interfaces, udhcpc under supervision, and each lease its script reports applied by aios-init.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsRoot } from '../../../init/src/fsroot.ts';
import { listInterfaces, startNetwork } from '../../../init/src/network.ts';
import { LEASE_DIR, MAX_ROUTERS, applyLease, dhcpService, leaseLine, parseLeaseFile, resolvConf, type DhcpLease } from '../../../init/src/dhcp.ts';
import { loadInitConfig } from '../../../init/src/config.ts';
import { defaultRoute, defaultRoutes } from '../../../init/src/routes.ts';
import { fakeSys, fixtureRoot } from './fixtures.ts';

test('network: DHCP lease from our udhcpc script, physical Ethernet only', async () => {
  const file = 'event=bound\nip=10.0.2.15\nsubnet=255.255.255.0\nrouter=10.0.2.2\ndns=10.0.2.3\nserver=10.0.2.2\nlease=86400\nuptime=3.51\n';
  assert.deepEqual(parseLeaseFile('eth0', file), {
    interface: 'eth0',
    event: 'bound',
    ip: '10.0.2.15',
    subnet: '255.255.255.0',
    routers: ['10.0.2.2'],
    dns: ['10.0.2.3'],
    domain: null,
    server: '10.0.2.2',
    leaseSeconds: 86400,
    uptime: 3.51,
  });
  assert.equal(parseLeaseFile('eth0', 'event=deconfig\n'), undefined);
  // udhcpc stays up to renew (no -q, no -n) and applies each lease with the script.
  const svc = dhcpService('eth0', '/sbin/udhcpc');
  assert.equal(svc.name, 'dhcp-eth0');
  assert.equal(svc.restart, 'always');
  assert.ok(!svc.args.includes('-q') && !svc.args.includes('-n'));
  assert.deepEqual(svc.args.slice(-2), ['-s', '/usr/libexec/aios/udhcpc.script']);
  assert.deepEqual(svc.capabilities, ['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'], 'the network ones, nothing else of root');
  const root = await fixtureRoot({
    'sys/class/net/lo/type': '772',
    'sys/class/net/eth0/type': '1',
    'sys/class/net/eth0/device/vendor': '0x1af4',
    'sys/class/net/veth0/type': '1',
  });
  assert.deepEqual(
    listInterfaces(new FsRoot(root)).map((i) => [i.name, i.kind, i.physical]),
    [
      ['eth0', 'ethernet', true],
      ['lo', 'loopback', false],
      ['veth0', 'ethernet', false],
    ],
  );
});

test("the script's report line names the event and interface; resolv.conf from DNS servers and domain", () => {
  assert.deepEqual(leaseLine('AIOS_DHCP bound eth0 ip=10.0.2.15 router=10.0.2.2 dns=10.0.2.3 server=10.0.2.2 lease=86400s'), { event: 'bound', iface: 'eth0' });
  assert.deepEqual(leaseLine('AIOS_DHCP renew enp0s3 ip=1.2.3.4'), { event: 'renew', iface: 'enp0s3' });
  assert.equal(leaseLine('AIOS_DHCP deconfig eth0'), undefined);
  assert.equal(leaseLine('udhcpc: lease of 10.0.2.15 obtained, AIOS_DHCP bound eth0'), undefined, 'only a line that starts with it');
  assert.equal(resolvConf({ dns: ['10.0.2.3', '1.1.1.1'], domain: 'lan' }), 'search lan\nnameserver 10.0.2.3\nnameserver 1.1.1.1\n');
  assert.equal(resolvConf({ dns: ['10.0.2.3'], domain: null }), 'nameserver 10.0.2.3\n');
  assert.equal(resolvConf({ dns: [], domain: 'lan' }), undefined);
});

test("udhcpc's own script, run as udhcpc runs it: the record it leaves is what aios-init reads, and its line is the signal", (t) => {
  const script = readFileSync(new URL('../../../rootfs/usr/libexec/aios/udhcpc.script', import.meta.url), 'utf8');
  assert.match(script, new RegExp(`^dir=${LEASE_DIR}$`, 'm'), 'the script writes where aios-init reads');
  const dir = mkdtempSync(join(tmpdir(), 'aios-udhcpc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The same script with only its directory moved, so that the test never writes the host's /run.
  const copy = join(dir, 'udhcpc.script');
  writeFileSync(copy, script.replace(/^dir=.*$/m, `dir=${dir}/leases`));
  const env = {
    PATH: process.env.PATH,
    interface: 'eth0',
    ip: '10.0.2.15',
    subnet: '255.255.255.0',
    router: '10.0.2.2 10.0.2.1',
    dns: '10.0.2.3 1.1.1.1',
    domain: 'lan',
    serverid: '10.0.2.2',
    lease: '86400',
  };
  const run = (event: string) => execFileSync('sh', [copy, event], { env, encoding: 'utf8' });
  assert.equal(run('deconfig'), '', 'deconfig records nothing and says nothing');
  const out = run('bound');
  assert.deepEqual(leaseLine(out.trim()), { event: 'bound', iface: 'eth0' });
  assert.deepEqual(readdirSync(join(dir, 'leases')), ['eth0.lease'], 'no half-written record left beside it');
  const lease = parseLeaseFile('eth0', readFileSync(join(dir, 'leases/eth0.lease'), 'utf8'));
  assert.ok(lease && typeof lease.uptime === 'number' && lease.uptime > 0, 'uptime read from /proc/uptime');
  assert.deepEqual(
    { ...lease, uptime: 0 },
    {
      interface: 'eth0',
      event: 'bound',
      ip: '10.0.2.15',
      subnet: '255.255.255.0',
      routers: ['10.0.2.2', '10.0.2.1'],
      dns: ['10.0.2.3', '1.1.1.1'],
      domain: 'lan',
      server: '10.0.2.2',
      leaseSeconds: 86400,
      uptime: 0,
    },
  );
  assert.deepEqual(leaseLine(run('renew').trim()), { event: 'renew', iface: 'eth0' });
  assert.equal(parseLeaseFile('eth0', readFileSync(join(dir, 'leases/eth0.lease'), 'utf8'))?.event, 'renew');
});

const LEASE = 'event=bound\nip=10.0.2.15\nsubnet=255.255.255.0\nrouter=10.0.2.2\ndns=10.0.2.3\ndomain=\nserver=10.0.2.2\nlease=86400\nuptime=3.51\n';

test('DHCP: the first lease the script reports is applied by aios-init (address, route, resolv.conf) and ends the wait', async () => {
  const root = await fixtureRoot({
    'sys/class/net/eth0/type': '1',
    'sys/class/net/eth0/device/vendor': '0x1af4',
    'sbin/udhcpc': '',
    'run/aios/resolv.conf': 'nameserver 192.0.2.1\n',
    'proc/net/route': 'Iface\tDestination\tGateway\n',
  });
  const fs = new FsRoot(root);
  const sys = fakeSys();
  const logged: string[] = [];
  let onLine: ((l: string) => void) | undefined;
  const cfg = { ...loadInitConfig(join(root, 'none.json')).config.network, dhcpTimeoutSeconds: 5 };
  const [eth0] = startNetwork(
    sys,
    fs,
    cfg,
    (s, f) => ((onLine = f), assert.equal(s.name, 'dhcp-eth0')),
    (m) => logged.push(m),
    new Set(),
  );
  assert.ok(onLine, 'udhcpc was started with a line watcher');
  onLine('udhcpc: sending discover');
  onLine('AIOS_DHCP bound eth1 ip=10.0.3.15');
  onLine('AIOS_DHCP bound eth0 ip=10.0.2.15');
  assert.deepEqual(logged, ['eth0: udhcpc reported a lease, but /run/aios/dhcp/eth0.lease holds none']);
  writeFileSync(join(root, 'run/aios/dhcp/eth0.lease'), LEASE);
  onLine('AIOS_DHCP bound eth0 ip=10.0.2.15');
  assert.deepEqual(await eth0, ['eth0 10.0.2.15/255.255.255.0 by DHCP from 10.0.2.2 via 10.0.2.2, lease 86400 s']);
  assert.deepEqual(
    sys.calls.filter((c) => !c.startsWith('linkUp') && !c.includes(' lo ')),
    ['setAddress eth0 10.0.2.15 255.255.255.0', 'setDefaultRoutes eth0 10.0.2.2'],
  );
  assert.equal(readFileSync(join(root, 'run/aios/resolv.conf'), 'utf8'), 'nameserver 10.0.2.3\n');
  // A renewal that changes nothing touches nothing; one with a new router moves the route only.
  writeFileSync(join(root, 'proc/net/route'), 'Iface\tDestination\tGateway\neth0\t00000000\t0202000A\n');
  sys.calls.length = 0;
  onLine('AIOS_DHCP renew eth0 ip=10.0.2.15');
  assert.deepEqual(sys.calls, []);
  writeFileSync(join(root, 'run/aios/dhcp/eth0.lease'), LEASE.replace('router=10.0.2.2', 'router=10.0.2.254'));
  onLine('AIOS_DHCP renew eth0 ip=10.0.2.15');
  assert.deepEqual(sys.calls, ['setDefaultRoutes eth0 10.0.2.254']);
});

test('DHCP: no lease in time falls back to the static address; what cannot be applied is said, the rest still done', async () => {
  const root = await fixtureRoot({ 'sys/class/net/eth0/type': '1', 'sys/class/net/eth0/device/vendor': '0x1af4', 'sbin/udhcpc': '' });
  const fs = new FsRoot(root);
  const sys = fakeSys();
  const logged: string[] = [];
  const cfg = {
    ...loadInitConfig(join(root, 'none.json')).config.network,
    dhcpTimeoutSeconds: 0.05,
    address: '192.168.1.9',
    netmask: '255.255.255.0',
    gateway: '192.168.1.1',
  };
  const [eth0] = startNetwork(
    sys,
    fs,
    cfg,
    () => {},
    (m) => logged.push(m),
    new Set(),
  );
  assert.deepEqual(await eth0, ['eth0 192.168.1.9/255.255.255.0 static via 192.168.1.1']);
  assert.deepEqual(logged, ['eth0: no DHCP lease within 0.05 s (udhcpc keeps asking)']);
  assert.ok(sys.calls.includes('setDefaultRoutes eth0 192.168.1.1'));

  const failing = fakeSys({ setAddress: 'EPERM' });
  const lease = parseLeaseFile('eth0', LEASE.replace('domain=', 'domain=lan')) as DhcpLease;
  // A directory where the new resolver configuration would be written: it cannot be.
  mkdirSync(join(root, 'run/aios/resolv.conf.new'), { recursive: true });
  const problems = applyLease(failing, fs, lease, undefined);
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.equal(problems[0], 'eth0: address 10.0.2.15/255.255.255.0: EPERM');
  assert.match(problems[1]!, /^eth0: \/run\/aios\/resolv\.conf: EISDIR/, 'resolv.conf.new is a directory');
  assert.ok(failing.calls.includes('setDefaultRoutes eth0 10.0.2.2'), 'the route is still set');
});

/** /proc/net/route as the kernel writes it: gateways little-endian hex, the metric in column 7. */
function procNetRoute(routes: [iface: string, gateway: string, metric: number][]): string {
  const hex = (ip: string) =>
    ip
      .split('.')
      .reverse()
      .map((b) => Number(b).toString(16).padStart(2, '0').toUpperCase())
      .join('');
  const head = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n';
  return (
    head +
    routes.map(([i, gw, m]) => `${i}\t00000000\t${hex(gw)}\t0003\t0\t0\t${m}\t00000000\t0\t0\t0\n`).join('') +
    'eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n'
  );
}

test('DHCP: a lease with several routers sets a default route through each, in its order, and leaves them when they are there', async () => {
  const root = await fixtureRoot({ 'proc/net/route': procNetRoute([]), 'run/aios/resolv.conf': '' });
  const fs = new FsRoot(root);
  const lease = parseLeaseFile('eth0', LEASE.replace('router=10.0.2.2', 'router=10.0.2.2 10.0.2.1')) as DhcpLease;
  assert.deepEqual(lease.routers, ['10.0.2.2', '10.0.2.1']);
  const sys = fakeSys();
  assert.deepEqual(applyLease(sys, fs, lease, undefined), []);
  assert.ok(sys.calls.includes('setDefaultRoutes eth0 10.0.2.2,10.0.2.1'), sys.calls.join('\n'));
  const applied = (routes: [string, string, number][]) => {
    writeFileSync(join(root, 'proc/net/route'), procNetRoute(routes));
    const s = fakeSys();
    applyLease(s, fs, lease, lease);
    return s.calls;
  };
  assert.deepEqual(
    applied([
      ['eth0', '10.0.2.1', 1],
      ['eth0', '10.0.2.2', 0],
    ]),
    [],
    'both there, in metric order: nothing to do',
  );
  assert.deepEqual(
    applied([
      ['eth0', '10.0.2.2', 1],
      ['eth0', '10.0.2.1', 0],
    ]),
    ['setDefaultRoutes eth0 10.0.2.2,10.0.2.1'],
    'the order turned round',
  );
  assert.deepEqual(applied([['eth0', '10.0.2.2', 0]]), ['setDefaultRoutes eth0 10.0.2.2,10.0.2.1'], 'one missing');
  assert.deepEqual(
    applied([
      ['eth1', '10.0.2.1', 1],
      ['eth0', '10.0.2.2', 0],
    ]),
    ['setDefaultRoutes eth0 10.0.2.2,10.0.2.1'],
    "another interface's route is not this one's",
  );
  const many = parseLeaseFile('eth0', LEASE.replace('router=10.0.2.2', `router=${Array.from({ length: 12 }, (_, i) => `10.0.2.${i + 1}`).join(' ')}`));
  assert.equal(many?.routers.length, MAX_ROUTERS, "no more than the addon's limit");
});

test("the default route is the lowest metric's, on any interface or the one asked for", async () => {
  const fs = new FsRoot(
    await fixtureRoot({
      'proc/net/route': procNetRoute([
        ['eth1', '10.0.3.2', 5],
        ['eth0', '10.0.2.1', 1],
        ['eth0', '10.0.2.2', 0],
      ]),
    }),
  );
  assert.equal(defaultRoute(fs), '10.0.2.2');
  assert.equal(defaultRoute(fs, 'eth1'), '10.0.3.2');
  assert.deepEqual(defaultRoutes(fs, 'eth0'), ['10.0.2.2', '10.0.2.1']);
  assert.equal(defaultRoute(new FsRoot(await fixtureRoot({}))), null, 'no /proc/net/route, no route');
});
