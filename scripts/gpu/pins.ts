/**
 * NVIDIA's open GPU kernel modules as Debian bookworm ships them (contrib): the source of the
 * kernel-open tree with nv-kernel.o_binary, which Debian builds from NVIDIA's open source. The
 * GSP firmware (non-free-firmware) must be of exactly the same driver version: the module
 * refuses firmware of any other.
 */
export interface NvidiaPin {
  sourcePackage: string;
  version: string;
  firmwarePackage: string;
  /** The tarball inside the source package. */
  tarball: string;
}

export const NVIDIA_OPEN: NvidiaPin = {
  sourcePackage: 'nvidia-open-kernel-source',
  version: '535.261.03-1',
  firmwarePackage: 'firmware-nvidia-gsp',
  tarball: 'usr/src/nvidia-open-kernel.tar.xz',
};

/** The modules aiOS builds; nvidia-peermem needs InfiniBand, which the image has not. */
export const NVIDIA_MODULES = ['nvidia', 'nvidia-uvm', 'nvidia-modeset', 'nvidia-drm'] as const;

/** The upstream driver version of a Debian version: 535.261.03-1 -> 535.261.03. */
export function upstreamVersion(debianVersion: string): string {
  return debianVersion.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}

/** The Debian version among `versions` whose upstream version is `upstream`. */
export function pickUpstream(versions: readonly string[], upstream: string): string | undefined {
  return versions.find((v) => v && upstreamVersion(v) === upstream);
}
