// aios-init's code travels in the single executable with V8's code cache for it, made at build
// time with every function compiled. What the build (which makes the cache) and aios-init (which
// reads it) must agree on lives here: the asset names, the wrapper, and the flags V8 compiles under.
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

/** SEA assets: the bundle, wrapped as a CommonJS module function, the code cache for it, and the system-call addon. */
export const CODE_ASSET = 'aios-init.js';
export const CACHE_ASSET = 'aios-init.cache';
export const ADDON_ASSET = 'aios_sys.node';

/**
 * V8 hashes its flags into a code cache and rejects one made under other flags, so the cache is
 * made and read with `--no-lazy` (every function compiled, not only those that run at load),
 * then the default comes back before anything else compiles (Node's own code cache is checked
 * against the default flags).
 */
const EAGER = '--no-lazy';
const LAZY = '--lazy';

/** The bundle as Node wraps a CommonJS file: a function of exports, require, module and the paths. */
export function wrapCommonJs(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

/** Run `fn` with V8 compiling every function, and put the default back whatever happens. */
export function eagerly<T>(fn: () => T): T {
  setFlagsFromString(EAGER);
  try {
    return fn();
  } finally {
    setFlagsFromString(LAZY);
  }
}

/** Make the code cache of `wrapped` (at build time, in a Node started with a fixed --random-seed). */
export function makeCodeCache(wrapped: string): Buffer {
  return eagerly(() => new Script(wrapped, { filename: CODE_ASSET }).createCachedData());
}
