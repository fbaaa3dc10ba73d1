import type { BuildContext } from '../pipeline/context.ts';
import { resolveKeySet } from '../keys/key-set.ts';

/** The key set the build signs with (secureBoot.keys), checked before any long step runs. */
export async function resolveKeys(ctx: BuildContext): Promise<void> {
  const keys = await resolveKeySet(ctx.opts.config.secureBoot.keys || undefined, ctx.opts.cacheDir);
  ctx.keys = keys;
  if (keys.test) {
    const m =
      "signing with Debian's OVMF test key (snakeoil): QEMU's Secure Boot firmware trusts it, and anyone can sign with it. For real machines make your own keys (`aios keys DIR`) and set secureBoot.keys.";
    ctx.log.warn(m);
    ctx.warnings.push(m);
  } else ctx.log.info(`signing with the key set ${keys.name} (db ${keys.certSha256.db.slice(0, 12)}, modules ${keys.certSha256.module.slice(0, 12)})`);
}
