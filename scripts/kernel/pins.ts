/**
 * sha256 of kernel.org tarballs, pinned here so that a download is checked against a value
 * that did not come from the same server. Add a line per version, from kernel.org's signed
 * sha256sums.asc. A version without a pin needs `--kernel-sha256` (or kernel.sha256 in aios.json).
 */
export const KERNEL_ORG_SHA256: Readonly<Record<string, string>> = {
  // kernel.org's signed sha256sums.asc; Buildroot's linux.hash (June 2024) and Chimera Linux's
  // linux-stable template carry the same value.
  '6.8.12': '19b31956d229b5b9ca5671fa1c74320179682a3d8d00fc86794114b21da86039',
};

export function kernelOrgUrl(mirror: string, version: string): string {
  const major = version.split('.')[0];
  return `${mirror.replace(/\/+$/, '')}/v${major}.x/linux-${version}.tar.xz`;
}
