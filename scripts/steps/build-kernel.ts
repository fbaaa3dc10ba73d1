import { ccacheOf } from '../lib/ccache.ts';
import { cp, copyFile, readFile, rm, stat, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cpus } from 'node:os';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { kbuildEnv, makeArgs, modulesInstallArgs } from '../kernel/make.ts';
import { makeKernel, objDirOf } from '../kernel/objdir.ts';
import { toolVersion } from '../host/tools.ts';
import { modulePem as modulePemOf } from '../keys/key-set.ts';
import { sha256 } from '../lib/hash.ts';

const STEP_VERSION = 2;

export class SizeBudgetError extends Error {}

/** make bzImage modules in a persistent object tree, then modules_install + depmod to staging. */
export async function buildKernel(ctx: BuildContext): Promise<void> {
  const src = need(ctx, 'source');
  const cfg = need(ctx, 'kernelConfig');
  const useCcache = ctx.opts.config.kernel.ccache && (await toolVersion('ccache')) !== undefined;
  const jobs = ctx.opts.jobs || cpus().length;
  const variants = ctx.opts.kernelVariants;
  const debug = variants.includes('debug');
  const keys = need(ctx, 'keys');
  const modulePem = await modulePemOf(keys);
  const inputs = {
    version: STEP_VERSION,
    tools: ['gcc', 'ld', 'make', 'openssl'],
    // The key's hash, not the key: a new module key is a new kernel (its certificate is compiled in).
    values: { source: src.id, config: cfg.configSha256, env: kbuildEnv(), moduleKey: sha256(modulePem) },
  };
  const dir = await cachedStep(ctx, inputs, async (out) => {
    const { m, env, logFile } = await makeKernel({
      cacheDir: ctx.opts.cacheDir,
      source: src,
      ...cfgOf(cfg),
      jobs,
      ccache: useCcache ? ccacheOf(ctx.opts.cacheDir, ctx.opts.config.cache.remote) : undefined,
      variants,
      modulePem,
      log: ctx.log,
    });
    const objDir = m.objDir;
    const staging = join(out, 'modules');
    await mkdir(staging);
    ctx.log.info('make modules_install');
    await run('make', modulesInstallArgs(m, staging), { env, logFile });
    const release = (await run('make', ['-s', ...makeArgs(m, ['kernelrelease'])], { env })).stdout.trim();
    for (const link of ['build', 'source']) await rm(join(staging, 'lib/modules', release, link), { force: true });
    await copyFile(join(objDir, 'arch/x86/boot/bzImage'), join(out, 'bzImage'));
    await copyFile(join(objDir, 'System.map'), join(out, 'System.map'));
    // The ELF kernel, for `aios run --gdb`: symbols always, DWARF only in a debug variant.
    await copyFile(join(objDir, 'vmlinux'), join(out, 'vmlinux'));
    await copyFile(join(objDir, '.config'), join(out, 'config'));
    await writeFile(join(out, 'release'), release);
    if (debug) await copyGdbScripts(objDir, join(out, GDB_DIR));
  });
  const release = (await readFile(join(dir, 'release'), 'utf8')).trim();
  const bzImage = join(dir, 'bzImage');
  const bytes = (await stat(bzImage)).size;
  const budget = ctx.opts.config.kernel.sizeBudgetMB * 1e6;
  ctx.log.info(`bzImage: ${(bytes / 1e6).toFixed(2)} MB (budget ${ctx.opts.config.kernel.sizeBudgetMB} MB), release ${release}`);
  if (bytes > budget)
    throw new SizeBudgetError(
      `bzImage is ${(bytes / 1e6).toFixed(2)} MB, over the ${ctx.opts.config.kernel.sizeBudgetMB} MB budget (kernel.sizeBudgetMB in aios.json)`,
    );
  const modulesDir = join(dir, 'modules', 'lib', 'modules', release);
  const gdbScripts = existsSync(join(dir, GDB_DIR, 'vmlinux-gdb.py')) ? join(dir, GDB_DIR) : undefined;
  ctx.kernel = {
    dir,
    objDir: objDirOf(ctx.opts.cacheDir, src, variants),
    bzImage,
    vmlinux: join(dir, 'vmlinux'),
    modulesDir,
    release,
    bzImageBytes: bytes,
    gdbScripts,
  };
  if (debug) ctx.log.info(`debug kernel: DWARF in ${ctx.kernel.vmlinux}; GDB scripts ${gdbScripts ?? 'missing (CONFIG_GDB_SCRIPTS did not land)'}`);
  ctx.log.info(`${await countModules(modulesDir)} modules staged`);
}

const GDB_DIR = 'gdb';

/**
 * vmlinux-gdb.py and the `linux` package beside it, as files: in the object tree they are links
 * into the source tree, and the generated constants.py exists only there.
 */
async function copyGdbScripts(objDir: string, dest: string): Promise<void> {
  if (!existsSync(join(objDir, 'vmlinux-gdb.py')))
    throw new Error(`${objDir}/vmlinux-gdb.py was not made: is CONFIG_GDB_SCRIPTS=y in the debug variant's .config?`);
  await mkdir(join(dest, 'scripts', 'gdb'), { recursive: true });
  await copyFile(join(objDir, 'vmlinux-gdb.py'), join(dest, 'vmlinux-gdb.py'));
  await cp(join(objDir, 'scripts', 'gdb', 'linux'), join(dest, 'scripts', 'gdb', 'linux'), {
    recursive: true,
    dereference: true,
    filter: (f) => !basename(f).startsWith('.'),
  });
}

const cfgOf = (c: NonNullable<BuildContext['kernelConfig']>) => ({ configPath: c.configPath, configSha256: c.configSha256 });

async function countModules(dir: string): Promise<number> {
  const dep = await readFile(join(dir, 'modules.dep'), 'utf8').catch(() => '');
  return dep.split('\n').filter(Boolean).length;
}
