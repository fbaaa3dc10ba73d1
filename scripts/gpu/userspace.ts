import type { Resolved } from '../project/packages.ts';
import { upstreamVersion } from './pins.ts';

/**
 * The NVIDIA driver's user space that CUDA programs and nvidia-smi need, as Debian packages it
 * (source nvidia-graphics-drivers, non-free). Each is asked for at the modules' own version:
 * libcuda talks to the kernel module through ioctls whose layout changes with every release, and
 * refuses (or worse) a module of another version. nvidia-alternative and libnvidia-pkcs11-openssl3
 * are named too because libcuda1 depends on them at exactly its version, and apt would otherwise
 * pick the newest (bookworm-security has 535.309.01) and fail.
 */
export const USERSPACE_PACKAGES = [
  'libcuda1',
  'libnvidia-ml1',
  'libnvidia-ptxjitcompiler1',
  'nvidia-smi',
  'nvidia-alternative',
  'libnvidia-pkcs11-openssl3',
] as const;

/** Where Debian puts the driver's libraries and programs; its alternatives system links them into the search path. */
export const NVIDIA_LIB_DIR = 'usr/lib/x86_64-linux-gnu/nvidia/current';
export const NVIDIA_BIN_DIR = 'usr/lib/nvidia/current';

/** The name of the stand-in for the modules in the private dpkg status. */
export const MODULES_STANDIN = 'aios-nvidia-open-modules';

/**
 * A dpkg status in which the image's modules are installed: what libcuda1 recommends
 * (nvidia-kernel-dkms | nvidia-kernel-<v> | nvidia-open-kernel-<v>) is then met by them, and no
 * resolution pulls DKMS and a compiler into an image whose modules were built with its kernel.
 */
export function modulesStatus(driver: string): string {
  return [
    `Package: ${MODULES_STANDIN}`,
    'Status: install ok installed',
    'Priority: optional',
    'Section: non-free/kernel',
    'Architecture: amd64',
    `Version: ${driver}`,
    `Provides: nvidia-open-kernel-${driver}, nvidia-kernel-${driver}`,
    'Maintainer: aiOS <aios@localhost>',
    `Description: NVIDIA open GPU kernel modules ${driver}, built by aiOS against the image's kernel`,
    '',
  ].join('\n');
}

/** `pkg=version` for each package, at the Debian version of the driver's release. */
export function pinnedRequest(debianVersion: string): string[] {
  return USERSPACE_PACKAGES.map((p) => `${p}=${debianVersion}`);
}

/**
 * Why the resolved user space cannot drive modules of `driver`: each package of it at another
 * release, named with the version found. Undefined when every one matches.
 */
export function userspaceMismatch(resolved: readonly Resolved[], driver: string): string | undefined {
  const wanted = new Set<string>(USERSPACE_PACKAGES);
  const ours = resolved.filter((r) => wanted.has(r.name));
  const absent = USERSPACE_PACKAGES.filter((p) => !ours.some((r) => r.name === p));
  const wrong = ours.filter((r) => upstreamVersion(r.version) !== driver);
  if (!wrong.length && !absent.length) return undefined;
  return [
    `the NVIDIA user space must be of the modules' version ${driver}, and`,
    ...wrong.map((r) => `${r.name} ${r.version} (${upstreamVersion(r.version)})`),
    ...absent.map((p) => `${p} (not resolved)`),
    wrong.length ? `${wrong.length === 1 ? 'is' : 'are'} not` : 'are missing',
  ].join(' ');
}

/**
 * What the alternatives system would link (nvidia-alternative's postinst, which no unpack runs):
 * each library's soname link into the multiarch directory, where the loader looks without an
 * ld.so.cache, and nvidia-smi into /usr/bin. `files` are the unpacked paths, relative.
 */
export function alternativeLinks(files: readonly string[]): { path: string; target: string }[] {
  const links: { path: string; target: string }[] = [];
  for (const f of [...files].sort()) {
    const lib = new RegExp(`^${NVIDIA_LIB_DIR}/(lib[\\w.+-]+\\.so\\.\\d+)$`).exec(f);
    if (lib) links.push({ path: `usr/lib/x86_64-linux-gnu/${lib[1]}`, target: `nvidia/current/${lib[1]}` });
    if (f === `${NVIDIA_BIN_DIR}/nvidia-smi`) links.push({ path: 'usr/bin/nvidia-smi', target: '../lib/nvidia/current/nvidia-smi' });
  }
  return links;
}
