import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kbuildEnv, makeArgs, mergeConfigArgs, modulesInstallArgs } from '../../../scripts/kernel/make.ts';

const o = { srcDir: '/src', objDir: '/obj', jobs: 2, ccache: true };

test('make command lines', () => {
  assert.deepEqual(makeArgs(o, ['bzImage', 'modules']), ['-C', '/src', 'O=/obj', 'ARCH=x86_64', '-j2', 'CC=ccache gcc', 'bzImage', 'modules']);
  assert.deepEqual(makeArgs({ ...o, ccache: false, jobs: 1 }, ['tinyconfig']), ['-C', '/src', 'O=/obj', 'ARCH=x86_64', '-j1', 'tinyconfig']);
  assert.deepEqual(mergeConfigArgs(o, ['/k/a.config', '/k/b.config']), ['-m', '-O', '/obj', '/obj/.config', '/k/a.config', '/k/b.config']);
  assert.deepEqual(modulesInstallArgs(o, '/stage').slice(-4), ['INSTALL_MOD_PATH=/stage', 'INSTALL_MOD_STRIP=1', 'DEPMOD=/sbin/depmod', 'modules_install']);
});

test('the build identity is fixed, so two builds give the same bzImage', () => {
  const env = kbuildEnv();
  assert.equal(env.KBUILD_BUILD_TIMESTAMP, '1970-01-01 00:00:00 UTC');
  assert.equal(env.KBUILD_BUILD_USER, 'aios');
  assert.equal(env.KBUILD_BUILD_HOST, 'aios');
  assert.deepEqual(
    Object.entries(kbuildEnv({ CCACHE_DIR: '/c', CCACHE_REMOTE_STORAGE: 'redis://r' })).filter(([k]) => k.startsWith('CCACHE')),
    [
      ['CCACHE_DIR', '/c'],
      ['CCACHE_REMOTE_STORAGE', 'redis://r'],
    ],
  );
});
