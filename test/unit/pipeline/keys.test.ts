// One test per input that shapes an output: change it and the step runs again, keep it and the
// step is reused (cachedOutput over the declared inputs, as every step uses it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedOutput } from '../../../scripts/pipeline/cache.ts';
import { resolveInputs, type InputDecl } from '../../../scripts/pipeline/inputs.ts';
import { runtimeInputs } from '../../../scripts/steps/build-runtime.ts';
import { bundleInitInputs } from '../../../scripts/steps/make-aios-init.ts';
import { hookInputs } from '../../../scripts/project/hooks.ts';
import { projectKey } from '../../../scripts/project/inputs.ts';
import { scratchDir } from '../scratch.ts';

/** Whether a step with these inputs ran (true) or was reused (false), in one cache. */
function stepRunner() {
  const cache = scratchDir('aios-keys-');
  return async (decl: InputDecl | Record<string, unknown>) => {
    const inputs = 'version' in decl ? await resolveInputs(decl as InputDecl) : decl;
    return !(await cachedOutput(cache, 'step', inputs, async () => {})).hit;
  };
}

test('key: a tree counts its directories, empty ones and their modes', async () => {
  const ran = stepRunner();
  const tree = join(scratchDir('aios-tree-'), 'overlay');
  await mkdir(join(tree, 'etc'), { recursive: true });
  const decl = { version: 1, trees: { overlay: tree } };
  assert.equal(await ran(decl), true);
  assert.equal(await ran(decl), false, 'unchanged: reused');
  await mkdir(join(tree, 'var/empty'), { recursive: true });
  assert.equal(await ran(decl), true, 'an empty directory added');
  await chmod(join(tree, 'var/empty'), 0o700);
  assert.equal(await ran(decl), true, "a directory's mode changed");
  assert.equal(await ran(decl), false);
});

test("key: the runtime's CMake arguments, its launcher and strip count", async () => {
  const ran = stepRunner();
  assert.equal(await ran(runtimeInputs('src', ['cpu'], true)), true);
  assert.equal(await ran(runtimeInputs('src', ['cpu'], true)), false, 'unchanged: reused');
  assert.equal(await ran(runtimeInputs('src', ['cpu'], false)), true, 'without ccache: other CMake arguments');
  const i = runtimeInputs('src', ['cpu'], true);
  assert.ok(i.values.cmake.includes('-DGGML_CPU_ALL_VARIANTS=ON'), 'the CMake line is in the key');
  assert.deepEqual(i.values.strip, ['--strip-unneeded']);
  assert.ok(i.tools.includes('strip') && i.tools.includes('g++'));
  assert.equal(await ran({ ...i, values: { ...i.values, strip: ['--strip-all'] } }), true, 'another strip');
});

test("key: aios-init's addon counts node_api.h", async () => {
  const ran = stepRunner();
  const dir = scratchDir('aios-napi-');
  for (const d of ['init', 'common']) await mkdir(join(dir, d));
  await writeFile(join(dir, 'node'), 'node');
  await mkdir(join(dir, 'scripts/sea'), { recursive: true });
  await writeFile(join(dir, 'scripts/sea/make-code-cache.ts'), '');
  const header = join(dir, 'node_api.h');
  await writeFile(header, '#define NAPI_VERSION 8\n');
  const decl = () => ({ ...bundleInitInputs(dir, join(dir, 'node'), header), tools: [] });
  assert.equal(await ran(decl()), true);
  assert.equal(await ran(decl()), false);
  await writeFile(header, '#define NAPI_VERSION 9\n');
  assert.equal(await ran(decl()), true, 'another node_api.h');
});

test('key: a postinst hook is keyed by the inputs it declares, or never reused (and says so)', async () => {
  const ran = stepRunner();
  const dir = scratchDir('aios-hook-');
  await writeFile(join(dir, 'users.txt'), 'alice\n');
  await mkdir(join(dir, 'keys'));
  const hooks = { postinst: join(dir, 'postinst'), postinstInputs: [join(dir, 'users.txt'), join(dir, 'keys')] };
  const warned: string[] = [];
  const key = async (h = hooks) => ({ version: 1, ...(await hookInputs(h, 'aios.json', (m) => warned.push(m))) });
  assert.equal(await ran(await key()), true);
  assert.equal(await ran(await key()), false, 'the same inputs: reused');
  await writeFile(join(dir, 'users.txt'), 'alice\nbob\n');
  assert.equal(await ran(await key()), true, 'a declared file changed');
  await writeFile(join(dir, 'keys', 'k.pub'), 'ssh-ed25519 AAAA');
  assert.equal(await ran(await key()), true, 'a file in a declared directory');
  const undeclared = { ...hooks, postinstInputs: [] };
  assert.equal(await ran(await key(undeclared)), true);
  assert.equal(await ran(await key(undeclared)), true, 'undeclared: never reused');
  assert.match(warned.join('\n'), /hooks\.postinst declares no inputs .* built again on every build/);
  await assert.rejects(key({ ...hooks, postinstInputs: [join(dir, 'missing')] }), /hooks\.postinstInputs\[0\]: .*missing does not exist/);
});

test("key: aios.json's allow list is part of the root filesystem's key", async () => {
  const ran = stepRunner();
  const p = { overlays: [], packages: [], images: [], allow: { setuid: [], devices: [] } };
  assert.equal(await ran({ version: 1, values: projectKey(p) }), true);
  assert.equal(await ran({ version: 1, values: projectKey(p) }), false);
  assert.equal(await ran({ version: 1, values: projectKey({ ...p, allow: { setuid: ['/usr/bin/ping'], devices: [] } }) }), true);
});

test("key: stage 1 takes of the root filesystem only Debian's busybox: a new root with the same busybox keeps it", async () => {
  const { initramfsInputs } = await import('../../../scripts/steps/build-initramfs.ts');
  const ran = stepRunner();
  const base = scratchDir('aios-stage1-');
  const rootfs = async (name: string, busybox: string) => {
    const dir = join(base, name);
    await mkdir(join(dir, 'busybox-deb/bin'), { recursive: true });
    await writeFile(join(dir, 'busybox-deb/bin/busybox'), busybox);
    await writeFile(join(dir, 'manifest.json'), name);
    return dir;
  };
  const src = join(base, 'initramfs');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'init'), '#!/bin/sh\n');
  const ctxOf = (dir: string) => ({ rootfs: { dir }, kernel: { dir: join(base, 'kernel') } }) as never;
  assert.equal(await ran(initramfsInputs(ctxOf(await rootfs('one', 'bb 1.35')), src, [])), true);
  assert.equal(await ran(initramfsInputs(ctxOf(await rootfs('two', 'bb 1.35')), src, [])), false, 'another root, the same busybox: reused');
  assert.equal(await ran(initramfsInputs(ctxOf(await rootfs('three', 'bb 1.36')), src, [])), true, 'another busybox');
});
