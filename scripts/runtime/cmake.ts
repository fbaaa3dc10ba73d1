import { BACKEND_DIR } from '../../common/ggml-backends.ts';
/** Pure builders of llama.cpp's CMake and Ninja command lines, so that tests can check them. */
export type Backend = 'cpu' | 'vulkan' | 'cuda';
export const BACKENDS: readonly Backend[] = ['cpu', 'vulkan', 'cuda'];

/**
 * Debian 12's CUDA toolkit (nvidia-cuda-toolkit 11.8, non-free): nvcc in /usr/bin, which runs
 * the real one in /usr/lib/nvidia-cuda-toolkit/bin; ptxas, nvlink and fatbinary in /usr/bin; the
 * headers in /usr/include; and g++-11, the newest host compiler nvcc 11.8 accepts.
 */
export const DEBIAN_CUDA = {
  nvcc: '/usr/bin/nvcc',
  root: '/usr',
  hostCompiler: '/usr/bin/g++-11',
  /** nvcc finds cicc beside itself and ptxas on PATH. */
  binDirs: ['/usr/lib/nvidia-cuda-toolkit/bin', '/usr/bin'],
} as const;

/** The data-centre GPUs nvcc 11.8 knows: A100 (80), A10/A40 (86), L4/L40 (89), H100/H200 (90). */
export const DEFAULT_CUDA_ARCHITECTURES = ['80', '86', '89', '90'] as const;

/** Where the runtime lives in the image; llama-server finds its libraries and CPU variants beside itself. */
export const RUNTIME_DIR = BACKEND_DIR;

export interface LlamaCmakeOptions {
  srcDir: string;
  buildDir: string;
  backends: readonly Backend[];
  ccache: boolean;
  /** CMAKE_CUDA_ARCHITECTURES when the CUDA backend is built. */
  cudaArchitectures?: readonly string[];
}

export function cmakeConfigureArgs(o: LlamaCmakeOptions): string[] {
  return [
    '-S',
    o.srcDir,
    '-B',
    o.buildDir,
    '-G',
    'Ninja',
    '-DCMAKE_BUILD_TYPE=Release',
    // Offline: no web UI download from Hugging Face, no HTTPS client, no OpenMP runtime to ship.
    '-DLLAMA_USE_PREBUILT_UI=OFF',
    '-DLLAMA_BUILD_UI=OFF',
    '-DLLAMA_OPENSSL=OFF',
    '-DGGML_OPENMP=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_EXAMPLES=OFF',
    '-DLLAMA_BUILD_APP=OFF',
    '-DLLAMA_BUILD_SERVER=ON',
    // One image for every x86-64 CPU: each CPU variant is a module, the best is picked at run time.
    '-DBUILD_SHARED_LIBS=ON',
    '-DGGML_BACKEND_DL=ON',
    '-DGGML_CPU_ALL_VARIANTS=ON',
    '-DGGML_NATIVE=OFF',
    `-DGGML_VULKAN=${o.backends.includes('vulkan') ? 'ON' : 'OFF'}`,
    // Everything sits in one directory of the image and is found from there ($ORIGIN).
    '-DCMAKE_BUILD_WITH_INSTALL_RPATH=ON',
    '-DCMAKE_INSTALL_RPATH=$ORIGIN',
    // Reproducible: no build path in the binaries.
    `-DCMAKE_C_FLAGS=-ffile-prefix-map=${o.srcDir}=. -ffile-prefix-map=${o.buildDir}=build`,
    `-DCMAKE_CXX_FLAGS=-ffile-prefix-map=${o.srcDir}=. -ffile-prefix-map=${o.buildDir}=build`,
    ...(o.ccache ? ['-DCMAKE_C_COMPILER_LAUNCHER=ccache', '-DCMAKE_CXX_COMPILER_LAUNCHER=ccache'] : []),
    ...(o.backends.includes('cuda') ? cudaArgs(o) : []),
  ];
}

/**
 * ggml's CUDA backend with Debian's toolkit, named by path: a toolkit elsewhere (this machine has
 * CUDA 13 in /usr/local) makes code that driver 535 cannot run. Its own module beside the CPU
 * variants (GGML_BACKEND_DL), so that a machine without a GPU never loads the CUDA libraries' code.
 */
function cudaArgs(o: LlamaCmakeOptions): string[] {
  const archs = o.cudaArchitectures?.length ? o.cudaArchitectures : DEFAULT_CUDA_ARCHITECTURES;
  return [
    '-DGGML_CUDA=ON',
    `-DCMAKE_CUDA_COMPILER=${DEBIAN_CUDA.nvcc}`,
    `-DCUDAToolkit_ROOT=${DEBIAN_CUDA.root}`,
    `-DCMAKE_CUDA_HOST_COMPILER=${DEBIAN_CUDA.hostCompiler}`,
    `-DCMAKE_CUDA_ARCHITECTURES=${archs.join(';')}`,
    `-DCMAKE_CUDA_FLAGS=-Xcompiler=-ffile-prefix-map=${o.srcDir}=.,-ffile-prefix-map=${o.buildDir}=build`,
    ...(o.ccache ? ['-DCMAKE_CUDA_COMPILER_LAUNCHER=ccache'] : []),
  ];
}

/** PATH for a CUDA build: Debian's CUDA tools before any other toolkit's (nvcc runs ptxas from PATH). */
export function cudaPath(path: string | undefined): string {
  const rest = (path ?? '').split(':').filter((d) => d && !(DEBIAN_CUDA.binDirs as readonly string[]).includes(d));
  return [...DEBIAN_CUDA.binDirs, ...rest].join(':');
}

/** An nvcc's release (`Cuda compilation tools, release 11.8, V11.8.89`). */
export function nvccRelease(versionText: string): string | undefined {
  return /release (\d+\.\d+)/.exec(versionText)?.[1];
}

/**
 * The newest CUDA a driver branch runs (NVIDIA's compatibility table): code built with a newer
 * toolkit fails on it with "the provided PTX was compiled with an unsupported toolchain".
 */
export const DRIVER_CUDA: Record<string, string> = { '535': '12.2', '550': '12.4', '570': '12.8', '580': '13.0' };

/** Why an nvcc cannot build for this driver, or undefined when it can. */
export function nvccMismatch(release: string | undefined, driver: string): string | undefined {
  const newest = DRIVER_CUDA[driver.split('.')[0]!];
  if (!release) return 'its version could not be read';
  if (!newest) return undefined;
  const [maj, min] = release.split('.').map(Number) as [number, number];
  const [nmaj, nmin] = newest.split('.').map(Number) as [number, number];
  if (maj > nmaj || (maj === nmaj && min > nmin)) return `it is CUDA ${release}, and driver ${driver} runs CUDA ${newest} at most`;
  return undefined;
}

export function ninjaArgs(buildDir: string, jobs: number): string[] {
  // `ggml` depends on every backend module (CPU variants, Vulkan), so llama-server brings them all.
  return ['-C', buildDir, `-j${jobs}`, 'llama-server'];
}

/** The files of a build directory's bin/ that go into the image. */
export function isRuntimeFile(name: string): boolean {
  return name === 'llama-server' || /^lib(llama|ggml|mtmd)[\w-]*\.so(\.\d+)*$/.test(name);
}

export { isBackendModule } from '../../common/ggml-backends.ts';

/**
 * Sonames that the NVIDIA driver's user space gives the image (scripts/gpu/userspace.ts), of
 * exactly the modules' version: never the build host's copies, which belong to its own driver.
 */
export const DRIVER_SONAMES = ['libcuda.so.1', 'libnvidia-ml.so.1', 'libnvidia-ptxjitcompiler.so.1'] as const;
