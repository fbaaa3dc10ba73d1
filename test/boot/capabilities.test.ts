// A service keeps only the capabilities init.json gives it, and llama-server none: read from
// /proc inside the booted image, while the image still passes every check (inference included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkVariant } from './helpers.ts';

const SHOW = 'grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/$1/status | sed "s/^/$2 /"';
const script = [
  `show() { ${SHOW}; }`,
  'until p=$(pidof llama-server); do sleep 0.2; done',
  'show "$p" inference',
  'show self self',
  'exec sleep 2147483647',
].join('\n');

test('llama-server runs with no capability and a service with only those it was given; the image passes every check', async () => {
  await checkVariant(
    (j) => ({
      ...j,
      services: [...(j.services as unknown[]), { name: 'capdump', command: '/bin/sh', args: ['-c', script], capabilities: ['CAP_NET_RAW'] }],
    }),
    ({ r, failed, serial }) => {
      assert.equal(r.code, 0, `${r.out}\n--- serial ---\n${serial.slice(-3000)}`);
      assert.deepEqual(failed, []);
      const seen = (who: string, field: string) => new RegExp(`capdump: ${who} ${field}:\\s+(\\S+)`).exec(serial)?.[1];
      assert.equal(seen('inference', 'CapEff'), '0000000000000000', serial.slice(-3000));
      assert.equal(seen('inference', 'CapBnd'), '0000000000000000');
      assert.equal(seen('inference', 'NoNewPrivs'), '1');
      assert.equal(seen('self', 'CapEff'), '0000000000002000', 'CAP_NET_RAW is 13');
      assert.equal(seen('self', 'CapBnd'), '0000000000002000');
      assert.equal(seen('self', 'NoNewPrivs'), '1');
    },
  );
});
