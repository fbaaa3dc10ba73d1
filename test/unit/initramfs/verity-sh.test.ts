import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '../scratch.ts';

const lib = join(import.meta.dirname, '../../../initramfs/lib/verity.sh');
const HASH = 'a'.repeat(64);

/** open_root DEV with aios.verity=`verity`, against a fake veritysetup that logs its arguments and exits `rc`. */
async function openRoot(verity: string, rc = 0): Promise<{ status: number; out: string; calls: string }> {
  const dir = scratchDir('aios-verity-');
  const fake = join(dir, 'veritysetup');
  await writeFile(fake, `#!/bin/sh\necho "$@" >> ${dir}/calls\n[ ${rc} = 0 ] || echo "Verification of root hash failed." >&2\nexit ${rc}\n`);
  await chmod(fake, 0o755);
  const r = spawnSync('sh', ['-c', `. ${lib}; verity="$1"; open_root /dev/sda1`, 'sh', verity], {
    env: { PATH: process.env.PATH, VERITYSETUP: fake, MAPPER: '/dev/mapper' },
    encoding: 'utf8',
  });
  return { status: r.status ?? -1, out: r.stdout.trim(), calls: (await readFile(join(dir, 'calls'), 'utf8').catch(() => '')).trim() };
}

test('without aios.verity the root device is mounted as it is', async () => {
  const r = await openRoot('');
  assert.deepEqual([r.status, r.out, r.calls], [0, '/dev/sda1', '']);
});

test('aios.verity= opens the root through veritysetup with the hash, offset and action it names', async () => {
  const r = await openRoot(`${HASH},409600000,panic`);
  assert.equal(r.status, 0);
  assert.equal(r.out, '/dev/mapper/aios-root');
  assert.equal(r.calls, `open /dev/sda1 aios-root /dev/sda1 ${HASH} --hash-offset=409600000 --panic-on-corruption`);
  assert.match((await openRoot(`${HASH},4096,restart`)).calls, /--restart-on-corruption$/);
});

test("a root hash that does not match stops stage 1 with veritysetup's reason, never a fallback to the bare device", async () => {
  const r = await openRoot(`${HASH},4096,panic`, 1);
  assert.equal(r.status, 1);
  assert.match(r.out, /dm-verity refused the root filesystem on \/dev\/sda1: Verification of root hash failed/);
});

test('a malformed aios.verity= is refused before veritysetup runs (the command line is input)', async () => {
  for (const bad of [
    'abc',
    `${HASH}`,
    `${HASH},4096`,
    `${'A'.repeat(64)},4096,panic`,
    `${HASH.slice(1)},4096,panic`,
    `${HASH},-1,panic`,
    `${HASH},4096,ignore`,
    `${HASH},4096,panic;reboot`,
    `$(reboot),4096,panic`,
  ]) {
    const r = await openRoot(bad);
    assert.equal(r.status, 1, bad);
    assert.match(r.out, /^aios\.verity=/, bad);
    assert.equal(r.calls, '', `${bad}: veritysetup must not run`);
  }
});

test("block_name: the kernel's name of the device a root is mounted from (a verity device by its dm name)", async () => {
  const sys = scratchDir('aios-sys-');
  const { mkdir, writeFile: write } = await import('node:fs/promises');
  for (const [dev, name] of [
    ['dm-0', 'other'],
    ['dm-1', 'aios-root'],
  ]) {
    await mkdir(join(sys, 'block', dev!, 'dm'), { recursive: true });
    await write(join(sys, 'block', dev!, 'dm', 'name'), `${name}\n`);
  }
  const name = (dev: string) =>
    spawnSync('sh', ['-c', `. ${lib}; block_name "$1"`, 'sh', dev], { env: { PATH: process.env.PATH, SYS: sys }, encoding: 'utf8' }).stdout.trim();
  assert.equal(name('/dev/mapper/aios-root'), 'dm-1');
  assert.equal(name('/dev/sda1'), 'sda1');
  assert.equal(name('/dev/loop0'), 'loop0');
});

test('verify_root checks every block against the root hash, and names the failure', async () => {
  const dir = scratchDir('aios-verify-');
  const fake = join(dir, 'veritysetup');
  const run = async (rc: number) => {
    await writeFile(fake, `#!/bin/sh\necho "$@" > ${dir}/calls\n[ ${rc} = 0 ] || echo "Verification failed at position 8192." >&2\nexit ${rc}\n`);
    await chmod(fake, 0o755);
    const r = spawnSync('sh', ['-c', `. ${lib}; verity="$1"; verify_root /dev/loop0`, 'sh', `${HASH},4096,panic`], {
      env: { PATH: process.env.PATH, VERITYSETUP: fake },
      encoding: 'utf8',
    });
    return { status: r.status, out: r.stdout.trim(), calls: (await readFile(join(dir, 'calls'), 'utf8')).trim() };
  };
  const ok = await run(0);
  assert.deepEqual([ok.status, ok.calls], [0, `verify /dev/loop0 /dev/loop0 ${HASH} --hash-offset=4096`]);
  const bad = await run(1);
  assert.equal(bad.status, 1);
  assert.equal(bad.out, "failed verification against the command line's root hash: Verification failed at position 8192.");
});
