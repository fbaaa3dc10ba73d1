import { hashTree, sha256File } from '../lib/hash.ts';
import { toolVersions } from '../host/tools.ts';

/**
 * What a step's output depends on, declared by kind; the cache key derives from it. A step never
 * builds its key by hand, so that a kind of input (a tool, a file) cannot be forgotten in one.
 */
export interface InputDecl {
  /** Bump when the step's own code changes what it makes. */
  version: number;
  /** Outputs of earlier steps it reads (their cache directories or files: their keys count). */
  after?: Record<string, string>;
  /** Directories whose whole content counts. */
  trees?: Record<string, string>;
  /** Files whose content counts (host libraries, scripts, sources). */
  files?: Record<string, string>;
  /** Host tools whose versions count (compilers, image tools). */
  tools?: readonly string[];
  /** Everything else: settings, content ids, the epoch. */
  values?: Record<string, unknown>;
}

/** The inputs as the key hashes them: trees and files by content, tools by version, steps by key. */
export async function resolveInputs(d: InputDecl): Promise<Record<string, unknown>> {
  const map = async <T>(rec: Record<string, string> | undefined, f: (v: string) => Promise<T> | T) =>
    rec ? Object.fromEntries(await Promise.all(Object.entries(rec).map(async ([k, v]) => [k, await f(v)] as const))) : undefined;
  return {
    version: d.version,
    after: await map(d.after, keyOf),
    trees: await map(d.trees, hashTree),
    files: await map(d.files, sha256File),
    tools: d.tools ? await toolVersions(d.tools) : undefined,
    values: d.values,
  };
}

/** The key of a cached step output: what later steps hash, so that no cache path leaks into a key. */
export function keyOf(dirOrFile: string): string {
  const parts = dirOrFile.split('/');
  const i = parts.lastIndexOf('steps');
  return i >= 0 ? parts.slice(i + 1, i + 3).join('/') : dirOrFile;
}
