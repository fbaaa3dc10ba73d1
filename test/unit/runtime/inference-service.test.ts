import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../common/schema.ts';
import { projectSpec } from '../../../scripts/project/config.ts';
import { initSpec } from '../../../init/src/config.ts';
import { serverArgs, withInference } from '../../../scripts/runtime/inference-service.ts';

const model = { file: 'aios-tiny.gguf', name: 'aios-tiny', sha256: 'ab'.repeat(32) };
const noFit = new Set(['--model', '--ctx-size']);
const runtimeOf = (over: Record<string, unknown>) => parseConfig(projectSpec, { runtime: over }, 'aios.json').value.runtime;

test('init.json: the inference service is generated from aios.json runtime settings', () => {
  const rt = runtimeOf({ port: 9000, threads: 2, contextSize: 512, apiKey: 'k', extraArgs: ['--parallel', '2'], memoryMax: '512M', cpuset: '1' });
  const base = { hostname: 'box', services: [{ name: 'heartbeat', command: '/bin/sh', cpuWeight: 50 }] };
  const out = withInference(base, rt, model, 'rootfs/etc/aios/init.json', noFit);
  const { value, errors } = parseConfig(initSpec, out, 'init.json');
  assert.deepEqual(errors, [], 'the generated file is valid init.json');
  assert.equal(value.hostname, 'box');
  const svc = value.services.find((s) => s.name === 'inference')!;
  assert.equal(svc.command, '/usr/lib/llama/llama-server');
  assert.deepEqual(svc.args, [
    '--model',
    '/var/lib/aios/models/aios-tiny.gguf',
    '--host',
    '0.0.0.0',
    '--port',
    '9000',
    '--ctx-size',
    '512',
    '--threads',
    '2',
    '--parallel',
    '2',
  ]);
  assert.deepEqual(svc.env, { LLAMA_API_KEY: 'k' }, 'the key in its environment, which only its user reads');
  assert.equal(svc.restart, 'always');
  assert.equal(svc.cpuWeight, 1000);
  assert.equal(svc.memoryMax, '512M');
  assert.equal(svc.cpuset, '1');
  assert.deepEqual(value.inference, {
    service: 'inference',
    healthUrl: 'http://127.0.0.1:9000/health',
    model: '/var/lib/aios/models/aios-tiny.gguf',
    modelName: 'aios-tiny',
    modelSha256: 'ab'.repeat(32),
    unhealthyRestarts: 3,
  });
});

test('init.json: defaults leave threads to llama-server and send no API key', () => {
  assert.deepEqual(serverArgs(runtimeOf({}), '/m.gguf', noFit), ['--model', '/m.gguf', '--host', '0.0.0.0', '--port', '8081', '--ctx-size', '2048']);
});

test('init.json: --fit off when llama-server has it and no GPU backend can use it, unless the project sets --fit itself', () => {
  const withFit = new Set(['--model', '--ctx-size', '--fit', '-fit']);
  const tail = (over: Record<string, unknown>) => serverArgs(runtimeOf(over), '/m.gguf', withFit).slice(8);
  assert.deepEqual(tail({}), ['--fit', 'off']);
  assert.deepEqual(tail({ backends: ['cpu', 'vulkan'] }), []);
  assert.deepEqual(tail({ extraArgs: ['-fit', 'on'] }), ['-fit', 'on']);
  assert.deepEqual(tail({ extraArgs: ['--fit=on'] }), ['--fit=on']);
  assert.deepEqual(serverArgs(runtimeOf({}), '/m.gguf', noFit).slice(8), [], 'an older llama-server without --fit gets none');
});

test('init.json: a project service named "inference", or one that weighs as much, is refused', () => {
  const rt = runtimeOf({});
  assert.throws(
    () => withInference({ services: [{ name: 'inference', command: '/x' }] }, rt, model, 'p/init.json', noFit),
    /p\/init\.json: services: the name "inference" is reserved/,
  );
  assert.throws(
    () => withInference({ services: [{ name: 'batch', command: '/x', cpuWeight: 1000 }] }, rt, model, 'p/init.json', noFit),
    /services batch have a cpuWeight of at least runtime\.cpuWeight \(1000\)/,
  );
});

test("init.json: llama-server's port may not be the status endpoint's", () => {
  assert.throws(
    () => withInference({}, runtimeOf({ port: 8080 }), model, 'p/init.json', noFit),
    /p\/init\.json: statusPort 8080 is also aios\.json's runtime\.port/,
    "init.json's default status port",
  );
  assert.throws(() => withInference({ statusPort: 9000 }, runtimeOf({ port: 9000 }), model, 'p/init.json', noFit), /statusPort 9000/);
  assert.doesNotThrow(() => withInference({ statusPort: 0 }, runtimeOf({ port: 8080 }), model, 'p/init.json', noFit), 'no status endpoint');
  assert.doesNotThrow(() => withInference({ statusPort: 9000 }, runtimeOf({ port: 8080 }), model, 'p/init.json', noFit));
});

test('init.json: llama-server keeps no capability, but those its port and options need', () => {
  const caps = (over: Record<string, unknown>) => {
    const out = withInference({}, runtimeOf(over), model, 'p/init.json', noFit) as { services: { name: string; capabilities: string[] }[] };
    return out.services.find((s) => s.name === 'inference')!.capabilities;
  };
  assert.deepEqual(caps({}), []);
  assert.deepEqual(caps({ port: 80 }), ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(caps({ extraArgs: ['--mlock', '--prio', '2'] }), ['CAP_IPC_LOCK', 'CAP_SYS_NICE']);
  assert.deepEqual(caps({ extraArgs: ['--prio-batch=3'] }), ['CAP_SYS_NICE']);
});

test("init.json: the inference service's memory.low, nice value and io.weight come from aios.json's runtime", () => {
  const out = withInference({}, runtimeOf({ memoryLow: '3G', nice: -5, ioWeight: 400 }), model, 'p/init.json', noFit);
  const { value, errors } = parseConfig(initSpec, out, 'init.json');
  assert.deepEqual(errors, []);
  const svc = value.services.find((s) => s.name === 'inference')!;
  assert.equal(svc.memoryLow, '3G');
  assert.equal(svc.nice, -5);
  assert.equal(svc.ioWeight, 400);
});
