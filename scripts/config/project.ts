import { readFile } from 'node:fs/promises';
import { bool, num, obj, oneOf, parseConfig, str, strList, formatErrors, type Infer, type ConfigError } from '../../common/schema.ts';
import { FORMAT_NAMES } from '../images/formats.ts';

/** aios.json at the project root: every key optional, command-line flags win over it. */
export const projectSpec = {
  outDir: str('Where `aios build` writes vmlinuz, initramfs.img, rootfs.img, aios.iso and build.json.', 'out'),
  cacheDir: str('Cache of downloads, unpacked sources, kernel objects and step outputs. Empty: `$AIOS_CACHE`, else `~/.cache/aios`.', ''),
  formats: strList('Images to write (registry of output formats; validated before any work).', ['iso', 'disk'], FORMAT_NAMES),
  kernel: obj('The kernel and where its source comes from.', {
    version: str('Kernel version to build from kernel.org.', '6.8.12', { pattern: /^\d+\.\d+(\.\d+)?$/, patternHint: 'a version like 6.8.12' }),
    source: str('`auto` (cache, kernel.org, then Debian), `kernel.org`, `debian`, a local tarball or directory, or a URL.', 'auto'),
    sha256: str('sha256 of the kernel.org tarball, for a version that has no pin in scripts/kernel/pins.ts.', '', { pattern: /^([0-9a-f]{64})?$/, patternHint: '64 hex digits' }),
    mirror: str('Base URL of the kernel.org mirror (the tarball is `<mirror>/v6.x/linux-X.Y.Z.tar.xz`).', 'https://cdn.kernel.org/pub/linux/kernel'),
    debianPackage: str('Debian package with the offline kernel source.', 'linux-source-6.12'),
    fragmentDir: str('Directory of the base fragments (aios.config first, then the rest by name). Empty: kernel-config/ of the project.', ''),
    fragments: strList('Extra config fragments, merged after those in kernel-config/.', []),
    sizeBudgetMB: num('The build fails when bzImage is larger than this (MB, 10^6 bytes).', 15, { min: 1 }),
    jobs: num('Parallel make jobs; 0 means the number of CPUs.', 0, { min: 0, integer: true }),
    ccache: bool('Use ccache when it is installed.', true),
  }),
  boot: obj('The kernel command line of the images.', {
    cmdline: str('Arguments added after root= and console=.', 'quiet loglevel=3'),
  }),
  check: obj('`aios check` budgets and the virtual machine it boots.', {
    kvmBudgetSeconds: num('Boot-report budget when KVM ran.', 5, { min: 1 }),
    tcgBudgetSeconds: num('Boot-report budget under TCG (software emulation).', 30, { min: 1 }),
    timeoutSeconds: num('Hard limit for one boot before it is killed.', 180, { min: 10 }),
    memoryMB: num('Guest memory.', 1024, { min: 256, integer: true }),
    cpus: num('Guest CPUs.', 2, { min: 1, integer: true }),
    accel: oneOf('Accelerator: `auto` probes KVM and falls back to TCG.', ['auto', 'kvm', 'tcg'] as const, 'auto'),
  }),
} as const;

export type ProjectConfig = Infer<typeof projectSpec>;

export class ConfigFileError extends Error {
  constructor(readonly errors: ConfigError[]) {
    super(`invalid configuration:\n${formatErrors(errors)}`);
  }
}

/** Read aios.json (missing file: defaults); every error in it is reported at once. */
export async function loadProjectConfig(file: string): Promise<ProjectConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return parseConfig(projectSpec, undefined, file).value;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigFileError([{ file, key: '', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const { value, errors } = parseConfig(projectSpec, json, file);
  if (errors.length) throw new ConfigFileError(errors);
  return value;
}
