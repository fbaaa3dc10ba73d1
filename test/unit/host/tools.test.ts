import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOST_TOOLS, doctorReport, installLine } from '../../../scripts/host/tools.ts';
import { parseFormats } from '../../../scripts/images/formats.ts';

test('every package aios doctor asks for is installed by setup and CI', async () => {
  const listed = new Set(
    (await readFile(join(import.meta.dirname, '../../../ci/apt-packages.txt'), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#')),
  );
  const absent = HOST_TOOLS.map((t) => t.pkg).filter((p) => !listed.has(p) && !['make', 'gcc', 'perl', 'libnode-dev'].includes(p));
  assert.deepEqual(absent, []);
});

test('the doctor report names what is missing and the exact apt-get line', () => {
  const missing = HOST_TOOLS.filter((t) => ['xorriso', 'mformat'].includes(t.probe));
  const text = doctorReport(missing);
  assert.match(text, /missing xorriso \(aios\.iso\): Debian package xorriso/);
  assert.match(installLine(missing), /apt-get install -y --no-install-recommends mtools xorriso$/);
});

test('output formats are validated before any work', () => {
  assert.deepEqual(parseFormats(['iso,disk']), ['iso', 'disk']);
  assert.deepEqual(parseFormats(['disk', 'disk']), ['disk']);
  assert.throws(() => parseFormats(['iso', 'vhd']), /unknown output format "vhd"; known formats: iso, disk/);
});

test('doctor names missing Node.js headers (found only after a 30-minute kernel build before)', async () => {
  const headers = HOST_TOOLS.find((t) => t.name.startsWith('Node.js headers'))!;
  assert.match(headers.probe, /node_api\.h$/);
  const report = doctorReport([{ ...headers, probe: '/nonexistent/node_api.h' }]);
  assert.match(report, /missing Node\.js headers \(node_api\.h\) \(the aios-init system-call addon.*\): Debian package libnode-dev/);
});

test('a build needs no QEMU, OVMF, iPXE or setpriv; aios run, check and serve do (iPXE only optionally)', () => {
  const boot = HOST_TOOLS.filter((t) => t.bootOnly)
    .map((t) => t.pkg)
    .sort();
  assert.deepEqual([...new Set(boot)], ['ipxe', 'ovmf', 'qemu-system-x86', 'util-linux']);
  assert.equal(HOST_TOOLS.find((t) => t.pkg === 'ipxe')?.optional, true, "QEMU's own iPXE ROM boots the net-bios path");
});
