/**
 * sha256 of kernel.org tarballs, pinned here so that a download is checked against a value
 * that did not come from the same server. Add a line per version, from kernel.org's signed
 * sha256sums.asc. A version without a pin needs `--kernel-sha256` (or kernel.sha256 in aios.json).
 */
export const KERNEL_ORG_SHA256: Readonly<Record<string, string>> = {
  // The 6.8.12 value could not be obtained on the machine this was written on (kernel.org is
  // unreachable there and no offline copy of sha256sums.asc was found), so none is invented.
};

export function kernelOrgUrl(mirror: string, version: string): string {
  const major = version.split('.')[0];
  return `${mirror.replace(/\/+$/, '')}/v${major}.x/linux-${version}.tar.xz`;
}
