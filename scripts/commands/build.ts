import { rememberToolVersions } from '../host/tools.ts';
import { rememberDigests } from '../lib/digest-memo.ts';
import { link, mkdir, readdir, rename, rm, writeFile, copyFile } from 'node:fs/promises';
import type { BuildJson } from '../../common/build-json.ts';
import { join } from 'node:path';
import { withTempDir } from '../lib/atomic.ts';
import { hookEnv, runHook } from '../project/hooks.ts';
import { rootServices, statusOf } from '../rootfs/init-json.ts';
import { newContext, runSteps } from '../pipeline/runner.ts';
import { BUILD_STEPS } from '../pipeline/steps.ts';
import { resolveOptions, type CommonArgs } from '../pipeline/options.ts';
import { requireTools } from './doctor.ts';
import { lockCache } from '../pipeline/lock.ts';
import type { BuildContext } from '../pipeline/context.ts';
import { HOST_TOOLS, toolVersion } from '../host/tools.ts';
import { FORMATS } from '../images/formats.ts';
import { UPDATE_FILES } from '../steps/write-disk.ts';

/**
 * Write the outputs into a staging directory beside out/ (hard links to the cache, or copies when
 * a finalize hook may change them), run the finalize hook there, then move each file into out/:
 * a failing hook or Ctrl-C leaves out/ as the last good build left it.
 */
export async function writeOutputs(ctx: BuildContext): Promise<void> {
  const final = ctx.opts.outDir;
  await mkdir(final, { recursive: true });
  const finalize = ctx.opts.config.hooks.finalize;
  await withTempDir(join(final, '.staging'), async (out) => {
    const place = (src: string, dest: string) => (finalize ? copyFile(src, dest) : link(src, dest).catch(() => copyFile(src, dest)));
    await stageOutputs(ctx, out, place);
    const env = hookEnv({ hook: 'finalize', out, project: ctx.opts.projectDir, epoch: ctx.sourceDateEpoch });
    await runHook('finalize', finalize, env, ctx.opts.projectDir, (m) => ctx.log.info(m));
    await writeBuildRecord(ctx, out);
    for (const f of await readdir(out)) await rename(join(out, f), join(final, f));
    // An image not asked for this time must not linger from an earlier build.
    for (const [fmt, f] of Object.entries(FORMATS)) if (!(fmt in ctx.images)) await rm(join(final, f.file), { force: true });
    if (!ctx.update) for (const f of UPDATE_FILES) await rm(join(final, f), { force: true });
  });
}

async function stageOutputs(ctx: BuildContext, out: string, place: (src: string, dest: string) => Promise<void>): Promise<void> {
  if (ctx.kernel) await place(ctx.kernel.bzImage, join(out, 'vmlinuz'));
  if (ctx.kernel) await place(ctx.kernel.vmlinux, join(out, 'vmlinux'));
  if (ctx.kernelConfig) await place(ctx.kernelConfig.configPath, join(out, 'kernel.config'));
  if (ctx.initramfs) await place(ctx.initramfs.file, join(out, 'initramfs.img'));
  if (ctx.rootfs) await place(ctx.rootfs.manifest, join(out, 'manifest.json'));
  for (const [fmt, file] of Object.entries(ctx.images)) await place(file, join(out, FORMATS[fmt as keyof typeof FORMATS].file));
  if (ctx.update) for (const f of UPDATE_FILES) await place(join(ctx.update.dir, f), join(out, f));
}

async function writeBuildRecord(ctx: BuildContext, out: string): Promise<void> {
  const tools: Record<string, string> = {};
  const names = ['make', 'gcc', 'ld', 'ccache', 'cmake', 'ninja', '/sbin/mke2fs', 'mksquashfs', 'xorriso', 'grub-mkrescue', 'qemu-system-x86_64'];
  const versions = await Promise.all(names.map(toolVersion));
  names.forEach((t, i) => {
    if (versions[i]) tools[t.replace(/^.*\//, '')] = versions[i]!;
  });
  tools.node = process.version;
  const record: BuildJson = {
    kernel: ctx.source && {
      version: ctx.source.version,
      requestedVersion: ctx.source.requestedVersion,
      fellBack: ctx.source.version !== ctx.source.requestedVersion,
      origin: ctx.source.origin,
      from: ctx.source.from,
      sha256: ctx.source.sha256,
      release: ctx.kernel?.release,
      bzImageBytes: ctx.kernel?.bzImageBytes,
      sizeBudgetBytes: ctx.opts.config.kernel.sizeBudgetMB * 1e6,
      debug: ctx.opts.config.kernel.debug,
      trace: ctx.opts.config.kernel.trace,
      gdbScripts: ctx.kernel?.gdbScripts,
    },
    init: ctx.init && { node: ctx.init.node, bytes: ctx.init.bytes },
    status: ctx.initConfig && statusOf(ctx.initConfig),
    rootServices: ctx.initConfig && rootServices(ctx.initConfig),
    inference: ctx.model && {
      port: ctx.opts.config.runtime.port,
      model: {
        name: ctx.model.name,
        file: ctx.model.file,
        sha256: ctx.model.sha256,
        bytes: ctx.model.bytes,
        architecture: ctx.model.architecture,
        from: ctx.model.from,
      },
      expect: ctx.model.expect,
      runtime: ctx.runtime && {
        commit: ctx.runtime.commit,
        from: ctx.runtime.from,
        files: ctx.runtime.files,
        hostLibraries: ctx.runtime.systemLibs,
        backends: ctx.opts.config.runtime.backends,
        driverLibraries: ctx.runtime.driverLibs,
        cuda: ctx.runtime.cuda,
      },
    },
    project: {
      dir: ctx.opts.projectDir,
      config: ctx.opts.configFile,
      packages: ctx.project?.packages ?? [],
      images: ctx.project?.images ?? [],
      overlay: ctx.opts.config.overlay,
      hooks: ctx.opts.config.hooks,
      // Debian's maintainer scripts are never run: what they would create (users, alternatives) is not in the image.
      maintainerScriptsRun: false,
    },
    gpu: {
      nvidia: ctx.opts.config.gpu.nvidia,
      modules: ctx.gpuModules?.record,
      userspace: ctx.gpuUserspace?.record,
    },
    verity: ctx.verity && { ...ctx.verity, onCorruption: ctx.opts.config.verity.onCorruption },
    secureBoot: ctx.keys && {
      keys: ctx.keys.name,
      test: ctx.keys.test,
      dbCertSha256: ctx.keys.certSha256.db,
      moduleCertSha256: ctx.keys.certSha256.module,
    },
    formats: ctx.opts.formats,
    sourceDateEpoch: ctx.sourceDateEpoch,
    steps: ctx.steps,
    warnings: ctx.warnings,
    tools,
    hostToolsChecked: HOST_TOOLS.length,
  };
  await writeFile(join(out, 'build.json'), JSON.stringify(record, null, 2) + '\n');
}

export async function buildCommand(args: CommonArgs): Promise<number> {
  const opts = await resolveOptions(args);
  await requireTools('build');
  await mkdir(opts.cacheDir, { recursive: true });
  const unlock = await lockCache(opts.cacheDir, (m) => console.error(m));
  await rememberToolVersions(join(opts.cacheDir, 'tool-versions.json'));
  await rememberDigests(join(opts.cacheDir, 'digests.json'));
  const ctx = newContext(opts);
  const t0 = performance.now();
  await runSteps(ctx, BUILD_STEPS);
  await writeOutputs(ctx);
  for (const w of ctx.warnings.filter((w) => w.startsWith('!!!'))) console.error(w);
  unlock();
  console.log(`build finished in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${opts.outDir}`);
  return 0;
}
