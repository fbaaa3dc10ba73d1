import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { removeTempLeftovers, tempDir } from '../../../common/leftovers.ts';
import { scratchDir } from '../scratch.ts';

/** os.tmpdir() is $TMPDIR: point it at a scratch directory of this test's own. */
async function inOwnTmp(fn: (tmp: string) => Promise<void>): Promise<void> {
  const saved = process.env.TMPDIR;
  const tmp = scratchDir('aios-tmp-');
  process.env.TMPDIR = tmp;
  try {
    await fn(tmp);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

test("a killed aios's scratch directories are removed; a running one's, this one's and other files stay", () =>
  inOwnTmp(async (tmp) => {
    const gone = spawnSync('true').pid!; // has exited and been reaped
    const running = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const dirs = [
        `aios-run-${gone}-Ab3dE9`,
        `aios-check-${running.pid}-xYz123`,
        `aios-qemu-${process.pid}-q1w2e3`,
        'aios-run-Ab3dE9',
        'aios-out-123456',
        'other',
      ];
      for (const d of dirs) {
        await mkdir(join(tmp, d));
        await writeFile(join(tmp, d, 'qmp.sock'), '');
      }
      // A dead pid's directory that another user owns is not this user's to remove.
      const others = `aios-run-${gone}-Zz9Yy8`;
      await mkdir(join(tmp, others));
      if (process.getuid?.() === 0) await chown(join(tmp, others), 65534, 65534);
      const expectedGone = [join(tmp, dirs[0]!), ...(process.getuid?.() === 0 ? [] : [join(tmp, others)])];
      assert.deepEqual((await removeTempLeftovers()).sort(), expectedGone.sort());
      assert.deepEqual((await readdir(tmp)).sort(), [...dirs.slice(1), ...(process.getuid?.() === 0 ? [others] : [])].sort());
    } finally {
      running.kill('SIGKILL');
    }
  }));

test("a scratch directory is named for its kind and this process's pid, and release removes it", () =>
  inOwnTmp(async (tmp) => {
    const s = await tempDir('run');
    assert.equal(dirname(s.path), tmp);
    assert.match(basename(s.path), new RegExp(`^aios-run-${process.pid}-[A-Za-z0-9]{6}$`));
    await writeFile(join(s.path, 'OVMF_VARS.fd'), '');
    await s.release();
    assert.equal(existsSync(s.path), false);
  }));
