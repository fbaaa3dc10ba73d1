// An image whose /etc/aios/init.json has an error boots on defaults for that key: check
// "image configuration accepted" fails, and only it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { aios, imageWithInitJson, qemuProcesses } from './helpers.ts';

test('a misspelt key in init.json fails "image configuration accepted", and only that check', async () => {
  const dir = await imageWithInitJson((j) => ({ ...j, hostnme: 'typo' }));
  try {
    const r = await aios(['check', '--out', dir, '--path', 'direct', '--accel', 'tcg', '--json', join(dir, 'check.json')]);
    assert.equal(r.code, 1, r.out);
    const json = JSON.parse(await readFile(join(dir, 'check.json'), 'utf8')) as { results: { checks: { id: string; ok: boolean; detail: string }[] }[] };
    const failed = json.results[0]!.checks.filter((c) => !c.ok);
    assert.deepEqual(
      failed.map((c) => c.id),
      ['config'],
      r.out,
    );
    assert.match(failed[0]!.detail, /hostnme: unknown key \(did you mean "hostname"\?\)/);
    assert.deepEqual(await qemuProcesses(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('DHCP off with a static address that QEMU would also have given: "network up" fails, and only it', async () => {
  const dir = await imageWithInitJson((j) => ({ ...j, network: { dhcp: false, address: '10.0.2.15', netmask: '255.255.255.0', gateway: '10.0.2.2' } }));
  try {
    const r = await aios(['check', '--out', dir, '--path', 'direct', '--accel', 'tcg', '--json', join(dir, 'check.json')]);
    assert.equal(r.code, 1, r.out);
    const json = JSON.parse(await readFile(join(dir, 'check.json'), 'utf8')) as { results: { checks: { id: string; ok: boolean; detail: string }[] }[] };
    const failed = json.results[0]!.checks.filter((c) => !c.ok);
    assert.deepEqual(
      failed.map((c) => c.id),
      ['network'],
      r.out,
    );
    assert.match(failed[0]!.detail, /eth0 10\.0\.2\.15\/24.*\(no DHCP lease: static or stale\); host -> guest status port: answered/);
    assert.deepEqual(await qemuProcesses(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
