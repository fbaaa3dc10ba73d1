import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInitConfig } from '../../../common/init-spec.ts';
import { referenceArgs, referenceEnv, referenceReadySeconds, sandboxed, servedFiles } from '../../../qemu/reference.ts';

const args = ['--model', '/var/lib/aios/models/aios-tiny.gguf', '--host', '0.0.0.0', '--port', '8081', '--ctx-size', '256', '--fit', 'off'];

test("the reference run takes the image's server and model from its init.json", () => {
  const { config } = parseInitConfig(
    JSON.stringify({ services: [{ name: 'inference', command: '/usr/lib/llama/llama-server', args }], inference: { service: 'inference' } }),
    'init.json',
  );
  assert.deepEqual(servedFiles(config), { server: '/usr/lib/llama/llama-server', model: '/var/lib/aios/models/aios-tiny.gguf', args });
  const none = parseInitConfig(JSON.stringify({ services: [], inference: { service: 'inference' } }), 'init.json').config;
  assert.match((servedFiles(none) as { error: string }).error, /no service "inference"/);
  const relative = parseInitConfig(
    JSON.stringify({
      services: [{ name: 'inference', command: '/usr/lib/llama/llama-server', args: ['--model', 'm.gguf'] }],
      inference: { service: 'inference' },
    }),
    'init.json',
  ).config;
  assert.match((servedFiles(relative) as { error: string }).error, /no absolute --model/);
  // The image is hostile: its paths become host paths below the scratch copy and debugfs words.
  for (const [command, model] of [
    ['/usr/lib/llama/llama-server', '/../../../root/.bashrc'],
    ['/usr/lib/llama/llama-server', '/var/lib/aios/models/a b.gguf'],
    ['/usr/lib/llama/llama-server', '/var/lib/aios/models/"x'],
    ['/usr/lib/../../etc/llama-server', '/m.gguf'],
    ['/usr/lib/llama/llama-server', '/var/./m.gguf'],
  ]) {
    const hostile = parseInitConfig(
      JSON.stringify({ services: [{ name: 'inference', command, args: ['--model', model] }], inference: { service: 'inference' } }),
      'init.json',
    ).config;
    assert.match((servedFiles(hostile) as { error?: string }).error ?? '', /is not a plain absolute path/, `${command} ${model}`);
  }
});

test('the reference run: the copied model, a unix socket for the address, no port, the rest as the image has it', () => {
  assert.deepEqual(referenceArgs(args, '/tmp/r/tree/m.gguf', '/tmp/r/sock/llama.sock'), [
    '--model',
    '/tmp/r/tree/m.gguf',
    '--host',
    '/tmp/r/sock/llama.sock',
    '--ctx-size',
    '256',
    '--fit',
    'off',
  ]);
  assert.deepEqual(referenceArgs(['-m', 'x', '--threads', '2'], 'm', 's'), ['-m', 'm', '--threads', '2', '--host', 's'], 'no --host: the socket is added');
});

test("the image's program runs with no network, and as nobody with no capabilities when aios is root", () => {
  assert.deepEqual(sandboxed(['/x/llama-server', '-m', 'm'], true), [
    'unshare',
    '--net',
    '--',
    'setpriv',
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--',
    '/x/llama-server',
    '-m',
    'm',
  ]);
  assert.deepEqual(sandboxed(['/x/s'], false), ['unshare', '--map-root-user', '--net', '--', '/x/s']);
});

test("the host's copy may take seconds plus a little per GiB of model to be ready, not a fixed minute", () => {
  assert.equal(referenceReadySeconds(5_000_000), 16);
  assert.equal(referenceReadySeconds(4 * 2 ** 30), 35);
  assert.equal(referenceReadySeconds(40 * 2 ** 30), 215);
});

test("the reference server sees no GPU, as the guest in QEMU has none: the CUDA image's would offload on a GPU host and answer with other probabilities", () => {
  const env = referenceEnv('k');
  assert.equal(env.CUDA_VISIBLE_DEVICES, '');
  assert.equal(env.GGML_VK_VISIBLE_DEVICES, '');
  assert.equal(env.LLAMA_API_KEY, 'k');
  assert.deepEqual(Object.keys(env).sort(), ['CUDA_VISIBLE_DEVICES', 'GGML_VK_VISIBLE_DEVICES', 'LLAMA_API_KEY', 'PATH'], 'nothing of the host environment');
});
