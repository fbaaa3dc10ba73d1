import { ccacheEnv, ccacheOf } from '../lib/ccache.ts';
import { chmod, copyFile, mkdir, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { withTempDir } from '../lib/atomic.ts';
import { cpus } from 'node:os';
import { cachedStep } from '../pipeline/cache.ts';
import type { BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { neededLibs } from '../lib/elf.ts';
import { toolVersion } from '../host/tools.ts';
import { resolveLlamaSource } from '../runtime/source.ts';
import { helpOptions, unknownOptions } from '../runtime/server-options.ts';
import { cmakeConfigureArgs, isBackendModule, isRuntimeFile, ninjaArgs, RUNTIME_DIR, DRIVER_SONAMES, type Backend } from '../runtime/cmake.ts';
import { cudaBuildEnv, requireCudaTools, type CudaToolchain } from '../runtime/cuda-tools.ts';
import type { RuntimeFiles } from '../runtime/record.ts';

const STEP_VERSION = 2;

/** The Vulkan backend compiles its shaders with glslc and needs the Vulkan and SPIR-V headers. */
export const VULKAN_BUILD_FILES: readonly { path: string; pkg: string }[] = [
  { path: '/usr/bin/glslc', pkg: 'glslc' },
  { path: '/usr/include/vulkan/vulkan.h', pkg: 'libvulkan-dev' },
  { path: '/usr/share/cmake/SPIRV-Headers/SPIRV-HeadersConfig.cmake', pkg: 'spirv-headers' },
];

/** A compute shader using cooperative matrices, as llama.cpp's flash-attention shaders do unconditionally. */
export const COOPMAT_PROBE = `#version 450
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
layout(local_size_x = 32) in;
void main() { coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> m = coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0); }
`;

async function requireVulkanTools(): Promise<void> {
  const missing = VULKAN_BUILD_FILES.filter((f) => !existsSync(f.path));
  if (missing.length)
    throw new Error(
      `runtime.backends asks for vulkan, which needs ${missing.map((m) => m.path).join(', ')}: apt-get install ${missing.map((m) => m.pkg).join(' ')}`,
    );
  // Found on Debian 12: its glslc (shaderc 2023.2) stops at flash_attn_decode_phase_1.comp, well into the build.
  await withTempDir(join(tmpdir(), 'aios-glslc'), async (dir) => {
    await writeFile(join(dir, 'probe.comp'), COOPMAT_PROBE);
    const r = await run('glslc', ['--target-env=vulkan1.3', '-o', join(dir, 'probe.spv'), join(dir, 'probe.comp')]).catch((err: Error) => err);
    if (r instanceof Error) {
      const version = (await toolVersion('glslc')) ?? 'glslc';
      throw new Error(
        `runtime.backends asks for vulkan, but ${version} does not know GL_KHR_cooperative_matrix, which this llama.cpp's Vulkan shaders use: a glslc whose glslang knows it is needed (newer than Debian 12's shaderc 2023.2); build with runtime.backends ["cpu"] here`,
      );
    }
  });
}

/** A build tree configured for another source or build path (a moved cache): CMake would refuse it. */
async function staleCmakeCache(buildDir: string, srcDir: string): Promise<boolean> {
  const text = await readFile(join(buildDir, 'CMakeCache.txt'), 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  const get = (k: string) => new RegExp(`^${k}:INTERNAL=(.*)$`, 'm').exec(text)?.[1];
  return get('CMAKE_CACHEFILE_DIR') !== buildDir || get('CMAKE_HOME_DIRECTORY') !== srcDir;
}

/**
 * What the runtime step's key derives from: the source, the CMake and Ninja lines as this build
 * runs them (paths left as placeholders: the key names content, not the cache's place), the
 * strip it makes, and the tools' versions.
 */
export function runtimeInputs(sourceId: string, backends: readonly Backend[], ccache: boolean, cuda?: CudaToolchain) {
  return {
    version: STEP_VERSION,
    tools: [
      'gcc',
      'g++',
      'cmake',
      'ninja',
      'strip',
      ...(ccache ? ['ccache'] : []),
      ...(backends.includes('vulkan') ? ['glslc'] : []),
      ...(cuda ? [cuda.hostCompiler] : []),
    ],
    values: {
      source: sourceId,
      backends,
      ...(cuda ? { nvcc: cuda.version, cudaArchitectures: cuda.architectures } : {}),
      cmake: cmakeConfigureArgs({ srcDir: 'SRC', buildDir: 'BUILD', backends, ccache, cudaArchitectures: cuda?.architectures }),
      ninja: ninjaArgs('BUILD', 1).filter((a) => !a.startsWith('-j')),
      strip: STRIP_ARGS,
    },
  };
}

const STRIP_ARGS = ['--strip-unneeded'];

/** llama.cpp's llama-server from pinned source: CMake + Ninja, every CPU variant, ccache. */
export async function buildRuntime(ctx: BuildContext): Promise<void> {
  const rt = ctx.opts.config.runtime;
  // A path in aios.json is taken from aios.json's directory.
  const spec = rt.source; // a path in it is resolved against aios.json's directory (project/locate.ts)
  const src = await resolveLlamaSource({ cacheDir: ctx.opts.cacheDir, spec, sha256: rt.sha256, registry: rt.registry, info: (m) => ctx.log.info(m) });
  const useCcache = ctx.opts.config.kernel.ccache && (await toolVersion('ccache')) !== undefined;
  const jobs = ctx.opts.jobs || cpus().length;
  const backends = [...rt.backends].sort();
  if (backends.includes('vulkan')) await requireVulkanTools();
  const cuda = backends.includes('cuda') ? await requireCudaTools(rt.cudaArchitectures, `${ctx.opts.configFile}: runtime.backends`) : undefined;
  const inputs = runtimeInputs(src.id, backends as Backend[], useCcache, cuda);
  const dir = await cachedStep(ctx, inputs, async (out) => {
    // One build tree per source, kept: ninja's own dependency tracking makes a rebuild cheap.
    // Real paths: CMake records them, so a cache reached through a symlink (a second cache that
    // shares this one's trees) must name the same directories, or it reconfigures and rebuilds all.
    await mkdir(join(ctx.opts.cacheDir, 'build'), { recursive: true });
    const buildDir = join(
      await realpath(join(ctx.opts.cacheDir, 'build')),
      `llama.cpp-${src.id.replace(/[^A-Za-z0-9]/g, '').slice(-16)}-${backends.join('-')}`,
    );
    const srcDir = await realpath(src.dir);
    if (await staleCmakeCache(buildDir, srcDir)) {
      ctx.log.warn(`${buildDir} was configured for other paths: starting it afresh (ccache keeps the compiles)`);
      await rm(buildDir, { recursive: true, force: true });
    }
    const env = { ...ccacheEnv(ccacheOf(ctx.opts.cacheDir, ctx.opts.config.cache.remote)), LC_ALL: 'C', ...(cuda ? cudaBuildEnv() : {}) };
    const logFile = join(ctx.opts.cacheDir, 'logs', 'runtime-build.log');
    await mkdir(join(ctx.opts.cacheDir, 'logs'), { recursive: true });
    // llama.cpp stamps "<commit>-dirty" into its libraries when `git diff-index` sees stat changes
    // (a hard link of the tree, a touch), not only content changes: refresh the index first, so
    // the stamp says what the content says and two builds of the same tree are the same bytes.
    if (existsSync(join(srcDir, '.git'))) await run('git', ['-C', srcDir, 'update-index', '-q', '--refresh'], { okCodes: [1] });
    ctx.log.info(`cmake (${backends.join(', ')}); full log: ${logFile}`);
    await run(
      'cmake',
      cmakeConfigureArgs({ srcDir, buildDir, backends: rt.backends as Backend[], ccache: useCcache, cudaArchitectures: cuda?.architectures }),
      {
        env,
        logFile,
      },
    );
    // A CPU variant linked by an earlier configuration of this tree (before a cut) must not reach
    // the image: the modules are found by name at run time. Ninja relinks the ones still wanted.
    for (const f of await readdir(join(buildDir, 'bin')).catch(() => [] as string[]))
      if (/^libggml-cpu-[\w-]*\.so$/.test(f)) await rm(join(buildDir, 'bin', f));
    ctx.log.info(`ninja -j${jobs} llama-server${useCcache ? ' (ccache)' : ''}`);
    await run('ninja', ninjaArgs(buildDir, jobs), { env, logFile, onLine: (l) => /^\[\d+\/\d+\]/.test(l) && ctx.log.info(l.slice(0, 120)) });
    const bin = join(buildDir, 'bin');
    const stage = join(out, 'llama');
    await mkdir(stage);
    // The server, each backend module (CPU variants, Vulkan, CUDA) and whatever they need.
    const roots = (await readdir(bin)).filter((f) => f === 'llama-server' || isBackendModule(f));
    const files = new Set<string>();
    const systemLibs = new Set<string>();
    const driverLibs = new Set<string>();
    for (const f of roots) {
      await copyFile(join(bin, f), join(stage, f));
      files.add(f);
      for (const lib of await neededLibs(join(bin, f), bin)) {
        if ((DRIVER_SONAMES as readonly string[]).includes(lib.name)) {
          driverLibs.add(lib.name);
          continue;
        }
        const real = await realpath(lib.path);
        if (real.startsWith(`${buildDir}/`)) {
          if (!isRuntimeFile(lib.name)) throw new Error(`llama-server needs ${lib.name} from the build tree, which aiOS does not expect`);
          await copyFile(real, join(stage, lib.name));
          files.add(lib.name);
        } else systemLibs.add(lib.path);
      }
    }
    for (const f of files) await chmod(join(stage, f), 0o755);
    await run('strip', [...STRIP_ARGS, ...[...files].map((f) => join(stage, f))]);
    const help = await run(join(stage, 'llama-server'), ['--help']);
    const options = helpOptions(`${help.stdout}\n${help.stderr}`);
    if (!options.includes('--model')) throw new Error(`${join(stage, 'llama-server')} --help lists no --model option: not a llama-server this build can drive`);
    if (cuda && !files.has('libggml-cuda.so'))
      throw new Error(`runtime.backends asks for cuda, but ${bin} holds no libggml-cuda.so after the build; see ${logFile}`);
    const record: RuntimeFiles = {
      files: [...files].sort(),
      systemLibs: [...systemLibs].sort(),
      commit: src.commit,
      from: src.from,
      options,
      ...(driverLibs.size ? { driverLibs: [...driverLibs].sort() } : {}),
      ...(cuda ? { cuda: { release: cuda.release, architectures: [...cuda.architectures] } } : {}),
    };
    await writeFile(join(out, 'runtime.json'), JSON.stringify(record, null, 2));
  });
  const record = JSON.parse(await readFile(join(dir, 'runtime.json'), 'utf8')) as RuntimeFiles;
  const unknown = unknownOptions(rt.extraArgs, new Set(record.options));
  if (unknown.length)
    throw new Error(
      `${ctx.opts.configFile}: runtime.extraArgs: llama-server ${record.commit?.slice(0, 7) ?? ''} has no option ${unknown.join(', ')}; \`${join(dir, 'llama', 'llama-server')} --help\` lists the ones it has`,
    );
  ctx.runtime = { dir, stage: join(dir, 'llama'), srcDir: src.dir, ...record };
  ctx.log.info(`llama-server ${record.commit?.slice(0, 7) ?? ''}: ${record.files.length} files for ${RUNTIME_DIR}, ${record.systemLibs.length} host libraries`);
}
