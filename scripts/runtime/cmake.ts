/** Pure builders of llama.cpp's CMake and Ninja command lines, so that tests can check them. */
export type Backend = 'cpu' | 'vulkan';
export const BACKENDS: readonly Backend[] = ['cpu', 'vulkan'];

/** Where the runtime lives in the image; llama-server finds its libraries and CPU variants beside itself. */
export const RUNTIME_DIR = '/usr/lib/llama';

export interface LlamaCmakeOptions {
  srcDir: string;
  buildDir: string;
  backends: readonly Backend[];
  ccache: boolean;
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
  ];
}

export function ninjaArgs(buildDir: string, jobs: number): string[] {
  // `ggml` depends on every backend module (CPU variants, Vulkan), so llama-server brings them all.
  return ['-C', buildDir, `-j${jobs}`, 'llama-server'];
}

/** The files of a build directory's bin/ that go into the image. */
export function isRuntimeFile(name: string): boolean {
  return name === 'llama-server' || /^lib(llama|ggml|mtmd)[\w-]*\.so(\.\d+)*$/.test(name);
}
