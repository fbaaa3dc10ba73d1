import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { followLines } from '../../../qemu/channel.ts';
import { scratchDir } from '../scratch.ts';

test('the check channel is followed as QEMU writes it: whole lines only, \\r\\n as \\n, a file made late', async () => {
  const file = join(scratchDir('aios-channel-'), 'channel.log');
  const seen: string[] = [];
  const f = followLines(file, (l) => seen.push(l), 10);
  await new Promise((r) => setTimeout(r, 30));
  writeFileSync(file, 'AIOS-PROBE n 1 pid1 aios-init\r\nAIOS-PROBE n 2 mo');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen, ['AIOS-PROBE n 1 pid1 aios-init'], 'a half line waits for its end');
  appendFileSync(file, 'unt / /dev/dm-0 ext4 ro\r\n');
  f.stop();
  assert.deepEqual(seen, ['AIOS-PROBE n 1 pid1 aios-init', 'AIOS-PROBE n 2 mount / /dev/dm-0 ext4 ro']);
});
