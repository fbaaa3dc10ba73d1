import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ModuleStrategy } from '../../common/boot-report.ts';
import { isNeverLoad, modName } from '../../common/module-names.ts';
import type { FsRoot } from './fsroot.ts';
import type { Sys } from './sys.ts';

/** modules.dep of the running kernel: module name -> its file and the files it needs. */
export interface ModuleIndex {
  dir: string;
  deps: Map<string, { path: string; needs: string[] }>;
  builtin: Set<string>;
}

export { isNeverLoad, modName } from '../../common/module-names.ts';

export function readModuleIndex(fs: FsRoot, release: string): ModuleIndex {
  const dir = fs.p(`/lib/modules/${release}`);
  const deps = new Map<string, { path: string; needs: string[] }>();
  const builtin = new Set<string>();
  try {
    for (const line of readFileSync(`${dir}/modules.dep`, 'utf8').split('\n')) {
      const [file, rest = ''] = line.split(':');
      if (!file) continue;
      // modules.dep holds relative, normalised paths: joining by hand spares path.join's cost.
      deps.set(modName(file), {
        path: `${dir}/${file}`,
        needs: rest
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map((f) => `${dir}/${f}`),
      });
    }
  } catch {
    /* no modules at all is a valid system */
  }
  try {
    for (const line of readFileSync(`${dir}/modules.builtin`, 'utf8').split('\n')) if (line) builtin.add(modName(line));
  } catch {
    /* likewise */
  }
  return { dir, deps, builtin };
}

/**
 * Built-in code that is not in modules.builtin but shows in /sys/module (AppArmor, for one):
 * names there that /proc/modules does not list are part of the kernel image.
 */
export function builtinFromSysfs(fs: FsRoot, loaded: readonly string[]): string[] {
  try {
    const live = new Set(loaded);
    return readdirSync(fs.p('/sys/module')).filter((n) => !live.has(n));
  } catch {
    return [];
  }
}

export function loadedModules(fs: FsRoot): string[] {
  try {
    return readFileSync(fs.p('/proc/modules'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[0]!)
      .sort();
  } catch {
    return [];
  }
}

export interface ModulePlan {
  strategy: ModuleStrategy;
  /** Files to load, dependencies first, each once. */
  files: string[];
}

/**
 * Decide what to load: always-load + detected + extra, minus never-load (refused even when asked),
 * minus built-in and missing ones (reported, not fatal).
 */
export function planModules(
  index: ModuleIndex,
  opts: { always: string[]; detected: string[]; extra: string[]; never: string[]; loaded: string[] },
): ModulePlan {
  const strategy: ModuleStrategy = {
    always: opts.always.map(modName),
    detected: opts.detected.map(modName),
    never: opts.never,
    refused: [],
    missing: [],
    builtin: [],
    planned: [],
  };
  const files: string[] = [];
  const seen = new Set<string>();
  const loaded = new Set(opts.loaded.map(modName));
  for (const name of [...opts.always, ...opts.detected, ...opts.extra].map(modName)) {
    if (seen.has(name)) continue;
    seen.add(name);
    if (isNeverLoad(name, opts.never)) {
      strategy.refused.push(name);
      continue;
    }
    if (index.builtin.has(name)) {
      strategy.builtin.push(name);
      continue;
    }
    const entry = index.deps.get(name);
    if (!entry) {
      strategy.missing.push(name);
      continue;
    }
    if (loaded.has(name)) continue;
    const refusedDep = entry.needs.find((f) => isNeverLoad(f, opts.never));
    if (refusedDep) {
      strategy.refused.push(`${name} (needs ${modName(refusedDep)})`);
      continue;
    }
    for (const f of [...[...entry.needs].reverse(), entry.path]) if (!files.includes(f) && !loaded.has(modName(f))) files.push(f);
  }
  strategy.planned = files.map(modName);
  return { strategy, files };
}

/** Load the planned files; a failure is reported and the rest still load. */
export function loadModules(sys: Sys, files: readonly string[], log: (m: string) => void, params: Record<string, string> = {}): string[] {
  const failed: string[] = [];
  for (const f of files) {
    if (!existsSync(f)) {
      failed.push(f);
      log(`module file ${f} is missing`);
      continue;
    }
    try {
      sys.finitModule(f, params[modName(f)] ?? '');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      failed.push(f);
      log(`loading ${modName(f)} failed: ${(err as Error).message}`);
    }
  }
  return failed;
}
