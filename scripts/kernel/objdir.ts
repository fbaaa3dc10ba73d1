import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../../common/exec.ts';
import { sha256, sha256File } from '../lib/hash.ts';
import { kbuildEnv, makeArgs, type MakeOptions } from './make.ts';
import { ccacheEnv, shownRemote, type Ccache } from '../lib/ccache.ts';
import type { KernelSource } from './source.ts';
import type { Logger } from '../lib/logger.ts';
import type { KernelVariant } from './variants.ts';

export interface ObjDirBuild {
  cacheDir: string;
  source: KernelSource;
  configPath: string;
  configSha256: string;
  jobs: number;
  /** ccache's local and remote storage; undefined: no ccache. */
  ccache?: Ccache;
  variants: readonly KernelVariant[];
  /** The module-signing key and certificate (one PEM): compiled in as the trusted key, used by modules_install to sign. */
  modulePem: string;
  log: Logger;
}

/** Where the kernel's configuration (CONFIG_MODULE_SIG_KEY) looks for the module-signing PEM, relative to the object tree. */
export const MODULE_KEY_PATH = 'certs/aios-module-signing.pem';

/** Put the build's module key where the configuration names it; unchanged bytes keep make's timestamps. */
async function placeModuleKey(objDir: string, pem: string): Promise<void> {
  const file = join(objDir, MODULE_KEY_PATH);
  if (existsSync(file) && (await readFile(file, 'utf8')) === pem) return;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, pem, { mode: 0o600 });
}

/**
 * One object tree per source and set of variants: make's own dependency tracking makes a config
 * change cheap, and switching kernel.debug or kernel.trace on and off does not rebuild either
 * tree from scratch.
 */
export function objDirOf(cacheDir: string, src: KernelSource, variants: readonly KernelVariant[]): string {
  const suffix = variants.map((v) => `-${v}`).join('');
  return join(cacheDir, 'build', `linux-${src.version}-${(src.sha256 || sha256(src.dir)).slice(0, 12)}${suffix}`);
}

/** What make builds: the debug variant also links the GDB helper scripts into the tree. */
export function kernelTargets(variants: readonly KernelVariant[]): string[] {
  return ['bzImage', 'modules', ...(variants.includes('debug') ? ['scripts_gdb'] : [])];
}

/** Whether the object tree was last built from this configuration (out-of-tree modules link against it). */
export async function objDirHolds(objDir: string, configSha256: string): Promise<boolean> {
  const cfg = join(objDir, '.config');
  return existsSync(join(objDir, 'Module.symvers')) && existsSync(cfg) && (await sha256File(cfg)) === configSha256;
}

/** make bzImage modules in the persistent object tree, for this configuration. */
export async function makeKernel(b: ObjDirBuild): Promise<{ m: MakeOptions; env: Record<string, string>; logFile: string }> {
  const objDir = objDirOf(b.cacheDir, b.source, b.variants);
  await mkdir(objDir, { recursive: true });
  const dotConfig = join(objDir, '.config');
  const same = existsSync(dotConfig) && (await sha256File(dotConfig)) === b.configSha256;
  if (!same) await copyFile(b.configPath, dotConfig);
  await placeModuleKey(objDir, b.modulePem);
  const m: MakeOptions = { srcDir: b.source.dir, objDir, jobs: b.jobs, ccache: b.ccache !== undefined };
  const env = kbuildEnv(ccacheEnv(b.ccache));
  const logFile = join(b.cacheDir, 'logs', 'kernel-build.log');
  await mkdir(join(b.cacheDir, 'logs'), { recursive: true });
  await rm(logFile, { force: true });
  const targets = kernelTargets(b.variants);
  b.log.info(
    `make -j${b.jobs} ${targets.join(' ')}${b.ccache ? ` (ccache${b.ccache.remote ? `, remote ${shownRemote(b.ccache.remote)}` : ''})` : ''}; full log: ${logFile}`,
  );
  let n = 0;
  await run('make', makeArgs(m, targets), { env, logFile, onLine: (l) => ++n % 20 === 0 && b.log.info(`[${n}] ${l.trim()}`) });
  return { m, env, logFile };
}
