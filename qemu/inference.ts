import { randomInt } from 'node:crypto';
import { request } from './http.ts';
import type { InferenceInfo } from '../common/boot-report.ts';

/** One generated token as the server reported it: its id, log-probability, and the best alternatives. */
export interface TokenProbs {
  id: number;
  logprob: number;
  top: { id: number; logprob: number }[];
}

/** Check 11's evidence: what the host got from a llama-server (the guest's, or the host's reference run). */
export interface InferenceProbe {
  /** Seconds from QEMU start until /health answered 200; undefined when it never did. */
  readySec?: number;
  answer?: string;
  /** Each generated token with its probabilities (n_probs), in order. */
  tokens?: TokenProbs[];
  /** The model the server says it serves (the final event's `model`). */
  model?: string;
  /** From sending the request to the first streamed token, as the host measured it. */
  ttftMs?: number;
  tokensPerSecond?: number;
  predicted?: number;
  error?: string;
  /** What aios-init's status endpoint said of the server afterwards (load time, failure reason). */
  initView?: InferenceInfo;
}

export interface InferenceTarget {
  /** A port on 127.0.0.1 (forwarded to the guest), or a unix socket (the host's reference server). */
  hostPort?: number;
  socketPath?: string;
  prompt: string;
  apiKey: string;
  maxTokens: number;
  readyTimeoutSec: number;
}

/** How many alternatives per token the server reports: the evidence a canned answer cannot make up. */
export const TOP_PROBS = 5;

/**
 * A prompt made up for this check: words drawn at random, so that no answer (or distribution over
 * tokens) recorded from an earlier check fits it. The reference run derives what it must give.
 */
export function checkPrompt(random: (n: number) => number = (n) => randomInt(n)): string {
  const words = [
    'rack',
    'server',
    'model',
    'answer',
    'blue',
    'seven',
    'quiet',
    'river',
    'engine',
    'paper',
    'north',
    'signal',
    'garden',
    'copper',
    'window',
    'orbit',
  ];
  const picked = Array.from({ length: 6 }, () => words[random(words.length)]!);
  return `${picked.join(' ')} ${random(1_000_000)}:`;
}

export function completionBody(prompt: string, maxTokens: number): Record<string, unknown> {
  // Greedy decoding, so that the answer is a function of the model and the prompt alone; n_probs
  // returns the model's own distribution (before sampling) for each token.
  return { prompt, n_predict: maxTokens, temperature: 0, top_k: 1, n_probs: TOP_PROBS, stream: true, cache_prompt: false };
}

interface StreamChunk {
  content?: string;
  stop?: boolean;
  model?: string;
  timings?: { predicted_n?: number; predicted_per_second?: number };
  completion_probabilities?: { id?: unknown; logprob?: unknown; top_logprobs?: { id?: unknown; logprob?: unknown }[] }[];
}

/**
 * Server-sent events of /completion, one JSON object per `data:` line. A line that is not JSON is
 * named in `bad` (the check fails on it), never thrown.
 */
export function parseSseLines(text: string): StreamChunk[] & { bad?: string } {
  // Only whole lines: a stream read half-way may end in the middle of one.
  const out: StreamChunk[] & { bad?: string } = [];
  for (const l of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
    if (!l.startsWith('data: ')) continue;
    const data = l.slice(6).trim();
    if (!data || data === '[DONE]') continue;
    try {
      const v = JSON.parse(data) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      out.push(v as StreamChunk);
    } catch {
      out.bad ??= `an event that is not a JSON object: ${JSON.stringify(data.slice(0, 120))}`;
    }
  }
  return out;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The tokens and their probabilities in the events, in order; undefined when any is missing or malformed. */
export function tokenProbs(chunks: readonly StreamChunk[]): TokenProbs[] | undefined {
  const out: TokenProbs[] = [];
  if (!chunks.some((c) => c.completion_probabilities !== undefined)) return undefined;
  for (const c of chunks) {
    if (c.completion_probabilities === undefined) continue;
    if (!Array.isArray(c.completion_probabilities)) return undefined;
    for (const p of c.completion_probabilities) {
      const id = num(p?.id);
      const logprob = num(p?.logprob);
      if (id === undefined || logprob === undefined || !Array.isArray(p.top_logprobs)) return undefined;
      const top = p.top_logprobs.map((t) => ({ id: num(t?.id), logprob: num(t?.logprob) }));
      if (top.some((t) => t.id === undefined || t.logprob === undefined)) return undefined;
      out.push({ id, logprob, top: top as { id: number; logprob: number }[] });
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait for /health, then ask for a completion and time it; never throws. */
export async function probeInference(t: InferenceTarget, qemuStart: number): Promise<InferenceProbe> {
  return askCompletion(t, await waitForHealth(t, qemuStart));
}

/** Poll /health until it answers 200 (readySec, from QEMU start) or readyTimeoutSec has passed; never throws. */
export async function waitForHealth(t: InferenceTarget, qemuStart: number): Promise<Pick<InferenceProbe, 'readySec' | 'error'>> {
  const deadline = performance.now() + t.readyTimeoutSec * 1000;
  let last = '';
  while (performance.now() < deadline) {
    try {
      const res = await request(`${baseUrl(t)}/health`, { headers: authHeaders(t), timeoutMs: 3000, socketPath: t.socketPath });
      if (res.status === 200) return { readySec: (performance.now() - qemuStart) / 1000 };
      last = `/health answered HTTP ${res.status}`;
    } catch (err) {
      last = `/health: ${(err as Error).message}`;
    }
    await sleep(250);
  }
  return { error: `llama-server never became ready within ${t.readyTimeoutSec} s (${last || 'no answer'})` };
}

const baseUrl = (t: InferenceTarget) => (t.socketPath ? 'http://localhost' : `http://127.0.0.1:${t.hostPort}`);

function authHeaders(t: InferenceTarget): Record<string, string> {
  return { 'Content-Type': 'application/json', ...(t.apiKey ? { Authorization: `Bearer ${t.apiKey}` } : {}) };
}

/** Ask for a completion once /health has answered (as `health` says) and time it; never throws. */
export async function askCompletion(t: InferenceTarget, health: Pick<InferenceProbe, 'readySec' | 'error'>): Promise<InferenceProbe> {
  const { readySec } = health;
  if (readySec === undefined) return { error: health.error ?? 'llama-server never became ready' };
  const base = baseUrl(t);
  const headers = authHeaders(t);
  const sent = performance.now();
  let ttftMs: number | undefined;
  let text = '';
  try {
    const res = await request(`${base}/completion`, {
      method: 'POST',
      headers,
      body: JSON.stringify(completionBody(t.prompt, t.maxTokens)),
      timeoutMs: 120_000,
      socketPath: t.socketPath,
      onData: (body) => {
        if (ttftMs === undefined && parseSseLines(body).some((c) => c.content)) ttftMs = performance.now() - sent;
      },
    });
    if (res.status !== 200) return { readySec, error: `/completion answered HTTP ${res.status}: ${res.body.slice(0, 300)}` };
    text = res.body;
  } catch (err) {
    return { readySec, error: `/completion: ${(err as Error).message}` };
  }
  const chunks = parseSseLines(text);
  if (chunks.bad) return { readySec, error: `/completion sent ${chunks.bad}` };
  const final = chunks.find((c) => c.stop && c.timings);
  const tokens = tokenProbs(chunks);
  return {
    readySec,
    answer: chunks.map((c) => (typeof c.content === 'string' ? c.content : '')).join(''),
    ...(tokens ? { tokens } : {}),
    ...(typeof final?.model === 'string' ? { model: final.model } : {}),
    ttftMs,
    tokensPerSecond: final?.timings?.predicted_per_second,
    predicted: final?.timings?.predicted_n,
  };
}
