import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ccacheEnv, ccacheOf, remoteStorage, shownRemote } from '../../../scripts/lib/ccache.ts';
import { kbuildEnv, makeArgs } from '../../../scripts/kernel/make.ts';
import { freePort } from '../../../qemu/runner.ts';
import { scratchDir } from '../scratch.ts';

const exec = promisify(execFile);

test('the remote storage: $AIOS_CCACHE_REMOTE wins over aios.json, both checked; a password is never shown', () => {
  assert.equal(remoteStorage('', {}), undefined);
  assert.equal(remoteStorage('redis://cache:6379', {}), 'redis://cache:6379');
  assert.equal(remoteStorage('redis://cache:6379', { AIOS_CCACHE_REMOTE: 'http://ci-cache/ccache' }), 'http://ci-cache/ccache');
  assert.throws(() => remoteStorage('', { AIOS_CCACHE_REMOTE: 'redis://a redis://b' }), /AIOS_CCACHE_REMOTE: .*expected redis:\/\/HOST/);
  assert.throws(() => remoteStorage('', { AIOS_CCACHE_REMOTE: 'file:///tmp/x' }), /expected/);
  assert.deepEqual(ccacheEnv(ccacheOf('/c', 'redis://r:1', {})), { CCACHE_DIR: '/c/ccache', CCACHE_REMOTE_STORAGE: 'redis://r:1' });
  // This machine's cache alone: the depend mode, which spares each miss a preprocessor run.
  assert.deepEqual(ccacheEnv(ccacheOf('/c', '', {})), { CCACHE_DIR: '/c/ccache', CCACHE_DEPEND: '1' });
  assert.deepEqual(ccacheEnv(undefined), {});
  assert.equal(shownRemote('redis://:s3cret@cache:6379'), 'redis://***@cache:6379');
});

test("two empty local caches share compiles through Redis: the kernel step's ccache setup, the second cache all remote hits", async () => {
  const dir = scratchDir('aios-ccache-');
  const port = await freePort();
  // Debian's redis-server (ci/apt-packages.txt), on loopback, nothing written to disk, stopped by its pid.
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const gone = new Promise((r) => redis.once('exit', r));
  try {
    for (let i = 0; i < 50; i++) {
      const up = await exec('redis-cli', ['-p', String(port), 'ping']).then(
        (r) => r.stdout.trim() === 'PONG',
        () => false,
      );
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const sources = [1, 2, 3].map((i) => join(dir, `f${i}.c`));
    for (const [i, f] of sources.entries()) await writeFile(f, `int f${i}(int x) { return x * ${i + 7}; }\n`);
    // The compiler the kernel step runs (make's CC=ccache gcc) in the environment it runs it in.
    const cc = makeArgs({ srcDir: 's', objDir: 'o', jobs: 1, ccache: true }, [])
      .find((a) => a.startsWith('CC='))!
      .slice(3)
      .split(' ');
    const remote = `redis://127.0.0.1:${port}`;
    const build = async (cache: string) => {
      const env = { ...process.env, ...kbuildEnv(ccacheEnv(ccacheOf(cache, remote, {}))) };
      // Two runners of one tree: the same paths, the dependency file as kbuild asks for it
      // (-Wp,-MMD), which is what ccache's depend mode reads; only the local cache differs.
      for (const f of sources) await exec(cc[0]!, [...cc.slice(1), `-Wp,-MMD,${f}.d`, '-O2', '-c', f, '-o', `${f}.o`], { env, cwd: dir });
      const stats = (await exec('ccache', ['--print-stats'], { env })).stdout;
      return Object.fromEntries(
        stats
          .split('\n')
          .map((l) => l.split('\t'))
          .map(([k, v]) => [k, Number(v)]),
      );
    };
    const a = await build(join(dir, 'cacheA'));
    assert.equal(a.cache_miss, 3, JSON.stringify(a));
    assert.ok(a.remote_storage_write! >= 3, 'cache A wrote its results (and manifests) to Redis');
    const b = await build(join(dir, 'cacheB'));
    assert.equal(b.remote_storage_hit, 3, JSON.stringify(b));
    assert.equal(b.cache_miss, 0, 'nothing compiled in cache B');
  } finally {
    redis.kill('SIGTERM');
    await gone;
  }
});

test("this machine's cache alone: kbuild's compile line in depend mode, the second build all direct hits and no preprocessor run", async () => {
  const dir = scratchDir('aios-ccache-depend-');
  const sources = [1, 2].map((i) => join(dir, `g${i}.c`));
  for (const [i, f] of sources.entries()) await writeFile(f, `int g${i}(int x) { return x + ${i}; }\n`);
  // ccache trusts no direct-mode result for a source written in the second it compiles.
  await new Promise((r) => setTimeout(r, 1100));
  const cc = makeArgs({ srcDir: 's', objDir: 'o', jobs: 1, ccache: true }, [])
    .find((a) => a.startsWith('CC='))!
    .slice(3)
    .split(' ');
  const log = join(dir, 'ccache.log');
  // ccache's own log says how it found each result key: from the dependency file, or by preprocessing.
  const env = { ...process.env, ...kbuildEnv(ccacheEnv(ccacheOf(dir, '', {}))), CCACHE_LOGFILE: log };
  const build = async () => {
    for (const f of sources) await exec(cc[0]!, [...cc.slice(1), `-Wp,-MMD,${f}.d`, '-O2', '-c', f, '-o', `${f}.o`], { env, cwd: dir });
  };
  await build();
  const first = await readFile(log, 'utf8');
  assert.equal((first.match(/Got result key from dependency file/g) ?? []).length, 2, first);
  assert.doesNotMatch(first, /Running preprocessor/);
  await build();
  const stats = Object.fromEntries(
    (await exec('ccache', ['--print-stats'], { env })).stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .map(([k, v]) => [k, Number(v)]),
  );
  assert.equal(stats.cache_miss, 2, JSON.stringify(stats));
  assert.equal(stats.direct_cache_hit, 2, JSON.stringify(stats));
  assert.equal(stats.preprocessed_cache_hit, 0, 'no preprocessor mode');
});
