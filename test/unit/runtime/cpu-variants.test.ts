import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { CUT_CPU_VARIANTS, cutCpuVariants } from '../../../scripts/runtime/cpu-variants.ts';

const variantsIn = (text: string) => [...text.matchAll(/^\s*ggml_add_cpu_backend_variant\((\w+)/gm)].map((m) => m[1]);

test("the variant cut removes exactly the named x86 variants from ggml's CMakeLists, keeping x64 and its line count", async () => {
  const text = await readFile(new URL('../../fixtures/llama-server/ggml-variants.cmake', import.meta.url), 'utf8');
  const before = variantsIn(text);
  assert.equal(before.length, 14, "the fixture is the pinned llama.cpp's x86 list");
  const { text: after, removed } = cutCpuVariants(text);
  assert.deepEqual([...removed].sort(), [...CUT_CPU_VARIANTS].sort());
  assert.deepEqual(
    variantsIn(after),
    before.filter((v) => !(CUT_CPU_VARIANTS as readonly string[]).includes(v!)),
  );
  assert.ok(variantsIn(after).includes('x64'), 'the baseline every x86-64 CPU loads stays');
  assert.equal(after.split('\n').length, text.split('\n').length);
  assert.match(after, /# aiOS: variant sandybridge not built/);
  // The ARM list and a name that only starts like a cut one are left alone.
  const other = 'ggml_add_cpu_backend_variant(armv8.2_1    DOTPROD)\nggml_add_cpu_backend_variant(sse42x SSE42)\n';
  assert.deepEqual(cutCpuVariants(other), { text: other, removed: [] });
});
