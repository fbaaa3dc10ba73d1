// An image whose /etc/aios/init.json has an error boots on defaults for that key: check
// "image configuration accepted" fails, and only it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkVariant } from './helpers.ts';

test('a misspelt key in init.json fails "image configuration accepted", and only that check', async () => {
  await checkVariant(
    (j) => ({ ...j, hostnme: 'typo' }),
    ({ r, failed }) => {
      assert.equal(r.code, 1, r.out);
      assert.deepEqual(
        failed.map((c) => c.id),
        ['config'],
        r.out,
      );
      assert.match(failed[0]!.detail, /hostnme: unknown key \(did you mean "hostname"\?\)/);
    },
  );
});

test('DHCP off with a static address that QEMU would also have given: "network up" fails, and only it', async () => {
  await checkVariant(
    (j) => ({ ...j, network: { dhcp: false, address: '10.0.2.15', netmask: '255.255.255.0', gateway: '10.0.2.2' } }),
    ({ r, failed }) => {
      assert.equal(r.code, 1, r.out);
      assert.deepEqual(
        failed.map((c) => c.id),
        ['network'],
        r.out,
      );
      assert.match(failed[0]!.detail, /eth0 10\.0\.2\.15\/24.*\(no DHCP lease: static or stale\); host -> guest status port: answered/);
    },
  );
});
