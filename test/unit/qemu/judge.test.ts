import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge, panicHint } from '../../../qemu/judge.ts';
import { judgeBackends, judgeFilesystems, judgeProcSys } from '../../../qemu/judge-guest.ts';
import { junit, table } from '../../../qemu/output.ts';
import type { ProbeEvidence } from '../../../common/probe.ts';
import type { BootOutcome } from '../../../qemu/judge.ts';
import type { BootPath } from '../../../qemu/cmdline.ts';
import { goodImage, goodProbe, goodReport, outcome } from './fixtures.ts';

const verdict = (o: ReturnType<typeof outcome>) => Object.fromEntries(judge(o).map((c) => [c.id, c.ok]));

test('a good boot passes every check', () => {
  const checks = judge(outcome());
  assert.deepEqual(
    checks.filter((c) => !c.ok),
    [],
  );
  assert.equal(checks.length, 13);
});

const probe = (edit: (e: ProbeEvidence) => void): Partial<BootOutcome> => {
  const e = goodProbe();
  edit(e);
  return { probe: { ok: true, evidence: e } };
};
const AMD = { slot: '0000:00:03.0', vendor: '0x1002', device: '0x5046', class: '0x030000', driver: null, modalias: 'pci:v00001002d00005046' };

test('each check fails on its own fixture: the probe or the image says so, whatever the report claims', () => {
  assert.equal(verdict(outcome({ reportSec: 31 }))['boot-time'], false);
  assert.equal(verdict(outcome({ accel: 'kvm', reportSec: 6 }))['boot-time'], false);
  assert.equal(verdict(outcome(probe((e) => (e.mounts = e.mounts.filter((m) => m.target !== '/var/tmp'))))).filesystems, false);
  const fstab = [...goodImage().fstab, { source: '/dev/sdb1', target: '/data', fstype: 'ext4', options: ['defaults'] }];
  assert.equal(verdict(outcome({ image: goodImage({ fstab }) })).filesystems, false, 'an fstab entry that is not mounted');
  // Mounted, but not as fstab says: read-only where it says rw, another type.
  const rwRoot = goodImage().fstab.map((e) => (e.target === '/' ? { ...e, options: ['rw'] } : e));
  const fs = judgeFilesystems(goodImage({ fstab: rwRoot }), goodProbe());
  assert.deepEqual([fs.ok, fs.detail], [false, '/ is mounted ro, fstab says rw']);
  const ramfs = judgeFilesystems(
    goodImage(),
    (() => {
      const e = goodProbe();
      e.mounts = e.mounts.map((m) => (m.target === '/var/tmp' ? { ...m, fstype: 'ramfs' } : m));
      return e;
    })(),
  );
  assert.deepEqual([ramfs.ok, ramfs.detail], [false, '/var/tmp is ramfs, fstab says tmpfs']);
  assert.match(judgeFilesystems(goodImage(), goodProbe()).detail, /^mounted: \/ \(ext4, ro\), \/var\/tmp \(tmpfs, rw\)/);
  assert.equal(verdict(outcome(probe((e) => delete e.interfaces.eth0))).network, false);
  assert.equal(verdict(outcome(probe((e) => (e.leases = {})))).network, false, 'an address without a lease');
  assert.equal(verdict(outcome({ httpOk: false })).network, false);
  assert.equal(verdict(outcome({ attached: [{ spec: 'ati-vga,addr=05.1', vendor: '0x1002', device: '0x5046' }] })).gpu, false, 'attached but not found');
  assert.equal(verdict(outcome(probe((e) => e.pci.push(AMD)))).gpu, false, 'found, module not loaded');
  assert.equal(verdict(outcome(probe((e) => (e.files['/sys/class/net'] = false))))['proc-sys'], false);
  assert.equal(verdict(outcome(probe((e) => delete e.files['/proc/cpuinfo'])))['proc-sys'], false, 'not reported is not present');
  const noShm = goodProbe();
  noShm.mounts = noShm.mounts.filter((m) => m.target !== '/dev/shm');
  assert.deepEqual((({ ok, detail }) => [ok, detail])(judgeProcSys(noShm)), [false, 'not mounted: /dev/shm (tmpfs)'], "aios-init's own mounts count too");
  assert.equal(verdict(outcome(probe((e) => (e.pid1 = { comm: 'sh', exe: '/bin/busybox' })))).pid1, false);
  assert.equal(verdict(outcome(probe((e) => (e.pid1 = { comm: 'aios-init', exe: '/opt/aios/aios-init' })))).pid1, true);
  const z = (pid: number, ppid = 1) => ({ pid, ppid, comm: 'sleep' });
  assert.equal(verdict(outcome(probe((e) => (e.zombies = [[z(40), z(41)], [z(41)]])))).orphans, false);
  assert.equal(verdict(outcome(probe((e) => (e.zombies = [[z(40)], [z(42)]])))).orphans, true, 'a fresh zombie reaped in time is fine');
  // The third reading: a zombie reaped late (under load) passes, one still there fails.
  assert.equal(verdict(outcome(probe((e) => ((e.zombies = [[z(41)], [z(41)]]), (e.zombiesLater = []))))).orphans, true, 'reaped before the third look');
  const stuck = judge(outcome(probe((e) => ((e.zombies = [[z(41)], [z(41)]]), (e.zombiesLater = [z(41)]))))).find((c) => c.id === 'orphans')!;
  assert.equal(stuck.ok, false);
  assert.match(stuck.detail, /zombies of PID 1 left for more than 3 s: pid 41 \(sleep\)/);
  // A zombie whose parent lives is that parent's to reap: never PID 1's fault.
  const held = judge(outcome(probe((e) => ((e.zombies = [[z(41, 300)], [z(41, 300)]]), (e.zombiesLater = [z(41, 300)]))))).find((c) => c.id === 'orphans')!;
  assert.equal(held.ok, true, held.detail);
  assert.match(held.detail, /1 zombie\(s\) of live parents, theirs to reap/);
  assert.equal(verdict(outcome(probe((e) => (e.modules = { snd: 'Live' })))).modules, false);
  assert.equal(verdict(outcome(probe((e) => (e.modules = { drm: 'Live' })))).modules, false, 'drm without a display device');
  assert.equal(verdict(outcome({ kernelBytes: 16_000_000 }))['kernel-size'], false);
  assert.equal(verdict(outcome({ cleanShutdown: false })).shutdown, false);
  assert.equal(verdict(outcome({ e2fsck: { ok: false, detail: 'errors' } })).fsck, false);
});

test("aios-init's report does not count where the probe saw otherwise", () => {
  // The report claims all is well; the probe saw a shell as PID 1 and a zombie in both readings.
  const liar = { ...goodReport(), pid1: { pid: 1, comm: 'aios-init', exe: '/usr/sbin/aios-init', rssKB: 1 } };
  const v = verdict(
    outcome({
      report: liar,
      ...probe((e) => ((e.pid1 = { comm: 'sh', exe: '/bin/busybox' }), (e.zombies = [[{ pid: 9, ppid: 1, comm: 'x' }], [{ pid: 9, ppid: 1, comm: 'x' }]]))),
    }),
  );
  assert.equal(v.pid1, false);
  assert.equal(v.orphans, false);
  const none = judge(outcome({ probe: { ok: false, error: 'no probe output on the serial console' } }));
  for (const id of ['filesystems', 'network', 'gpu', 'proc-sys', 'pid1', 'orphans', 'modules'])
    assert.match(none.find((c) => c.id === id)!.detail, /no probe evidence: no probe output/, id);
});

test('a display device counts only when the driver its module registers is bound; no GPU is "no display device"', () => {
  const amdMods = [
    'amdgpu',
    'amdxcp',
    'backlight',
    'drm',
    'drm_buddy',
    'drm_display_helper',
    'drm_exec',
    'drm_kms_helper',
    'drm_panel_orientation_quirks',
    'drm_suballoc_helper',
    'drm_ttm_helper',
    'gpu_sched',
    'hwmon',
    'i2c_algo_bit',
    'i2c_core',
    'ttm',
    'video',
    'wmi',
  ];
  const amdWith = (driver: string | null) =>
    judge(
      outcome({
        attached: [{ spec: 'ati-vga', vendor: '0x1002', device: '0x5046' }],
        ...probe((e) => {
          e.pci.push({ ...AMD, driver });
          e.modules = Object.fromEntries(amdMods.map((m) => [m, 'Live']));
        }),
      }),
    );
  const amd = amdWith('amdgpu');
  assert.ok(
    amd.every((c) => c.ok),
    JSON.stringify(amd.filter((c) => !c.ok)),
  );
  assert.match(
    amd.find((c) => c.id === 'gpu')!.detail,
    /host attached ati-vga \(0x1002:0x5046\); guest has 0x1002:0x5046 at 0000:00:03.0, driver amdgpu, module amdgpu loaded/,
  );
  // amdgpu loads for any AMD display but binds only the ones in its ID table (not QEMU's Rage 128).
  const unbound = amdWith(null).find((c) => c.id === 'gpu')!;
  assert.equal(unbound.ok, false);
  assert.match(unbound.detail, /0x1002:0x5046 at 0000:00:03.0: amdgpu is loaded but did not bind it \(no amdgpu driver link\)/);
  const other = amdWith('vfio-pci').find((c) => c.id === 'gpu')!;
  assert.match(other.detail, /vfio-pci is bound instead of amdgpu/);
  const vga = { slot: '0000:00:02.0', vendor: '0x1234', device: '0x1111', class: '0x030000', modalias: 'pci:v00001234d00001111' };
  const bochs = (driver: string | null) =>
    judge(
      outcome({
        attached: [{ spec: 'VGA', vendor: '0x1234', device: '0x1111' }],
        ...probe((e) => {
          e.pci.push({ ...vga, driver });
          e.modules = { bochs: 'Live', drm: 'Live', drm_kms_helper: 'Live', drm_vram_helper: 'Live', drm_ttm_helper: 'Live', ttm: 'Live' };
        }),
      }),
    ).find((c) => c.id === 'gpu')!;
  assert.equal(bochs('bochs-drm').ok, true, bochs('bochs-drm').detail);
  assert.equal(bochs(null).ok, false);
  assert.match(judge(outcome()).find((c) => c.id === 'gpu')!.detail, /host attached no display device; guest has no display device/);
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
  assert.equal((xml.match(/<testcase /g) ?? []).length, 25);
  assert.equal((xml.match(/<failure /g) ?? []).length, 1);
  assert.match(xml, /killed &lt;after&gt; 60 s/);
  assert.match(table(res), /iso-bios +clean power-off +FAIL/);
});

test("clean power-off is QEMU's SHUTDOWN reason guest-shutdown; the kernel's words explain, never decide", async () => {
  const { judgePowerOff } = await import('../../../qemu/judge.ts');
  const exited = { cleanShutdown: true, shutdownDetail: 'QEMU exited by itself 9.0 s after start, after system_powerdown' };
  const off = judgePowerOff({ ...exited, shutdownReason: 'guest-shutdown', powerOffLines: ['reboot: Power down'] });
  assert.equal(off.ok, true);
  assert.match(off.detail, /QEMU's SHUTDOWN reason: guest-shutdown; the kernel said "reboot: Power down"/);
  const panic = judgePowerOff({
    ...exited,
    shutdownReason: 'guest-reset',
    powerOffLines: ['Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b', 'reboot: Power down'],
  });
  assert.equal(panic.ok, false);
  assert.match(panic.detail, /SHUTDOWN reason is "guest-reset", not a power-off; the kernel said: Kernel panic - not syncing: Attempted to kill init/);
  // A service printing the kernel's words moves nothing: QEMU says it was a reset.
  assert.equal(judgePowerOff({ ...exited, shutdownReason: 'guest-reset', powerOffLines: ['reboot: Power down'] }).ok, false);
  assert.match(judgePowerOff({ ...exited, powerOffLines: ['reboot: Power down'] }).detail, /QEMU sent no SHUTDOWN event/);
  assert.equal(judgePowerOff({ cleanShutdown: false, shutdownDetail: 'QEMU still running 60 s after system_powerdown: killed' }).ok, false);
});

test("network in an image without a status endpoint: the host must reach llama-server's port instead", () => {
  const net = (o: Parameters<typeof judge>[0]) => judge(o).find((c) => c.id === 'network')!;
  const answered = { answer: 'Hello', readySec: 6 };
  const off = net(outcome({ statusUnreachable: 'the image has no status endpoint (init.json statusPort 0)', httpOk: undefined, inference: answered }));
  assert.equal(off.ok, true);
  assert.match(off.detail, /the image has no status endpoint \(init\.json statusPort 0\); host -> guest llama-server port: answered/);
  assert.equal(
    net(
      outcome({
        statusUnreachable: 'the image has no status endpoint (init.json statusPort 0)',
        httpOk: undefined,
        inference: { error: 'connection refused' },
      }),
    ).ok,
    false,
  );
  assert.equal(
    net(outcome({ statusUnreachable: 'the image has no status endpoint (init.json statusPort 0)', httpOk: undefined })).ok,
    false,
    'no request reached the guest',
  );
  assert.equal(net(outcome({ httpOk: false, inference: answered })).ok, false, 'a status endpoint that does not answer still fails');
});

test('network needs the address from a DHCP lease on the QEMU paths: a static fallback fails it', () => {
  const net = (o: Parameters<typeof judge>[0]) => judge(o).find((c) => c.id === 'network')!;
  const ok = net(outcome());
  assert.equal(ok.ok, true);
  assert.match(ok.detail, /eth0 10\.0\.2\.15\/24 \(DHCP from 10\.0\.2\.2, lease 86400 s\)/);
  const statik = net(outcome(probe((e) => (e.leases.eth0!.ip = '10.0.2.99'))));
  assert.equal(statik.ok, false);
  assert.match(statik.detail, /no DHCP lease: static or stale/);
});

test("image configuration accepted: the image's init.json is checked on the host, and the report's errors count too", () => {
  const cfg = (o: Parameters<typeof judge>[0]) => judge(o).find((c) => c.id === 'config')!;
  assert.equal(cfg(outcome()).ok, true);
  const bad = cfg(outcome({ report: { ...goodReport(), configErrors: ['/etc/aios/init.json: hostnme: unknown key (did you mean "hostname"?)'] } }));
  assert.equal(bad.ok, false);
  assert.match(bad.detail, /hostnme: unknown key/);
  const typo = cfg(outcome({ image: goodImage({ initJson: '{"hostnme": "x"}' }) }));
  assert.equal(typo.ok, false, 'aios-init silent about it');
  assert.match(typo.detail, /hostnme: unknown key.*\(aios-init did not report it\)/);
  assert.equal(cfg(outcome({ image: goodImage({ initJson: '{' }) })).ok, false);
  assert.equal(cfg(outcome({ image: undefined, imageError: 'no rootfs.img' })).ok, false);
});

test('a clean disk needs a clean superblock and an empty journal, not only e2fsck -fn exit 0', async () => {
  const { superblockVerdict } = await import('../../../qemu/disk-check.ts');
  const sb = (features: string, state: string) =>
    `Filesystem volume name:   aios-root\nFilesystem features:      ${features}\nFilesystem state:         ${state}\n`;
  assert.equal(superblockVerdict(sb('has_journal ext_attr extent 64bit', 'clean')).ok, true);
  const dirty = superblockVerdict(sb('has_journal ext_attr needs_recovery extent', 'clean'));
  assert.equal(dirty.ok, false);
  assert.match(dirty.detail, /journal needs recovery/);
  assert.match(superblockVerdict(sb('has_journal', 'not clean with errors')).detail, /state "not clean with errors"/);
});

test('root verified: / on a veritysetup device, read-only; anything else fails, named', async () => {
  const { judgeVerifiedRoot, judgeVerifiedBoot } = await import('../../../qemu/judge-guest.ts');
  const ok = goodProbe();
  assert.equal(judgeVerifiedRoot(ok).ok, true, judgeVerifiedRoot(ok).detail);
  const edit = (f: (e: ProbeEvidence) => void) => {
    const e = goodProbe();
    f(e);
    return e;
  };
  const root = (e: ProbeEvidence) => e.mounts.filter((m) => m.target === '/').pop()!;
  const bare = edit((e) => (root(e).source = '/dev/sda1'));
  assert.match(judgeVerifiedRoot(bare).detail, /\/ is mounted from \/dev\/sda1, not from a device-mapper device/);
  const linear = edit((e) => (Object.values(e.dm)[0]!.uuid = 'LVM-abc'));
  assert.match(judgeVerifiedRoot(linear).detail, /NOT a verity device/);
  const rw = edit((e) => (root(e).options = root(e).options.replace(/^ro\b/, 'rw')));
  assert.match(judgeVerifiedRoot(rw).detail, /mounted READ-WRITE/);
  // Verified boot needs the firmware's word and lockdown too.
  const sb = (over: Partial<ProbeEvidence>) => judgeVerifiedBoot({ ...goodProbe(), secureBoot: '1', lockdown: 'none [integrity] confidentiality', ...over });
  assert.equal(sb({}).ok, true, sb({}).detail);
  assert.match(sb({ secureBoot: '0' }).detail, /did not enforce Secure Boot/);
  assert.match(sb({ secureBoot: 'bios' }).detail, /through BIOS/);
  assert.match(sb({ secureBoot: undefined }).detail, /not reported/);
  assert.match(sb({ lockdown: '[none] integrity confidentiality' }).detail, /not locked down/);
  assert.match(sb({ mounts: bare.mounts }).detail, /not from a device-mapper device/);
});

test('verified boot is judged on the Secure Boot path only; a firmware refusal is named where the boot never came', () => {
  assert.equal(
    judge(outcome()).some((c) => c.id === 'verified-boot'),
    false,
  );
  const refused = judge(
    outcome({ path: 'iso-secureboot', report: undefined, firmwareRefusal: 'BdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM" from ...: Access Denied' }),
  );
  const vb = refused.find((c) => c.id === 'verified-boot')!;
  assert.equal(vb.ok, false);
  assert.match(vb.detail, /the firmware refused to start the boot loader \(BdsDxe: failed to load .*Access Denied\)/);
});

test('the boot budget of a path: TCG, plus the network root on net-bios, plus UEFI firmware on the UEFI paths', () => {
  const budgets = { kvm: 5, tcg: 30, network: 30, uefi: 15 };
  const bootTime = (path: BootPath, reportSec: number) => judge(outcome({ path, reportSec, budgets })).find((c) => c.id === 'boot-time')!;
  assert.equal(bootTime('direct', 31).ok, false);
  assert.equal(bootTime('iso-secureboot', 31).ok, true);
  assert.match(bootTime('iso-secureboot', 31).detail, /budget 45 s \(TCG budget \+ 15 s for UEFI firmware\)/);
  assert.equal(bootTime('net-bios', 59).ok, true);
  assert.equal(bootTime('net-bios', 61).ok, false);
  assert.equal(bootTime('iso-bios', 31).ok, false);
});

test('inference backends: every module build.json lists is in the guest and its loader finds what each needs; a GPU backend that cannot load fails, though the server answers on the CPU', () => {
  const modules = ['libggml-cpu-x64.so', 'libggml-cpu-haswell.so', 'libggml-cuda.so'];
  const seen = (backends: Record<string, string[]>) => {
    const e = goodProbe();
    e.backends = backends;
    return e;
  };
  const good = judgeBackends(modules, seen({ 'libggml-cpu-x64.so': [], 'libggml-cpu-haswell.so': [], 'libggml-cuda.so': [] }));
  assert.deepEqual([good.id, good.ok], ['backends', true]);
  assert.match(good.detail, /^3 modules \(2 CPU variants, libggml-cuda\.so\): every library each needs found by the guest's loader/);
  const noCublas = judgeBackends(modules, seen({ 'libggml-cpu-x64.so': [], 'libggml-cpu-haswell.so': [], 'libggml-cuda.so': ['libcublasLt.so.11'] }));
  assert.deepEqual([noCublas.ok, noCublas.detail], [false, 'libggml-cuda.so needs libcublasLt.so.11: not found']);
  const gone = judgeBackends(modules, seen({ 'libggml-cpu-haswell.so': [], 'libggml-cuda.so': [] }));
  assert.deepEqual([gone.ok, gone.detail], [false, 'libggml-cpu-x64.so is not in the image']);
  assert.equal(judgeBackends([], seen({})).ok, false, 'a build that lists no module proves nothing');
  // Judged only for an image that serves (build.json's runtime files), and never without the probe.
  const served = outcome({
    inferenceBackends: modules,
    ...probe((e) => (e.backends = { 'libggml-cpu-x64.so': [], 'libggml-cpu-haswell.so': [], 'libggml-cuda.so': [] })),
  });
  assert.equal(judge(served).length, 14);
  assert.equal(verdict(served).backends, true);
  assert.equal(verdict(outcome({ inferenceBackends: modules, probe: { ok: false, error: 'no probe output' } })).backends, false);
  assert.equal(verdict(outcome({ inferenceBackends: modules, report: undefined })).backends, false);
});
