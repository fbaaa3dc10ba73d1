// aios-init's code travels in the single executable with V8's code cache for it, made at build
// time with every function compiled. Under emulation the first use of V8's parser and compiler is
// translated before it runs; with the cache none of aios-init's own code goes through them.
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

/** SEA assets: the bundle, wrapped as a CommonJS module function, and the code cache for it. */
export const CODE_ASSET = 'aios-init.js';
export const CACHE_ASSET = 'aios-init.cache';

/**
 * V8 hashes its flags into a code cache and rejects one made under other flags, so the cache is
 * made and read with `--no-lazy` (every function compiled, not only those that run at load),
 * then the default comes back before anything else compiles (Node's own code cache is checked
 * against the default flags).
 */
const EAGER = '--no-lazy';
const LAZY = '--lazy';

/** Where the loader leaves what became of the cache, for the boot report (a global: two bundles). */
const STATE = Symbol.for('aios.codeCache');

export type CodeCacheState = 'used' | 'rejected' | 'none';

/** The bundle as Node wraps a CommonJS file: a function of exports, require, module and the paths. */
export function wrapCommonJs(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

/** Run `fn` with V8 compiling every function, and put the default back whatever happens. */
function eagerly<T>(fn: () => T): T {
  setFlagsFromString(EAGER);
  try {
    return fn();
  } finally {
    setFlagsFromString(LAZY);
  }
}

/** Compile `wrapped` as the cache was made; without a cache, as Node would (lazily). */
export function compileWrapped(wrapped: string, cachedData: Buffer | undefined): { script: Script; state: CodeCacheState } {
  if (!cachedData) return { script: new Script(wrapped, { filename: CODE_ASSET }), state: 'none' };
  const script = eagerly(() => new Script(wrapped, { filename: CODE_ASSET, cachedData }));
  return { script, state: script.cachedDataRejected ? 'rejected' : 'used' };
}

/** Make the code cache of `wrapped` (at build time, in a Node started with a fixed --random-seed). */
export function makeCodeCache(wrapped: string): Buffer {
  return eagerly(() => new Script(wrapped, { filename: CODE_ASSET }).createCachedData());
}

export function recordCodeCacheState(state: CodeCacheState): void {
  (globalThis as Record<symbol, unknown>)[STATE] = state;
}

/** What the loader did with the cache; 'none' when aios-init was started without the loader. */
export function codeCacheState(): CodeCacheState {
  return ((globalThis as Record<symbol, unknown>)[STATE] as CodeCacheState | undefined) ?? 'none';
}
