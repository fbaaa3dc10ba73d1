// An image whose /etc/aios/init.json has an error boots on defaults for that key: check
// "image configuration accepted" fails, and only it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aios, OUT, qemuProcesses } from './helpers.ts';

test('a misspelt key in init.json fails "image configuration accepted", and only that check', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aios-badconfig-'));
  try {
    for (const f of ['vmlinuz', 'initramfs.img', 'build.json', 'rootfs.img']) await copyFile(join(OUT, f), join(dir, f));
    const part = join(dir, 'part.img');
    execFileSync('dd', [`if=${join(dir, 'rootfs.img')}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none']);
    const initJson = JSON.parse(
      execFileSync('/sbin/debugfs', ['-R', 'cat /etc/aios/init.json', part], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    ) as Record<string, unknown>;
    await writeFile(join(dir, 'init.json'), JSON.stringify({ ...initJson, hostnme: 'typo' }));
    execFileSync('/sbin/debugfs', ['-w', '-R', 'rm /etc/aios/init.json', part], { stdio: 'ignore' });
    execFileSync('/sbin/debugfs', ['-w', '-R', `write ${join(dir, 'init.json')} /etc/aios/init.json`, part], { stdio: 'ignore' });
    execFileSync('dd', [`if=${part}`, `of=${join(dir, 'rootfs.img')}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
    await rm(part);
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
