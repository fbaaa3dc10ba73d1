import { existsSync } from 'node:fs';
import { run } from '../../common/exec.ts';
import { NVIDIA_OPEN, upstreamVersion } from '../gpu/pins.ts';
import { cudaPath, DEBIAN_CUDA, DEFAULT_CUDA_ARCHITECTURES, nvccMismatch, nvccRelease } from './cmake.ts';

/** Debian's CUDA toolkit as this build found it. */
export interface CudaToolchain {
  /** `nvcc --version`'s release line, for the step's key. */
  version: string;
  /** 11.8 */
  release: string;
  hostCompiler: string;
  architectures: readonly string[];
}

/** What a CUDA build needs on the host, and the Debian package each comes from. */
export const CUDA_BUILD_FILES: readonly { path: string; pkg: string }[] = [
  { path: DEBIAN_CUDA.nvcc, pkg: 'nvidia-cuda-toolkit' },
  { path: '/usr/include/cuda_runtime.h', pkg: 'nvidia-cuda-dev' },
  { path: '/usr/lib/x86_64-linux-gnu/libcublas.so', pkg: 'nvidia-cuda-dev' },
  { path: DEBIAN_CUDA.hostCompiler, pkg: 'g++-11' },
];

/** `80`, `90-real`, `80-virtual`: an architecture CMake passes to nvcc; `sm` lists what this nvcc can make. */
export function badArchitectures(archs: readonly string[], sm: readonly string[]): string[] {
  return archs.filter((a) => {
    const m = /^(\d{2,3})(-real|-virtual)?$/.exec(a);
    return !m || !sm.includes(`sm_${m[1]}`);
  });
}

/** The environment of a CUDA build: Debian's tools first on PATH. */
export function cudaBuildEnv(): Record<string, string> {
  return { PATH: cudaPath(process.env.PATH) };
}

/**
 * Debian's nvcc, its headers and g++-11, or an error that names what is missing and how to get
 * it (non-free: `npm run setup -- --cuda`); an nvcc too new for the pinned driver is refused.
 */
export async function requireCudaTools(architectures: readonly string[], where: string): Promise<CudaToolchain> {
  const missing = CUDA_BUILD_FILES.filter((f) => !existsSync(f.path));
  if (missing.length)
    throw new Error(
      `${where} asks for cuda, which needs ${missing.map((m) => m.path).join(', ')}: Debian's ${[...new Set(missing.map((m) => m.pkg))].join(', ')} (non-free); \`npm run setup -- --cuda\` installs them through aiOS's private apt configuration`,
    );
  const env = cudaBuildEnv();
  const text = (await run(DEBIAN_CUDA.nvcc, ['--version'], { env })).stdout;
  const release = nvccRelease(text);
  const driver = upstreamVersion(NVIDIA_OPEN.version);
  const why = nvccMismatch(release, driver);
  if (why || !release) throw new Error(`${where}: ${DEBIAN_CUDA.nvcc} cannot build the CUDA backend: ${why}`);
  const archs = architectures.length ? architectures : DEFAULT_CUDA_ARCHITECTURES;
  const sm = (await run(DEBIAN_CUDA.nvcc, ['--list-gpu-code'], { env })).stdout.split(/\s+/).filter(Boolean);
  const bad = badArchitectures(archs, sm);
  if (bad.length) throw new Error(`${where}: runtime.cudaArchitectures ${bad.join(', ')}: nvcc ${release} makes code for ${sm.join(' ')} only`);
  return { version: text.split('\n').find((l) => l.includes('release')) ?? release, release, hostCompiler: DEBIAN_CUDA.hostCompiler, architectures: archs };
}

/** A line for `aios doctor`: Debian's CUDA toolkit is needed only for runtime.backends "cuda", never a failure. */
export async function cudaToolsReport(): Promise<string> {
  const missing = CUDA_BUILD_FILES.filter((f) => !existsSync(f.path));
  if (missing.length)
    return `CUDA toolkit: not installed (${missing.map((m) => m.path).join(', ')}); needed only for runtime.backends "cuda": npm run setup -- --cuda`;
  const text = await run(DEBIAN_CUDA.nvcc, ['--version'], { env: cudaBuildEnv() }).then(
    (r) => r.stdout,
    () => '',
  );
  return `CUDA toolkit: nvcc ${nvccRelease(text) ?? '(version unreadable)'} at ${DEBIAN_CUDA.nvcc}, host compiler ${DEBIAN_CUDA.hostCompiler} (for runtime.backends "cuda")`;
}
