// Every check of the checklist has an image broken for it, made from test data alone (init.json,
// files, fstab, QEMU arguments, the project's budgets), never from a switch in aios-init; each
// boots the cached kernel and fails exactly its own check, with a detail that names the cause.
// (an image without aios-init and one without its inference server are in boot.test.ts and
// inference.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkVariant, failsOnly, staticFixture, extended } from './helpers.ts';

// Root: each breaks the machine in a way only root can (modules, mounts, loop devices, reboot).
const service = (name: string, script: string) => ({ name, command: '/bin/sh', args: ['-c', script], restart: 'never', user: 'root' });
const withServices =
  (...add: unknown[]) =>
  (j: Record<string, unknown>) => ({ ...j, services: [...(j.services as unknown[]), ...add] });

test('a misspelt key in init.json fails "image configuration accepted", and only that check', async () => {
  await checkVariant((j) => ({ ...j, hostnme: 'typo' }), failsOnly('config', /hostnme: unknown key \(did you mean "hostname"\?\)/));
});

test('an image without its baseline CPU variant fails "inference backends load", and only it: the server answers on the others', async () => {
  await checkVariant({ remove: ['/usr/lib/llama/libggml-cpu-x64.so'] }, failsOnly('backends', /^libggml-cpu-x64\.so is not in the image$/));
});

test('DHCP off with a static address that QEMU would also have given: "network up" fails, and only it', async () => {
  await checkVariant(
    (j) => ({ ...j, network: { dhcp: false, address: '10.0.2.15', netmask: '255.255.255.0', gateway: '10.0.2.2' } }),
    failsOnly('network', /eth0 10\.0\.2\.15\/24 \(no DHCP lease: static or stale\); host -> guest status port: answered/),
  );
});

test('a boot budget the image does not meet fails "boots fast", and only it', async () => {
  await checkVariant({ project: { check: { tcgBudgetSeconds: 1 } } }, failsOnly('boot-time', /boot report \d+\.\d s; budget 1 s \(TCG budget\)/));
});

test('an fstab entry that cannot mount fails "filesystems mounted", and only it', async () => {
  const fstab = '/dev/root / auto ro 0 0\ntmpfs /var/tmp tmpfs mode=1777 0 0\n/dev/sdb1 /data ext4 defaults 0 2\n';
  await checkVariant({ files: { '/etc/fstab': { content: fstab } } }, failsOnly('filesystems', /\/data not mounted \(fstab: \/dev\/sdb1, ext4\)/));
});

test('a display device the host attached where the guest cannot see it fails "GPU detected when present", and only it', extended, async () => {
  // Function 1 of a slot whose function 0 is empty: QEMU attaches it, Linux never scans it.
  await checkVariant(
    { args: ['--qemu-arg=-device', '--qemu-arg=ati-vga,addr=05.1'] },
    failsOnly('gpu', /the host attached ati-vga,addr=05\.1 \(0x1002:0x5046\), but the guest's PCI bus has no such device/),
  );
});

test('a never-load module loaded by a service fails "no unneeded modules loaded", and only it', async () => {
  await checkVariant(
    (j) => ({
      ...withServices(service('loader', 'modprobe hwmon'))(j),
      modules: { ...(j.modules as object), never: ['snd', 'hid', 'hwmon'] },
    }),
    failsOnly('modules', /never-load \(init\.json modules\.never\): hwmon/),
  );
});

test('a /sys directory hidden by a service fails "/proc and /sys populated", and only it', async () => {
  await checkVariant(withServices(service('hider', 'mount -t tmpfs none /sys/class')), failsOnly('proc-sys', /^missing: \/sys\/class\/net$/));
});

test('a /dev/shm that a service unmounts fails "/proc and /sys populated" (aios-init\'s own mounts count), and only it', extended, async () => {
  await checkVariant(withServices(service('unmounter', 'umount /dev/shm')), failsOnly('proc-sys', /^not mounted: \/dev\/shm \(tmpfs\)$/));
});

test('a read-only root under an fstab that says rw fails "filesystems mounted", and only it', extended, async () => {
  const fstab = '/dev/root / auto rw 0 0\ntmpfs /var/tmp tmpfs mode=1777 0 0\n';
  await checkVariant({ files: { '/etc/fstab': { content: fstab } } }, failsOnly('filesystems', /^\/ is mounted ro, fstab says rw$/));
});

test('an init that is another file (init= names a second link to the binary) fails "PID 1 is aios-init", and only it', async () => {
  // The same program boots the machine and reports; only the probe's reading of /proc/1 can tell.
  await checkVariant(
    {
      links: { '/usr/libexec/aios/old-aios-init': '/usr/sbin/aios-init' },
      project: { boot: { cmdline: 'quiet loglevel=3 init=/usr/libexec/aios/old-aios-init' } },
    },
    // comm is the name aios-init gives itself; exe is the kernel's, and it gives the link away.
    failsOnly('pid1', /\/proc\/1\/comm "aios-init", \/proc\/1\/exe \/usr\/libexec\/aios\/old-aios-init/),
  );
});

test('a shell as init that runs aios-init as its child: aios-init refuses, and the check fails', extended, async () => {
  await checkVariant(
    {
      files: { '/usr/libexec/aios/not-aios-init': { content: '#!/bin/sh\n/usr/sbin/aios-init\n', mode: 0o755 } },
      project: { boot: { cmdline: 'quiet loglevel=3 init=/usr/libexec/aios/not-aios-init' } },
    },
    ({ r, failed, serial }) => {
      assert.equal(r.code, 1, r.out);
      assert.ok(
        failed.some((c) => c.id === 'pid1' && /no boot report/.test(c.detail)),
        r.out,
      );
      assert.match(serial, /aios-init: this is the machine's init and runs only as process 1; it is process \d+, so it did nothing\./);
    },
  );
});

test('a display device whose driver loads but does not bind it fails "GPU detected when present", and only it', async () => {
  // amdgpu is what the policy loads for any AMD display; QEMU's ati-vga (a Rage 128) is not in its ID table.
  await checkVariant(
    { args: ['--qemu-arg=-device', '--qemu-arg=ati-vga'] },
    failsOnly('gpu', /0x1002:0x5046 at \S+: amdgpu is loaded but did not bind it \(no amdgpu driver link\)/),
  );
});

test('a PID 1 that stops reaping fails "orphans reaped", naming only its own zombie, not one a live parent holds', async () => {
  // fixtures/stall-pid1.c stops PID 1 (ptrace) while the probe reads zombies, with an orphan that
  // exited (PID 1's to reap) and a zombie of its own that it holds while alive (not PID 1's).
  await checkVariant(
    {
      initJson: withServices({ name: 'stall', command: '/usr/libexec/aios/stall-pid1', restart: 'never', user: 'root' }),
      files: { '/usr/libexec/aios/stall-pid1': { content: await staticFixture('stall-pid1'), mode: 0o755 } },
    },
    async (v) => {
      await failsOnly('orphans', /^zombies of PID 1 left for more than 3 s: pid \d+ \(orphan\)$/)(v);
      assert.match(v.serial, /stall-pid1: PID 1 stopped, an orphan and a held zombie made/);
    },
  );
});

test('a canned responder in place of llama-server fails "inference answers", and only it', async () => {
  // fixtures/canned-llama.c answers every request with the sentence the tiny model gives: the
  // right text, no model behind it. The host's own run of the image's model knows what the
  // prompt made up for this check gets.
  const canned = await staticFixture('canned-llama');
  await checkVariant(
    { files: { '/usr/lib/llama/llama-server': { content: canned, mode: 0o755 } } },
    failsOnly('inference', /answered "Hello from the aiOS appliance", with no token probabilities/),
  );
});

test('a kernel over its size budget fails "kernel under its size budget", and only it', async () => {
  await checkVariant({ kernelBytes: 16_000_000 }, failsOnly('kernel-size', /bzImage 16\.00 MB, budget 15 MB/));
});

test('a machine that reboots instead of powering off fails "clean power-off", and only it', async () => {
  // A service answers SIGTERM with reboot(2). The root is read-only, and the service makes the
  // state partition read-only first, so the disk stays clean and only the power-off is wrong.
  await checkVariant(
    { initJson: withServices(service('rebooter', 'mount -o remount,ro /var; trap "reboot -f" TERM; while :; do sleep 1; done')) },
    failsOnly('shutdown', /SHUTDOWN reason is "guest-reset", not a power-off; the kernel said: .*reboot: Restarting system/),
  );
});

test('a state file system still busy at power-off fails "disk clean after shutdown", and only it', async () => {
  // A loop device backed by a file on /var (the state partition) keeps it open for writing in the
  // kernel: it cannot be unmounted or remounted read-only, and no kill reaches a kernel reference.
  await checkVariant(
    withServices(
      service('holder', 'dd if=/dev/zero of=/var/lib/aios/hold.img bs=1k count=0 seek=1024 && losetup /dev/loop7 /var/lib/aios/hold.img && exec sleep 100000'),
    ),
    failsOnly('fsck', /journal needs recovery|state "not clean/),
  );
});
