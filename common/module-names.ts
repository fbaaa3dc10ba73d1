/** How module names compare, for aios-init (which loads) and aios check (which judges). */

/** Module names use _ and - interchangeably; the kernel reports them with _. A path or .ko suffix is dropped. */
export const modName = (s: string) =>
  s
    .replace(/\.ko(\.[a-z]+)?$/, '')
    .replace(/^.*\//, '')
    .replace(/-/g, '_');

/** never-load entries are prefixes: "snd" refuses snd_hda_intel too. */
export function isNeverLoad(name: string, never: readonly string[]): boolean {
  const n = modName(name);
  return never.some((p) => n === modName(p) || n.startsWith(modName(p)));
}
