import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReportLine, parseReportLine, REPORT_MARKER } from '../../../common/boot-report.ts';
import { goodReport } from './fixtures.ts';

test('a good report line round-trips, even after console noise on the same line', () => {
  const r = parseReportLine(`\r[  6.1] ${formatReportLine(goodReport())}`);
  assert.ok(r?.ok);
  assert.equal(r.ok && r.report.pid1.comm, 'aios-init');
});

test('lines without the marker are not reports', () => {
  assert.equal(parseReportLine('aios-init: modules (12 ms)'), undefined);
});

test('a truncated report is invalid JSON, said so', () => {
  const line = formatReportLine(goodReport());
  const r = parseReportLine(line.slice(0, line.length - 20));
  assert.ok(r && !r.ok);
  assert.match(!r.ok ? r.error : '', /not valid JSON/);
});

test('a report larger than 1 MB is refused without parsing', () => {
  const r = parseReportLine(`${REPORT_MARKER}{"x":"${'a'.repeat(1024 * 1024 + 10)}"}`);
  assert.ok(r && !r.ok);
  assert.match(!r.ok ? r.error : '', /larger than/);
});

test('malicious shapes: not an object, missing fields, wrong version', () => {
  for (const body of ['[1,2,3]', '"str"', 'null', '{"version":1}', JSON.stringify({ ...goodReport(), version: 99 }), '{"__proto__":{"polluted":1}}']) {
    const r = parseReportLine(REPORT_MARKER + body);
    assert.ok(r && !r.ok, body);
  }
  assert.equal(({} as { polluted?: number }).polluted, undefined);
});

test('a report whose fields have the wrong types is refused naming them, and the judge says so without crashing', async () => {
  const { judge } = await import('../../../qemu/judge.ts');
  const { outcome } = await import('./fixtures.ts');
  for (const [field, value] of [
    ['pid1', null],
    ['services', 5],
    ['configErrors', [1]],
    ['configErrors', 'x'],
    ['startup', 'fast'],
    ['uptimeAtReady', '3'],
    ['mounts', {}],
  ] as const) {
    const r = parseReportLine(formatReportLine({ ...goodReport(), [field]: value }));
    assert.ok(r && !r.ok, `${field}: ${JSON.stringify(value)}`);
    assert.match(!r.ok ? r.error : '', new RegExp(`boot report fields of the wrong type: ${field} \\(not `));
    const checks = judge(outcome({ report: undefined, reportSec: undefined, reportError: !r.ok ? r.error : '' }));
    assert.match(checks.find((c) => c.id === 'pid1')!.detail, /wrong type/);
  }
});

test("a Secure Boot refusal is seen from the firmware's boot manager and from systemd-boot starting a slot's UKI, not from other failures", async () => {
  const { FIRMWARE_REFUSED } = await import('../../../qemu/runner.ts');
  assert.match('BdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM" from PciRoot(0x0): Access Denied', FIRMWARE_REFUSED);
  assert.match('Error loading \\EFI\\aios\\a.efi: Access Denied', FIRMWARE_REFUSED);
  assert.match('Failed to execute aiOS 0123456789abcdef (slot a) (\\EFI\\aios\\a.efi): Security Violation', FIRMWARE_REFUSED);
  assert.doesNotMatch('Failed to execute aiOS 0123456789abcdef (slot b) (\\EFI\\aios\\b.efi): Not Found', FIRMWARE_REFUSED);
  const { plainText } = await import('../../../qemu/runner.ts');
  assert.equal(plainText('\x1b[1m\x1b[31m\x1b[40mError loading \\EFI\\aios\\a.efi: Access Denied\x1b[0m '), 'Error loading \\EFI\\aios\\a.efi: Access Denied');
});
