// npm run bench -- --cuda: what the CUDA backend costs (examples/gpu-project). Its runtime step is
// built three times in the cache in use: cold (its entry and build tree removed, every compile
// run again with CCACHE_RECACHE: a new runner without a compile cache), from ccache (entry and
// tree removed again: a new runner with a shared compile cache), and cached (nothing to do). Then
// what it adds to the image, against the default image, and both booted on the direct path for
// the time to a ready server. Only the CUDA configuration's own entry and tree are removed.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readBuildJson, type BuildJson } from '../../common/build-json.ts';

type Cli = (root: string, a: string[], env?: Record<string, string>) => { seconds: number };
type Boot = (dir: string) => Promise<Record<string, number | undefined> | undefined>;

interface Manifest {
  files: { path: string; size: number }[];
  gpu?: { userspace?: { files: string[] } };
}

const allocated = async (f: string) => (await stat(f)).blocks * 512;

/** The runtime step's cache entry and the build tree of this backend set, so that the next build compiles. */
async function forgetRuntime(cache: string, built: BuildJson): Promise<void> {
  const key = built.steps.find((s) => s.name === 'runtime')?.key;
  if (key) await rm(join(cache, 'steps', 'runtime', key), { recursive: true, force: true });
  const suffix = `-${[...(built.inference?.runtime?.backends ?? [])].sort().join('-')}`;
  for (const d of await readdir(join(cache, 'build')))
    if (d.startsWith('llama.cpp-') && d.endsWith(suffix)) await rm(join(cache, 'build', d), { recursive: true, force: true });
}

export async function cudaFigures(root: string, cache: string, defaultOut: string, cli: Cli, boot: Boot) {
  const project = join(root, 'examples', 'gpu-project');
  const out = join(project, 'out');
  const build = (env: Record<string, string> = {}) => cli(root, ['build', '--project', project, '--out', out], env);
  const runtimeSeconds = async () => (await readBuildJson(out)).steps.find((s) => s.name === 'runtime')!;
  build();
  await forgetRuntime(cache, await readBuildJson(out));
  console.error('CUDA image: the runtime step cold (CCACHE_RECACHE: every compile runs)');
  const cold = build({ CCACHE_RECACHE: '1' });
  const coldStep = await runtimeSeconds();
  await forgetRuntime(cache, await readBuildJson(out));
  console.error('CUDA image: the runtime step again, its compiles from ccache');
  const fromCcache = build();
  const ccacheStep = await runtimeSeconds();
  const noop = build();
  const built = await readBuildJson(out);
  const manifestOf = async (dir: string) => JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const manifest = await manifestOf(out);
  const plain = await manifestOf(defaultOut);
  const bytes = (m: Manifest, keep: (p: string) => boolean) => m.files.filter((f) => keep(f.path)).reduce((n, f) => n + (f.size ?? 0), 0);
  const cudaLibs = (built.inference?.runtime?.hostLibraries ?? []).filter((l) => /\/lib(cudart|cublas)/.test(l));
  const user = new Set(plain.gpu?.userspace?.files ?? []);
  return {
    architectures: built.inference?.runtime?.cuda?.architectures,
    nvcc: built.inference?.runtime?.cuda?.release,
    coldBuildSeconds: Math.round(cold.seconds),
    coldRuntimeStepSeconds: Math.round(coldStep.seconds),
    coldRuntimeStepCpuSeconds: Math.round(coldStep.cpuSeconds),
    ccacheBuildSeconds: Math.round(fromCcache.seconds),
    ccacheRuntimeStepSeconds: Math.round(ccacheStep.seconds),
    noopBuildSeconds: +noop.seconds.toFixed(2),
    cudaBackendBytes: bytes(manifest, (p) => p === '/usr/lib/llama/libggml-cuda.so'),
    cudaLibraryBytes: bytes(manifest, (p) => cudaLibs.includes(p)),
    driverUserspaceBytes: bytes(plain, (p) => user.has(p)),
    rootFilesBytes: bytes(manifest, () => true),
    defaultRootFilesBytes: bytes(plain, () => true),
    rootfsImgAllocated: await allocated(join(out, 'rootfs.img')),
    defaultRootfsImgAllocated: await allocated(join(defaultOut, 'rootfs.img')),
    boot: await boot(out),
    defaultBoot: await boot(defaultOut),
  };
}

export function cudaTable(f: Awaited<ReturnType<typeof cudaFigures>>): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  const ready = (b: Record<string, number | undefined> | undefined) =>
    b
      ? `llama-server ready ${b.serverReadySec?.toFixed(1)} s after QEMU start (model load ${b.modelLoadMs} ms), boot report ${b.reportSec?.toFixed(1)} s`
      : 'not booted';
  return [
    `CUDA backend (nvcc ${f.nvcc}, architectures ${f.architectures?.join(', ')}):`,
    `  runtime step cold ${f.coldRuntimeStepSeconds} s (${f.coldRuntimeStepCpuSeconds} s CPU), from ccache ${f.ccacheRuntimeStepSeconds} s; builds: cold ${f.coldBuildSeconds} s, from ccache ${f.ccacheBuildSeconds} s, cached ${f.noopBuildSeconds} s`,
    `  image: libggml-cuda.so ${mb(f.cudaBackendBytes)}, CUDA libraries ${mb(f.cudaLibraryBytes)}; driver user space ${mb(f.driverUserspaceBytes)} (in both images)`,
    `  root files ${mb(f.rootFilesBytes)} against ${mb(f.defaultRootFilesBytes)}; rootfs.img ${mb(f.rootfsImgAllocated)} allocated against ${mb(f.defaultRootfsImgAllocated)}`,
    `  CUDA image: ${ready(f.boot)}`,
    `  default image: ${ready(f.defaultBoot)}`,
  ].join('\n');
}
