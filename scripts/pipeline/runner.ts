import { Listr, type ListrTask } from 'listr2';
import { cpuSecondsWithChildren } from '../lib/cputime.ts';
import type { BuildContext, BuildOptions, Logger, Step } from './context.ts';
import type { StepRecord } from '../../common/build-json.ts';

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

/**
 * The context as one step sees it: its own log and record, everything else the build's. Steps
 * that run together would otherwise write each other's progress and cache hits.
 */
export function stepView(ctx: BuildContext, log: Logger, current: StepRecord): BuildContext {
  return new Proxy(ctx, {
    get: (target, key, receiver) => (key === 'log' ? log : key === 'current' ? current : Reflect.get(target, key, receiver)),
    set: (target, key, value, receiver) => (key === 'log' || key === 'current' ? false : Reflect.set(target, key, value, receiver)),
  });
}

/** The steps in order, neighbours marked `concurrent` as one group each. */
export function stepGroups(steps: readonly Step[]): Step[][] {
  const groups: Step[][] = [];
  for (const s of steps) {
    const last = groups.at(-1);
    if (s.concurrent && last?.[0]?.concurrent) last.push(s);
    else groups.push([s]);
  }
  return groups;
}

/**
 * Run the steps in order with listr2 progress, neighbours marked `concurrent` side by side; each
 * step is timed and recorded for build.json (the CPU of steps run together counts for each).
 */
export async function runSteps(ctx: BuildContext, steps: readonly Step[]): Promise<void> {
  const interactive = Boolean(process.stdout.isTTY) && !process.env.CI;
  const taskOf = (step: Step): ListrTask => ({
    title: step.title,
    skip: () => (step.when && !step.when(ctx) ? 'not asked for' : false),
    task: async (_: unknown, task: { output: string; title: string }) => {
      const log: Logger = {
        info: (m: string) => {
          task.output = m;
        },
        warn: (m: string) => {
          ctx.warnings.push(m);
          task.output = `WARNING: ${m}`;
          if (!interactive) process.stderr.write(`WARNING: ${m}\n`);
        },
      };
      const rec: StepRecord = { name: step.name, seconds: 0, cpuSeconds: 0, cacheHit: false };
      const t0 = performance.now();
      const c0 = cpuSecondsWithChildren();
      try {
        await step.run(stepView(ctx, log, rec));
      } finally {
        rec.seconds = +((performance.now() - t0) / 1000).toFixed(3);
        rec.cpuSeconds = +(cpuSecondsWithChildren() - c0).toFixed(2);
        ctx.steps.push(rec);
      }
      task.title = `${step.title} (${rec.cacheHit ? 'cached, ' : ''}${rec.seconds.toFixed(1)} s)`;
    },
  });
  const options = {
    renderer: interactive ? 'default' : 'simple',
    rendererOptions: { collapseSubtasks: false, outputBar: 1, persistentOutput: false } as never,
    exitOnError: true,
    // Ours (lib/atomic.ts) removes half-written outputs first; listr2's would exit before it ran.
    registerSignalListeners: false,
  } as const;
  const tasks = new Listr(
    stepGroups(steps).map((group): ListrTask =>
      group.length === 1
        ? taskOf(group[0]!)
        : {
            title: group.map((s) => s.title).join(' + '),
            task: (_: unknown, task) => task.newListr(group.map(taskOf), { concurrent: true, exitOnError: true }),
          },
    ),
    options,
  );
  await tasks.run();
}
