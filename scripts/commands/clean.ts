import { existsSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { run } from '../../common/exec.ts';
import { lockCache } from '../pipeline/lock.ts';
import { defaultCacheDir } from '../pipeline/options.ts';
import { loadProject } from '../project/locate.ts';

export interface CacheEntry {
  /** Path below the cache directory: steps/kernel/<key>, build/linux-..., downloads, ... */
  rel: string;
  bytes: number;
  /** Whether the last build (its build.json) used it; undefined for what no build.json names. */
  used?: boolean;
}

/** Step outputs the build recorded by key, plus the shared stores (sources, build trees, downloads, ccache, apt). */
export async function listCache(cacheDir: string, usedKeys: ReadonlySet<string>): Promise<CacheEntry[]> {
  const rels: { rel: string; used?: boolean }[] = [];
  const steps = join(cacheDir, 'steps');
  for (const step of existsSync(steps) ? (await readdir(steps)).sort() : [])
    for (const key of (await readdir(join(steps, step))).sort()) rels.push({ rel: `steps/${step}/${key}`, used: usedKeys.has(`${step}/${key}`) });
  for (const store of ['build', 'sources'])
    if (existsSync(join(cacheDir, store))) for (const d of (await readdir(join(cacheDir, store))).sort()) rels.push({ rel: `${store}/${d}` });
  for (const store of ['downloads', 'ccache', 'apt', 'logs']) if (existsSync(join(cacheDir, store))) rels.push({ rel: store });
  if (!rels.length) return [];
  const { stdout } = await run('du', ['-sb', ...rels.map((r) => join(cacheDir, r.rel))]);
  const sizes = new Map(
    stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(l.indexOf('\t') + 1), Number(l.split('\t')[0])]),
  );
  return rels.map((r) => ({ ...r, bytes: sizes.get(join(cacheDir, r.rel)) ?? 0 }));
}

/** Which step outputs a build.json says the build used, as `step/key`. */
export function usedStepKeys(buildJson: string): Set<string> {
  const b = JSON.parse(buildJson) as { steps?: { name: string; key?: string }[] };
  return new Set((b.steps ?? []).filter((s) => s.key).map((s) => `${s.name}/${s.key}`));
}

export function formatEntries(entries: readonly CacheEntry[]): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`.padStart(10);
  const lines = entries.map((e) => `${mb(e.bytes)}  ${e.rel}${e.used === false ? '  (not used by the last build)' : ''}`);
  return [...lines, `${mb(entries.reduce((a, e) => a + e.bytes, 0))}  in all`].join('\n');
}

/** `aios clean`: list the cache with sizes; `--unused` removes step outputs the last build did not use; `--all` empties it. */
export async function cleanCommand(args: {
  cache?: string;
  out?: string;
  project?: string;
  config?: string;
  unused?: boolean;
  all?: boolean;
}): Promise<number> {
  const { config } = await loadProject(args);
  const cacheDir = resolve(args.cache ?? defaultCacheDir(config));
  const out = resolve(args.out ?? config.outDir);
  const buildJson = join(out, 'build.json');
  if (args.unused && !existsSync(buildJson)) throw new Error(`--unused needs the last build's record, ${buildJson}; give --out of that build`);
  const used = existsSync(buildJson) ? usedStepKeys(await readFile(buildJson, 'utf8')) : new Set<string>();
  const entries = await listCache(cacheDir, used);
  if (!args.unused && !args.all) {
    console.log(`${cacheDir}${existsSync(buildJson) ? ` (last build: ${buildJson})` : ''}\n${formatEntries(entries)}`);
    return 0;
  }
  const unlock = await lockCache(cacheDir, (m) => console.error(m));
  try {
    const doomed = args.all ? entries : entries.filter((e) => e.used === false);
    for (const e of doomed) await rm(join(cacheDir, e.rel), { recursive: true, force: true });
    console.log(`removed:\n${formatEntries(doomed)}`);
  } finally {
    unlock();
  }
  return 0;
}
