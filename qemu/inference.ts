import { request } from './http.ts';
import type { InferenceInfo } from '../common/boot-report.ts';

/** Check 11's evidence: what the host got from the guest's llama-server through a forwarded port. */
export interface InferenceProbe {
  /** Seconds from QEMU start until /health answered 200; undefined when it never did. */
  readySec?: number;
  answer?: string;
  /** From sending the request to the first streamed token, as the host measured it. */
  ttftMs?: number;
  tokensPerSecond?: number;
  predicted?: number;
  error?: string;
  /** What aios-init's status endpoint said of the server afterwards (load time, failure reason). */
  initView?: InferenceInfo;
}

export interface InferenceTarget {
  hostPort: number;
  prompt: string;
  apiKey: string;
  maxTokens: number;
  readyTimeoutSec: number;
}

/** The prompt `aios check` sends; it ends in a token that is not part of the tiny model's sentence. */
export const CHECK_PROMPT = 'Who is answering this request?';

export function completionBody(prompt: string, maxTokens: number): Record<string, unknown> {
  // Greedy decoding, so that the answer is a function of the model and the prompt alone.
  return { prompt, n_predict: maxTokens, temperature: 0, top_k: 1, stream: true, cache_prompt: false };
}

interface StreamChunk {
  content?: string;
  stop?: boolean;
  timings?: { predicted_n?: number; predicted_per_second?: number };
}

/** Server-sent events of /completion, one JSON object per `data:` line. */
export function parseSseLines(text: string): StreamChunk[] {
  // Only whole lines: a stream read half-way may end in the middle of one.
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => l.slice(6).trim())
    .filter((l) => l && l !== '[DONE]')
    .map((l) => JSON.parse(l) as StreamChunk);
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
      const res = await request(`http://127.0.0.1:${t.hostPort}/health`, { headers: authHeaders(t), timeoutMs: 3000 });
      if (res.status === 200) return { readySec: (performance.now() - qemuStart) / 1000 };
      last = `/health answered HTTP ${res.status}`;
    } catch (err) {
      last = `/health: ${(err as Error).message}`;
    }
    await sleep(250);
  }
  return { error: `llama-server never became ready within ${t.readyTimeoutSec} s (${last || 'no answer'})` };
}

function authHeaders(t: InferenceTarget): Record<string, string> {
  return { 'Content-Type': 'application/json', ...(t.apiKey ? { Authorization: `Bearer ${t.apiKey}` } : {}) };
}

/** Ask for a completion once /health has answered (as `health` says) and time it; never throws. */
export async function askCompletion(t: InferenceTarget, health: Pick<InferenceProbe, 'readySec' | 'error'>): Promise<InferenceProbe> {
  const { readySec } = health;
  if (readySec === undefined) return { error: health.error ?? 'llama-server never became ready' };
  const base = `http://127.0.0.1:${t.hostPort}`;
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
  const final = chunks.find((c) => c.stop && c.timings);
  return {
    readySec,
    answer: chunks.map((c) => c.content ?? '').join(''),
    ttftMs,
    tokensPerSecond: final?.timings?.predicted_per_second,
    predicted: final?.timings?.predicted_n,
  };
}
