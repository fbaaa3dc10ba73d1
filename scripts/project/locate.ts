import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { loadProjectConfig, type ProjectConfig } from './config.ts';

export const CONFIG_NAME = 'aios.json';

/** The user's project: its aios.json, and the directory its relative paths resolve against. */
export interface ProjectLocation {
  configFile: string;
  /** Where relative paths of aios.json (and the default out/) resolve: its directory, or the working directory without one. */
  dir: string;
  found: boolean;
}

/**
 * `--project DIR`, else `--config FILE`, else ./aios.json when there is one, else the built-in
 * defaults. aiOS's own installation is never the project: nothing is written into it.
 */
export function locateProject(args: { project?: string; config?: string }, cwd = process.cwd()): ProjectLocation {
  if (args.project) {
    const dir = resolve(cwd, args.project);
    const file = join(dir, CONFIG_NAME);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new Error(`--project ${args.project}: ${dir} is not a directory; \`aios init ${args.project}\` makes a project there`);
    if (!existsSync(file)) throw new Error(`--project ${args.project}: ${dir} has no ${CONFIG_NAME}; \`aios init ${args.project}\` writes a starting point`);
    return { configFile: file, dir, found: true };
  }
  if (args.config) {
    const file = resolve(cwd, args.config);
    if (!existsSync(file)) throw new Error(`--config ${args.config}: ${file} does not exist`);
    return { configFile: file, dir: dirname(file), found: true };
  }
  const here = join(cwd, CONFIG_NAME);
  return { configFile: here, dir: cwd, found: existsSync(here) };
}

export const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** A path of aios.json, resolved against the project; keywords (`npm`, `debian`, `auto`) and URLs stay as they are. */
export function projectPath(dir: string, value: string, keywords: readonly string[] = []): string {
  if (!value || keywords.includes(value) || isUrl(value) || isAbsolute(value)) return value;
  return resolve(dir, value);
}

/** The configuration with every path in it resolved against the project directory. */
export function resolveConfigPaths(c: ProjectConfig, dir: string): ProjectConfig {
  const p = (v: string, kw: readonly string[] = []) => projectPath(dir, v, kw);
  return {
    ...c,
    outDir: p(c.outDir),
    cacheDir: p(c.cacheDir),
    kernel: {
      ...c.kernel,
      source: p(c.kernel.source, ['auto', 'kernel.org', 'debian']),
      fragmentDir: p(c.kernel.fragmentDir),
      fragments: c.kernel.fragments.map((f) => p(f)),
    },
    init: { ...c.init, node: p(c.init.node, ['npm', 'host']) },
    runtime: { ...c.runtime, source: p(c.runtime.source, ['npm']) },
    model: { ...c.model, source: p(c.model.source) },
    gpu: { ...c.gpu, nvidiaSource: p(c.gpu.nvidiaSource, ['debian']) },
    overlay: c.overlay.map((o) => p(o)),
    hooks: { postinst: p(c.hooks.postinst), postinstInputs: c.hooks.postinstInputs.map((f) => p(f)), finalize: p(c.hooks.finalize) },
    images: c.images.map((i) => ({ ...i, tarball: p(i.tarball) })),
    secureBoot: { ...c.secureBoot, keys: p(c.secureBoot.keys) },
  };
}

/** The project's aios.json (or the defaults), with its paths resolved against the project. */
export async function loadProject(args: { project?: string; config?: string }): Promise<{ config: ProjectConfig; configFile: string; dir: string }> {
  const where = locateProject(args);
  const config = resolveConfigPaths(await loadProjectConfig(where.configFile), where.dir);
  return { config, configFile: where.configFile, dir: where.dir };
}
