/** The fields of `modinfo FILE` that the build records and checks. */
export interface ModInfo {
  name: string;
  version: string;
  vermagic: string;
  depends: string[];
  license: string;
}

export function parseModinfo(text: string): ModInfo {
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  return {
    name: field('name'),
    version: field('version'),
    vermagic: field('vermagic'),
    depends: field('depends').split(',').filter(Boolean),
    license: field('license'),
  };
}

/** A module loads only into the kernel whose release opens its vermagic ("6.12.117 SMP mod_unload "). */
export function vermagicMatches(vermagic: string, release: string): boolean {
  return vermagic.split(/\s+/)[0] === release;
}
