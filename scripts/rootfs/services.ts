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
