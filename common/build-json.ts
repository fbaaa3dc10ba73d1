import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One step of the build as build.json records it. */
export interface StepRecord {
  name: string;
  seconds: number;
  cpuSeconds: number;
  cacheHit: boolean;
  key?: string;
  /** Wall time of the run that made the cached output (this run's, on a miss). */
  producedSeconds?: number;
}

export interface GpuModulesRecord {
  driver: string;
  from: string;
  firmwarePackage: string;
  modules: { path: string; name: string; version: string; vermagic: string; depends: string[]; bytes: number }[];
  firmware: { path: string; bytes: number }[];
}

/** The NVIDIA driver's user space in the image (scripts/steps/install-gpu-userspace.ts). */
export interface GpuUserspaceRecord {
  driver: string;
  debianVersion: string;
  packages: { name: string; version: string; sha256: string }[];
  /** Image paths of its files and of the links made for them. */
  files: string[];
  links: { path: string; target: string }[];
  /** The libraries it gives the loader's search path (libcuda.so.1, ...). */
  sonames: string[];
  /** Host libraries its files need (glibc's, libcrypto), copied to the same paths. */
  systemLibs: string[];
  /** What stands in for the kernel module in the private dpkg status the closure is resolved with. */
  providedBy: string;
  /** Packages of the closure not unpacked: maintainer-script plumbing and libraries the image takes from the host. */
  leftOut: { name: string; version: string }[];
}

/** A root filesystem's dm-verity data: the hash tree follows the filesystem in the same partition or file. */
export interface VerityRecord {
  rootHash: string;
  /** Where the hash tree (with its superblock) starts, in bytes: the filesystem's size. */
  hashOffset: number;
}

/** The label of the disk's state partition (/var). */
export const STATE_LABEL = 'aios-state';

/** The kernel arguments that make stage 1 open the root through dm-verity (and, on the disk, mount the state partition). */
export function verityArgs(v: VerityRecord, onCorruption: string, withState: boolean): string {
  return `aios.verity=${v.rootHash},${v.hashOffset},${onCorruption}${withState ? ` aios.state=LABEL=${STATE_LABEL}` : ''}`;
}

/**
 * build.json: what `aios build` made and from what. Written once by the build (commands/build.ts),
 * read by `aios run`, `aios check`, `aios clean` and the bench through this type.
 */
export interface BuildJson {
  kernel?: {
    version: string;
    requestedVersion: string;
    fellBack: boolean;
    origin: string;
    from: string;
    sha256: string;
    release?: string;
    bzImageBytes?: number;
    sizeBudgetBytes: number;
    debug: boolean;
    trace: boolean;
    gdbScripts?: string;
  };
  init?: { node: { origin: string; from: string; version: string; supportEnds: string | null }; bytes: number };
  /** The image's status endpoint as its init.json sets it (port 0: none); whether a token is set, never the token. */
  status?: { port: number; bind: string; token: boolean };
  /** The services that run as root (init.json's `user`): each one the project asked for. */
  rootServices?: string[];
  inference?: {
    port: number;
    model: { name: string; file: string; sha256: string; bytes: number; architecture: string; from: string };
    expect: string;
    runtime?: {
      commit?: string;
      from: string;
      files: string[];
      hostLibraries: string[];
      backends: string[];
      /** What its GPU backend needs from the NVIDIA driver's user space. */
      driverLibraries?: string[];
      cuda?: { release: string; architectures: string[] };
    };
  };
  project: {
    dir: string;
    config: string;
    packages: { name: string; version: string; sha256: string }[];
    images: { ref: string; tarball: string; id: string; tags: string[]; path: string }[];
    overlay: string[];
    hooks: { postinst: string; postinstInputs: string[]; finalize: string };
    maintainerScriptsRun: false;
  };
  gpu: { nvidia: string; modules?: GpuModulesRecord; userspace?: GpuUserspaceRecord };
  /** The roots' verity data per image, and what a corrupt block does. */
  verity?: { disk?: VerityRecord; iso?: VerityRecord; onCorruption: 'panic' | 'restart' };
  /** What signed the UKI and the modules: the key set's directory (or snakeoil) and its certificates' sha256. */
  secureBoot?: { keys: string; test: boolean; dbCertSha256: string; moduleCertSha256: string };
  formats: string[];
  sourceDateEpoch: number;
  steps: StepRecord[];
  warnings: string[];
  tools: Record<string, string>;
  hostToolsChecked: number;
}

/** build.json of the build in `out`; a missing or unreadable one is an error that says how to make it. */
export async function readBuildJson(out: string): Promise<BuildJson> {
  const file = join(out, 'build.json');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new Error(`${file} does not exist: run \`aios build --out ${out}\` first`);
  });
  try {
    return JSON.parse(text) as BuildJson;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}): run \`aios build --out ${out}\` again`);
  }
}
