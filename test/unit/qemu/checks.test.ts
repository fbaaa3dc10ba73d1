import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge, panicHint } from '../../../qemu/checks.ts';
import { junit, table } from '../../../qemu/output.ts';
import { goodReport, outcome } from './fixtures.ts';

const verdict = (o: ReturnType<typeof outcome>) => Object.fromEntries(judge(o).map((c) => [c.id, c.ok]));

test('a good boot passes every check', () => {
  const checks = judge(outcome());
  assert.deepEqual(
    checks.filter((c) => !c.ok),
    [],
  );
  assert.equal(checks.length, 12);
});

test('each check fails on its own fixture', () => {
  const r = goodReport;
  assert.equal(verdict(outcome({ reportSec: 31 }))['boot-time'], false);
  assert.equal(verdict(outcome({ accel: 'kvm', reportSec: 6 }))['boot-time'], false);
  assert.equal(verdict(outcome({ report: { ...r(), mounts: r().mounts.filter((m) => m.target !== '/var/tmp') } })).filesystems, false);
  assert.equal(verdict(outcome({ report: { ...r(), interfaces: r().interfaces.filter((i) => i.kind !== 'ethernet') } })).network, false);
  assert.equal(verdict(outcome({ httpOk: false })).network, false);
  assert.equal(
    verdict(
      outcome({
        report: {
          ...r(),
          gpus: [{ slot: '0000:00:02.0', vendor: '0x1002', device: '0x5046', vendorName: 'AMD', class: '0x030000', driver: null, module: 'amdgpu' }],
        },
      }),
    ).gpu,
    false,
  );
  assert.equal(verdict(outcome({ report: { ...r(), procFiles: { '/proc/cpuinfo': false } } }))['proc-sys'], false);
  assert.equal(verdict(outcome({ report: { ...r(), pid1: { pid: 1, comm: 'sh', exe: '/bin/busybox', rssKB: 1 } } })).pid1, false);
  assert.equal(verdict(outcome({ live: { ...r(), zombies: [40, 41] }, later: { ...r(), zombies: [41] } })).orphans, false);
  assert.equal(verdict(outcome({ live: { ...r(), zombies: [40] }, later: { ...r(), zombies: [42] } })).orphans, true, 'a fresh zombie reaped in time is fine');
  assert.equal(verdict(outcome({ live: undefined })).orphans, false);
  assert.equal(verdict(outcome({ report: { ...r(), modules: ['snd'] } })).modules, false);
  assert.equal(verdict(outcome({ report: { ...r(), modules: ['floppy'] } })).modules, false);
  assert.equal(verdict(outcome({ kernelBytes: 16_000_000 }))['kernel-size'], false);
  assert.equal(verdict(outcome({ cleanShutdown: false })).shutdown, false);
  assert.equal(verdict(outcome({ e2fsck: { ok: false, detail: 'errors' } })).fsck, false);
});

test('an AMD GPU with its module loaded passes and is named; no GPU is "none present"', () => {
  const amd = judge(
    outcome({
      report: {
        ...goodReport(),
        modules: ['amdgpu', 'drm'],
        moduleStrategy: { ...goodReport().moduleStrategy, detected: ['amdgpu'], planned: ['drm', 'amdgpu'] },
        gpus: [{ slot: '0000:00:02.0', vendor: '0x1002', device: '0x5046', vendorName: 'AMD', class: '0x030000', driver: null, module: 'amdgpu' }],
      },
    }),
  );
  assert.ok(
    amd.every((c) => c.ok),
    JSON.stringify(amd.filter((c) => !c.ok)),
  );
  assert.match(amd.find((c) => c.id === 'gpu')!.detail, /AMD 0x1002:0x5046/);
  assert.match(judge(outcome()).find((c) => c.id === 'gpu')!.detail, /none present/);
});

test('no report: every report check fails and says why', () => {
  const checks = judge(outcome({ report: undefined, reportSec: undefined, reportError: 'boot report is not valid JSON' }));
  for (const id of ['filesystems', 'network', 'gpu', 'proc-sys', 'pid1', 'orphans', 'modules', 'boot-time'])
    assert.equal(checks.find((c) => c.id === id)!.ok, false, id);
  assert.match(checks.find((c) => c.id === 'pid1')!.detail, /not valid JSON/);
});

test('panic hints', () => {
  assert.match(panicHint('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)')!, /storage driver/);
  assert.match(panicHint('Kernel panic - not syncing: No working init found.')!, /BINFMT_ELF/);
  assert.equal(panicHint('all fine'), undefined);
});

test('JUnit: one test case per check and path, failures carry the detail; the table lists them', () => {
  const res = [
    { path: 'direct' as const, accel: 'tcg' as const, accelWhy: '', command: 'qemu', serialLog: 'l', figures: {}, checks: judge(outcome()) },
    {
      path: 'iso-bios' as const,
      accel: 'tcg' as const,
      accelWhy: '',
      command: 'qemu',
      serialLog: 'l',
      figures: {},
      checks: judge(outcome({ cleanShutdown: false, shutdownDetail: 'killed <after> 60 s', e2fsck: undefined })),
    },
  ];
  const xml = junit(res);
  assert.equal((xml.match(/<testcase /g) ?? []).length, 23);
  assert.equal((xml.match(/<failure /g) ?? []).length, 1);
  assert.match(xml, /killed &lt;after&gt; 60 s/);
  assert.match(table(res), /iso-bios +clean power-off +FAIL/);
});

test('clean power-off needs "reboot: Power down" from the kernel, not only an exit of QEMU', async () => {
  const { judgePowerOff } = await import('../../../qemu/checks.ts');
  const exited = { cleanShutdown: true, shutdownDetail: 'QEMU exited by itself 9.0 s after start, after system_powerdown' };
  assert.equal(judgePowerOff({ ...exited, powerOffLines: ['reboot: Power down'] }).ok, true);
  const panic = judgePowerOff({ ...exited, powerOffLines: ['Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b', 'reboot: Power down'] });
  assert.equal(panic.ok, false);
  assert.match(panic.detail, /but the kernel said: Kernel panic - not syncing: Attempted to kill init/);
  assert.match(judgePowerOff({ ...exited, powerOffLines: ['reboot: Restarting system'] }).detail, /Restarting system/);
  assert.match(judgePowerOff({ ...exited, powerOffLines: ['aios-init: stop services'] }).detail, /no "reboot: Power down" after it/);
  assert.equal(judgePowerOff({ cleanShutdown: false, shutdownDetail: 'QEMU still running 60 s after system_powerdown: killed' }).ok, false);
});

test('network needs the address from a DHCP lease on the QEMU paths: a static fallback fails it', () => {
  const net = (o: Parameters<typeof judge>[0]) => judge(o).find((c) => c.id === 'network')!;
  const ok = net(outcome());
  assert.equal(ok.ok, true);
  assert.match(ok.detail, /eth0 10\.0\.2\.15\/24 \(DHCP from 10\.0\.2\.2, lease 86400 s\)/);
  const report = { ...goodReport(), dhcp: [] };
  const statik = net(outcome({ report }));
  assert.equal(statik.ok, false);
  assert.match(statik.detail, /no DHCP lease: static or stale/);
});

test('image configuration accepted: fails on init.json errors, and when the report says nothing of them', () => {
  const cfg = (o: Parameters<typeof judge>[0]) => judge(o).find((c) => c.id === 'config')!;
  assert.equal(cfg(outcome()).ok, true);
  const bad = cfg(outcome({ report: { ...goodReport(), configErrors: ['/etc/aios/init.json: hostnme: unknown key (did you mean "hostname"?)'] } }));
  assert.equal(bad.ok, false);
  assert.match(bad.detail, /hostnme: unknown key/);
  const { configErrors: _omit, ...silent } = goodReport();
  assert.equal(cfg(outcome({ report: silent as ReturnType<typeof goodReport> })).ok, false);
});
