import { cachedOutput } from '../pipeline/cache.ts';
import type { BuildContext } from '../pipeline/context.ts';
import { fallbackWarning, resolveKernelSource, verifyCached, type KernelSource } from '../kernel/source.ts';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

function progressBar(received: number, total: number | undefined): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (!total) return `${mb(received)} MB`;
  const width = 30;
  const done = Math.round((received / total) * width);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${mb(received)}/${mb(total)} MB`;
}

/** Kernel source: the cache (verified again), then kernel.org, then Debian's package. */
export async function fetchKernel(ctx: BuildContext): Promise<void> {
  const o = ctx.opts;
  const inputs = { spec: o.kernelSource, version: o.kernelVersion, sha256: o.kernelSha256, mirror: o.config.kernel.mirror, debianPackage: o.config.kernel.debianPackage };
  let source: KernelSource | undefined;
  // The resolution itself is cached; what it points to is hashed again before it is trusted.
  const r = await cachedOutput(o.cacheDir, 'fetch', inputs, async (dir) => {
    const src = await resolveKernelSource({
      cacheDir: o.cacheDir,
      ...inputs,
      warn: (m) => ctx.log.warn(m),
      info: (m) => ctx.log.info(m),
      onProgress: (rec, total) => ctx.log.info(progressBar(rec, total)),
    });
    await writeFile(join(dir, 'source.json'), JSON.stringify(src, null, 2));
  });
  source = JSON.parse(await readFile(join(r.dir, 'source.json'), 'utf8')) as KernelSource;
  if (r.hit && !(await verifyCached(source))) {
    throw new Error(`the cached kernel source ${source.dir} no longer matches sha256 ${source.sha256}; delete ${r.dir} and ${source.dir} to fetch it again`);
  }
  Object.assign(ctx.current ?? {}, { cacheHit: r.hit, key: r.key });
  const loud = fallbackWarning(source);
  if (loud) ctx.log.warn(loud);
  ctx.log.info(`Linux ${source.version} from ${source.origin}`);
  ctx.source = source;
  // Without SOURCE_DATE_EPOCH, the images take their timestamps from the inputs: the kernel
  // source's release date (its Makefile's mtime in the tarball), never from the clock.
  if (o.sourceDateEpoch === undefined) ctx.sourceDateEpoch = Math.floor((await stat(join(source.dir, 'Makefile'))).mtimeMs / 1000);
}
