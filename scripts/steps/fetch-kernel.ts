import { cachedStep } from '../pipeline/cache.ts';
import type { BuildContext } from '../pipeline/context.ts';
import { fallbackWarning, resolveKernelSource, verifyCached, type KernelSource } from '../kernel/source.ts';
import { KERNEL_ORG_SHA256 } from '../kernel/pins.ts';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

function progressBar(received: number, total: number | undefined): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (!total) return `${mb(received)} MB`;
  const width = 30;
  const done = Math.round((received / total) * width);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${mb(received)}/${mb(total)} MB`;
}

/** How long a fallback to Debian's kernel source stands before kernel.org is tried again. */
export const FALLBACK_RETRY_HOURS = 6;

/** Kernel source: the cache (verified again), then kernel.org, then Debian's package. */
export async function fetchKernel(ctx: BuildContext): Promise<void> {
  const o = ctx.opts;
  const wanted = {
    spec: o.kernelSource,
    version: o.kernelVersion,
    sha256: o.kernelSha256,
    mirror: o.config.kernel.mirror,
    debianPackage: o.config.kernel.debianPackage,
    pins: KERNEL_ORG_SHA256,
  };
  const resolve = () =>
    cachedStep(ctx, { version: 1, values: wanted }, async (dir) => {
      const src = await resolveKernelSource({
        cacheDir: o.cacheDir,
        ...wanted,
        warn: (m) => ctx.log.warn(m),
        info: (m) => ctx.log.info(m),
        onProgress: (rec, total) => ctx.log.info(progressBar(rec, total)),
      });
      await writeFile(join(dir, 'source.json'), JSON.stringify(src, null, 2));
    });
  const read = async (dir: string) => JSON.parse(await readFile(join(dir, 'source.json'), 'utf8')) as KernelSource;
  // The resolution is cached; what it points to is hashed again before it is trusted.
  let dir = await resolve();
  let source = await read(dir);
  // Resolved again: a tree the user edits in place, on every build (its content fingerprint keys
  // the steps after this one); a fallback once it is FALLBACK_RETRY_HOURS old, so that kernel.org
  // is asked again, but a no-op build a minute later touches no network (the Debian package stays
  // cached by its sha256).
  const tree = source.origin === 'path' && !source.tarball;
  const age = (Date.now() - (await stat(join(dir, 'source.json'))).mtimeMs) / 3.6e6;
  const retry = ctx.current?.cacheHit === true && (tree || (source.fellBack === true && age >= FALLBACK_RETRY_HOURS));
  if (ctx.current?.cacheHit && source.fellBack && !retry)
    ctx.log.info(
      `kernel.org is asked again ${(FALLBACK_RETRY_HOURS - age).toFixed(1)} h from now (the fallback is ${age.toFixed(1)} h old); \`aios clean --all\` asks at once`,
    );
  if (retry || !(await verifyCached(source))) {
    if (!retry) ctx.log.warn(`the cached kernel source ${source.dir} no longer matches sha256 ${source.sha256}: fetching it again`);
    // Only what lives in the cache is thrown away, never a tree or tarball the user pointed at.
    for (const p of retry ? [dir] : [dir, source.dir, source.tarball]) if (p && p.startsWith(`${o.cacheDir}/`)) await rm(p, { recursive: true, force: true });
    dir = await resolve();
    source = await read(dir);
  }
  const loud = fallbackWarning(source);
  if (loud) ctx.log.warn(loud);
  ctx.log.info(`Linux ${source.version} from ${source.origin}`);
  ctx.source = source;
  // Without SOURCE_DATE_EPOCH, the images take their timestamps from the inputs: the kernel
  // source's release date (its Makefile's mtime in the tarball), never from the clock.
  if (o.sourceDateEpoch === undefined) ctx.sourceDateEpoch = Math.floor((await stat(join(source.dir, 'Makefile'))).mtimeMs / 1000);
}
