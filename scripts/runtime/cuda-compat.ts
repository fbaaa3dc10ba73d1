import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The one edit the pinned llama.cpp needs to build its CUDA backend with Debian 12's CUDA 11.8.
 * It turns on programmatic dependent launch from CUDA 11.8 on, but the device half of it
 * (cudaGridDependencySynchronize, cudaTriggerProgrammaticLaunchCompletion) only exists from CUDA
 * 12.0: every kernel compiled for sm_90 fails with "identifier ... is undefined". Host and device
 * halves go together (a launch that allows overlap needs kernels that wait), so both are left
 * off below CUDA 12.0. Found by building for sm_90 here; CUDA 12 builds are unchanged.
 */
export const PDL_GATE = {
  file: 'ggml/src/ggml-cuda/common.cuh',
  from: '(CUDART_VERSION >= 12030 || (!(defined(_MSC_VER) && !defined(__clang__)) && CUDART_VERSION >= 11080))\n#    define GGML_CUDA_USE_PDL',
  to: '(CUDART_VERSION >= 12030 || (!(defined(_MSC_VER) && !defined(__clang__)) && CUDART_VERSION >= 12000))\n#    define GGML_CUDA_USE_PDL',
} as const;

/** Names the edit in source ids, so that a tree unpacked before it is not reused. */
export const CUDA_COMPAT_ID = 'pdl-cuda12';

/** common.cuh with the gate moved to CUDA 12.0; whether the gate was found (a newer tree may have fixed it). */
export function gatePdlOnCuda12(text: string): { text: string; changed: boolean } {
  if (!text.includes(PDL_GATE.from)) return { text, changed: false };
  return { text: text.replace(PDL_GATE.from, PDL_GATE.to), changed: true };
}

/** Applies the edit to a llama.cpp tree aiOS unpacked itself; returns whether it changed anything. */
export async function applyCudaCompat(tree: string): Promise<boolean> {
  const file = join(tree, PDL_GATE.file);
  if (!existsSync(file)) return false;
  const { text, changed } = gatePdlOnCuda12(await readFile(file, 'utf8'));
  if (changed) await writeFile(file, text);
  return changed;
}
