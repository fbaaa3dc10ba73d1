import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GUEST_NODE } from '../../../scripts/sea/node-pins.ts';
import { nodeSupportEnds, nodeSupportWarning } from '../../../scripts/sea/node-support.ts';

test('security support by release line: the day it ends, a warning only once it has passed, nothing for a line not known', () => {
  assert.equal(nodeSupportEnds('v20.20.2'), '2026-04-30');
  assert.equal(nodeSupportEnds('v22.23.5'), '2027-04-30');
  assert.equal(nodeSupportEnds('v99.0.0'), null);
  assert.equal(nodeSupportEnds('Python 3.11.2'), null);
  assert.equal(nodeSupportWarning('v20.20.2', new Date('2026-04-30T23:00:00Z'), false), undefined, 'the last day is still supported');
  assert.match(
    nodeSupportWarning('v20.20.2', new Date('2026-05-01T00:00:00Z'), false) ?? '',
    /Node\.js v20\.20\.2, whose security support ended on 2026-04-30: .* Set init\.node to "npm"/,
  );
  assert.match(
    nodeSupportWarning('v22.23.5', new Date('2027-05-01T00:00:00Z'), true) ?? '',
    /ended on 2027-04-30: .* Move the pin in scripts\/sea\/node-pins\.ts to a supported line/,
    'the pin past its support is not offered as the fix',
  );
  assert.equal(nodeSupportWarning('v99.0.0', new Date('2040-01-01'), false), undefined);
});

test('the pinned Node is of a line the table knows, so a build warns once that line loses support', () => {
  const ends = nodeSupportEnds(`v${GUEST_NODE.version}`);
  assert.ok(ends, `Node ${GUEST_NODE.version} is not in NODE_SUPPORT_ENDS`);
});
