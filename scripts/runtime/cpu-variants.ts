import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * ggml's x86 CPU variants that aiOS does not build. Each is a whole copy of the CPU backend
 * (about a minute and a half of a cold two-core build); these serve no inference server: SSE4.2
 * alone (Nehalem, 2008), Sandy and Ivy Bridge (2011-2012), AMD's Piledriver (2012), Cannon Lake
 * (a laptop part sold in 2018). Such a CPU loads the `x64` variant, or the next one down that it
 * supports (a Cannon Lake loads `skylakex`): ggml picks the best module present at run time.
 */
export const CUT_CPU_VARIANTS = ['sse42', 'sandybridge', 'ivybridge', 'piledriver', 'cannonlake'] as const;

/** Names the cut in source ids and keys, so that a tree unpacked before the cut is not reused. */
export const VARIANT_CUT_ID = `cut-${CUT_CPU_VARIANTS.join('-')}`;

const VARIANT_CALL = /^(\s*)ggml_add_cpu_backend_variant\(\s*([\w.]+)\b.*$/;

/** ggml/src/CMakeLists.txt without the calls that add the cut variants; which were found. */
export function cutCpuVariants(cmakeText: string, cut: readonly string[] = CUT_CPU_VARIANTS): { text: string; removed: string[] } {
  const removed: string[] = [];
  const lines = cmakeText.split('\n').map((line) => {
    const m = VARIANT_CALL.exec(line);
    if (!m || !cut.includes(m[2]!)) return line;
    removed.push(m[2]!);
    // A comment in its place keeps line numbers (CMake's errors) and says why.
    return `${m[1]}# aiOS: variant ${m[2]} not built (scripts/runtime/cpu-variants.ts)`;
  });
  return { text: lines.join('\n'), removed };
}

/** Applies the cut to a llama.cpp tree aiOS unpacked itself; returns the variants removed. */
export async function cutTreeVariants(tree: string): Promise<string[]> {
  const file = join(tree, 'ggml', 'src', 'CMakeLists.txt');
  if (!existsSync(file)) return [];
  const { text, removed } = cutCpuVariants(await readFile(file, 'utf8'));
  if (removed.length) await writeFile(file, text);
  return removed;
}
