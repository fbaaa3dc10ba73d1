import { parseInitConfig, type InitConfig } from '../../common/init-spec.ts';
import { formatErrors } from '../../common/schema.ts';

/**
 * The image's init.json with the project's services appended (aios.json `services`, and those
 * made from container images). A name given twice is an error here, at build time, rather than a
 * configuration error aios-init reports at boot.
 */
export function withServices(initJson: Record<string, unknown>, extra: readonly { name: string }[], where: string): Record<string, unknown> {
  if (!extra.length) return initJson;
  const base = Array.isArray(initJson.services) ? (initJson.services as { name?: unknown }[]) : [];
  const seen = new Set(base.map((s) => String(s.name)));
  for (const s of extra) {
    if (seen.has(s.name))
      throw new Error(`${where}: services: "${s.name}" is defined twice (aiOS's init.json, aios.json's services or an image's service); rename one`);
    seen.add(s.name);
  }
  return { ...initJson, services: [...base, ...extra] };
}

/** The image's init.json with aios.json's ioCost appended; a disk given twice is an error of the build. */
export function withIoCost(
  initJson: Record<string, unknown>,
  extra: readonly (Partial<InitConfig['ioCost'][number]> & { disk: string })[],
  where: string,
): Record<string, unknown> {
  if (!extra.length) return initJson;
  const base = Array.isArray(initJson.ioCost) ? (initJson.ioCost as { disk?: unknown }[]) : [];
  const seen = new Set(base.map((c) => String(c.disk)));
  for (const c of extra) {
    if (seen.has(c.disk)) throw new Error(`${where}: ioCost: disk "${c.disk}" has an entry in both aiOS's init.json and aios.json's ioCost; keep one`);
    seen.add(c.disk);
  }
  return { ...initJson, ioCost: [...base, ...extra] };
}

/**
 * The image's init.json read as aios-init will read it at boot. aios-init drops what it refuses and
 * boots on; the build fails instead, so that a mistake is seen before an image is written.
 */
export function assertInitJsonAccepted(text: string, where: string): void {
  const { errors } = parseInitConfig(text, where);
  if (errors.length)
    throw new Error(
      `the image's init.json (aiOS's rootfs/, the project's overlays, aios.json's services and images) would be refused at boot:\n${formatErrors(errors)}`,
    );
}

/** The image's status endpoint as its init.json sets it, for build.json: `aios run` forwards to this port. */
export function statusOf(initJson: InitConfig): { port: number; bind: string; token: boolean } {
  return { port: initJson.statusPort, bind: initJson.statusBind, token: initJson.statusToken !== '' };
}
