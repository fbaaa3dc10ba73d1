// The single executable's main script: compiles aios-init's bundle from its code cache and runs it.
// Nothing here may throw past a missing cache: PID 1 exiting panics the kernel.
import { getAsset } from 'node:sea';
import { CACHE_ASSET, CODE_ASSET, compileWrapped, recordCodeCacheState } from './code-cache.ts';

function cache(): Buffer | undefined {
  try {
    return Buffer.from(getAsset(CACHE_ASSET));
  } catch {
    return undefined;
  }
}

const { script, state } = compileWrapped(getAsset(CODE_ASSET, 'utf8'), cache());
recordCodeCacheState(state);
(script.runInThisContext() as (...args: unknown[]) => void)(exports, require, module, __filename, __dirname);
