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
