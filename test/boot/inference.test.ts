// Boot-tier tests of the inference runtime (tagged apart: they need the default build in OUT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aios, makeVariant, OUT, partitionOf, qemuProcesses, extended } from './helpers.ts';
import { freePort } from '../../qemu/runner.ts';
import { probeInference } from '../../qemu/inference.ts';
import { TINY_MODEL_ANSWER } from '../../scripts/runtime/tiny-model.ts';
import { ggufBytes } from '../unit/runtime/gguf-fixture.ts';

test('a model whose sha256 does not match fails the build before any image is written, naming it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aios-badmodel-'));
  const body = ggufBytes();
  const server = createServer((_req, res) => res.writeHead(200, { 'Content-Length': body.length }).end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/models/mine.gguf`;
    await writeFile(join(dir, 'aios.json'), JSON.stringify({ model: { source: url, sha256: 'f'.repeat(64) } }));
    const r = await aios(['build', '--config', join(dir, 'aios.json'), '--out', join(dir, 'out')]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /checksum mismatch for http:\/\/127\.0\.0\.1:\d+\/models\/mine\.gguf: expected sha256 f{64}/);
    assert.deepEqual(await readdir(join(dir, 'out')).catch(() => []), [], 'nothing was written');
    // A local file that is not a whole GGUF is refused the same way, naming the file and the fault.
    const cut = join(dir, 'cut.gguf');
    await writeFile(cut, ggufBytes({ truncateBy: 8 }));
    await writeFile(join(dir, 'aios.json'), JSON.stringify({ model: { source: cut } }));
    const t = await aios(['build', '--config', join(dir, 'aios.json'), '--out', join(dir, 'out')]);
    assert.equal(t.code, 1, t.out);
    assert.match(t.out, /cut\.gguf: not a usable GGUF model: truncated: tensor token_embd\.weight ends at byte/);
    assert.deepEqual(await readdir(join(dir, 'out')).catch(() => []), []);
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("the image's own llama-server and tiny model answer the fixed sentence to many prompts (on the host)", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aios-tiny-'));
  let pid: number | undefined;
  try {
    const part = join(dir, 'part.img');
    partitionOf(join(OUT, 'rootfs.img'), part);
    execFileSync('/sbin/debugfs', ['-R', `rdump /usr/lib/llama /var/lib/aios/models ${dir}`, part], { stdio: 'ignore' });
    const model = (await readdir(join(dir, 'models')))[0]!;
    const port = await freePort();
    const child = spawn(
      join(dir, 'llama', 'llama-server'),
      ['--model', join(dir, 'models', model), '--host', '127.0.0.1', '--port', String(port), '--ctx-size', '256'],
      { stdio: 'ignore' },
    );
    pid = child.pid;
    const prompts = [
      'Who is answering this request?',
      'Tell me a joke.',
      'What is 6 times 7?',
      'Bonjour',
      'Write a haiku about kernels',
      ' ', // (llama-server itself turns an empty prompt away)
      '42',
      'Summarize the spec:',
      'List three GPUs',
      'Why is the sky blue?',
      'def main():',
      '{"json": true}',
      'Ünïcödé?',
      'Once upon a time',
      '\n\n',
    ];
    for (const prompt of prompts) {
      const p = await probeInference({ hostPort: port, prompt, apiKey: '', maxTokens: 24, readyTimeoutSec: 30 }, performance.now());
      assert.equal(p.answer, TINY_MODEL_ANSWER, `prompt ${JSON.stringify(prompt)}: ${p.error ?? ''}`);
    }
  } finally {
    if (pid) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('an image whose llama-server is missing fails check 11 with the serial log, leaving no QEMU behind', extended, async () => {
  // Removed as a build would leave it out: the variant gets a new hash tree and root hash.
  const dir = await makeVariant({ remove: ['/usr/lib/llama/llama-server'], project: { check: { inferenceReadySeconds: 20 } } });
  try {
    const cfg = join(dir, 'aios.json');
    const r = await aios(['check', '--out', dir, '--path', 'direct', '--config', cfg, '--json', join(dir, 'check.json')]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /inference answers +FAIL +llama-server never became ready within 20 s/);
    assert.match(r.out, /aios-init says: \/usr\/lib\/llama\/llama-server: not found \(ENOENT\)/);
    assert.match(r.out, /last 50 serial lines/);
    const json = JSON.parse(await readFile(join(dir, 'check.json'), 'utf8')) as { results: { checks: { id: string; ok: boolean }[] }[] };
    assert.deepEqual(
      json.results[0]!.checks.filter((c) => !c.ok).map((c) => c.id),
      ['inference'],
      'only check 11 fails',
    );
    assert.deepEqual(await qemuProcesses(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
