// aios-init's code cache as the build makes it (the maker bundled and run as the build runs it)
// and as the loader reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { build } from 'esbuild';
import { codeCacheArgs, initBundleOptions } from '../../../scripts/sea/sea.ts';
import { codeCacheState, compileWrapped, wrapCommonJs } from '../../../init/src/code-cache.ts';
import { scratchDir } from '../scratch.ts';

const SOURCE = `const add = (a, b) => a + b;
function later(n) { return n > 1 ? later(n - 1) + n : 1; }
module.exports = { sum: add(2, 3), later, name: __filename };`;

async function makeCache(dir: string, wrapped: string): Promise<Buffer> {
  const maker = join(dir, 'make-code-cache.cjs');
  await build(initBundleOptions(join(import.meta.dirname, '../../../scripts/sea/make-code-cache.ts'), maker));
  writeFileSync(join(dir, 'code.js'), wrapped);
  execFileSync(process.execPath, codeCacheArgs(maker, 'code.js', 'code.cache'), { cwd: dir });
  return readFileSync(join(dir, 'code.cache'));
}

function load(wrapped: string, cache: Buffer | undefined) {
  const { script, state } = compileWrapped(wrapped, cache);
  const module = { exports: {} as { sum?: number; later?: (n: number) => number; name?: string } };
  (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, () => {}, module, '/usr/sbin/aios-init', '/usr/sbin');
  return { state, exports: module.exports };
}

test('the code cache: the same bytes on every build, taken by V8 when the loader compiles, and the flags put back', async () => {
  const wrapped = wrapCommonJs(SOURCE);
  const first = await makeCache(scratchDir('aios-cache-'), wrapped);
  const second = await makeCache(scratchDir('aios-cache-'), wrapped);
  assert.ok(first.length > 0);
  assert.ok(first.equals(second), 'two builds of the same bundle write the same cache');
  const tag = cachedDataVersionTag();
  const { state, exports } = load(wrapped, first);
  assert.equal(state, 'used');
  assert.equal(cachedDataVersionTag(), tag, "V8's flags are as they were: Node's own code cache still fits");
  assert.deepEqual([exports.sum, exports.later?.(4), exports.name], [5, 10, '/usr/sbin/aios-init'], 'the wrapped bundle runs as a CommonJS module');
});

test('a cache that does not fit the code is refused and the code still runs; without one it compiles as Node would', async () => {
  const wrapped = wrapCommonJs(SOURCE);
  const cache = await makeCache(scratchDir('aios-cache-'), wrapped);
  const other = wrapCommonJs(SOURCE + '\n// another build');
  const refused = load(other, cache);
  assert.equal(refused.state, 'rejected');
  assert.equal(refused.exports.sum, 5);
  assert.equal(load(wrapped, undefined).state, 'none');
  assert.equal(codeCacheState(), 'none', 'no loader ran in this process');
});
