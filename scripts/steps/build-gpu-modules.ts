import { ccacheEnv, ccacheOf } from '../lib/ccache.ts';
import { mkdir, readFile, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { CommandError, run } from '../../common/exec.ts';
import { withScratchDir } from '../lib/atomic.ts';
import { openApt } from '../lib/apt.ts';
import { fetchDeb } from '../lib/debian.ts';
import { toolVersion } from '../host/tools.ts';
import { kbuildEnv } from '../kernel/make.ts';
import { makeKernel, objDirHolds } from '../kernel/objdir.ts';
import { modulePem } from '../keys/key-set.ts';
import { apiFailures, describeFailures } from '../gpu/build-failure.ts';
import { nvidiaInstallArgs, nvidiaModulesArgs, type NvidiaMake } from '../gpu/make.ts';
import { parseModinfo, vermagicMatches } from '../gpu/modinfo.ts';
import { NVIDIA_MODULES, NVIDIA_OPEN } from '../gpu/pins.ts';
import { driverVersionOf } from '../gpu/debian-versions.ts';
import { resolveNvidiaSource, unpackNvidiaSource } from '../gpu/source.ts';
import type { GpuModulesRecord } from '../../common/build-json.ts';

const STEP_VERSION = 2;

/** What build.json and the manifest say of the GPU modules. */
export class ModuleBuildError extends Error {}

/**
 * NVIDIA's open GPU kernel modules, built against this kernel's object tree with the compiler
 * that built it, installed under extra/, with the GSP firmware of the same driver version.
 */
export async function buildGpuModules(ctx: BuildContext): Promise<void> {
  const gpu = ctx.opts.config.gpu;
  const kernel = need(ctx, 'kernel');
  const info = (m: string) => ctx.log.info(m);
  const src = await resolveNvidiaSource(gpu.nvidiaSource, gpu.nvidiaSha256, ctx.opts.cacheDir, ctx.opts.configFile, info);
  const patches = join(ctx.opts.root, 'gpu-modules', 'nvidia');
  const useCcache = ctx.opts.config.kernel.ccache && (await toolVersion('ccache')) !== undefined;
  const inputs = {
    version: STEP_VERSION,
    after: { kernel: kernel.dir },
    trees: { patches },
    tools: ['gcc', 'ld', 'make', 'depmod'],
    values: { source: src.id, modules: NVIDIA_MODULES, firmwarePackage: NVIDIA_OPEN.firmwarePackage },
  };
  const dir = await cachedStep(ctx, inputs, async (out) => {
    const cfg = need(ctx, 'kernelConfig');
    const jobs = ctx.opts.jobs || cpus().length;
    if (!(await objDirHolds(kernel.objDir, cfg.configSha256))) {
      // Another configuration was built in the shared object tree since: bring it back (ccache makes this cheap).
      info(`the kernel object tree ${kernel.objDir} holds another configuration: rebuilding it for this one`);
      await makeKernel({
        cacheDir: ctx.opts.cacheDir,
        source: need(ctx, 'source'),
        configPath: cfg.configPath,
        configSha256: cfg.configSha256,
        jobs,
        ccache: useCcache ? ccacheOf(ctx.opts.cacheDir, ctx.opts.config.cache.remote) : undefined,
        variants: ctx.opts.kernelVariants,
        modulePem: await modulePem(need(ctx, 'keys')),
        log: ctx.log,
      });
    }
    // The same path on every run: the compiler lines name it, and ccache keys on them.
    await withScratchDir(join(ctx.opts.cacheDir, 'build', `nvidia-${src.id.slice(0, 12)}`), async (scratch) => {
      // NVIDIA's Makefile hands kbuild M=$(CURDIR), a real path; modules_install must name the
      // same path, or it installs under extra/<the path> when the cache is reached by a symlink.
      const work = await realpath(scratch);
      const tree = await unpackNvidiaSource(src, work);
      info(`NVIDIA open modules ${tree.driver} (${tree.layout} layout) from ${src.from}`);
      for (const p of (await readdir(patches).catch(() => [])).filter((f) => f.endsWith('.patch')).sort()) {
        info(`patch ${p}`);
        await run('patch', ['-p1', '--forward', '--batch', '-i', join(patches, p)], { cwd: tree.kbuildDir });
      }
      const m: NvidiaMake = {
        tree: tree.layout === 'repository' ? tree.tree : tree.kbuildDir,
        kernelSrc: need(ctx, 'source').dir,
        kernelObj: kernel.objDir,
        jobs,
        ccache: useCcache,
      };
      const env = kbuildEnv(ccacheEnv(useCcache ? ccacheOf(ctx.opts.cacheDir, ctx.opts.config.cache.remote) : undefined));
      const logFile = join(ctx.opts.cacheDir, 'logs', 'gpu-modules-build.log');
      await mkdir(join(ctx.opts.cacheDir, 'logs'), { recursive: true });
      await writeFile(logFile, '');
      info(`make modules (conftest, then kbuild) against ${kernel.release}; full log: ${logFile}`);
      let n = 0;
      try {
        await run('make', nvidiaModulesArgs(m), { env, logFile, onLine: (l) => / CC \[M\]/.test(l) && ++n % 25 === 0 && info(`[${n}] ${l.trim()}`) });
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        const failures = apiFailures(await readFile(logFile, 'utf8'), tree.kbuildDir);
        throw new ModuleBuildError(
          `NVIDIA open modules ${tree.driver} do not build against Linux ${kernel.release}; the kernel interfaces they failed on:\n${
            failures.length ? describeFailures(failures) : '  (no compiler error found; see the log)'
          }\nfull log: ${logFile}. Use a kernel these modules support, add a patch to gpu-modules/nvidia/, or set gpu.nvidia to "none".`,
          { cause: err },
        );
      }
      const kbuild = { ...m, tree: tree.kbuildDir };
      await run('make', nvidiaInstallArgs(kbuild, join(out, 'modules')), { env, logFile });
    });
    const record = await describeModules(out, kernel.release, src.from);
    const fw = await installFirmware(ctx, record.driver, out);
    const full: GpuModulesRecord = { ...record, firmwarePackage: `${fw.package} ${fw.version}`, firmware: fw.files };
    await writeFile(join(out, 'gpu-modules.json'), JSON.stringify(full, null, 2) + '\n');
  });
  const record = JSON.parse(await readFile(join(dir, 'gpu-modules.json'), 'utf8')) as GpuModulesRecord;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const modBytes = record.modules.reduce((a, x) => a + x.bytes, 0);
  const fwBytes = record.firmware.reduce((a, x) => a + x.bytes, 0);
  info(`NVIDIA ${record.driver}: ${record.modules.map((x) => x.name).join(', ')} (${mb(modBytes)} MB), GSP firmware ${mb(fwBytes)} MB`);
  ctx.gpuModules = { dir, modulesTree: join(dir, 'modules'), firmwareTree: join(dir, 'firmware'), record };
}

/** modinfo of each installed module; a vermagic other than this kernel's release stops the build. */
async function describeModules(out: string, release: string, from: string): Promise<Omit<GpuModulesRecord, 'firmware' | 'firmwarePackage'>> {
  const extra = join(out, 'modules', 'lib', 'modules', release, 'extra');
  const files = existsSync(extra) ? (await readdir(extra)).filter((f) => f.endsWith('.ko')).sort() : [];
  const want = NVIDIA_MODULES.map((n) => `${n}.ko`);
  const missing = want.filter((f) => !files.includes(f));
  if (missing.length) throw new ModuleBuildError(`the NVIDIA build installed no ${missing.join(', ')} in ${extra}`);
  const modules = [];
  for (const f of files) {
    const mi = parseModinfo((await run('modinfo', [join(extra, f)])).stdout);
    if (!vermagicMatches(mi.vermagic, release))
      throw new ModuleBuildError(`${f} has vermagic "${mi.vermagic}", which does not load into ${release}: it was not built against this kernel`);
    modules.push({
      path: `/lib/modules/${release}/extra/${f}`,
      name: mi.name,
      version: mi.version,
      vermagic: mi.vermagic,
      depends: mi.depends,
      bytes: (await stat(join(extra, f))).size,
    });
  }
  const driver = modules.find((x) => x.name === 'nvidia')!.version;
  return { driver, from, modules };
}

/** firmware-nvidia-gsp of exactly the driver's version, into firmware/lib/firmware/nvidia/<version>/. */
async function installFirmware(
  ctx: BuildContext,
  driver: string,
  out: string,
): Promise<{ package: string; version: string; files: { path: string; bytes: number }[] }> {
  const repo = await openApt(ctx.opts.cacheDir, (m) => ctx.log.info(m));
  const version = await matchingVersion(repo.options, NVIDIA_OPEN.firmwarePackage, driver);
  const deb = await fetchDeb(NVIDIA_OPEN.firmwarePackage, join(ctx.opts.cacheDir, 'downloads'), (m) => ctx.log.info(m), { repo, version });
  const unpacked = join(out, 'firmware-deb');
  await run('dpkg-deb', ['-x', deb.deb, unpacked]);
  const fwDir = join('lib', 'firmware', 'nvidia', driver);
  const dest = join(out, 'firmware', fwDir);
  await mkdir(join(out, 'firmware', 'lib', 'firmware', 'nvidia'), { recursive: true });
  await rename(join(unpacked, fwDir), dest);
  await rm(unpacked, { recursive: true, force: true });
  const files = [];
  for (const f of (await readdir(dest)).sort()) files.push({ path: `/${fwDir}/${f}`, bytes: (await stat(join(dest, f))).size });
  if (!files.length) throw new ModuleBuildError(`${deb.package} ${deb.version} holds no firmware in /${fwDir}`);
  return { package: deb.package, version: deb.version, files };
}

/** The Debian version of `pkg` whose upstream version is `upstream` (GSP firmware must match the driver exactly). */
async function matchingVersion(aptOptions: string[], pkg: string, upstream: string): Promise<string> {
  const { version, versions } = await driverVersionOf(aptOptions, pkg, upstream);
  if (!version)
    throw new ModuleBuildError(
      `Debian has no ${pkg} for driver ${upstream} (it has ${versions.join(', ') || 'none'}): the GSP firmware must be of the driver's own version`,
    );
  return version;
}
