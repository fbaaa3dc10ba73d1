import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { lockCache } from '../../../scripts/pipeline/lock.ts';
import { scratchDir } from '../scratch.ts';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);
function node(script: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; out: string }>((r) => child.on('exit', (code) => r({ code, out })));
  return { child, done, output: () => out };
}

async function race(cache: string) {
  const a = node(fixture('locked-build.ts'), [cache, 'a']);
  const b = node(fixture('locked-build.ts'), [cache, 'b']);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.equal(ra.code, 0, ra.out);
  assert.equal(rb.code, 0, rb.out);
  const log = (await readFile(join(cache, 'log'), 'utf8')).trim().split('\n');
  assert.equal(log.length, 4);
  assert.deepEqual(
    log.map((l) => l.split(' ')[0]),
    ['start', 'end', 'start', 'end'],
    log.join(' | '),
  );
  assert.equal(log[0]!.split(' ')[1], log[1]!.split(' ')[1], 'one build ran from start to end before the other began');
  return ra.out + rb.out;
}

test('two builds on one cache take turns: the second waits for the first, saying for whom', async () => {
  const cache = scratchDir('aios-lock-');
  assert.match(await race(cache), /waiting for the build with pid \d+, which is using the cache/);
  const release = await lockCache(cache, () => assert.fail('the lock was not released'));
  release();
});

test('two builds racing with a stale lock present: exactly one builds at a time', async () => {
  for (let i = 0; i < 3; i++) {
    const cache = scratchDir('aios-lock-');
    await writeFile(join(cache, '.lock'), '999999999');
    await race(cache);
  }
});

test('a lock left by a build that died is taken over', async () => {
  const cache = scratchDir('aios-lock-');
  await writeFile(join(cache, '.lock'), '999999999');
  const release = await lockCache(cache, () => assert.fail('must not wait for a dead owner'));
  assert.equal((await readFile(join(cache, '.lock'), 'utf8')).trim(), String(process.pid));
  release();
});

test('a build killed with SIGKILL while it holds the lock leaves it free at once', async () => {
  const cache = scratchDir('aios-lock-');
  const a = node(fixture('locked-build.ts'), [cache, 'a', '60000']);
  for (let i = 0; i < 200 && !existsSync(join(cache, 'log')); i++) await new Promise((r) => setTimeout(r, 25));
  a.child.kill('SIGKILL');
  await a.done;
  const release = await lockCache(cache, () => assert.fail('a killed holder must not keep the lock'), 2000);
  release();
});

test('SIGTERM in the middle of unpacking leaves no temporary tree and no tar behind', async () => {
  const work = scratchDir('aios-unpack-');
  const bin = join(work, 'bin');
  await (await import('node:fs/promises')).mkdir(bin);
  // A tar that writes part of a tree, says so, and then takes its time.
  await writeFile(
    join(bin, 'tar'),
    `#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = -C ] && dest=$2; shift; done\nmkdir -p "$dest/linux-6.8.12" && echo half > "$dest/linux-6.8.12/Makefile"\necho $$ > ${work}/tar.pid\nexec sleep 30\n`,
  );
  await chmod(join(bin, 'tar'), 0o755);
  const cache = join(work, 'cache');
  const run = node(fixture('unpack-kernel.ts'), [join(work, 'linux.tar.xz'), cache], { PATH: `${bin}:${process.env.PATH}` });
  for (let i = 0; i < 200 && !existsSync(join(work, 'tar.pid')); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(join(work, 'tar.pid')), `tar never started: ${run.output()}`);
  assert.equal((await readdir(join(cache, 'sources'))).length, 1, 'the temporary tree exists while tar runs');
  run.child.kill('SIGTERM');
  const { code } = await run.done;
  assert.equal(code, 143);
  assert.deepEqual(await readdir(join(cache, 'sources')), [], 'nothing is left in the cache');
  const tarPid = Number(await readFile(join(work, 'tar.pid'), 'utf8'));
  // Gone, or a zombie waiting for whoever inherited it: either way it no longer runs.
  const state = async () => (await readFile(`/proc/${tarPid}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.[0];
  for (let i = 0; i < 40 && !['Z', undefined].includes(await state()); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(['Z', undefined].includes(await state()), `tar (pid ${tarPid}) still runs: state ${await state()}`);
});
