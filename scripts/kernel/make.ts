/** Pure builders of the kernel's make command lines, so that tests can check them. */
export interface MakeOptions {
  srcDir: string;
  objDir: string;
  jobs: number;
  ccache: boolean;
  arch?: string;
}

export function makeArgs(o: MakeOptions, targets: readonly string[], extra: readonly string[] = []): string[] {
  return ['-C', o.srcDir, `O=${o.objDir}`, `ARCH=${o.arch ?? 'x86_64'}`, `-j${o.jobs}`, ...(o.ccache ? ['CC=ccache gcc'] : []), ...extra, ...targets];
}

/** Fixed build identity so that the same inputs give the same bzImage. */
export function kbuildEnv(ccache: Record<string, string> = {}): Record<string, string> {
  return {
    KBUILD_BUILD_TIMESTAMP: '1970-01-01 00:00:00 UTC',
    KBUILD_BUILD_USER: 'aios',
    KBUILD_BUILD_HOST: 'aios',
    KBUILD_BUILD_VERSION: '1',
    LC_ALL: 'C',
    ...ccache,
  };
}

export function mergeConfigArgs(o: MakeOptions, fragments: readonly string[]): string[] {
  return ['-m', '-O', o.objDir, `${o.objDir}/.config`, ...fragments];
}

export function modulesInstallArgs(o: MakeOptions, stagingDir: string): string[] {
  return makeArgs(o, ['modules_install'], [`INSTALL_MOD_PATH=${stagingDir}`, 'INSTALL_MOD_STRIP=1', 'DEPMOD=/sbin/depmod']);
}
