import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange } from '../../../qemu/net-server.ts';

test('range requests: one range, a suffix, an open end; past the end is unsatisfiable; anything else is the whole file', () => {
  assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=900-', 1000), { start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=990-5000', 1000), { start: 990, end: 999 });
  assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
  assert.equal(parseRange('bytes=5-2', 1000), 'unsatisfiable');
  assert.equal(parseRange(undefined, 1000), undefined);
  assert.equal(parseRange('bytes=0-1,5-6', 1000), undefined, 'several ranges: the whole file');
  assert.equal(parseRange('items=0-1', 1000), undefined);
});
