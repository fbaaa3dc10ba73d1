import type { ProjectConfig } from '../project/config.ts';
import type { FormatName } from '../images/formats.ts';
import type { KernelSource } from '../kernel/source.ts';
import type { KernelVariant } from '../kernel/variants.ts';
import type { Problem } from '../kernel/report.ts';
import type { GpuModulesRecord, GpuUserspaceRecord, StepRecord } from '../../common/build-json.ts';
import type { InitConfig } from '../../common/init-spec.ts';
import type { ProjectInputs } from '../project/inputs.ts';
import type { KeySet } from '../keys/key-set.ts';
import type { RuntimeFiles } from '../runtime/record.ts';

export interface BuildOptions {
  root: string; // the project checkout: kernel-config/, init/, initramfs/, rootfs/
  /** The user's project directory: relative paths of aios.json resolved against it (the working directory without one). */
  projectDir: string;
  /** aios.json (it need not exist): errors about its keys name it. */
  configFile: string;
  outDir: string;
  cacheDir: string;
  kernelSource: string;
  kernelVersion: string;
  kernelSha256: string;
  fragments: string[]; // in merge order: kernel-config/*.config, the variants', then --fragment
  /** aios.json's kernel.debug and kernel.trace, in their fixed order: they name the object tree and add fragments. */
  kernelVariants: KernelVariant[];
  formats: FormatName[];
  jobs: number;
  config: ProjectConfig;
  sourceDateEpoch: number | undefined;
}

export type { StepRecord } from '../../common/build-json.ts';
import type { VerityRecord } from '../../common/build-json.ts';

export type { Logger } from '../lib/logger.ts';
import type { Logger } from '../lib/logger.ts';

/** What build.json says of the project's own inputs to the root filesystem. */
export interface ProjectRecord {
  packages: { name: string; version: string; sha256: string }[];
  images: { ref: string; tarball: string; id: string; tags: string[]; path: string }[];
}

export interface BuildContext {
  opts: BuildOptions;
  log: Logger;
  steps: StepRecord[];
  warnings: string[];
  /** Filled in by the steps, in pipeline order. */
  projectInputs?: ProjectInputs;
  /** What the UKI and the kernel's modules are signed with. */
  keys?: KeySet;
  source?: KernelSource;
  kernelConfig?: { dir: string; configPath: string; configSha256: string; problems: Problem[]; requested: number };
  kernel?: { dir: string; objDir: string; bzImage: string; vmlinux: string; modulesDir: string; release: string; bzImageBytes: number; gdbScripts?: string };
  init?: {
    dir: string;
    binary: string;
    addon: string;
    libs: string[];
    bytes: number;
    node: { origin: string; from: string; version: string; supportEnds: string | null };
  };
  runtime?: RuntimeFiles & { dir: string; stage: string; srcDir: string };
  model?: { path: string; file: string; name: string; sha256: string; bytes: number; architecture: string; expect: string; from: string };
  gpuModules?: { dir: string; modulesTree: string; firmwareTree: string; record: GpuModulesRecord };
  gpuUserspace?: { dir: string; tree: string; record: GpuUserspaceRecord };
  rootfs?: { dir: string; tree: string; manifest: string };
  /** The image's /etc/aios/init.json as the rootfs step wrote it, parsed: what build.json and the checks read. */
  initConfig?: InitConfig;
  project?: ProjectRecord;
  initramfs?: { file: string };
  /** The root filesystem's dm-verity data, from the image step that made it. */
  verity?: Partial<Record<'disk' | 'iso', VerityRecord>>;
  /** The signed unified kernel images: the disk's EFI partition's and the ISO's UEFI one. */
  uki?: Partial<Record<'disk' | 'iso', string>>;
  /** The disk step's directory, which holds what `aios serve` hands out as an update (write-disk.ts UPDATE_FILES). */
  update?: { dir: string };
  images: Partial<Record<FormatName, string>>;
  sourceDateEpoch: number;
  /** The record of the step that is running; cachedStep marks it as a hit or a miss. */
  current?: StepRecord;
}

/** A step of the build: it reads what earlier steps left in the context and adds its own. */
export interface Step {
  name: string;
  title: string;
  /** Whether the step applies to this build (an image format not asked for does not). */
  when?: (ctx: BuildContext) => boolean;
  /**
   * Runs beside the neighbouring steps that say so too: none of them reads what another makes
   * (the disk and the ISO both start from the root filesystem, the kernel and the initramfs).
   */
  concurrent?: true;
  run: (ctx: BuildContext) => Promise<void>;
}

/** What each step leaves in the context, and which step makes it. */
const MADE_BY = {
  projectInputs: 'project',
  keys: 'keys',
  source: 'fetch',
  kernelConfig: 'config',
  runtime: 'runtime',
  model: 'model',
  kernel: 'kernel',
  gpuModules: 'gpu-modules',
  init: 'init',
  rootfs: 'rootfs',
  initConfig: 'rootfs',
  initramfs: 'initramfs',
} as const;

type Made = keyof typeof MADE_BY;

/**
 * What an earlier step made, for the step that needs it: the order steps depend on is said here,
 * and a step run out of order fails with the names of both steps, not with `undefined`.
 */
export function need<K extends Made>(ctx: BuildContext, key: K): NonNullable<BuildContext[K]> {
  const v = ctx[key];
  if (v === undefined || v === null)
    throw new Error(`the ${ctx.current?.name ?? 'current'} step needs ${key}, which the ${MADE_BY[key]} step makes: that step has not run before it`);
  return v as NonNullable<BuildContext[K]>;
}
