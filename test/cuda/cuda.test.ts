// The CUDA backend end to end (examples/gpu-project): llama.cpp's CUDA backend built with
// Debian's nvcc 11.8 and g++-11, the CUDA runtime libraries it links and the NVIDIA driver's user
// space in the image, booted in QEMU, where there is no GPU. Apart from test:boot (`npm run
// test:cuda`): the nvcc build is half an hour per GPU architecture on two cores, which CI's time
// limit has no room for; it needs `npm run setup -- --cuda` (non-free). On a machine with an
// NVIDIA GPU, `npm run test:gpu` runs the same image's llama-server on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OUT, ROOT, aios, checkVariant, failsOnly, qemuProcesses, withShell } from '../boot/helpers.ts';
import type { BuildJson } from '../../common/build-json.ts';

const EXAMPLE = join(ROOT, 'examples', 'gpu-project');
const CUDA_OUT = process.env.AIOS_CUDA_OUT ?? join(EXAMPLE, 'out');

interface Manifest {
  files: { path: string }[];
  runtime: { files: string[]; libraries: string[] };
  gpu?: { driver: string; userspace?: { debianVersion: string; files: string[] } };
}
const manifestOf = async (out: string) => JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Manifest;
const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
/** What a sparse image takes on disk: its allocated blocks, not its length. */
const allocated = async (f: string) => (await stat(f)).blocks * 512;

test("the CUDA image: ggml's CUDA backend, the CUDA libraries it links and only those, the driver's user space of the modules' version", async () => {
  const t0 = performance.now();
  const b = await aios(['build', '--project', EXAMPLE, '--out', CUDA_OUT]);
  assert.equal(b.code, 0, b.out.slice(-4000));
  const built = JSON.parse(await readFile(join(CUDA_OUT, 'build.json'), 'utf8')) as BuildJson;
  const rt = built.inference!.runtime!;
  assert.deepEqual(rt.backends, ['cpu', 'cuda']);
  assert.deepEqual(rt.cuda, { release: '11.8', architectures: ['90'] });
  assert.deepEqual(rt.driverLibraries, ['libcuda.so.1'], 'libcuda comes from the user space, never from the build host');
  const user = built.gpu.userspace!;
  assert.equal(user.driver, built.gpu.modules!.driver, "the user space is the modules' version");
  const m = await manifestOf(CUDA_OUT);
  const paths = new Set(m.files.map((f) => f.path));
  for (const p of [
    '/usr/lib/llama/libggml-cuda.so',
    '/usr/bin/nvidia-smi',
    '/usr/lib/x86_64-linux-gnu/libcuda.so.1',
    '/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1',
  ])
    assert.ok(paths.has(p), p);
  // The CUDA libraries in the image are what ld.so --list says the backend needs: the runtime, cuBLAS and cuBLASLt.
  const cudaLibs = [...paths]
    .filter((p) => /^(\/usr)?\/lib\/x86_64-linux-gnu\/lib(cu|nv|npp)/.test(p) && !p.includes('/nvidia/') && !user.files.includes(p))
    .sort();
  assert.deepEqual(cudaLibs, ['/lib/x86_64-linux-gnu/libcublas.so.11', '/lib/x86_64-linux-gnu/libcublasLt.so.11', '/lib/x86_64-linux-gnu/libcudart.so.11.0']);
  const runtimeStep = built.steps.find((s) => s.name === 'runtime')!;
  const plain = await manifestOf(OUT);
  assert.ok(!plain.runtime.files.some((f) => f.includes('cuda')), 'the default image has no CUDA backend');
  assert.ok(
    plain.files.some((f) => f.path === '/usr/bin/nvidia-smi'),
    "the default image has the driver's user space with its modules",
  );
  console.log(
    `CUDA image: build ${((performance.now() - t0) / 1000).toFixed(0)} s (runtime step ${runtimeStep.cacheHit ? `cached, made in ${runtimeStep.producedSeconds?.toFixed(0)} s` : `${runtimeStep.seconds.toFixed(0)} s`}); rootfs.img ${mb(await allocated(join(CUDA_OUT, 'rootfs.img')))} allocated, the default image's ${mb(await allocated(join(OUT, 'rootfs.img')))}`,
  );
});

test('the CUDA image passes aios check with no GPU: llama-server loads the CUDA backend, which finds no device, and serves on the CPU', async () => {
  const c = await aios(['check', '--project', EXAMPLE, '--out', CUDA_OUT, '--path', 'direct', '--accel', 'tcg', '--json', join(CUDA_OUT, 'check.json')]);
  const serial = await readFile(join(CUDA_OUT, 'logs', 'serial-direct.log'), 'utf8').catch(() => '');
  assert.equal(c.code, 0, `${c.out}\n--- serial ---\n${serial.slice(-3000)}`);
  // ggml_cuda_init is libggml-cuda.so's own code: it runs only once the module and every library it
  // needs (libcudart, cuBLAS, the user space's libcuda) were loaded. cudaGetDeviceCount then says
  // there is no device, not that the driver is too old or absent.
  assert.match(serial, /inference: .*ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected/);
  assert.match(serial, /aios-init: inference: ready/);
  assert.doesNotMatch(serial, /cannot open shared object file|failed to load .*libggml-cuda/);
  const figures = (JSON.parse(await readFile(join(CUDA_OUT, 'check.json'), 'utf8')) as { results: { figures: Record<string, number> }[] }).results[0]!.figures;
  console.log(
    `CUDA image under TCG: boot report ${figures.reportSec?.toFixed(1)} s, llama-server ready ${figures.serverReadySec?.toFixed(1)} s, ${figures.tokensPerSecond?.toFixed(1)} tokens/s on the CPU`,
  );
  assert.deepEqual(await qemuProcesses(CUDA_OUT), []);
});

test('the CUDA image without libcublasLt.so.11 fails "inference backends load", and only it: it still answers, on the CPU', async () => {
  await checkVariant(
    { remove: ['/lib/x86_64-linux-gnu/libcublasLt.so.11'] },
    failsOnly('backends', /^libggml-cuda\.so needs libcublasLt\.so\.11: not found$/),
    'direct',
    undefined,
    CUDA_OUT,
  );
});

test('nvidia-smi in the guest runs and says it cannot talk to a driver (no GPU), not that a library is missing', async () => {
  await withShell(['--project', EXAMPLE], CUDA_OUT, async (vm) => {
    vm.type('nvidia-smi; echo NVSMI-RC-$?\n');
    await vm.waitFor(/NVSMI-RC-\d+\r?\n/, 60_000);
    const all = vm.text();
    const text = all.slice(all.lastIndexOf('nvidia-smi; echo'));
    assert.match(text, /NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
    assert.doesNotMatch(text, /error while loading shared libraries|not found/);
    assert.match(text, /NVSMI-RC-9\r?\n/, 'exit status 9: no driver (NVML_ERROR_DRIVER_NOT_LOADED)');
  });
  assert.deepEqual(await qemuProcesses(CUDA_OUT), []);
});
