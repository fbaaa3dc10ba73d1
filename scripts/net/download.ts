import { trace } from '../../common/exec.ts';
import { createWriteStream } from 'node:fs';
import { stat, rm, rename } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256File } from '../lib/hash.ts';

export interface DownloadOptions {
  /** Refuse (and delete) the file when its sha256 differs. */
  sha256?: string;
  onProgress?: (received: number, total: number | undefined) => void;
  /** Time allowed to get an answer from the server (not for the whole transfer). */
  connectTimeoutMs?: number;
  /** Time allowed without a byte arriving, once the transfer has begun (a stalled server). */
  stallTimeoutMs?: number;
  fetchImpl?: typeof fetch;
}

export class ChecksumError extends Error {
  constructor(
    readonly url: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`checksum mismatch for ${url}: expected sha256 ${expected}, got ${actual}; the file was deleted, not kept`);
  }
}

/**
 * Download `url` to `dest`, resuming a `dest.part` left by an earlier attempt with an HTTP Range
 * request. The file only appears at `dest` once complete and verified.
 */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<{ sha256: string; resumedFrom: number }> {
  trace(`fetch ${url}`);
  const part = `${dest}.part`;
  const have = await stat(part).then(
    (s) => s.size,
    () => 0,
  );
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`no answer from ${url} within ${opts.connectTimeoutMs ?? 15000} ms`)),
    opts.connectTimeoutMs ?? 15000,
  );
  let res: Response;
  try {
    res = await (opts.fetchImpl ?? fetch)(url, { headers: have ? { Range: `bytes=${have}-` } : {}, signal: controller.signal });
  } catch (err) {
    throw new Error(`cannot download ${url}: ${(err as Error).message}${(err as Error).cause ? ` (${String((err as { cause: unknown }).cause)})` : ''}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
  let resumedFrom = 0;
  if (res.status === 206 && have) resumedFrom = have;
  else if (res.status === 416 && have) {
    // The part is already whole: the server has nothing past its end.
    resumedFrom = have;
  } else if (!res.ok) {
    throw new Error(`cannot download ${url}: HTTP ${res.status} ${res.statusText}`);
  }
  if (res.status !== 416) {
    const length = Number(res.headers.get('content-length') ?? NaN);
    const total = Number.isFinite(length) ? length + resumedFrom : undefined;
    let received = resumedFrom;
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    const stallMs = opts.stallTimeoutMs ?? 30_000;
    let last = performance.now();
    const watch = setInterval(
      () => {
        if (performance.now() - last > stallMs)
          body.destroy(new Error(`the download of ${url} stalled: no data for ${stallMs / 1000} s (${received} bytes kept in ${part} for the next attempt)`));
      },
      Math.min(1000, stallMs / 4),
    );
    body.on('data', (c: Buffer) => {
      last = performance.now();
      received += c.length;
      opts.onProgress?.(received, total);
    });
    try {
      await pipeline(body, createWriteStream(part, { flags: resumedFrom ? 'a' : 'w' }));
    } finally {
      clearInterval(watch);
    }
  }
  const actual = await sha256File(part);
  if (opts.sha256 && actual !== opts.sha256.toLowerCase()) {
    await rm(part, { force: true });
    throw new ChecksumError(url, opts.sha256, actual);
  }
  await rename(part, dest);
  return { sha256: actual, resumedFrom };
}
