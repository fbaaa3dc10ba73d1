import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '../lib/atomic.ts';
import { hashValue } from '../lib/hash.ts';
import type { BuildContext } from './context.ts';
import { resolveInputs, type InputDecl } from './inputs.ts';

/**
 * The output of a step for one input key, in `<cache>/steps/<step>/<key>`. It is produced in a
 * temporary directory and renamed into place with a completion mark, so an interrupted step
 * leaves nothing that a later run trusts. Returns whether the output was already there.
 */
export async function cachedOutput(
  cacheDir: string,
  step: string,
  inputs: unknown,
  produce: (dir: string, hash: string) => Promise<void>,
): Promise<{ dir: string; hit: boolean; key: string; producedSeconds?: number }> {
  const hash = hashValue(inputs);
  const key = hash.slice(0, 24);
  const dir = join(cacheDir, 'steps', step, key);
  const mark = join(dir, '.complete');
  if (existsSync(mark)) {
    const done = JSON.parse(await readFile(mark, 'utf8')) as { producedSeconds?: number };
    return { dir, hit: true, key, producedSeconds: done.producedSeconds };
  }
  const t0 = performance.now();
  let producedSeconds = 0;
  await writeAtomically(dir, async (tmp) => {
    await mkdir(tmp, { recursive: true });
    await produce(tmp, hash);
    producedSeconds = +((performance.now() - t0) / 1000).toFixed(1);
    // How long the output took to make stays with it, so a cached build can still report it.
    await writeFile(join(tmp, '.complete'), JSON.stringify({ inputs, producedSeconds }, null, 2));
  });
  return { dir, hit: false, key, producedSeconds };
}

/**
 * cachedOutput for the running step, keyed by its declared inputs, recording in build.json
 * whether it was a hit. `produce` gets the output directory and the key (a seed that is the same
 * wherever the same inputs are built).
 */
export async function cachedStep(ctx: BuildContext, declared: InputDecl, produce: (dir: string, key: string) => Promise<void>): Promise<string> {
  const name = ctx.current?.name ?? 'step';
  const r = await cachedOutput(ctx.opts.cacheDir, name, await resolveInputs(declared), produce);
  if (ctx.current) Object.assign(ctx.current, { cacheHit: r.hit, key: r.key, producedSeconds: r.producedSeconds });
  return r.dir;
}
