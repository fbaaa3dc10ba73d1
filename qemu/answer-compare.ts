import type { TokenProbs } from './inference.ts';

/**
 * How far two runs of the same model may differ: the guest and the host may pick different ggml
 * CPU variants (TCG's -cpu max against the host's CPU), whose float sums round differently, by far
 * less than this in log-probability.
 */
export const LOGPROB_TOLERANCE = 0.02;
/** Alternatives closer than this may swap places between two CPUs; a wider gap may not. */
const STABLE_GAP = 0.05;

/**
 * The guest's tokens against the host's reference run: the same tokens, each with the same
 * log-probability and the same best alternatives (as sets wherever the reference ranks them with
 * a clear gap). Where the two part on a near tie, the rest is not compared (the contexts differ).
 * Returns why they differ, or undefined when they agree.
 */
export function compareTokens(guest: readonly TokenProbs[], host: readonly TokenProbs[]): string | undefined {
  const n = Math.min(guest.length, host.length);
  for (let i = 0; i < n; i++) {
    const g = guest[i]!;
    const h = host[i]!;
    if (g.id !== h.id) {
      const alt = h.top.find((t) => t.id === g.id);
      if (alt && h.logprob - alt.logprob <= LOGPROB_TOLERANCE) return undefined;
      return `token ${i + 1}: the guest gave id ${g.id}, the image's model on the host gives id ${h.id}${alt ? ` (id ${g.id} is ${(h.logprob - alt.logprob).toFixed(3)} below it)` : ` (id ${g.id} is not among its ${h.top.length} best)`}`;
    }
    if (Math.abs(g.logprob - h.logprob) > LOGPROB_TOLERANCE)
      return `token ${i + 1} (id ${h.id}): log-probability ${g.logprob.toFixed(4)} from the guest, ${h.logprob.toFixed(4)} from the image's model on the host`;
    const why = compareTop(g.top, h.top);
    if (why) return `token ${i + 1} (id ${h.id}): ${why}`;
  }
  if (guest.length !== host.length) return `the guest gave ${guest.length} tokens, the image's model on the host ${host.length}`;
  return undefined;
}

function compareTop(g: TokenProbs['top'], h: TokenProbs['top']): string | undefined {
  if (g.length !== h.length) return `the guest sent ${g.length} alternatives, the host ${h.length}`;
  for (let k = 1; k <= h.length; k++) {
    // The first k alternatives are a set both runs must agree on when a clear gap follows them.
    const gap = k === h.length ? Infinity : h[k - 1]!.logprob - h[k]!.logprob;
    if (gap <= STABLE_GAP) continue;
    const want = new Set(h.slice(0, k).map((t) => t.id));
    const got = g.slice(0, k).map((t) => t.id);
    if (got.some((id) => !want.has(id))) return `best ${k} alternatives ${got.join(',')} from the guest, ${[...want].join(',')} from the host`;
  }
  for (const t of h) {
    const other = g.find((x) => x.id === t.id);
    if (other && Math.abs(other.logprob - t.logprob) > LOGPROB_TOLERANCE)
      return `alternative id ${t.id}: log-probability ${other.logprob.toFixed(4)} from the guest, ${t.logprob.toFixed(4)} from the host`;
  }
  return undefined;
}
