import { Listr } from 'listr2';
import { cpuSecondsWithChildren } from '../lib/cputime.ts';
import type { BuildContext, BuildOptions, Step } from './context.ts';

export function newContext(opts: BuildOptions): BuildContext {
  return {
    opts,
    steps: [],
    warnings: [],
    images: {},
    sourceDateEpoch: opts.sourceDateEpoch ?? 0,
    log: { info: () => {}, warn: () => {} },
  };
}

/** Run the steps in order with listr2 progress; each step is timed and recorded for build.json. */
export async function runSteps(ctx: BuildContext, steps: readonly Step[]): Promise<void> {
  const interactive = Boolean(process.stdout.isTTY) && !process.env.CI;
  const tasks = new Listr(
    steps.map((step) => ({
      title: step.title,
      skip: () => (step.when && !step.when(ctx) ? 'not asked for' : false),
      task: async (_: unknown, task: { output: string; title: string }) => {
        ctx.log = {
          info: (m: string) => {
            task.output = m;
          },
          warn: (m: string) => {
            ctx.warnings.push(m);
            task.output = `WARNING: ${m}`;
            if (!interactive) process.stderr.write(`WARNING: ${m}\n`);
          },
        };
        const rec = { name: step.name, seconds: 0, cpuSeconds: 0, cacheHit: false };
        ctx.current = rec;
        const t0 = performance.now();
        const c0 = cpuSecondsWithChildren();
        try {
          await step.run(ctx);
        } finally {
          rec.seconds = +((performance.now() - t0) / 1000).toFixed(3);
          rec.cpuSeconds = +(cpuSecondsWithChildren() - c0).toFixed(2);
          ctx.steps.push(rec);
          ctx.current = undefined;
        }
        task.title = `${step.title} (${rec.cacheHit ? 'cached, ' : ''}${rec.seconds.toFixed(1)} s)`;
      },
    })),
    {
      renderer: interactive ? 'default' : 'simple',
      rendererOptions: { collapseSubtasks: false, outputBar: 1, persistentOutput: false } as never,
      exitOnError: true,
      // Ours (lib/atomic.ts) removes half-written outputs first; listr2's would exit before it ran.
      registerSignalListeners: false,
    },
  );
  await tasks.run();
}
