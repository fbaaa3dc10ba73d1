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
 * llama.cpp, so that what one machine compiled another finds: the cache directory, and the remote
 * storage when there is one.
 *
 * A cache of this machine alone uses the depend mode: otherwise a miss runs the preprocessor as
 * well as the compiler. On the kernel's ACPI directory (218 objects, empty cache, 2 cores): 83.9 s,
 * against 50.4 s in depend mode and 54.1 s with no ccache; the objects are byte-identical, and
 * a rebuild where every object hits takes 5.6 s. kbuild (-Wp,-MMD) and CMake (-MD) both write the
 * dependency file that mode reads. With remote storage it stays off: Debian's ccache 4.7.5 in depend
 * mode found a second runner's manifest in Redis and still compiled, so nothing was shared.
 */
export function ccacheEnv(c: Ccache | undefined): Record<string, string> {
  if (!c) return {};
  return { CCACHE_DIR: c.dir, ...(c.remote ? { CCACHE_REMOTE_STORAGE: c.remote } : { CCACHE_DEPEND: '1' }) };
}

/** A remote storage URL for the log: its password, when it has one, left out. */
export function shownRemote(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
