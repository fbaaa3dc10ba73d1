import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchKernel } from '../../../scripts/steps/fetch-kernel.ts';
import { newContext } from '../../../scripts/pipeline/runner.ts';
import type { BuildOptions } from '../../../scripts/pipeline/context.ts';

async function tarball(dir: string, extra: string): Promise<string> {
  await mkdir(join(dir, 'linux-6.12.1'), { recursive: true });
  await writeFile(join(dir, 'linux-6.12.1', 'Makefile'), `VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 1\n# ${extra}\n`);
  const file = join(dir, 'linux.tar.gz');
  execFileSync('tar', ['-czf', file, '-C', dir, 'linux-6.12.1']);
  return file;
}

test("a cached source that no longer verifies is fetched again; the user's own tarball is never deleted", async () => {
  const work = await mkdtemp(join(tmpdir(), 'aios-fetch-'));
  const cacheDir = join(work, 'cache');
  const file = await tarball(work, 'first');
  const opts = {
    cacheDir,
    kernelSource: file,
    kernelVersion: '6.12.1',
    kernelSha256: '',
    config: { kernel: { mirror: 'http://127.0.0.1:9', debianPackage: 'linux-source-6.12' } },
    sourceDateEpoch: 0,
  } as unknown as BuildOptions;
  const warnings: string[] = [];
  const run = async () => {
    const ctx = newContext(opts);
    ctx.current = { name: 'fetch', seconds: 0, cpuSeconds: 0, cacheHit: false };
    ctx.log = { info: () => {}, warn: (m) => warnings.push(m) };
    await fetchKernel(ctx);
    return ctx;
  };
  const first = await run();
  assert.equal(first.current?.cacheHit, false);
  assert.equal((await run()).current?.cacheHit, true, 'unchanged: a cache hit');
  await tarball(work, 'second'); // the same path, other bytes
  const third = await run();
  assert.ok(
    warnings.some((w) => /no longer matches sha256/.test(w)),
    warnings.join('\n'),
  );
  assert.notEqual(third.source!.sha256, first.source!.sha256);
  assert.ok(existsSync(file), "the user's tarball is still there");
  assert.ok(existsSync(join(third.source!.dir, 'Makefile')));
});
