import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmakeConfigureArgs, isRuntimeFile, ninjaArgs } from '../../../scripts/runtime/cmake.ts';
import { npmTarballUrl } from '../../../scripts/net/npm-tarball.ts';

test('llama.cpp configure: offline, every CPU variant as a module, $ORIGIN, ccache; Vulkan only when asked', () => {
  const a = cmakeConfigureArgs({ srcDir: '/s', buildDir: '/b', backends: ['cpu'], ccache: true });
  for (const flag of [
    '-DLLAMA_USE_PREBUILT_UI=OFF',
    '-DLLAMA_OPENSSL=OFF',
    '-DGGML_BACKEND_DL=ON',
    '-DGGML_CPU_ALL_VARIANTS=ON',
    '-DGGML_NATIVE=OFF',
    '-DBUILD_SHARED_LIBS=ON',
    '-DGGML_VULKAN=OFF',
    '-DCMAKE_INSTALL_RPATH=$ORIGIN',
    '-DCMAKE_C_COMPILER_LAUNCHER=ccache',
  ])
    assert.ok(a.includes(flag), flag);
  assert.deepEqual(a.slice(0, 6), ['-S', '/s', '-B', '/b', '-G', 'Ninja']);
  const v = cmakeConfigureArgs({ srcDir: '/s', buildDir: '/b', backends: ['cpu', 'vulkan'], ccache: false });
  assert.ok(v.includes('-DGGML_VULKAN=ON'));
  assert.ok(!v.some((x) => x.includes('ccache')));
  assert.deepEqual(ninjaArgs('/b', 2), ['-C', '/b', '-j2', 'llama-server']);
});

test('runtime files: the server and ggml/llama libraries, nothing else from the build tree', () => {
  for (const f of ['llama-server', 'libllama.so.0', 'libggml-base.so.0', 'libggml-cpu-haswell.so', 'libmtmd.so.0']) assert.ok(isRuntimeFile(f), f);
  for (const f of ['llama-cli', 'libc.so.6', 'test-tokenizer']) assert.ok(!isRuntimeFile(f), f);
  assert.equal(
    npmTarballUrl('https://registry.npmjs.org/', 'node-llama-cpp', '3.22.1'),
    'https://registry.npmjs.org/node-llama-cpp/-/node-llama-cpp-3.22.1.tgz',
  );
});
