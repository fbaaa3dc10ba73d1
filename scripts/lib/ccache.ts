import { join } from 'node:path';

/** ccache's remote storage URLs that aios hands on: redis and http, one word (ccache reads spaces as a list). */
export const REMOTE_STORAGE = /^((redis|http):\/\/[^\s|]+)?$/;

/** The ccache every compiling step uses: this machine's cache, and the shared one when there is one. */
export interface Ccache {
  dir: string;
  remote?: string;
}

/** The remote storage: `$AIOS_CCACHE_REMOTE` (CI sets it), else aios.json's cache.remote; checked like the config key. */
export function remoteStorage(configured: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = env.AIOS_CCACHE_REMOTE || configured;
  if (!url) return undefined;
  if (!REMOTE_STORAGE.test(url)) throw new Error(`AIOS_CCACHE_REMOTE: ${url}: expected redis://HOST[:PORT] or http://HOST[:PORT]/PATH`);
  return url;
}

export function ccacheOf(cacheDir: string, configured: string, env: NodeJS.ProcessEnv = process.env): Ccache {
  const remote = remoteStorage(configured, env);
  return { dir: join(cacheDir, 'ccache'), ...(remote ? { remote } : {}) };
}

/**
 * ccache's environment for one compiling step. The same for the kernel, the NVIDIA modules and
 * llama.cpp, so that what one machine compiled another finds: only the cache directory and the
 * remote storage; the compile results depend on the compiler and its arguments alone.
 */
export function ccacheEnv(c: Ccache | undefined): Record<string, string> {
  if (!c) return {};
  return { CCACHE_DIR: c.dir, ...(c.remote ? { CCACHE_REMOTE_STORAGE: c.remote } : {}) };
}

/** A remote storage URL for the log: its password, when it has one, left out. */
export function shownRemote(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
