import type { Performance } from 'node:perf_hooks';
import { codeCacheState, type CodeCacheState } from './code-cache.ts';

/**
 * Milliseconds since Node started, for timing PID 1's own steps. Not performance.now(): the global
 * `performance` loads perf_hooks on first use, which cost aios-init some 30 ms of its start under
 * TCG. process.uptime() reads the same monotonic clock from Node's start (its nodeStart milestone).
 */
export const now = (): number => process.uptime() * 1000;

/**
 * A reading of now() on performance.now()'s scale (from the process's time origin, which the
 * startup milestones use too). Loads perf_hooks: call it once the machine is ready.
 */
export function onTimeOrigin(ms: number): number {
  return ms + nodePerformance().nodeTiming.nodeStart;
}

/**
 * Where Node's own start went, when aios-init's code had loaded (`loadedAt`, a now() reading), and
 * whether V8 took its code cache.
 */
export function startupFigures(loadedAt: number): { v8StartMs: number; nodeBootstrapMs: number; mainMs: number; codeCache: CodeCacheState } {
  const t = nodePerformance().nodeTiming;
  return {
    v8StartMs: Math.round(t.v8Start),
    nodeBootstrapMs: Math.round(t.bootstrapComplete),
    mainMs: Math.round(onTimeOrigin(loadedAt)),
    codeCache: codeCacheState(),
  };
}

/** The global `performance` is Node's own (a type-only import keeps perf_hooks out of the start). */
const nodePerformance = (): Performance => performance as unknown as Performance;
