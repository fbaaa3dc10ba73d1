import type { BuildContext } from '../pipeline/context.ts';
import { resolveProjectInputs } from '../project/inputs.ts';

/**
 * Check and pin what the user's project puts into the image before any long step: overlays exist,
 * hooks can run, packages resolve (with their versions and checksums), images are found. Nothing
 * is cached: what Debian or the Docker engine holds can change between builds, and the rootfs
 * step's key derives from what is resolved here.
 */
export async function resolveProject(ctx: BuildContext): Promise<void> {
  const c = ctx.opts.config;
  ctx.projectInputs = await resolveProjectInputs(c, ctx.opts.configFile, ctx.opts.cacheDir, (m) => ctx.log.info(m));
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  ctx.log.info(
    `${n(c.overlay.length, 'overlay')}, ${n(ctx.projectInputs.packages.length, 'Debian package')}, ${n(c.images.length, 'image')}, ${n(c.services.length, 'service')}`,
  );
}
