// A user's own project (examples/inference-project): Debian packages, an overlay, a service, a
// hook and a container image built in a Docker engine this test starts itself (and stops by its
// pid). The image is checked by booting it; a second build in a second cache must give the same
// bytes; each bad input must stop the build with an error that names it, writing nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { aios, extended, qemuProcesses, ROOT } from './helpers.ts';
import { aptOptions } from '../../scripts/lib/apt.ts';

const EXAMPLE = join(ROOT, 'examples', 'inference-project');
const CACHE = process.env.AIOS_CACHE ?? join(homedir(), '.cache', 'aios');
let dockerd: ChildProcess | undefined;
let scratch = '';

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'aios-project-'));
  const d = join(scratch, 'docker');
  await mkdir(d, { recursive: true });
  const sock = join(d, 'docker.sock');
  dockerd = spawn(
    'dockerd',
    [
      `--data-root=${d}/data`,
      `--exec-root=${d}/exec`,
      `--pidfile=${d}/dockerd.pid`,
      `--host=unix://${sock}`,
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  process.env.DOCKER_HOST = `unix://${sock}`;
  for (let i = 0; i < 120 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 500));
  assert.ok(existsSync(sock), 'dockerd did not open its socket within 60 s');
  execFileSync(join(EXAMPLE, 'container', 'build-image.sh'), { stdio: 'ignore', env: process.env });
});

after(async () => {
  delete process.env.DOCKER_HOST;
  if (dockerd?.pid) {
    dockerd.kill('SIGTERM');
    await new Promise((r) => (dockerd!.exitCode !== null ? r(null) : dockerd!.once('exit', r)));
  }
  await rm(scratch, { recursive: true, force: true });
});

const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

test('the example project builds, boots, passes aios check, and its package, overlay, hook and container service are there', async () => {
  const out = join(scratch, 'out1');
  const b = await aios(['build', '--project', EXAMPLE, '--out', out]);
  assert.equal(b.code, 0, b.out);
  const built = JSON.parse(await readFile(join(out, 'build.json'), 'utf8')) as {
    project: { packages: { name: string; version: string }[]; images: { ref: string; id: string }[]; maintainerScriptsRun: boolean };
  };
  assert.ok(built.project.packages.some((p) => p.name === 'strace'));
  assert.ok(built.project.packages.some((p) => p.name === 'ca-certificates'));
  assert.equal(built.project.maintainerScriptsRun, false);
  assert.match(built.project.images[0]!.id, /^sha256:[0-9a-f]{64}$/);
  const manifest = await readFile(join(out, 'manifest.json'), 'utf8');
  for (const path of [
    '/usr/bin/strace',
    '/etc/aios-example/hello.txt',
    '/srv/greeter/bin/busybox',
    '/etc/ssl/certs/ca-certificates.crt',
    '/etc/aios-example/build-stamp',
  ])
    assert.ok(manifest.includes(`"${path}"`), `${path} in the manifest`);
  const c = await aios(['check', '--project', EXAMPLE, '--out', out, '--path', 'direct', '--accel', 'tcg']);
  const serial = await readFile(join(out, 'logs', 'serial-direct.log'), 'utf8');
  assert.equal(c.code, 0, `${c.out}\n${serial.split('\n').slice(-40).join('\n')}`);
  assert.match(serial, /greeter: hello from a container image \(aios\)/, 'the container image runs as a service, with its Env and WorkingDir');
  assert.match(serial, /example: strace -- version 6\./, 'the Debian package runs');
  assert.match(serial, /example: hello from the project's overlay/, 'the overlay file is there');
  assert.deepEqual(await qemuProcesses(out), []);
});

test('a second build of the project in a second cache writes the same bytes', extended, async () => {
  // The kernel, llama-server and aios-init are shared (a cold kernel costs half an hour here; their
  // own keys pin them); every step the project feeds (rootfs, initramfs, images) runs again from nothing.
  const cache2 = join(scratch, 'cache2');
  await mkdir(join(cache2, 'steps'), { recursive: true });
  for (const step of ['fetch', 'config', 'kernel', 'gpu-modules', 'runtime', 'model', 'init'])
    if (existsSync(join(CACHE, 'steps', step))) execFileSync('cp', ['-al', join(CACHE, 'steps', step), join(cache2, 'steps', step)]);
  // The stores are linked as directories: hard links of their files would change the ctimes git sees.
  for (const store of ['sources', 'build', 'ccache']) if (existsSync(join(CACHE, store))) await symlink(join(CACHE, store), join(cache2, store));
  const out2 = join(scratch, 'out2');
  const b = await aios(['build', '--project', EXAMPLE, '--out', out2, '--cache', cache2]);
  assert.equal(b.code, 0, b.out);
  const steps = (JSON.parse(await readFile(join(out2, 'build.json'), 'utf8')) as { steps: { name: string; cacheHit: boolean }[] }).steps;
  for (const s of ['rootfs', 'initramfs', 'disk', 'iso']) assert.equal(steps.find((x) => x.name === s)?.cacheHit, false, `${s} ran in the second cache`);
  for (const f of ['rootfs.img', 'aios.iso', 'initramfs.img', 'vmlinuz', 'manifest.json'])
    assert.equal(await sha(join(out2, f)), await sha(join(scratch, 'out1', f)), `${f} differs`);
});

/** A copy of the example changed by `edit`, built into its own out/: it must fail, name `want`, write nothing. */
async function badBuild(name: string, edit: (j: Record<string, unknown>, dir: string) => Promise<void> | void, want: RegExp, env: Record<string, string> = {}) {
  const dir = join(scratch, `bad-${name}`);
  await cp(EXAMPLE, dir, { recursive: true });
  const j = JSON.parse(await readFile(join(dir, 'aios.json'), 'utf8')) as Record<string, unknown>;
  await edit(j, dir);
  await writeFile(join(dir, 'aios.json'), JSON.stringify(j));
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const r = await aios(['build', '--project', dir, '--out', join(dir, 'out')]);
    assert.notEqual(r.code, 0, `${name}: the build succeeded:\n${r.out}`);
    assert.match(r.out, want, `${name}:\n${r.out}`);
    const left = existsSync(join(dir, 'out')) ? await readdir(join(dir, 'out')) : [];
    assert.deepEqual(left, [], `${name}: half-written outputs`);
    const tmp = (await readdir(join(CACHE, 'steps', 'rootfs')).catch(() => [])).filter((f) => f.includes('.tmp-'));
    assert.deepEqual(tmp, [], `${name}: temporary step outputs left in the cache`);
  } finally {
    process.env = saved;
  }
}

test('bad project inputs each stop the build with an error naming the input and the fix, and write nothing', async () => {
  await badBuild(
    'overlay',
    (j) => void (j.overlay = ['overlay', 'no-such-dir']),
    /overlay\[1\]: .*no-such-dir does not exist; create it or remove it from `overlay`/,
  );
  await badBuild('package', (j) => void (j.packages = ['strace', 'no-such-package-aios']), /packages: Debian has no package no-such-package-aios/);
  await badBuild('version', (j) => void (j.packages = ['strace=0.0-aios']), /strace=0\.0-aios: no such version in Debian/);
  await badBuild(
    'image',
    (j) => void ((j.images as { ref: string }[])[0]!.ref = 'aios-example/absent:9'),
    /images\[0\]: image aios-example\/absent:9 is not in the Docker engine/,
  );
  await badBuild('engine', () => {}, /images\[0\]: the Docker engine is not running at unix:\/\/\/nonexistent\/docker\.sock.*dockerd/, {
    DOCKER_HOST: 'unix:///nonexistent/docker.sock',
  });
  await badBuild(
    'tarball',
    async (j, dir) => {
      await writeFile(join(dir, 'broken.tar'), Buffer.alloc(4096, 7));
      j.images = [{ tarball: 'broken.tar', path: '/srv/x' }];
    },
    /images\[0\]: .*broken\.tar (is not a readable tar archive|has no manifest\.json)/,
  );
  await badBuild(
    'hook',
    async (_j, dir) => {
      await writeFile(join(dir, 'hooks', 'postinst.sh'), '#!/bin/sh\necho "cannot go on" >&2\nexit 1\n');
    },
    /hooks\.postinst failed: [\s\S]*exited with code 1[\s\S]*cannot go on/,
  );
});

test('an unresolvable dependency is named as such', async (t) => {
  // libssl-dev depends on libssl3 of exactly its own version; bookworm holds several libssl3
  // (the release's, updates', security's), so pinning the oldest cannot be met.
  const madison = execFileSync('apt-cache', [...aptOptions(join(CACHE, 'apt')), 'madison', 'libssl3'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split('|')[1]?.trim())
    .filter(Boolean);
  if (new Set(madison).size < 2) return t.skip(`Debian's index has one libssl3 only (${madison.join(', ')})`);
  const oldest = madison.at(-1)!;
  await badBuild(
    'depends',
    (j) => void (j.packages = ['libssl-dev', `libssl3=${oldest}`]),
    /the dependencies of libssl-dev, libssl3=.* cannot be resolved[\s\S]*libssl-dev : Depends: libssl3 \(= [\s\S]*relax the versions/,
  );
});
