/** Pure builders for the single-executable steps, checked by unit tests. */
import type { BuildOptions } from 'esbuild';
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * No start-up snapshot: Node refuses one made on a CPU with other features than the machine's
 * (V8's cached-data tag hashes them), and PID 1 would then exit before its first line.
 */
export function seaConfig(main: string, output: string, addon: string): Record<string, unknown> {
  return { main, output, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, assets: { 'aios_sys.node': addon } };
}

export function postjectArgs(binary: string, blob: string): string[] {
  return [binary, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE];
}

/** The system-call addon's C sources, in init/addon. */
export const ADDON_SOURCES = ['aios_sys.c', 'spawn.c', 'napi_util.c'] as const;

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
 * aios-init as one CommonJS file. No V8 code cache goes with it (useCodeCache): V8 writes a
 * different one on every build, and two builds of the same inputs must give the same image.
 */
export function initBundleOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  };
}
