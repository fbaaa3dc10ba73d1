import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { download, ChecksumError } from '../../../scripts/net/download.ts';
import { scratchDir } from '../scratch.ts';

const payload = randomBytes(300_000);
const sha = createHash('sha256').update(payload).digest('hex');

/** A server on 127.0.0.1 that honours Range and can cut the first transfer short. */
async function serve(opts: { cutFirstAt?: number } = {}): Promise<{ server: Server; url: string; ranges: (string | undefined)[] }> {
  const ranges: (string | undefined)[] = [];
  let first = true;
  const server = createServer((req, res) => {
    ranges.push(req.headers.range);
    const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const body = payload.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'Content-Length': body.length,
      ...(m ? { 'Content-Range': `bytes ${start}-${payload.length - 1}/${payload.length}` } : {}),
    });
    if (first && opts.cutFirstAt) {
      first = false;
      res.write(body.subarray(0, opts.cutFirstAt), () => setTimeout(() => res.destroy(), 100));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/linux.tar.xz`, ranges };
}

test('a cut transfer resumes with a Range request and the file is whole', async () => {
  const { server, url, ranges } = await serve({ cutFirstAt: 100_000 });
  const dir = scratchDir('aios-dl-');
  const dest = join(dir, 'linux.tar.xz');
  try {
    await assert.rejects(download(url, dest, { sha256: sha }));
    assert.ok(existsSync(`${dest}.part`), 'the partial download is kept for resuming');
    assert.equal(existsSync(dest), false);
    const r = await download(url, dest, { sha256: sha });
    assert.ok(r.resumedFrom > 0);
    assert.match(ranges[1] ?? '', /^bytes=\d+-$/);
    assert.deepEqual(await readFile(dest), payload);
  } finally {
    server.close();
  }
});

test('a tarball whose checksum does not match is refused and not kept', async () => {
  const { server, url } = await serve();
  const dir = scratchDir('aios-dl-');
  const dest = join(dir, 'linux.tar.xz');
  try {
    await assert.rejects(download(url, dest, { sha256: '0'.repeat(64) }), (e) => e instanceof ChecksumError && /checksum mismatch/.test(e.message));
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(`${dest}.part`), false);
  } finally {
    server.close();
  }
});

test('a part already complete is verified without downloading again', async () => {
  const { server, url } = await serve();
  const dir = scratchDir('aios-dl-');
  const dest = join(dir, 'linux.tar.xz');
  await writeFile(`${dest}.part`, payload);
  try {
    server.removeAllListeners('request');
    server.on('request', (_req, res) => res.writeHead(416).end());
    const r = await download(url, dest, { sha256: sha });
    assert.equal(r.sha256, sha);
  } finally {
    server.close();
  }
});

test('a server that stalls mid-transfer is given up on, keeping the part for a resume', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Length': payload.length });
    res.write(payload.subarray(0, 1000)); // then nothing, with the connection open
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const dir = scratchDir('aios-dl-');
    const dest = join(dir, 'f.tar');
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/f.tar`;
    await assert.rejects(download(url, dest, { stallTimeoutMs: 400 }), /the download of http:.*f\.tar stalled: no data for 0\.4 s \(1000 bytes kept/);
    assert.equal(existsSync(dest), false);
    assert.equal((await readFile(`${dest}.part`)).length, 1000);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
