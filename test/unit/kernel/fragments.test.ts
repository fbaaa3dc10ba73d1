import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeRequests, parseConfigText, parseDotConfig, valueOf } from '../../../scripts/kernel/fragments.ts';

test('fragment lines: y/m/n, "is not set", strings, comments skipped', () => {
  const { lines, errors } = parseConfigText('# comment\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=n\nCONFIG_LSM="a,b"\n\n', 'f.config');
  assert.deepEqual(errors, []);
  assert.deepEqual(
    lines.map((l) => [l.symbol, l.value, l.line]),
    [
      ['A', 'y', 2],
      ['B', 'm', 3],
      ['C', 'n', 4],
      ['D', 'n', 5],
      ['LSM', '"a,b"', 6],
    ],
  );
});

test('a line that is not a config line is an error naming file and line', () => {
  const { errors } = parseConfigText('CONFIG_A=y\nVETH=y\n', 'bad.config');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /bad\.config:2: not a config line: "VETH=y"/);
});

test('merge order: a later fragment overrides an earlier one and is the one reported', () => {
  const a = parseConfigText('CONFIG_X=y\nCONFIG_Y=y\n', 'a.config').lines;
  const b = parseConfigText('# CONFIG_X is not set\n', 'b.config').lines;
  const merged = mergeRequests([a, b]);
  assert.equal(merged.get('X')?.value, 'n');
  assert.equal(merged.get('X')?.file, 'b.config');
  assert.equal(merged.get('Y')?.file, 'a.config');
  assert.equal(mergeRequests([b, a]).get('X')?.value, 'y');
});

test('.config: an absent symbol is n', () => {
  const c = parseDotConfig('CONFIG_A=y\n# CONFIG_B is not set\n');
  assert.equal(valueOf(c, 'A'), 'y');
  assert.equal(valueOf(c, 'B'), 'n');
  assert.equal(valueOf(c, 'NOPE'), 'n');
});
