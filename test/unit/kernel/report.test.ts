import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readKconfigTree, symbolsIn } from '../../../scripts/kernel/kconfig.ts';
import { mergeRequests, parseConfigText, parseDotConfig } from '../../../scripts/kernel/fragments.ts';
import { checkRequests, formatProblem, formatReport } from '../../../scripts/kernel/report.ts';

const tree = readKconfigTree(join(import.meta.dirname, '../../fixtures/kconfig'));
const requests = (text: string) => mergeRequests([parseConfigText(text, 'frag.config').lines]);

test('the Kconfig reader follows source, if blocks and menus, and skips help text', () => {
  assert.deepEqual(tree.get('VETH')?.depends, [['NETDEVICES', 'NET_CORE']]);
  assert.deepEqual(tree.get('WLAN')?.depends, [['NET']]);
  assert.deepEqual(tree.get('WIRELESS')?.selectedBy, [{ by: 'WLAN', cond: undefined }]);
  assert.equal(tree.has('NOTHING'), false);
  assert.equal(tree.has('FAKE'), false);
  assert.equal(tree.get('HELPER')?.type, 'tristate');
});

test('a symbol whose dependency is off: the report names the dependency', () => {
  const problems = checkRequests(requests('CONFIG_VETH=y\n'), parseDotConfig('CONFIG_NET=y\n'), tree);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.kind, 'dropped');
  const text = formatProblem(problems[0]!);
  assert.match(text, /CONFIG_VETH: asked y, got n \(frag\.config:1\)/);
  assert.match(text, /depends on NETDEVICES {2}<- off: NETDEVICES/);
  assert.match(text, /CONFIG_NETDEVICES=y/);
});

test('a misspelt symbol is reported as unknown, with a suggestion', () => {
  const [p] = checkRequests(requests('CONFIG_VETHH=y\n'), parseDotConfig(''), tree);
  assert.equal(p!.kind, 'unknown');
  assert.match(formatProblem(p!), /CONFIG_VETHH: unknown symbol.*did you mean CONFIG_VETH\?/);
});

test('an =m that became =y names the built-in symbol that selected it', () => {
  const [p] = checkRequests(requests('CONFIG_HELPER=m\n'), parseDotConfig('CONFIG_FEATURE=y\nCONFIG_HELPER=y\n'), tree);
  assert.equal(p!.kind, 'changed');
  assert.match(formatProblem(p!), /asked m, got y .*selected by built-in FEATURE/);
});

test('a symbol asked off but forced on names the select that forced it', () => {
  const [p] = checkRequests(requests('CONFIG_WIRELESS=n\n'), parseDotConfig('CONFIG_NET=y\nCONFIG_WLAN=y\nCONFIG_WIRELESS=y\n'), tree);
  assert.equal(p!.kind, 'forced');
  assert.match(formatProblem(p!), /forced on by select from: WLAN=y/);
});

test('symbols that landed make no report', () => {
  const problems = checkRequests(requests('CONFIG_NET=y\n# CONFIG_WLAN is not set\n'), parseDotConfig('CONFIG_NET=y\n'), tree);
  assert.deepEqual(problems, []);
  assert.match(formatReport(problems, 2), /all 2 requested symbols landed/);
});

test('symbols of an expression, constants left out', () => {
  assert.deepEqual(symbolsIn('(NET && !UML) || m'), ['NET', 'UML']);
});
