/** Pure builders for the single-executable steps, checked by unit tests. */
import type { BuildOptions } from 'esbuild';
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * No start-up snapshot: Node refuses one made on a CPU with other features than the machine's
 * (V8's cached-data tag hashes them), and PID 1 would then exit before its first line. No SEA code
 * cache either (useCodeCache): it holds only the functions compiled at load, and differs from
 * build to build; aios-init's own cache, with every function, travels as an asset.
 */
export function seaConfig(main: string, output: string, assets: Record<string, string>): Record<string, unknown> {
  return { main, output, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, assets };
}

/** Node's arguments for making the code cache: a fixed random seed, or V8 writes other bytes each time. */
export function codeCacheArgs(maker: string, wrapped: string, output: string): string[] {
  return ['--random-seed=1', maker, wrapped, output];
}

export function postjectArgs(binary: string, blob: string): string[] {
  return [binary, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE];
}

/** The system-call addon's C sources, in init/addon. */
export const ADDON_SOURCES = ['aios_sys.c', 'spawn.c', 'watchdog.c', 'napi_util.c'] as const;

export function addonCompileArgs(sources: readonly string[], output: string, includeDir: string): string[] {
  return [
    '-shared',
    '-fPIC',
    '-O2',
    '-Wall',
    '-Wextra',
    '-Wno-unused-parameter',
    `-I${includeDir}`,
    '-DNODE_GYP_MODULE_NAME=aios_sys',
    '-o',
    output,
    ...sources,
  ];
}

/**
 * `entry` and all it imports as one CommonJS file: aios-init, its loader, the code-cache maker.
 * No `import()` is left in it (esbuild turns each into a require): the loader compiles aios-init
 * as a vm.Script, which has no loader for dynamic imports.
 */
export function initBundleOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    supported: { 'dynamic-import': false },
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  };
}
