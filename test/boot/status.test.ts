// The status endpoint is optional (init.json statusPort 0): aios check must still boot such an
// image, and still prove that the host reaches the guest, through llama-server's port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkVariant } from './helpers.ts';

test('an image without a status endpoint passes every check, the host reaching the guest through llama-server', async () => {
  await checkVariant(
    (j) => ({ ...j, statusPort: 0 }),
    ({ r, failed, serial }) => {
      assert.equal(r.code, 0, `${r.out}\n--- serial ---\n${serial.slice(-3000)}`);
      assert.deepEqual(failed, []);
      assert.match(r.out, /network up\s+PASS\s+.*no status endpoint \(init\.json statusPort 0\); host -> guest llama-server port: answered/);
      assert.doesNotMatch(r.out, /hostfwd=tcp:127\.0\.0\.1:\d+-:0\b/, 'no forward to port 0');
    },
  );
});
