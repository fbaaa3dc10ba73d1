import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { resolveKernelSource, verifyCached, fallbackWarning } from '../../../scripts/kernel/source.ts';
import { KERNEL_ORG_SHA256, kernelOrgUrl } from '../../../scripts/kernel/pins.ts';
import { makefileVersion, parseMakefileVersion } from '../../../scripts/kernel/source.ts';
import { scratchDir } from '../scratch.ts';
import { serveOne } from '../net/serve-one.ts';

/** The first lines of a real release Makefile (Linux 6.12.117): EXTRAVERSION is empty, NAME follows. */
const REAL_MAKEFILE_HEAD = `# SPDX-License-Identifier: GPL-2.0
VERSION = 6
PATCHLEVEL = 12
SUBLEVEL = 117
EXTRAVERSION =
NAME = Baby Opossum Posse

# *DOCUMENTATION*
# To see a list of typical targets execute "make help"
`;

test('kernel version: an empty EXTRAVERSION does not swallow NAME; -rc suffixes are kept', async () => {
  assert.equal(parseMakefileVersion(REAL_MAKEFILE_HEAD, 'x'), '6.12.117');
  assert.equal(parseMakefileVersion(REAL_MAKEFILE_HEAD.replace('EXTRAVERSION =', 'EXTRAVERSION = -rc3'), 'x'), '6.12.117-rc3');
  const dir = scratchDir('aios-mk-');
  await writeFile(join(dir, 'Makefile'), REAL_MAKEFILE_HEAD);
  assert.equal(await makefileVersion(dir), '6.12.117');
  // The kernel's own answer wins where its Makefile has the target.
  await writeFile(join(dir, 'Makefile'), `${REAL_MAKEFILE_HEAD}\nkernelversion:\n\t@echo 6.12.117-from-make\n`);
  assert.equal(await makefileVersion(dir), '6.12.117-from-make');
});

test("the spec's 6.8.12 is pinned to kernel.org's sha256", () => {
  assert.equal(KERNEL_ORG_SHA256['6.8.12'], '19b31956d229b5b9ca5671fa1c74320179682a3d8d00fc86794114b21da86039');
});

/** A tiny "kernel" tarball: one top directory with a Makefile that names the version. */
async function tinyTarball(version: string): Promise<{ file: string; sha: string }> {
  const dir = scratchDir('aios-tiny-');
  const [v, p, s] = version.split('.');
  await mkdir(join(dir, `linux-${version}`));
  await writeFile(join(dir, `linux-${version}`, 'Makefile'), `VERSION = ${v}\nPATCHLEVEL = ${p}\nSUBLEVEL = ${s}\nEXTRAVERSION =\n`);
  const file = join(dir, `linux-${version}.tar.xz`);
  execFileSync('tar', ['-cJf', file, '-C', dir, `linux-${version}`]);
  return {
    file,
    sha: createHash('sha256')
      .update(await readFile(file))
      .digest('hex'),
  };
}

async function mirror(file: string): Promise<{ url: string; close: () => void; hits: string[] }> {
  const s = await serveOne('/pub/v6.x/linux-6.8.12.tar.xz', await readFile(file));
  return { ...s, url: `${s.origin}/pub` };
}

const opts = (cacheDir: string, mirrorUrl: string, sha256: string) => ({
  cacheDir,
  spec: 'kernel.org',
  version: '6.8.12',
  mirror: mirrorUrl,
  sha256,
  debianPackage: 'linux-source-6.12',
  warn: () => {},
  info: () => {},
});

test('kernel.org URL layout', () => {
  assert.equal(kernelOrgUrl('https://cdn.kernel.org/pub/linux/kernel/', '6.8.12'), 'https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.8.12.tar.xz');
});

test('kernel.org: download from the mirror, verify, unpack, read the version; the cache is re-verified', async () => {
  const { file, sha } = await tinyTarball('6.8.12');
  const m = await mirror(file);
  const cache = scratchDir('aios-src-');
  try {
    const src = await resolveKernelSource(opts(cache, m.url, sha));
    assert.equal(src.version, '6.8.12');
    assert.equal(src.origin, 'kernel.org');
    assert.equal(fallbackWarning(src), undefined);
    assert.ok(existsSync(join(src.dir, 'Makefile')));
    assert.equal(await verifyCached(src), true);
    await appendFile(src.tarball!, 'tampered');
    assert.equal(await verifyCached(src), false, 'a changed tarball is not trusted');
  } finally {
    m.close();
  }
});

test('kernel.org: a checksum mismatch is refused and nothing is kept; no pin and no --kernel-sha256 is refused', async () => {
  const { file } = await tinyTarball('6.8.12');
  const m = await mirror(file);
  const cache = scratchDir('aios-src-');
  try {
    await assert.rejects(resolveKernelSource(opts(cache, m.url, 'f'.repeat(64))), /checksum mismatch/);
    assert.equal(existsSync(join(cache, 'downloads', 'linux-6.8.12.tar.xz')), false);
    assert.equal(existsSync(join(cache, 'downloads', 'linux-6.8.12.tar.xz.part')), false);
    await assert.rejects(
      resolveKernelSource({ ...opts(cache, m.url, ''), version: '6.8.11' }),
      /no sha256 is pinned for linux-6\.8\.11\.tar\.xz.*--kernel-sha256/,
    );
    // 6.8.12 is pinned: the mirror's tiny tarball is not kernel.org's, so it is refused by the pin.
    await assert.rejects(
      resolveKernelSource(opts(cache, m.url, '')),
      /checksum mismatch.*expected sha256 19b31956d229b5b9ca5671fa1c74320179682a3d8d00fc86794114b21da86039/,
    );
    assert.equal(existsSync(join(cache, 'downloads', 'linux-6.8.12.tar.xz')), false);
  } finally {
    m.close();
  }
});

test('a local tarball: hashed, unpacked once, and a fallback to another version is said loudly', async () => {
  const { file, sha } = await tinyTarball('6.12.117');
  const cache = scratchDir('aios-src-');
  const src = await resolveKernelSource({ ...opts(cache, 'http://127.0.0.1:9', ''), spec: file });
  assert.equal(src.sha256, sha);
  assert.equal(src.version, '6.12.117');
  assert.match(fallbackWarning(src)!, /6\.8\.12 was asked for, but Linux 6\.12\.117 is being built/);
  const again = await resolveKernelSource({ ...opts(cache, 'http://127.0.0.1:9', ''), spec: file });
  assert.equal(again.dir, src.dir);
});

test('a kernel tree given as a directory is keyed by its content: an edit changes its id', async () => {
  const dir = scratchDir('aios-tree-');
  await writeFile(join(dir, 'Makefile'), REAL_MAKEFILE_HEAD);
  await mkdir(join(dir, 'kernel'));
  await writeFile(join(dir, 'kernel', 'fork.c'), 'int x;\n');
  const o = { ...opts(scratchDir('aios-c-'), 'http://127.0.0.1:9', ''), spec: dir };
  const a = await resolveKernelSource(o);
  assert.equal(a.dir, dir);
  assert.match(a.id, /^tree-[0-9a-f]{64}$/);
  assert.equal((await resolveKernelSource(o)).id, a.id, 'unchanged: the same id');
  await writeFile(join(dir, 'kernel', 'fork.c'), 'int x, y;\n');
  assert.notEqual((await resolveKernelSource(o)).id, a.id, 'an edited source file makes a new id');
});
