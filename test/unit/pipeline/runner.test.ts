import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newContext, runSteps, stepGroups, stepView } from '../../../scripts/pipeline/runner.ts';
import { BUILD_STEPS } from '../../../scripts/pipeline/steps.ts';
import type { BuildContext, BuildOptions, Step } from '../../../scripts/pipeline/context.ts';

const step = (name: string, run: Step['run'] = async () => {}, concurrent?: true): Step => ({ name, title: name, run, ...(concurrent ? { concurrent } : {}) });

test('neighbours marked concurrent make one group; the disk and the ISO are the build’s', () => {
  const names = (g: Step[][]) => g.map((x) => x.map((s) => s.name));
  assert.deepEqual(names(stepGroups([step('a'), step('b', undefined, true), step('c', undefined, true), step('d'), step('e', undefined, true)])), [
    ['a'],
    ['b', 'c'],
    ['d'],
    ['e'],
  ]);
  assert.deepEqual(names(stepGroups(BUILD_STEPS)).at(-1), ['disk', 'iso']);
});

test('steps of a group run side by side, each with its own log and record; what they leave in the context is shared', async () => {
  const prev = process.env.CI;
  process.env.CI = '1';
  try {
    const ctx = newContext({} as BuildOptions);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const logs: string[] = [];
    const waits = async (c: BuildContext) => {
      c.log.info('waiting for the other');
      // Run one after the other, this would wait for ever: the other step lets it go.
      await Promise.race([released, new Promise((_, no) => setTimeout(() => no(new Error('the steps did not run side by side')), 5000))]);
      c.current!.cacheHit = true;
      c.images.disk = '/d';
      logs.push(`${c.current!.name}: ${c.current!.cacheHit}`);
    };
    const frees = async (c: BuildContext) => {
      release();
      c.images.iso = '/i';
      logs.push(`${c.current!.name}: ${c.current!.cacheHit}`);
    };
    await runSteps(ctx, [
      step('first'),
      step('disk', waits, true),
      step('iso', frees, true),
      step('last', async (c) => void logs.push(`last sees ${c.images.disk} ${c.images.iso}`)),
    ]);
    assert.deepEqual(logs, ['iso: false', 'disk: true', 'last sees /d /i']);
    assert.deepEqual(
      ctx.steps.map((s) => [s.name, s.cacheHit]),
      [
        ['first', false],
        ['iso', false],
        ['disk', true],
        ['last', false],
      ],
    );
  } finally {
    if (prev === undefined) delete process.env.CI;
    else process.env.CI = prev;
  }
});

test("a step's view keeps its own log and record: it cannot replace them for the others", () => {
  const ctx = newContext({} as BuildOptions);
  const rec = { name: 'disk', seconds: 0, cpuSeconds: 0, cacheHit: false };
  const view = stepView(ctx, ctx.log, rec);
  assert.equal(view.current, rec);
  assert.equal(ctx.current, undefined);
  assert.throws(() => {
    view.current = undefined;
  }, TypeError);
  view.sourceDateEpoch = 7;
  assert.equal(ctx.sourceDateEpoch, 7);
});

test("the driver's user space is built with the open modules unless gpu.nvidiaUserspace is false, never without them", () => {
  const step = BUILD_STEPS.find((s) => s.name === 'gpu-userspace')!;
  const modules = BUILD_STEPS.findIndex((s) => s.name === 'gpu-modules');
  assert.ok(BUILD_STEPS.indexOf(step) > modules, 'after the modules, whose driver version it matches');
  assert.ok(BUILD_STEPS.indexOf(step) < BUILD_STEPS.findIndex((s) => s.name === 'rootfs'));
  const ctxOf = (gpu: { nvidia: string; nvidiaUserspace: boolean }) => ({ opts: { config: { gpu } } }) as unknown as BuildContext;
  assert.equal(step.when!(ctxOf({ nvidia: 'open', nvidiaUserspace: true })), true);
  assert.equal(step.when!(ctxOf({ nvidia: 'open', nvidiaUserspace: false })), false);
  assert.equal(step.when!(ctxOf({ nvidia: 'none', nvidiaUserspace: true })), false);
});
