import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmakeConfigureArgs, cudaPath, isBackendModule, nvccMismatch, nvccRelease } from '../../../scripts/runtime/cmake.ts';
import { badArchitectures, CUDA_BUILD_FILES, cudaToolsReport } from '../../../scripts/runtime/cuda-tools.ts';
import { existsSync } from 'node:fs';
import { gatePdlOnCuda12, PDL_GATE } from '../../../scripts/runtime/cuda-compat.ts';

test("CUDA backend: Debian's nvcc and g++-11 by path, the architectures asked for, ccache; nothing of it without cuda", () => {
  const a = cmakeConfigureArgs({ srcDir: '/s', buildDir: '/b', backends: ['cpu', 'cuda'], ccache: true, cudaArchitectures: ['90'] });
  for (const flag of [
    '-DGGML_CUDA=ON',
    '-DCMAKE_CUDA_COMPILER=/usr/bin/nvcc',
    '-DCUDAToolkit_ROOT=/usr',
    '-DCMAKE_CUDA_HOST_COMPILER=/usr/bin/g++-11',
    '-DCMAKE_CUDA_ARCHITECTURES=90',
    '-DCMAKE_CUDA_COMPILER_LAUNCHER=ccache',
    '-DGGML_BACKEND_DL=ON',
  ])
    assert.ok(a.includes(flag), flag);
  assert.ok(a.includes('-DCMAKE_CUDA_FLAGS=-Xcompiler=-ffile-prefix-map=/s=.,-ffile-prefix-map=/b=build'));
  const d = cmakeConfigureArgs({ srcDir: '/s', buildDir: '/b', backends: ['cuda'], ccache: false });
  assert.ok(d.includes('-DCMAKE_CUDA_ARCHITECTURES=80;86;89;90'), 'the data-centre architectures by default');
  assert.ok(!d.some((x) => x.includes('ccache')));
  assert.ok(!cmakeConfigureArgs({ srcDir: '/s', buildDir: '/b', backends: ['cpu'], ccache: true }).some((x) => /CUDA/.test(x)));
});

test("a CUDA build's PATH puts Debian's CUDA tools before another toolkit's ptxas (CUDA 13 in /usr/local/bin here)", () => {
  assert.equal(cudaPath('/usr/local/bin:/usr/bin:/bin'), '/usr/lib/nvidia-cuda-toolkit/bin:/usr/bin:/usr/local/bin:/bin');
  assert.equal(cudaPath(undefined), '/usr/lib/nvidia-cuda-toolkit/bin:/usr/bin');
});

test('nvcc: its release read from --version; a CUDA newer than the driver runs is refused', () => {
  assert.equal(nvccRelease('nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, release 11.8, V11.8.89\n'), '11.8');
  assert.equal(nvccRelease('garbage'), undefined);
  assert.equal(nvccMismatch('11.8', '535.261.03'), undefined);
  assert.equal(nvccMismatch('12.2', '535.261.03'), undefined);
  assert.equal(nvccMismatch('13.0', '535.261.03'), 'it is CUDA 13.0, and driver 535.261.03 runs CUDA 12.2 at most');
  assert.equal(nvccMismatch('12.4', '535.261.03'), 'it is CUDA 12.4, and driver 535.261.03 runs CUDA 12.2 at most');
  assert.equal(nvccMismatch(undefined, '535.261.03'), 'its version could not be read');
});

test('cudaArchitectures: what this nvcc can make, with -real or -virtual; anything else is named', () => {
  const sm = ['sm_80', 'sm_86', 'sm_89', 'sm_90'];
  assert.deepEqual(badArchitectures(['80', '90-real', '86-virtual'], sm), []);
  assert.deepEqual(badArchitectures(['120', 'sm_90', '90a', '80;86', ''], sm), ['120', 'sm_90', '90a', '80;86', '']);
});

test('the backend modules of a build: CPU variants, Vulkan, CUDA; not the base libraries', () => {
  for (const f of ['libggml-cpu-haswell.so', 'libggml-cuda.so', 'libggml-vulkan.so']) assert.ok(isBackendModule(f), f);
  for (const f of ['libggml-base.so', 'libggml.so', 'libllama.so', 'libggml-cuda.so.0']) assert.ok(!isBackendModule(f), f);
});

test('CUDA 11.8: programmatic dependent launch is gated on CUDA 12.0, where its device functions exist; a tree without the gate is left alone', () => {
  const header = `#if !defined(GGML_USE_HIP) && !defined(GGML_USE_MUSA) && \\\n    ${PDL_GATE.from}\n#endif\n`;
  const { text, changed } = gatePdlOnCuda12(header);
  assert.ok(changed);
  assert.match(text, /CUDART_VERSION >= 12000\)\)\n# {4}define GGML_CUDA_USE_PDL/);
  assert.doesNotMatch(text, /11080/);
  assert.deepEqual(gatePdlOnCuda12('#define X 1\n'), { text: '#define X 1\n', changed: false });
});

test("aios doctor's CUDA line: the toolkit's release where it is installed, else how to install it; never a failure", async () => {
  const line = await cudaToolsReport();
  const installed = CUDA_BUILD_FILES.every((f) => existsSync(f.path));
  if (installed) assert.match(line, /^CUDA toolkit: nvcc \d+\.\d+ at \/usr\/bin\/nvcc, host compiler \/usr\/bin\/g\+\+-11/);
  else assert.match(line, /^CUDA toolkit: not installed \(.+\); needed only for runtime\.backends "cuda": npm run setup -- --cuda$/);
});
