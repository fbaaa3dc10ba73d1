// The verified image (docs/verified-boot.md): each link of the chain refuses what it must, shown
// (the Secure Boot path passing with Secure Boot enforced is in boot.test.ts's --path all),
// on images broken for it from test data alone: a UKI with one byte changed (the ISO's and the
// disk's) and one with no signature (the firmware refuses each), a root with one byte changed
// under the disk's signed UKI (dm-verity stops the boot),
// a root booted without its root hash (the check names it), an unsigned module (the kernel
// refuses it), and a file on the state partition that survives a second boot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { copyFile, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkVariant, failsOnly, makeVariant, OUT, qemuProcesses } from './helpers.ts';
import { loadProject } from '../../scripts/project/locate.ts';
import { parsePartitions } from '../../common/partitions.ts';
import { EFI_BOOT_IMAGE } from '../../scripts/images/tool-args.ts';
import { ukiOnEsp } from '../../common/slots.ts';
import { vmOptions } from '../../qemu/vm-options.ts';
import { bootHeadless } from '../../qemu/runner.ts';
import { checkBootedDisk } from '../../qemu/disk-check.ts';
import { copySparse } from '../../common/copy-sparse.ts';

const service = (name: string, script: string, user = '') => ({ name, command: '/bin/sh', args: ['-c', script], restart: 'never', user });
const withServices =
  (...add: unknown[]) =>
  (j: Record<string, unknown>) => ({ ...j, services: [...(j.services as unknown[]), ...add] });

/** Where /boot/efi.img lies in an ISO (xorriso's report of its data), in bytes. */
function efiImageOffset(iso: string): { offset: number; bytes: number } {
  const report = execFileSync('xorriso', ['-indev', iso, '-find', `/${EFI_BOOT_IMAGE}`, '-exec', 'report_lba', '--'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const m = /File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*\d+\s*,\s*(\d+)\s*,/.exec(report);
  if (!m) throw new Error(`xorriso did not report where ${EFI_BOOT_IMAGE} lies:\n${report}`);
  return { offset: Number(m[1]) * 2048, bytes: Number(m[2]) };
}

/** Replace slot A's UKI on the disk's EFI partition (the third) with `edit` of it, in place (mtools reads at an offset): systemd-boot, signed, asks the firmware to start it. */
async function editDiskUki(dir: string, edit: (uki: string) => void): Promise<void> {
  const disk = join(dir, 'rootfs.img');
  const esp = parsePartitions(execFileSync('/sbin/sfdisk', ['--json', disk], { encoding: 'utf8' }))[2];
  assert.ok(esp, 'the disk has an EFI partition');
  const fat = `${disk}@@${esp.start}`;
  const uki = join(dir, 'a.efi');
  execFileSync('mcopy', ['-n', '-i', fat, `::${ukiOnEsp('a')}`, uki]);
  edit(uki);
  execFileSync('mcopy', ['-o', '-i', fat, uki, `::${ukiOnEsp('a')}`]);
  await rm(uki);
}

/** One byte of the UKI's signed command line changed. */
function changeCmdline(uki: string): void {
  const b = readFileSync(uki);
  const at = b.indexOf('lockdown=integrity');
  assert.ok(at > 0, 'the UKI carries its command line');
  b[at + 'lockdown='.length] = 'I'.charCodeAt(0);
  writeFileSync(uki, b);
}

/** Replace the UKI in the ISO's UEFI boot image with `edit` of it; the FAT image keeps its size and place. */
async function editUki(dir: string, edit: (uki: string) => void): Promise<void> {
  const iso = join(dir, 'aios.iso');
  const { offset, bytes } = efiImageOffset(iso);
  const img = join(dir, 'efi.img');
  execFileSync('dd', [`if=${iso}`, `of=${img}`, 'bs=2048', `skip=${offset / 2048}`, `count=${Math.ceil(bytes / 2048)}`, 'status=none']);
  execFileSync('truncate', ['-s', String(bytes), img]);
  const uki = join(dir, 'BOOTX64.EFI');
  execFileSync('mcopy', ['-n', '-i', img, '::/EFI/BOOT/BOOTX64.EFI', uki]);
  edit(uki);
  execFileSync('mcopy', ['-o', '-i', img, uki, '::/EFI/BOOT/BOOTX64.EFI']);
  execFileSync('dd', [`if=${img}`, `of=${iso}`, 'bs=2048', `seek=${offset / 2048}`, 'conv=notrunc', 'status=none']);
  await rm(img);
  await rm(uki);
}

const refused = failsBoot(/the firmware refused to start the boot loader \(BdsDxe: failed to load .*Access Denied/);

/** Nothing booted: every check that needs the boot fails, the verified boot one naming `detail`. */
function failsBoot(detail: RegExp) {
  return ({ r, failed, serial }: { r: { code: number; out: string }; failed: { id: string; detail: string }[]; serial: string }) => {
    const tail = `${r.out}\n--- serial (last 40 lines) ---\n${serial.split('\n').slice(-40).join('\n')}`;
    assert.equal(r.code, 1, tail);
    const vb = failed.find((c) => c.id === 'verified-boot');
    assert.ok(vb, `verified boot must fail\n${tail}`);
    assert.match(vb.detail, detail, tail);
    assert.doesNotMatch(serial, /Linux version/, `the kernel must not have started\n${tail}`);
  };
}

test('a UKI with one byte changed (its signed command line) is refused by the firmware, and the check names it', async () => {
  await checkVariant({}, refused, 'iso-secureboot', (dir) => editUki(dir, changeCmdline));
});

test("slot A's UKI on the disk's EFI partition with one byte changed is refused when systemd-boot asks the firmware to start it, and the check names it", async () => {
  await checkVariant(
    {},
    failsBoot(/the firmware refused to start the boot loader \((Error loading|Failed to execute) .*\\EFI\\aios\\a\.efi.*Access Denied/i),
    'disk-secureboot',
    (dir) => editDiskUki(dir, changeCmdline),
  );
});

test('an unsigned UKI is refused by the firmware, and the check names it', async () => {
  await checkVariant({}, refused, 'iso-secureboot', (dir) =>
    editUki(dir, (uki) => {
      execFileSync('sbattach', ['--remove', uki]);
      assert.doesNotMatch(execFileSync('sbverify', ['--list', uki], { encoding: 'utf8' }), /signature \d/, 'no signature left');
    }),
  );
});

test('one byte changed in a file every boot reads (init.json) stops the Secure Boot disk with a dm-verity error, never a fallback', async () => {
  await checkVariant(
    {},
    ({ r, failed, serial }) => {
      const tail = `${r.out}\n--- serial (last 40 lines) ---\n${serial.split('\n').slice(-40).join('\n')}`;
      assert.equal(r.code, 1, tail);
      // The kernel's own last words (its "data block N is corrupted" line is KERN_ERR, which
      // loglevel=3 keeps off the console).
      assert.match(serial, /Kernel panic - not syncing: dm-verity device corrupted/, tail);
      assert.ok(
        failed.some((c) => c.id === 'boot-time'),
        tail,
      );
      assert.ok(!serial.includes('AIOS-BOOT-REPORT'), `aios-init must not have reported\n${tail}`);
      // The firmware started the signed UKI (whose command line holds the root hash): only the root was changed.
      assert.ok(!failed.some((c) => /firmware refused/.test(c.detail)), tail);
    },
    'disk-secureboot',
    async (dir) => {
      const disk = join(dir, 'rootfs.img');
      const [root] = parsePartitions(execFileSync('/sbin/sfdisk', ['--json', disk], { encoding: 'utf8' }));
      const blocks = execFileSync('/sbin/debugfs', ['-R', 'blocks /etc/aios/init.json', `${disk}?offset=${root!.start}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const first = Number(blocks.trim().split(/\s+/)[0]);
      assert.ok(first > 0, `debugfs found the blocks of init.json: ${blocks}`);
      const fh = await open(disk, 'r+');
      const at = root!.start + first * 4096 + 1;
      const byte = Buffer.alloc(1);
      await fh.read(byte, 0, 1, at);
      await fh.write(Buffer.from([byte[0]! ^ 0x20]), 0, 1, at);
      await fh.close();
    },
  );
});

test('a root booted without its root hash (no aios.verity) fails "root verified", and only it', async () => {
  await checkVariant(
    {
      buildJson: (b) => {
        const { verity: _v, ...rest } = b as { verity?: unknown };
        return rest;
      },
    },
    failsOnly('verified-root', /\/ is mounted from \/dev\/sda1, not from a device-mapper device/),
  );
});

/** A module as the kernel's build made it, with its appended signature cut off (module_signature + magic at its end). */
function unsigned(ko: Buffer): Buffer {
  const magic = Buffer.from('~Module signature appended~\n');
  assert.ok(ko.subarray(-magic.length).equals(magic), 'the module was signed by the build');
  const info = ko.subarray(-magic.length - 12, -magic.length);
  const sigLen = info.readUInt32BE(8);
  return ko.subarray(0, ko.length - magic.length - 12 - sigLen);
}

test('an unsigned module is refused by insmod ("Key was rejected by service") and the same module signed loads; the state partition (/var) keeps a file across two boots of one disk, the root partition as built', async () => {
  // One image, two boots of one disk: the first also tries the modules.
  const build = JSON.parse(await readFile(join(OUT, 'build.json'), 'utf8')) as { kernel: { release: string } };
  const image = `${join(OUT, 'rootfs.img')}?offset=${1 << 20}`;
  const dep = execFileSync('/sbin/debugfs', ['-R', `cat /lib/modules/${build.kernel.release}/modules.dep`, image], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // A module with no dependencies that the default image does not load.
  const mod = dep
    .split('\n')
    .map((l) => l.split(':'))
    .find(([f, deps]) => f && deps !== undefined && deps.trim() === '' && /\/(xfs|zram|ipmi_msghandler)\.ko$/.test(f))?.[0];
  assert.ok(mod, `a dependency-free module in the image:\n${dep.slice(0, 2000)}`);
  const signedKo = execFileSync('/sbin/debugfs', ['-R', `cat /lib/modules/${build.kernel.release}/${mod}`, image], {
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 64 << 20,
  });
  const dir = await makeVariant({
    files: { '/usr/lib/aios-test-unsigned.ko': { content: unsigned(signedKo) }, '/usr/lib/aios-test-signed.ko': { content: signedKo } },
    initJson: withServices(
      // No user named: nobody, in the directory aios-init gives it on the state partition.
      service('counter', 'n=$(cat /var/lib/counter/boots 2>/dev/null || echo 0); n=$((n+1)); echo $n > /var/lib/counter/boots; sync; echo "BOOT-NUMBER=$n"'),
      service('insmod-test', 'insmod /usr/lib/aios-test-unsigned.ko; echo "UNSIGNED-RC=$?"; insmod /usr/lib/aios-test-signed.ko; echo "SIGNED-RC=$?"', 'root'),
    ),
  });
  try {
    const { config } = await loadProject({});
    const built = join(dir, 'built.img');
    await copySparse(join(dir, 'rootfs.img'), built);
    const seen: string[] = [];
    for (const n of [1, 2]) {
      // The same disk both times (aios check would boot a fresh copy of the image).
      const o = { ...(await vmOptions({ out: dir }, config, 'direct', 'tcg')), disposableDisk: true };
      const log = join(dir, `serial-${n}.log`);
      const r = await bootHeadless(o, { timeoutSec: 180, shutdownSec: 60, serialLogFile: log });
      const serial = await readFile(log, 'utf8');
      const tail = `boot ${n}: ${r.shutdownDetail}\n${r.command}\n${serial.split('\n').slice(-40).join('\n')}`;
      assert.ok(r.report && r.cleanShutdown, tail);
      seen.push(/counter: BOOT-NUMBER=(\d+)/.exec(serial)?.[1] ?? `? (${tail})`);
      if (n === 1) {
        assert.match(serial, /insmod-test: .*Key was rejected by service/, tail);
        assert.match(serial, /insmod-test: UNSIGNED-RC=1/, tail);
        assert.match(serial, /insmod-test: SIGNED-RC=0/, tail);
      }
    }
    assert.deepEqual(seen, ['1', '2']);
    const disk = await checkBootedDisk(join(dir, 'rootfs.img'), built);
    assert.ok(disk.ok, disk.detail);
    assert.match(disk.detail, /root partitions \(slots A and B\) unchanged; EFI partition unchanged; state partition: e2fsck -fn exit 0/);
  } finally {
    assert.deepEqual(await qemuProcesses(dir), []);
    await rm(dir, { recursive: true, force: true });
  }
});
