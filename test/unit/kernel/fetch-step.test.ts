import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FALLBACK_RETRY_HOURS, fetchKernel } from '../../../scripts/steps/fetch-kernel.ts';
import { newContext } from '../../../scripts/pipeline/runner.ts';
import type { BuildOptions } from '../../../scripts/pipeline/context.ts';
import { scratchDir } from '../scratch.ts';

async function tarball(dir: string, extra: string): Promise<string> {
  await mkdir(join(dir, 'linux-6.12.1'), { recursive: true });
  await writeFile(join(dir, 'linux-6.12.1', 'Makefile'), `VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 1\n# ${extra}\n`);
  const file = join(dir, 'linux.tar.gz');
  execFileSync('tar', ['-czf', file, '-C', dir, 'linux-6.12.1']);
  return file;
}

test("a cached source that no longer verifies is fetched again; the user's own tarball is never deleted", async () => {
  const work = scratchDir('aios-fetch-');
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

test('a fallback is not kept: the next build asks kernel.org again and builds what was asked for', async () => {
  const { createServer } = await import('node:http');
  const { readFile: rf, writeFile: wf } = await import('node:fs/promises');
  const { createHash } = await import('node:crypto');
  const { hashValue } = await import('../../../scripts/lib/hash.ts');
  const { KERNEL_ORG_SHA256 } = await import('../../../scripts/kernel/pins.ts');
  const work = scratchDir('aios-retry-');
  const cacheDir = join(work, 'cache');
  // What kernel.org serves once it answers again: a tiny 6.8.12 whose sha256 the user pinned.
  await mkdir(join(work, 'linux-6.8.12'));
  await writeFile(join(work, 'linux-6.8.12', 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 8\nSUBLEVEL = 12\nEXTRAVERSION =\n');
  const tgz = join(work, 'linux-6.8.12.tar.xz');
  execFileSync('tar', ['-cJf', tgz, '-C', work, 'linux-6.8.12']);
  const body = await rf(tgz);
  const sha = createHash('sha256').update(body).digest('hex');
  const server = createServer((req, res) => (req.url === '/v6.x/linux-6.8.12.tar.xz' ? res.writeHead(200).end(body) : res.writeHead(404).end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const mirror = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    // An earlier build fell back to another version (a local stand-in for Debian's package).
    const older = await tarball(work, 'fallback');
    const inputs = { spec: 'auto', version: '6.8.12', sha256: sha, mirror, debianPackage: 'linux-source-6.12', pins: KERNEL_ORG_SHA256 };
    // The key the fetch step computes (pipeline/cache.ts), so that the build finds this fallback.
    const { resolveInputs } = await import('../../../scripts/pipeline/inputs.ts');
    const stepDir = join(cacheDir, 'steps', 'fetch', hashValue(await resolveInputs({ version: 1, values: inputs })).slice(0, 24));
    await mkdir(stepDir, { recursive: true });
    const { resolveKernelSource } = await import('../../../scripts/kernel/source.ts');
    const fallback = await resolveKernelSource({ cacheDir, spec: older, version: '6.8.12', mirror, debianPackage: 'x', warn: () => {}, info: () => {} });
    await wf(join(stepDir, 'source.json'), JSON.stringify({ ...fallback, fellBack: true, fallbackReason: 'kernel.org: unreachable' }));
    await wf(join(stepDir, '.complete'), '{}');
    const ctx = newContext({
      cacheDir,
      kernelSource: 'auto',
      kernelVersion: '6.8.12',
      kernelSha256: sha,
      config: { kernel: { mirror, debianPackage: 'linux-source-6.12' } },
      sourceDateEpoch: 0,
    } as unknown as BuildOptions);
    ctx.current = { name: 'fetch', seconds: 0, cpuSeconds: 0, cacheHit: false };
    const warnings: string[] = [];
    ctx.log = { info: () => {}, warn: (m) => warnings.push(m) };
    let asked = 0;
    server.on('request', () => asked++);
    // A fallback made a minute ago stands: a no-op build touches no network.
    await fetchKernel(ctx);
    assert.equal(asked, 0, 'kernel.org not asked again within FALLBACK_RETRY_HOURS');
    assert.notEqual(ctx.source!.origin, 'kernel.org');
    // Once it is older than that, kernel.org is asked again, and answers.
    const old = new Date(Date.now() - (FALLBACK_RETRY_HOURS + 1) * 3.6e6);
    await utimes(join(stepDir, 'source.json'), old, old);
    ctx.current = { name: 'fetch', seconds: 0, cpuSeconds: 0, cacheHit: false };
    assert.match(warnings.join('\n'), /!!! Linux 6\.8\.12 was asked for/, 'the standing fallback is still said loudly');
    warnings.length = 0;
    await fetchKernel(ctx);
    assert.ok(asked > 0);
    assert.equal(ctx.source!.origin, 'kernel.org');
    assert.equal(ctx.source!.version, '6.8.12');
    assert.equal(ctx.source!.fellBack, false);
    assert.deepEqual(warnings, [], 'no fallback warning once kernel.org answers');
  } finally {
    server.close();
  }
});

test('a kernel tree given as a directory: an edit inside it reaches the key of the steps after fetch', async () => {
  const work = scratchDir('aios-treefetch-');
  const tree = join(work, 'linux');
  await mkdir(join(tree, 'kernel'), { recursive: true });
  await writeFile(join(tree, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 1\nEXTRAVERSION =\n');
  await writeFile(join(tree, 'kernel', 'fork.c'), 'int a;\n');
  const opts = {
    cacheDir: join(work, 'cache'),
    kernelSource: tree,
    kernelVersion: '6.12.1',
    kernelSha256: '',
    config: { kernel: { mirror: 'http://127.0.0.1:9', debianPackage: 'x' } },
    sourceDateEpoch: 0,
  } as unknown as BuildOptions;
  const fetch = async () => {
    const ctx = newContext(opts);
    ctx.current = { name: 'fetch', seconds: 0, cpuSeconds: 0, cacheHit: false };
    await fetchKernel(ctx);
    return ctx.source!.id;
  };
  const before = await fetch();
  assert.equal(await fetch(), before);
  await writeFile(join(tree, 'kernel', 'fork.c'), 'int a, b;\n');
  assert.notEqual(await fetch(), before, 'the cached resolution does not hide the edit');
});
