import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigFileError, type ProjectConfig } from '../project/config.ts';
import { PROJECT_ROOT } from '../lib/tool-root.ts';
import { missingInputs, type InputScope } from '../project/missing-inputs.ts';
import { loadProject } from '../project/locate.ts';
import { parseFormats } from '../images/formats.ts';
import type { BuildOptions } from './context.ts';
import { variantsOf, type KernelVariant } from '../kernel/variants.ts';

export interface CommonArgs {
  out?: string;
  cache?: string;
  'kernel-source'?: string;
  'kernel-version'?: string;
  'kernel-sha256'?: string;
  fragment?: string[];
  'fragment-dir'?: string;
  format?: string[];
  jobs?: number;
  config?: string;
  project?: string;
}

/** Each kernel variant's fragment (kernel.debug, kernel.trace): merged after the base fragments, before the user's own. */
export const variantFragment = (v: KernelVariant): string => join(PROJECT_ROOT, 'kernel-config', 'variants', `${v}.config`);

export function defaultCacheDir(config: ProjectConfig): string {
  return config.cacheDir || process.env.AIOS_CACHE || join(homedir(), '.cache', 'aios');
}

/**
 * Flags win over aios.json, which wins over the defaults. Everything is validated up front: every
 * input of `scope` that aios.json names must be there, and all that are not are reported at once.
 */
export async function resolveOptions(args: CommonArgs, scope: InputScope = 'image'): Promise<BuildOptions> {
  const { config, configFile, dir } = await loadProject(args);
  const missing = missingInputs(config, configFile, scope);
  if (missing.length) throw new ConfigFileError(missing);
  const fragDir = resolve(args['fragment-dir'] ?? (config.kernel.fragmentDir || join(PROJECT_ROOT, 'kernel-config')));
  if (!existsSync(fragDir)) throw new Error(`fragment directory ${fragDir} does not exist`);
  const base = (await readdir(fragDir)).filter((f) => f.endsWith('.config')).sort();
  // aios.config (the spec) first, then the other fragments in name order, then the user's.
  base.sort((a, b) => (a === 'aios.config' ? -1 : b === 'aios.config' ? 1 : a.localeCompare(b)));
  const extra = [...config.kernel.fragments, ...(args.fragment ?? []).map((f) => resolve(f))];
  for (const f of extra) if (!existsSync(f)) throw new Error(`--fragment ${f}: no such file`);
  const kernelVariants = variantsOf(config.kernel);
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && !/^\d+$/.test(epoch)) throw new Error(`SOURCE_DATE_EPOCH=${epoch} is not a number of seconds`);
  return {
    root: PROJECT_ROOT,
    projectDir: dir,
    configFile,
    outDir: resolve(args.out ?? config.outDir),
    cacheDir: resolve(args.cache ?? defaultCacheDir(config)),
    kernelSource: args['kernel-source'] ?? config.kernel.source,
    kernelVersion: args['kernel-version'] ?? config.kernel.version,
    kernelSha256: args['kernel-sha256'] ?? config.kernel.sha256,
    fragments: [...base.map((f) => join(fragDir, f)), ...kernelVariants.map(variantFragment), ...extra],
    kernelVariants,
    formats: parseFormats(args.format?.length ? args.format : config.formats),
    jobs: args.jobs ?? config.kernel.jobs,
    config,
    sourceDateEpoch: epoch === undefined ? undefined : Number(epoch),
  };
}
