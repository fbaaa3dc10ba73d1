import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { judge } from '../../../qemu/judge.ts';
import { askCompletion, checkPrompt, completionBody, parseSseLines, probeInference, tokenProbs, waitForHealth } from '../../../qemu/inference.ts';
import { compareTokens } from '../../../qemu/answer-compare.ts';
import { qemuArgs } from '../../../qemu/cmdline.ts';
import { outcome } from './fixtures.ts';

const want = { expect: 'Hello from the aiOS appliance', model: 'aios-tiny' };
const check = (o: Parameters<typeof judge>[0]) => judge(o).find((c) => c.id === 'inference');

// Two tokens as the tiny model gives them: each almost certain, its alternatives far below.
const tok = (id: number, alts: [number, number][]) => ({
  id,
  logprob: -0.0004,
  top: [{ id, logprob: -0.0004 }, ...alts.map(([i, l]) => ({ id: i, logprob: l }))],
});
const REF_TOKENS = [
  tok(15496, [
    [3, -10.31],
    [90, -10.52],
    [17, -10.6],
  ]),
  tok(422, [
    [5, -9.9],
    [8, -10.2],
    [11, -10.21],
  ]),
];
const reference = { answer: 'Hello from', tokens: REF_TOKENS, model: 'aios-tiny.gguf' };
const guestOk = { readySec: 9.5, answer: 'Hello from', tokens: REF_TOKENS, model: 'aios-tiny.gguf', ttftMs: 420, tokensPerSecond: 11.5, predicted: 2 };
const wantHello = { expect: 'Hello from', model: 'aios-tiny' };

test("check 11 passes only on the reference run's tokens and probabilities, and fails on a wrong answer or no server", () => {
  const good = check(outcome({ inferenceExpect: wantHello, inference: guestOk, inferenceReference: reference }))!;
  assert.equal(good.ok, true, good.detail);
  assert.match(
    good.detail,
    /aios-tiny answered "Hello from", as the image's model on the host does \(2 tokens, probabilities within 0\.02\).*server ready 9\.5 s after QEMU start, first token 420 ms, 11\.5 tokens\/s \(2 tokens\)/,
  );
  // A canned responder: the right text, no probabilities.
  const canned = check(outcome({ inferenceExpect: wantHello, inference: { readySec: 1, answer: 'Hello from' }, inferenceReference: reference }))!;
  assert.equal(canned.ok, false);
  assert.match(canned.detail, /with no token probabilities/);
  // A replay with made-up alternatives: the same tokens, other runners-up.
  const forged = {
    ...guestOk,
    tokens: [
      REF_TOKENS[0]!,
      tok(422, [
        [6, -9.9],
        [8, -10.2],
        [11, -10.21],
      ]),
    ],
  };
  assert.match(
    check(outcome({ inferenceExpect: wantHello, inference: forged, inferenceReference: reference }))!.detail,
    /token 2 \(id 422\): best 2 alternatives 422,6 from the guest, 422,5 from the host/,
  );
  const otherModel = check(outcome({ inferenceExpect: wantHello, inference: { ...guestOk, model: 'other.gguf' }, inferenceReference: reference }))!;
  assert.match(otherModel.detail, /says it serves "other\.gguf", the image's "aios-tiny\.gguf"/);
  const noRef = check(outcome({ inferenceExpect: wantHello, inference: guestOk, inferenceReference: { error: 'debugfs: File not found' } }))!;
  assert.equal(noRef.ok, false);
  assert.match(noRef.detail, /no reference answer from the image's own server on the host: debugfs: File not found/);
  const none = check(
    outcome({
      inferenceExpect: want,
      inferenceReference: reference,
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
    check(outcome({ inferenceExpect: { expect: '', model: 'mine' }, inference: guestOk, inferenceReference: reference }))!.ok,
    true,
    'no expected text: the reference alone',
  );
  assert.equal(check(outcome({ inferenceExpect: want }))!.ok, false, 'no request sent');
  assert.equal(check(outcome()), undefined, 'an image without a model has no check 11');
});

test('the guest against the reference: a near tie may part them, a clear winner may not; probabilities within the tolerance', () => {
  assert.equal(compareTokens(REF_TOKENS, REF_TOKENS), undefined);
  const jitter = REF_TOKENS.map((t) => ({ ...t, logprob: t.logprob + 0.001, top: t.top.map((a) => ({ ...a, logprob: a.logprob - 0.001 })) }));
  assert.equal(compareTokens(jitter, REF_TOKENS), undefined, 'float noise of another CPU variant');
  assert.match(
    compareTokens([tok(3, [])], REF_TOKENS)!,
    /token 1: the guest gave id 3, the image's model on the host gives id 15496 \(id 3 is 10\.\d+ below it\)/,
  );
  assert.match(compareTokens([REF_TOKENS[0]!], REF_TOKENS)!, /the guest gave 1 tokens, the image's model on the host 2/);
  assert.match(
    compareTokens([{ ...REF_TOKENS[0]!, logprob: -0.3 }, REF_TOKENS[1]!], REF_TOKENS)!,
    /token 1 \(id 15496\): log-probability -0\.3000 from the guest/,
  );
  // A tie at the top: the guest took the runner-up, and the rest is not compared.
  const tie = [
    {
      id: 7,
      logprob: -0.69,
      top: [
        { id: 7, logprob: -0.69 },
        { id: 9, logprob: -0.7 },
      ],
    },
  ];
  assert.equal(
    compareTokens(
      [
        {
          id: 9,
          logprob: -0.7,
          top: [
            { id: 9, logprob: -0.7 },
            { id: 7, logprob: -0.69 },
          ],
        },
        tok(1, []),
      ],
      [...tie, tok(2, [])],
    ),
    undefined,
  );
  // Alternatives 2 and 3 within 0.01 of each other may swap; after a clear gap they may not.
  const swapped = [{ ...REF_TOKENS[1]!, top: [REF_TOKENS[1]!.top[0]!, REF_TOKENS[1]!.top[1]!, REF_TOKENS[1]!.top[3]!, REF_TOKENS[1]!.top[2]!] }];
  assert.equal(compareTokens([REF_TOKENS[0]!, ...swapped], REF_TOKENS), undefined);
});

test('the events: token probabilities read, a malformed event named, never thrown', () => {
  const sse =
    'data: {"content":"Hello","stop":false,"completion_probabilities":[{"id":15496,"token":"Hello","logprob":-0.0004,"top_logprobs":[{"id":15496,"logprob":-0.0004},{"id":3,"logprob":-10.3}]}]}\n\n' +
    'data: {"content":"","stop":true,"model":"aios-tiny.gguf","timings":{"predicted_n":1,"predicted_per_second":3}}\n\n';
  const chunks = parseSseLines(sse);
  assert.deepEqual(tokenProbs(chunks), [
    {
      id: 15496,
      logprob: -0.0004,
      top: [
        { id: 15496, logprob: -0.0004 },
        { id: 3, logprob: -10.3 },
      ],
    },
  ]);
  assert.equal(
    tokenProbs(parseSseLines('data: {"completion_probabilities":[{"id":"x","logprob":0,"top_logprobs":[]}]}\n')),
    undefined,
    'an id that is not a number',
  );
  assert.equal(tokenProbs(parseSseLines('data: {"completion_probabilities":{"id":1}}\n')), undefined, 'not a list');
  assert.equal(tokenProbs(parseSseLines('data: {"content":"Hello"}\n')), undefined, 'no probabilities at all');
  const bad = parseSseLines('data: {"content":"Hello"}\ndata: {oops\ndata: 42\n');
  assert.equal(bad.length, 1);
  assert.match(bad.bad!, /an event that is not a JSON object: "\{oops"/);
});

test('the prompt is made up per check from the random source', () => {
  let n = 0;
  const a = checkPrompt(() => n++ % 3);
  assert.equal(a, 'rack server model rack server model 0:');
  assert.notEqual(checkPrompt(), checkPrompt());
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
