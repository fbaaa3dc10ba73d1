// aios-init's side of the code cache (common/code-cache.ts): compile the bundle with it, and
// record for the boot report what became of it.
import { Script } from 'node:vm';
import { CODE_ASSET, eagerly } from '../../common/code-cache.ts';

export { CACHE_ASSET, CODE_ASSET, wrapCommonJs } from '../../common/code-cache.ts';

/** Where the loader leaves what became of the cache, for the boot report (a global: two bundles). */
const STATE = Symbol.for('aios.codeCache');

export type CodeCacheState = 'used' | 'rejected' | 'none';

/** Compile `wrapped` as the cache was made; without a cache, as Node would (lazily). */
export function compileWrapped(wrapped: string, cachedData: Buffer | undefined): { script: Script; state: CodeCacheState } {
  if (!cachedData) return { script: new Script(wrapped, { filename: CODE_ASSET }), state: 'none' };
  const script = eagerly(() => new Script(wrapped, { filename: CODE_ASSET, cachedData }));
  return { script, state: script.cachedDataRejected ? 'rejected' : 'used' };
}

export function recordCodeCacheState(state: CodeCacheState): void {
  (globalThis as Record<symbol, unknown>)[STATE] = state;
}

/** What the loader did with the cache; 'none' when aios-init was started without the loader. */
export function codeCacheState(): CodeCacheState {
  return ((globalThis as Record<symbol, unknown>)[STATE] as CodeCacheState | undefined) ?? 'none';
}
