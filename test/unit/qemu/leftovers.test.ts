import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkDiskName, removeStaleCheckDisks } from '../../../qemu/leftovers.ts';
import { scratchDir } from '../scratch.ts';

test("a killed check's disk copy is removed; a running check's, the image and other files stay", async () => {
  const out = scratchDir('aios-out-');
  const gone = spawnSync('true').pid!; // has exited and been reaped
  const running = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const files = [checkDiskName(gone), checkDiskName(running.pid!), checkDiskName(process.pid), 'rootfs.img', '.check-x-rootfs.img', 'build.json'];
    for (const f of files) await writeFile(join(out, f), '');
    assert.deepEqual(await removeStaleCheckDisks(out), [join(out, checkDiskName(gone))]);
    assert.deepEqual((await readdir(out)).sort(), files.slice(1).sort());
  } finally {
    running.kill('SIGKILL');
  }
});
