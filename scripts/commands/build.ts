import { link, mkdir, rm, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '../lib/atomic.ts';
import { newContext, runSteps } from '../pipeline/runner.ts';
import { BUILD_STEPS } from '../pipeline/steps.ts';
import { resolveOptions, type CommonArgs } from '../pipeline/options.ts';
import { requireTools } from './doctor.ts';
import { lockCache } from '../pipeline/lock.ts';
import type { BuildContext } from '../pipeline/context.ts';
import { HOST_TOOLS, toolVersion } from '../doctor/tools.ts';
import { FORMATS } from '../images/formats.ts';

/** Put a cached file at its place in the output directory (a hard link when it can be). */
async function place(src: string, dest: string): Promise<void> {
  await writeAtomically(dest, async (tmp) => {
    await link(src, tmp).catch(() => copyFile(src, tmp));
  });
}

export async function writeOutputs(ctx: BuildContext): Promise<void> {
  const out = ctx.opts.outDir;
  await mkdir(out, { recursive: true });
  if (ctx.kernel) await place(ctx.kernel.bzImage, join(out, 'vmlinuz'));
  if (ctx.kernel) await place(ctx.kernel.vmlinux, join(out, 'vmlinux'));
  if (ctx.kernelConfig) await place(ctx.kernelConfig.configPath, join(out, 'kernel.config'));
  if (ctx.initramfs) await place(ctx.initramfs.file, join(out, 'initramfs.img'));
  if (ctx.rootfs) await place(ctx.rootfs.manifest, join(out, 'manifest.json'));
  for (const [fmt, file] of Object.entries(ctx.images)) await place(file, join(out, FORMATS[fmt as keyof typeof FORMATS].file));
  // An image not asked for this time must not linger from an earlier build.
  for (const [fmt, f] of Object.entries(FORMATS)) if (!(fmt in ctx.images)) await rm(join(out, f.file), { force: true });
  const tools: Record<string, string> = {};
  const names = ['make', 'gcc', 'ld', 'ccache', 'cmake', 'ninja', '/sbin/mke2fs', 'mksquashfs', 'xorriso', 'grub-mkrescue', 'qemu-system-x86_64'];
  const versions = await Promise.all(names.map(toolVersion));
  names.forEach((t, i) => {
    if (versions[i]) tools[t.replace(/^.*\//, '')] = versions[i]!;
  });
  tools.node = process.version;
  const record = {
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
    },
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
      },
    },
    formats: ctx.opts.formats,
    sourceDateEpoch: ctx.sourceDateEpoch,
    steps: ctx.steps,
    warnings: ctx.warnings,
    tools,
    hostToolsChecked: HOST_TOOLS.length,
  };
  await writeAtomically(join(out, 'build.json'), (tmp) => writeFile(tmp, JSON.stringify(record, null, 2) + '\n'));
}

export async function buildCommand(args: CommonArgs): Promise<number> {
  const opts = await resolveOptions(args);
  await requireTools('build');
  await mkdir(opts.cacheDir, { recursive: true });
  const unlock = await lockCache(opts.cacheDir, (m) => console.error(m));
  const ctx = newContext(opts);
  const t0 = performance.now();
  await runSteps(ctx, BUILD_STEPS);
  await writeOutputs(ctx);
  for (const w of ctx.warnings.filter((w) => w.startsWith('!!!'))) console.error(w);
  unlock();
  console.log(`build finished in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${opts.outDir}`);
  return 0;
}
