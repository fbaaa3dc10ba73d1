import { readFile } from 'node:fs/promises';
import { need } from '../pipeline/context.ts';
import { newContext, runSteps } from '../pipeline/runner.ts';
import { CONFIG_STEPS } from '../pipeline/steps.ts';
import { resolveOptions, type CommonArgs } from '../pipeline/options.ts';
import { KernelConfigError } from '../steps/configure-kernel.ts';
import { mergeRequests, parseDotConfig, readFragment, valueOf } from '../kernel/fragments.ts';
import { formatReport } from '../kernel/report.ts';

/** `aios config`: the merged configuration and the dropped-symbol report, without building. */
export async function configCommand(args: CommonArgs & { full?: boolean }): Promise<number> {
  // Only the kernel's inputs: a missing hook or overlay is no reason to withhold the kernel's configuration.
  const opts = await resolveOptions(args, 'kernel');
  const ctx = newContext(opts);
  let failed = false;
  // Here a symbol that did not land is the answer, not a crash: it is printed once, below.
  const steps = CONFIG_STEPS.map((step) => ({
    ...step,
    run: async (c: typeof ctx) => {
      try {
        await step.run(c);
      } catch (err) {
        if (!(err instanceof KernelConfigError)) throw err;
        failed = true;
      }
    },
  }));
  await runSteps(ctx, steps);
  const kc = need(ctx, 'kernelConfig');
  const text = await readFile(kc.configPath, 'utf8');
  if (args.full) process.stdout.write(text);
  const config = parseDotConfig(text);
  const requests = mergeRequests(await Promise.all(opts.fragments.map(readFragment)));
  const on = [...config.values()];
  console.log(`Linux ${need(ctx, 'source').version} (${need(ctx, 'source').origin}); fragments in merge order:`);
  for (const f of opts.fragments) console.log(`  ${f}`);
  console.log(`final .config: ${on.filter((v) => v === 'y').length} built in, ${on.filter((v) => v === 'm').length} modules (${kc.configPath})`);
  console.log('');
  console.log('requested symbol                          asked  got');
  for (const r of requests.values()) {
    const got = valueOf(config, r.symbol);
    console.log(`${`CONFIG_${r.symbol}`.padEnd(42)}${r.value.padEnd(6)} ${got}${got === (r.value || 'n') ? '' : '   <-- differs'}`);
  }
  console.log('');
  console.log(formatReport(kc.problems, kc.requested));
  return failed ? 1 : 0;
}
