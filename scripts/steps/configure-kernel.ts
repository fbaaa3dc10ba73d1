import { copyFile, readFile, writeFile, rm, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { sha256 } from '../lib/hash.ts';
import { makeArgs, mergeConfigArgs, kbuildEnv, type MakeOptions } from '../kernel/make.ts';
import { mergeRequests, parseDotConfig, parseFragment } from '../kernel/fragments.ts';
import { readKconfigTree } from '../kernel/kconfig.ts';
import { checkRequests, formatReport, type Problem } from '../kernel/report.ts';

const STEP_VERSION = 1;

export class KernelConfigError extends Error {
  constructor(
    readonly problems: Problem[],
    requested: number,
  ) {
    super(`the kernel configuration does not hold what the fragments ask for\n${formatReport(problems, requested)}`);
  }
}

/** tinyconfig + merge_config.sh of every fragment + olddefconfig, then prove each symbol landed. */
export async function configureKernel(ctx: BuildContext): Promise<void> {
  const src = need(ctx, 'source');
  const fragments = await Promise.all(ctx.opts.fragments.map(async (f) => ({ name: f, text: await readFile(f, 'utf8') })));
  const requests = mergeRequests(fragments.map((f) => parseFragment(f.text, f.name)));
  const inputs = {
    version: STEP_VERSION,
    // pahole's version is a Kconfig symbol (PAHOLE_VERSION) that DEBUG_INFO_BTF depends on.
    tools: ['make', 'gcc', 'flex', 'bison', 'pahole'],
    values: { source: src.id, kernelVersion: src.version, fragments: fragments.map((f) => ({ name: basename(f.name), sha: sha256(f.text) })) },
  };
  const dir = await cachedStep(ctx, inputs, async (out) => {
    const scratch = join(out, 'obj');
    await mkdir(scratch);
    const m: MakeOptions = { srcDir: src.dir, objDir: scratch, jobs: 1, ccache: false };
    const env = kbuildEnv();
    ctx.log.info('make tinyconfig');
    await run('make', makeArgs(m, ['tinyconfig']), { env });
    ctx.log.info(`merge_config.sh ${fragments.map((f) => basename(f.name)).join(' ')}`);
    await run(join(src.dir, 'scripts/kconfig/merge_config.sh'), mergeConfigArgs(m, ctx.opts.fragments), {
      env,
      cwd: src.dir,
      stdoutFile: join(out, 'merge.log'),
    });
    await run('make', makeArgs(m, ['olddefconfig']), { env });
    await copyFile(join(scratch, '.config'), join(out, 'config'));
    await rm(scratch, { recursive: true, force: true });
    ctx.log.info('checking every requested symbol against the final .config');
    const config = parseDotConfig(await readFile(join(out, 'config'), 'utf8'));
    const problems = checkRequests(requests, config, readKconfigTree(src.dir));
    await writeFile(join(out, 'report.json'), JSON.stringify(problems, null, 2));
  });
  const configPath = join(dir, 'config');
  const text = await readFile(configPath, 'utf8');
  // The cache key hashes fragment contents, not paths: name the fragments of this run.
  const problems = (JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Problem[]).map((p) => ({
    ...p,
    request: requests.get(p.request.symbol) ?? p.request,
  }));
  ctx.kernelConfig = { dir, configPath, configSha256: sha256(text), problems, requested: requests.size };
  if (problems.length) throw new KernelConfigError(problems, requests.size);
  ctx.log.info(formatReport(problems, requests.size));
}
