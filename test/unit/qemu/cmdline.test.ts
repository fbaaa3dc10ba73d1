import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootsDisk,
  gdbCommand,
  isSecureBootPath,
  parsePaths,
  pathFiles,
  qemuArgs,
  uefiFirmware,
  OVMF_CODE,
  OVMF_VARS,
  type QemuOptions,
} from '../../../qemu/cmdline.ts';

const base: QemuOptions = {
  path: 'direct',
  kernel: 'out/vmlinuz',
  initrd: 'out/initramfs.img',
  disk: 'out/rootfs.img',
  iso: 'out/aios.iso',
  cmdline: 'quiet loglevel=3',
  memoryMB: 1024,
  cpus: 2,
  accel: 'tcg',
  hostPort: 40000,
  guestPort: 8080,
  interactive: false,
  qmpSocket: '/tmp/q.sock',
  extra: [],
};
const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test("direct boot: the spec's own command, root=/dev/sda1 on rootfs.img", () => {
  const a = qemuArgs(base);
  assert.equal(after(a, '-kernel'), 'out/vmlinuz');
  assert.equal(after(a, '-initrd'), 'out/initramfs.img');
  assert.equal(after(a, '-append'), 'console=ttyS0 root=/dev/sda1 ro quiet loglevel=3 panic=-1');
  assert.equal(after(a, '-drive'), 'file=out/rootfs.img,format=raw,if=ide');
  assert.equal(after(a, '-qmp'), 'unix:/tmp/q.sock,server=on,wait=off');
  assert.equal(after(a, '-serial'), 'stdio');
  assert.equal(after(a, '-netdev'), 'user,id=net0,hostfwd=tcp:127.0.0.1:40000-:8080');
  assert.ok(!a.includes('-cdrom'));
});

test("direct boot's disk: the guest's flushes wait for the host's disk unless the disk is thrown away after (a snapshot, a copy)", () => {
  assert.equal(after(qemuArgs({ ...base, snapshot: true }), '-drive'), 'file=out/rootfs.img,format=raw,if=ide,snapshot=on,cache=unsafe');
  assert.equal(after(qemuArgs({ ...base, disposableDisk: true }), '-drive'), 'file=out/rootfs.img,format=raw,if=ide,cache=unsafe');
  assert.equal(after(qemuArgs({ ...base, disposableDisk: false }), '-drive'), 'file=out/rootfs.img,format=raw,if=ide');
});

test('accelerator: TCG with -cpu max, KVM with -cpu host', () => {
  assert.deepEqual(qemuArgs(base).slice(6, 10), ['-accel', 'tcg', '-cpu', 'max']);
  assert.deepEqual(qemuArgs({ ...base, accel: 'kvm' }).slice(6, 10), ['-accel', 'kvm', '-cpu', 'host']);
});

test('ISO on SeaBIOS and on OVMF', () => {
  const bios = qemuArgs({ ...base, path: 'iso-bios' });
  assert.equal(after(bios, '-cdrom'), 'out/aios.iso');
  assert.ok(!bios.includes('-kernel') && !bios.some((x) => x.includes('pflash')));
  const uefi = qemuArgs({ ...base, path: 'iso-uefi', ovmfVars: '/tmp/vars.fd' });
  assert.ok(uefi.includes(`if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`));
  assert.ok(uefi.includes('if=pflash,format=raw,file=/tmp/vars.fd'));
  assert.throws(() => qemuArgs({ ...base, path: 'iso-uefi' }), /OVMF_VARS/);
});

test("the probe's nonce goes in as a fw_cfg item on every path, never on the command line or a disk", () => {
  for (const path of ['direct', 'iso-bios'] as const) {
    const a = qemuArgs({ ...base, path, fwCfg: { 'opt/aios/probe': '0a1b2c' } });
    assert.equal(after(a, '-fw_cfg'), 'name=opt/aios/probe,string=0a1b2c');
    assert.ok(!a.join(' ').includes('aios.probe'));
  }
  assert.throws(() => qemuArgs({ ...base, fwCfg: { 'opt/aios/probe': 'a,file=/etc/passwd' } }), /without commas/);
  assert.throws(() => qemuArgs({ ...base, fwCfg: { 'etc/x': 'a' } }), /under opt/);
});

test("the direct path boots without QEMU's default devices (no empty CD-ROM); the ISO paths keep them", () => {
  assert.ok(qemuArgs(base).includes('-nodefaults'));
  assert.ok(!qemuArgs({ ...base, path: 'iso-bios' }).includes('-nodefaults'));
  assert.ok(!qemuArgs({ ...base, path: 'iso-uefi', ovmfVars: '/tmp/v.fd' }).includes('-nodefaults'));
});

test('interactive runs put the console on the terminal; extra arguments go last', () => {
  const a = qemuArgs({ ...base, interactive: true, extra: ['-device', 'ati-vga'] });
  assert.ok(a.includes('-nographic'));
  assert.equal(after(a, '-serial'), 'mon:stdio', 'with -nodefaults, the console -nographic would have made is asked for by name');
  assert.ok(!qemuArgs({ ...base, path: 'iso-bios', interactive: true }).includes('-serial'));
  assert.ok(!a.includes('-qmp'));
  assert.deepEqual(a.slice(-2), ['-device', 'ati-vga']);
});

test('the Secure Boot path: q35 with SMM, pflash behind SMM, the secboot firmware and its own copy of the variables', () => {
  const a = qemuArgs({ ...base, path: 'iso-secureboot', ovmfVars: '/tmp/vars.fd' });
  assert.equal(after(a, '-machine'), 'q35,smm=on');
  assert.equal(after(a, '-global'), 'driver=cfi.pflash01,property=secure,value=on');
  assert.ok(a.includes('if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd'));
  assert.ok(a.includes('if=pflash,format=raw,file=/tmp/vars.fd'));
  assert.equal(uefiFirmware('iso-secureboot')!.vars, '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd');
  assert.equal(uefiFirmware('iso-uefi')!.code, OVMF_CODE);
  assert.equal(uefiFirmware('iso-bios'), undefined);
  assert.equal(after(qemuArgs({ ...base, path: 'iso-uefi', ovmfVars: '/v' }), '-machine'), 'pc');
});

test("the disk's Secure Boot path: the same firmware, the disk first in the boot order, no kernel or ISO from the host", () => {
  const a = qemuArgs({ ...base, path: 'disk-secureboot', ovmfVars: '/tmp/vars.fd', disposableDisk: true });
  assert.equal(after(a, '-machine'), 'q35,smm=on');
  assert.ok(a.includes('if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd'));
  assert.ok(a.includes(`file=${base.disk},format=raw,if=none,id=disk0,cache=unsafe`));
  assert.ok(a.includes('virtio-blk-pci,drive=disk0,bootindex=0'));
  for (const flag of ['-kernel', '-initrd', '-append', '-cdrom']) assert.ok(!a.includes(flag), flag);
  assert.throws(() => qemuArgs({ ...base, path: 'disk-secureboot' }), /needs a writable copy of OVMF_VARS/);
  assert.deepEqual([isSecureBootPath('disk-secureboot'), bootsDisk('disk-secureboot'), bootsDisk('iso-secureboot')], [true, true, false]);
  assert.deepEqual(pathFiles('disk-secureboot'), ['rootfs.img']);
});

test('the direct path passes the root arguments build.json gives (dm-verity, the state partition)', () => {
  const a = qemuArgs({ ...base, rootArgs: 'aios.verity=ab,4096,panic aios.state=LABEL=aios-state' });
  assert.match(after(a, '-append')!, /^console=ttyS0 root=\/dev\/sda1 ro aios\.verity=ab,4096,panic aios\.state=LABEL=aios-state /);
});

test('boot path names', () => {
  assert.deepEqual(parsePaths('all'), ['direct', 'iso-bios', 'iso-uefi', 'iso-secureboot', 'disk-secureboot', 'net-bios', 'net-uefi']);
  assert.deepEqual(parsePaths('iso-uefi'), ['iso-uefi']);
  assert.throws(() => parsePaths('floppy'), /unknown boot path floppy/);
});

test("the gdb command: vmlinux and the stub, plus the kernel's helper scripts when the build has them", () => {
  assert.deepEqual(gdbCommand('/o/vmlinux', 1234), ['gdb', '-q', '/o/vmlinux', '-ex', 'target remote 127.0.0.1:1234']);
  assert.deepEqual(gdbCommand('/o/vmlinux', 1234, '/c/gdb'), [
    'gdb',
    '-q',
    '/o/vmlinux',
    '-ex',
    'add-auto-load-safe-path /c/gdb',
    '-ex',
    'source /c/gdb/vmlinux-gdb.py',
    '-ex',
    'target remote 127.0.0.1:1234',
  ]);
});

test("aios check's channel is the second serial port, after the console's, written to a file", () => {
  const a = qemuArgs({ ...base, checkChannel: '/tmp/q/channel.log' });
  const serials = a.flatMap((x, i) => (x === '-serial' ? [a[i + 1]] : []));
  assert.deepEqual(serials, ['stdio', 'chardev:aioscheck'], 'ttyS0 the console, ttyS1 the channel');
  assert.ok(a.includes('file,id=aioscheck,path=/tmp/q/channel.log'));
  assert.throws(() => qemuArgs({ ...base, checkChannel: '/tmp/a,b' }), /without commas/);
  assert.ok(!qemuArgs(base).includes('-chardev'));
});

test('net-bios: no disk, no medium, the network card first, and the iPXE script as the DHCP boot file', () => {
  const a = qemuArgs({ ...base, path: 'net-bios', netBootUrl: 'http://10.0.2.2:41000/boot.ipxe' });
  assert.equal(after(a, '-netdev'), 'user,id=net0,hostfwd=tcp:127.0.0.1:40000-:8080,bootfile=http://10.0.2.2:41000/boot.ipxe');
  assert.equal(after(a, '-boot'), 'n');
  assert.ok(!a.includes('-cdrom') && !a.includes('-drive') && !a.includes('-kernel'));
  assert.deepEqual(pathFiles('net-bios'), ['vmlinuz', 'initramfs.img', 'aios.iso']);
  assert.ok(parsePaths('all').includes('net-bios'));
  assert.throws(() => qemuArgs({ ...base, path: 'net-bios' }), /needs an http:\/\/ boot file URL/);
  assert.throws(() => qemuArgs({ ...base, path: 'net-bios', netBootUrl: 'http://h/x,tftp=/' }), /without commas/);
  assert.ok(a.includes('virtio-net-pci,netdev=net0,bootindex=0'));
});

test('net-uefi: OVMF without Secure Boot, no disk and no medium, the network card first in its boot order', () => {
  const a = qemuArgs({ ...base, path: 'net-uefi', netBootUrl: 'http://10.0.2.2:41000/boot.ipxe', ovmfVars: '/tmp/vars.fd' });
  assert.equal(after(a, '-netdev'), 'user,id=net0,hostfwd=tcp:127.0.0.1:40000-:8080,bootfile=http://10.0.2.2:41000/boot.ipxe');
  assert.ok(a.includes('virtio-net-pci,netdev=net0,bootindex=0'));
  assert.ok(a.includes(`if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`), a.join(' '));
  assert.equal(after(a, '-machine'), 'pc');
  assert.ok(!a.includes('-cdrom') && !a.includes('-kernel') && !a.includes('-boot'));
  assert.deepEqual(uefiFirmware('net-uefi'), { code: OVMF_CODE, vars: OVMF_VARS });
  assert.deepEqual(pathFiles('net-uefi'), pathFiles('net-bios'));
  assert.throws(() => qemuArgs({ ...base, path: 'net-uefi' }), /net-uefi path needs an http:\/\/ boot file URL/);
});
