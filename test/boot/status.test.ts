// The status endpoint is optional (init.json statusPort 0) or may listen inside the guest only
// (statusBind 127.0.0.1): aios check must still boot such an image, and still prove that the
// host reaches the guest, through llama-server's port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkVariant, extended } from './helpers.ts';

const cases = [
  { edit: { statusPort: 0 }, why: /the image has no status endpoint \(init\.json statusPort 0\)/ },
  { edit: { statusBind: '127.0.0.1' }, why: /the status endpoint listens inside the guest only \(init\.json statusBind 127\.0\.0\.1\)/ },
];

for (const { edit, why } of cases)
  test(`an image with ${JSON.stringify(edit)} passes every check, the host reaching the guest through llama-server`, extended, async () => {
    await checkVariant(
      (j) => ({ ...j, ...edit }),
      ({ r, failed, serial }) => {
        assert.equal(r.code, 0, `${r.out}\n--- serial ---\n${serial.slice(-3000)}`);
        assert.deepEqual(failed, []);
        assert.match(r.out, new RegExp(`network up\\s+PASS\\s+.*${why.source}; host -> guest llama-server port: answered`));
        assert.doesNotMatch(r.out, /hostfwd=tcp:127\.0\.0\.1:\d+-:(0|8080)\b/, 'no forward to a port the host cannot reach');
      },
    );
  });

test('with no status endpoint and llama-server inside the guest only, the host reaches nothing: check 3 fails, and 11 with it', extended, async () => {
  await checkVariant(
    {
      initJson: (j) => ({
        ...j,
        statusPort: 0,
        services: (j.services as { name: string; args?: string[] }[]).map((s) =>
          s.name === 'inference' ? { ...s, args: s.args!.map((a) => (a === '0.0.0.0' ? '127.0.0.1' : a)) } : s,
        ),
      }),
      project: { check: { inferenceReadySeconds: 15 } },
    },
    ({ r, failed, serial }) => {
      const why = `${r.out}\n--- serial ---\n${serial.slice(-3000)}`;
      assert.equal(r.code, 1, why);
      assert.deepEqual(failed.map((c) => c.id).sort(), ['inference', 'network'], why);
      assert.match(
        failed.find((c) => c.id === 'network')!.detail,
        /DHCP from .*; the image has no status endpoint \(init\.json statusPort 0\); host -> guest llama-server port: no answer/,
      );
    },
  );
});
