import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBaseUrl, ipxeScript, netCmdline } from '../../../common/netboot.ts';

test("the network boot's command line: the root from the server, its verity arguments, the project's words", () => {
  assert.equal(
    netCmdline('http://10.0.2.2:8090/', `aios.verity=${'a'.repeat(64)},4096,panic`, 'quiet loglevel=3'),
    `root=http://10.0.2.2:8090/rootfs.squashfs ro aios.verity=${'a'.repeat(64)},4096,panic quiet loglevel=3 console=ttyS0,115200 init=/usr/sbin/aios-init`,
  );
});

test('the iPXE script: DHCP, then the kernel with its command line and the initramfs over HTTP, named for the EFI stub', () => {
  assert.equal(
    ipxeScript('http://h:1', 'root=x ro'),
    '#!ipxe\ndhcp\nkernel http://h:1/vmlinuz initrd=initramfs.img root=x ro\ninitrd http://h:1/initramfs.img\nboot\n',
  );
  // iPXE would expand ${...}: a command line holding one is refused, not rewritten.
  assert.throws(() => ipxeScript('http://h', 'root=${net0/ip}'), /must not hold/);
});

test('the base URL machines reach the server at is checked', () => {
  for (const good of ['http://10.0.2.2:8090', 'http://boot.example', 'http://[fd00::1]:80/']) assert.equal(checkBaseUrl(good), undefined, good);
  for (const bad of ['https://h', 'http://h/path', 'http://u@h', 'http://h:99999', 'http://h x', 'http://h?q'])
    assert.match(checkBaseUrl(bad) ?? '', /expected http|out of range/, bad);
});
