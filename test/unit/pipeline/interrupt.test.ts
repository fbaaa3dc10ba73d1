import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '../scratch.ts';

test('Ctrl-C in the middle of a step exits 130 and leaves no half-written output', async () => {
  const cache = scratchDir('aios-int-');
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/interrupted-build.ts'), cache], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '1' },
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('READY') && resolve());
    child.on('exit', () => reject(new Error('exited before it was ready')));
  });
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 130);
  assert.deepEqual(await readdir(join(cache, 'steps', 'slow')), [], 'neither the temporary output nor a completed one is left');
});
