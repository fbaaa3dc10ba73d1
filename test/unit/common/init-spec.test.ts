import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { CAPABILITIES, capabilityMask, parseInitConfig } from '../../../common/init-spec.ts';

test("capabilities: the table's numbers are the kernel headers' own", (t) => {
  const header = '/usr/include/linux/capability.h';
  if (!existsSync(header)) return t.skip(`${header} is not installed (linux-libc-dev)`);
  const defined = [...readFileSync(header, 'utf8').matchAll(/^#define (CAP_[A-Z_]+)\s+(\d+)\s*$/gm)]
    .map(([, name, n]) => [name!, Number(n)] as const)
    .filter(([name]) => name !== 'CAP_LAST_CAP');
  for (const [name, n] of defined) assert.equal(CAPABILITIES.indexOf(name as (typeof CAPABILITIES)[number]), n, name);
  assert.equal(CAPABILITIES.length, Math.max(...defined.map(([, n]) => n)) + 1, 'a capability the table lacks');
});

test('capabilities: a mask of the kept ones, bits above 31 too; all is -1', () => {
  assert.equal(capabilityMask(['all']), -1);
  assert.equal(capabilityMask(['CAP_NET_BIND_SERVICE', 'all']), -1);
  assert.equal(capabilityMask([]), 0);
  assert.equal(capabilityMask(['CAP_NET_BIND_SERVICE', 'CAP_IPC_LOCK', 'CAP_NET_BIND_SERVICE']), 0x4400);
  assert.equal(capabilityMask(['CAP_CHECKPOINT_RESTORE', 'CAP_CHOWN']), 2 ** 40 + 1);
});

test('capabilities: a misspelt one is an error of init.json, and the service keeps its default, all', () => {
  const { config, errors } = parseInitConfig(
    JSON.stringify({ services: [{ name: 'web', command: '/bin/web', capabilities: ['CAP_NET_BIND_SERVIC'] }] }),
    'init.json',
  );
  assert.equal(errors.length, 1);
  assert.match(`${errors[0]!.key}: ${errors[0]!.message}`, /^services\[0\]\.capabilities.*CAP_NET_BIND_SERVIC/);
  assert.deepEqual(config.services[0]!.capabilities, ['all']);
});
