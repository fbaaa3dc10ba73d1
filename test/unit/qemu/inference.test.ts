import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { judge } from '../../../qemu/judge.ts';
import { askCompletion, completionBody, parseSseLines, probeInference, waitForHealth } from '../../../qemu/inference.ts';
import { qemuArgs } from '../../../qemu/cmdline.ts';
import { outcome } from './fixtures.ts';

const want = { expect: 'Hello from the aiOS appliance', model: 'aios-tiny' };
const check = (o: Parameters<typeof judge>[0]) => judge(o).find((c) => c.id === 'inference');

test('check 11 passes on the expected text from the host, and fails on a wrong answer or no server', () => {
  const good = check(
    outcome({ inferenceExpect: want, inference: { readySec: 9.5, answer: 'Hello from the aiOS appliance', ttftMs: 420, tokensPerSecond: 11.5, predicted: 7 } }),
  )!;
  assert.equal(good.ok, true);
  assert.match(
    good.detail,
    /aios-tiny answered "Hello from the aiOS appliance".*server ready 9\.5 s after QEMU start, first token 420 ms, 11\.5 tokens\/s \(7 tokens\)/,
  );
  assert.equal(check(outcome({ inferenceExpect: want, inference: { readySec: 9, answer: 'Hello' } }))!.ok, false);
  const none = check(
    outcome({
      inferenceExpect: want,
      inference: {
        error: 'llama-server never became ready within 90 s (/health: ECONNREFUSED)',
        initView: {
          service: 'inference',
          state: 'failed',
          reason: '/usr/lib/llama/llama-server: not found (ENOENT)',
          model: '',
          modelName: '',
          modelSha256: '',
          loadMs: null,
          healthUrl: '',
          restartsForHealth: 0,
        },
      },
    }),
  )!;
  assert.equal(none.ok, false);
  assert.match(none.detail, /never became ready.*aios-init says: \/usr\/lib\/llama\/llama-server: not found/);
  assert.equal(
    check(outcome({ inferenceExpect: { expect: '', model: 'mine' }, inference: { readySec: 1, answer: ' anything' } }))!.ok,
    true,
    'no expected text: any answer',
  );
  assert.equal(check(outcome({ inferenceExpect: want }))!.ok, false, 'no request sent');
  assert.equal(check(outcome()), undefined, 'an image without a model has no check 11');
});

test('the completion request is greedy and streamed; its events are parsed', () => {
  assert.deepEqual(completionBody('p', 8), { prompt: 'p', n_predict: 8, temperature: 0, top_k: 1, stream: true, cache_prompt: false });
  const sse =
    'data: {"content":"Hello","stop":false}\n\ndata: {"content":" from","stop":false}\n\ndata: {"content":"","stop":true,"timings":{"predicted_n":2,"predicted_per_second":4.5}}\n\n';
  const chunks = parseSseLines(sse);
  assert.equal(chunks.map((c) => c.content).join(''), 'Hello from');
  assert.equal(chunks[2]!.timings!.predicted_per_second, 4.5);
  assert.equal(parseSseLines('data: {"content":"Hello"}\n\ndata: {"conte').length, 1, 'a line cut short by the stream is left for later');
});

test('the forwarded port for llama-server sits beside the status port', () => {
  const a = qemuArgs({
    path: 'direct',
    kernel: 'k',
    initrd: 'i',
    disk: 'd',
    iso: 'x',
    cmdline: '',
    memoryMB: 512,
    cpus: 1,
    accel: 'tcg',
    hostPort: 5000,
    guestPort: 8080,
    forwards: [{ host: 5001, guest: 8081 }],
    interactive: false,
    extra: [],
  });
  assert.ok(a.includes('user,id=net0,hostfwd=tcp:127.0.0.1:5000-:8080,hostfwd=tcp:127.0.0.1:5001-:8081'));
});

test('the probe waits for /health, then times the first streamed token', async () => {
  let healthCalls = 0;
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.writeHead(++healthCalls < 3 ? 503 : 200).end('{}');
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('data: {"content":"Hello","stop":false}\n\n');
    setTimeout(() => res.end('data: {"content":" there","stop":true,"timings":{"predicted_n":2,"predicted_per_second":8}}\n\n'), 50);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const p = await probeInference({ hostPort: port, prompt: 'x', apiKey: '', maxTokens: 4, readyTimeoutSec: 10 }, performance.now());
    assert.equal(p.answer, 'Hello there');
    assert.equal(healthCalls, 3);
    assert.ok(p.ttftMs! >= 0 && p.ttftMs! < 1000);
    assert.equal(p.tokensPerSecond, 8);
    const none = await probeInference({ hostPort: 9, prompt: 'x', apiKey: '', maxTokens: 4, readyTimeoutSec: 0.5 }, performance.now());
    assert.match(none.error!, /never became ready within 0\.5 s/);
  } finally {
    server.close();
  }
});

test('readiness is when /health first answered 200, however much later the completion is asked', async () => {
  const start = performance.now();
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.writeHead(performance.now() - start < 300 ? 503 : 200).end('{}');
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.end('data: {"content":"Hi","stop":true,"timings":{"predicted_n":1,"predicted_per_second":5}}\n\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const t = { hostPort: (server.address() as { port: number }).port, prompt: 'x', apiKey: '', maxTokens: 4, readyTimeoutSec: 10 };
    const healthy = waitForHealth(t, start);
    await new Promise((r) => setTimeout(r, 1500));
    const p = await askCompletion(t, await healthy);
    assert.equal(p.answer, 'Hi');
    assert.ok(p.readySec! >= 0.3 && p.readySec! < 1.2, `ready at ${p.readySec} s, not when the completion was asked (1.5 s)`);
    assert.deepEqual(await askCompletion(t, { error: 'never' }), { error: 'never' });
  } finally {
    server.close();
  }
});
