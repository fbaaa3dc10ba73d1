// kernel.debug: a DWARF kernel beside the default one, in its own fragment, object tree and cache entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DEBUG_FRAGMENT, resolveOptions } from '../../../scripts/pipeline/options.ts';
import { kernelTargets, objDirOf } from '../../../scripts/kernel/objdir.ts';
import { parseFragment } from '../../../scripts/kernel/fragments.ts';
import type { KernelSource } from '../../../scripts/kernel/source.ts';
import { scratchDir } from '../scratch.ts';

async function project(json: unknown): Promise<string> {
  const dir = scratchDir('aios-debug-');
  await writeFile(join(dir, 'aios.json'), JSON.stringify(json));
  await writeFile(join(dir, 'mine.config'), 'CONFIG_IKCONFIG=y\n');
  return dir;
}

test('kernel.debug merges the debug fragment after the base fragments and before the user’s own', async () => {
  const on = await resolveOptions({ project: await project({ kernel: { debug: true, fragments: ['mine.config'] } }) });
  const names = on.fragments.map((f) => basename(f));
  assert.equal(names[0], 'aios.config');
  assert.deepEqual(names.slice(-2), ['debug.config', 'mine.config']);
  assert.equal(on.fragments.at(-2), DEBUG_FRAGMENT);
  const off = await resolveOptions({ project: await project({ kernel: { fragments: ['mine.config'] } }) });
  assert.ok(!off.fragments.includes(DEBUG_FRAGMENT), 'the default kernel keeps DEBUG_INFO=n');
});

test('the debug fragment asks for DWARF with full types and the GDB scripts, and overrides the spec’s DEBUG_INFO=n', async () => {
  const lines = new Map(parseFragment(await readFile(DEBUG_FRAGMENT, 'utf8'), DEBUG_FRAGMENT).map((l) => [l.symbol, l.value]));
  assert.equal(lines.get('DEBUG_INFO'), 'y');
  assert.equal(lines.get('DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT'), 'y');
  assert.equal(lines.get('DEBUG_INFO_REDUCED'), 'n');
  assert.equal(lines.get('GDB_SCRIPTS'), 'y');
});

test('each variant has its own object tree, and only the debug one makes scripts_gdb', () => {
  const src = { version: '6.8.12', sha256: 'ab'.repeat(32), dir: '/src' } as KernelSource;
  assert.equal(objDirOf('/c', src, false), '/c/build/linux-6.8.12-abababababab');
  assert.equal(objDirOf('/c', src, true), '/c/build/linux-6.8.12-abababababab-debug');
  assert.deepEqual(kernelTargets(false), ['bzImage', 'modules']);
  assert.deepEqual(kernelTargets(true), ['bzImage', 'modules', 'scripts_gdb']);
});
