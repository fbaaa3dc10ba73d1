// Kernel variants: kernel.debug (DWARF) and kernel.trace (BPF, probes, BTF), each in its own fragment, object tree and cache entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { resolveOptions, variantFragment } from '../../../scripts/pipeline/options.ts';
import { variantsOf } from '../../../scripts/kernel/variants.ts';
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

const DEBUG_FRAGMENT = variantFragment('debug');
const TRACE_FRAGMENT = variantFragment('trace');

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

test('kernel.trace merges the trace fragment; with kernel.debug too, debug comes first', async () => {
  const on = await resolveOptions({ project: await project({ kernel: { trace: true, fragments: ['mine.config'] } }) });
  assert.deepEqual(on.fragments.slice(-2), [TRACE_FRAGMENT, on.fragments.at(-1)]);
  assert.ok(!on.fragments.includes(DEBUG_FRAGMENT));
  const both = await resolveOptions({ project: await project({ kernel: { trace: true, debug: true } }) });
  assert.deepEqual(both.fragments.slice(-2), [DEBUG_FRAGMENT, TRACE_FRAGMENT]);
  // The same list names the object tree (build-kernel, build-gpu-modules): one source for both.
  assert.deepEqual(on.kernelVariants, ['trace']);
  assert.deepEqual(both.kernelVariants, ['debug', 'trace']);
  const off = await resolveOptions({ project: await project({}) });
  assert.deepEqual(off.kernelVariants, []);
  assert.ok(!off.fragments.includes(TRACE_FRAGMENT), 'the default kernel has no BPF programs or probes');
});

test('the trace fragment asks for what bpftrace needs: BPF programs on kprobes and uprobes, kallsyms, BTF', async () => {
  const lines = new Map(parseFragment(await readFile(TRACE_FRAGMENT, 'utf8'), TRACE_FRAGMENT).map((l) => [l.symbol, l.value]));
  for (const s of [
    'BPF_SYSCALL',
    'BPF_JIT',
    'KALLSYMS',
    'KPROBES',
    'KPROBE_EVENTS',
    'UPROBE_EVENTS',
    'BPF_EVENTS',
    'FUNCTION_TRACER',
    'DEBUG_INFO',
    'DEBUG_INFO_BTF',
  ])
    assert.equal(lines.get(s), 'y', s);
  // pahole refuses reduced DWARF, and BTF needs it whole.
  assert.equal(lines.get('DEBUG_INFO_REDUCED'), 'n');
});

test('each set of variants has its own object tree, and only the debug one makes scripts_gdb', () => {
  const src = { version: '6.8.12', sha256: 'ab'.repeat(32), dir: '/src' } as KernelSource;
  assert.equal(objDirOf('/c', src, []), '/c/build/linux-6.8.12-abababababab');
  assert.equal(objDirOf('/c', src, ['debug']), '/c/build/linux-6.8.12-abababababab-debug');
  assert.equal(objDirOf('/c', src, ['trace']), '/c/build/linux-6.8.12-abababababab-trace');
  assert.equal(objDirOf('/c', src, variantsOf({ trace: true, debug: true })), '/c/build/linux-6.8.12-abababababab-debug-trace');
  assert.deepEqual(kernelTargets([]), ['bzImage', 'modules']);
  assert.deepEqual(kernelTargets(['trace']), ['bzImage', 'modules']);
  assert.deepEqual(kernelTargets(['debug', 'trace']), ['bzImage', 'modules', 'scripts_gdb']);
});
