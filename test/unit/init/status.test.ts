import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { bearerMatcher, memoize, serveStatus, STATUS_LIMITS } from '../../../init/src/status-server.ts';
import { goodReport } from '../qemu/fixtures.ts';

function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    setTimeout(() => s.destroy(), 2000);
  });
}

test('the status endpoint answers the report, and 4xx for what it does not understand', async () => {
  let n = 0;
  const server = serveStatus(
    { port: 0, bind: '127.0.0.1' },
    () => ({ ...goodReport(), uptimeAtReady: ++n }),
    () => {},
  );
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const ok = await fetch(`http://127.0.0.1:${port}/status`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'application/json');
    const body = (await ok.json()) as { pid1: { comm: string }; uptimeAtReady: number };
    assert.equal(body.pid1.comm, 'aios-init');
    await new Promise((r) => setTimeout(r, STATUS_LIMITS.reportMaxAgeMs + 10));
    assert.equal(
      ((await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { uptimeAtReady: number }).uptimeAtReady,
      2,
      'kept current: built again once old',
    );
    assert.equal((await fetch(`http://127.0.0.1:${port}/etc/shadow`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${port}/status`, { method: 'POST', body: 'x' })).status, 405);
    assert.match(await raw(port, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/status`)).status, 200, 'still serving after a bad request');
  } finally {
    server.close();
  }
});

test('with a token, the status endpoint answers only a request that carries it', async () => {
  const server = serveStatus(
    { port: 0, bind: '127.0.0.1', token: 's3cret' },
    () => goodReport(),
    () => {},
  );
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  try {
    assert.equal((await fetch(`http://127.0.0.1:${port}/status`)).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${port}/status`, { headers: { Authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${port}/status`, { headers: { Authorization: 'Bearer s3cret' } })).status, 200);
    assert.equal(server.maxConnections, 8);
  } finally {
    server.close();
  }
});

test('a bearer token matches only whole, with the scheme, and never an empty header', () => {
  const bearerMatches = (h: string | undefined, token: string) => bearerMatcher(token)(h);
  assert.equal(bearerMatches('Bearer s3cret', 's3cret'), true);
  for (const h of [undefined, '', 's3cret', 'Bearer s3cre', 'Bearer s3cret ', 'Bearer s3cretX', 'bearer s3cret', 'Basic s3cret'])
    assert.equal(bearerMatches(h, 's3cret'), false, String(h));
});

test('the report is built at most once per reportMaxAgeMs, however many ask', () => {
  let now = 0;
  let built = 0;
  const get = memoize(
    () => ++built,
    250,
    () => now,
  );
  assert.equal(get(), 1);
  now = 249;
  assert.equal(get(), 1);
  now = 250;
  assert.equal(get(), 2);
});

test('a flood of concurrent requests: at most maxConnections are served at once, the report is built a few times, not per request', async () => {
  let built = 0;
  const server = serveStatus(
    { port: 0, bind: '127.0.0.1' },
    () => (built++, goodReport()),
    () => {},
  );
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  let open = 0;
  let most = 0;
  server.on('connection', (s) => {
    most = Math.max(most, ++open);
    s.on('close', () => open--);
  });
  try {
    const results = await Promise.all(Array.from({ length: 64 }, () => raw(port, 'GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')));
    const answered = results.filter((r) => r.startsWith('HTTP/1.1 200')).length;
    assert.ok(answered >= 1, 'some are answered');
    assert.ok(most <= STATUS_LIMITS.maxConnections, `${most} connections at once`);
    assert.ok(built <= 3, `report built ${built} times for ${answered} answers`);
    assert.equal((await fetch(`http://127.0.0.1:${port}/status`)).status, 200, 'still serving after the flood');
  } finally {
    server.close();
  }
});

test('eight idle or slow connections hold the endpoint for at most connectionMaxMs: an honest client is answered within 6 s', async () => {
  const server = serveStatus({ port: 0, bind: '127.0.0.1' }, goodReport, () => {});
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  const holders = Array.from({ length: STATUS_LIMITS.maxConnections }, (_, i) => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    // Half say nothing; half send a request whose headers never end, a line a second.
    const drip = i % 2 ? setInterval(() => s.write('X-Slow: 1\r\n'), 1000) : undefined;
    s.once('connect', () => drip && s.write('GET /status HTTP/1.1\r\nHost: x\r\n'));
    s.on('close', () => clearInterval(drip));
    return s;
  });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    let status = 0;
    while (status !== 200 && performance.now() - t0 < 10_000) {
      status = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    const waited = (performance.now() - t0) / 1000;
    assert.equal(status, 200);
    assert.ok(waited <= 6, `answered after ${waited.toFixed(1)} s`);
    assert.ok(waited >= 3, `the holders did hold it (${waited.toFixed(1)} s): the test must show the limit, not its absence`);
  } finally {
    for (const s of holders) s.destroy();
    server.close();
  }
});
