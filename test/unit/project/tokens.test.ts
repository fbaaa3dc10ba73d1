import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectTokens, TOKENS_FILE } from '../../../scripts/project/tokens.ts';
import { holdsSecrets, withTokens } from '../../../scripts/rootfs/init-json.ts';
import { withInference } from '../../../scripts/runtime/inference-service.ts';
import { loadProjectConfig } from '../../../scripts/project/config.ts';
import { scratchDir } from '../scratch.ts';

test("a project's tokens are made once (0600 in a 0700 .aios/), then read back; a broken file is refused, saying how to renew", async () => {
  const dir = scratchDir('aios-tokens-');
  const first = await projectTokens(dir);
  assert.equal(first.made, true);
  assert.match(first.tokens.status, /^[0-9a-f]{64}$/);
  assert.notEqual(first.tokens.status, first.tokens.inference);
  assert.equal(statSync(join(dir, TOKENS_FILE)).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, '.aios')).mode & 0o777, 0o700);
  const again = await projectTokens(dir);
  assert.deepEqual([again.made, again.tokens], [false, first.tokens], 'every build of the project gives the same image');
  writeFileSync(join(dir, TOKENS_FILE), '{"status": "short"}');
  await assert.rejects(projectTokens(dir), /tokens\.json: expected .*remove it, and the next build makes new tokens/);
  const other = scratchDir('aios-tokens-');
  mkdirSync(join(other, '.aios'));
  chmodSync(join(other, '.aios'), 0o700);
  symlinkSync('/etc/passwd', join(other, TOKENS_FILE));
  await assert.rejects(projectTokens(other), /is not a plain file/);
});

test('the tokens go where auth asks and the project set none: not to a loopback bind, not over its own; llama-server gets its key in its environment', async () => {
  const dir = scratchDir('aios-auth-');
  writeFileSync(join(dir, 'aios.json'), '{}');
  const config = await loadProjectConfig(join(dir, 'aios.json'));
  const tokens = { status: 's'.repeat(64), inference: 'i'.repeat(64) };
  const on = withTokens({ statusPort: 8080 }, config.runtime, config.auth, tokens);
  assert.equal(on.base.statusToken, tokens.status);
  assert.equal(on.runtime.apiKey, tokens.inference);
  const j = withInference(on.base, on.runtime, { file: 'm.gguf', name: 'm', sha256: 'x' }, 'init.json', new Set());
  const server = (j.services as { name: string; args: string[]; env?: Record<string, string> }[]).find((s) => s.name === 'inference')!;
  assert.deepEqual(server.env, { LLAMA_API_KEY: tokens.inference });
  assert.ok(!server.args.includes(tokens.inference), "not in its arguments: /proc/<pid>/cmdline is every user's");
  assert.ok(holdsSecrets(j), 'init.json holding them is made readable by root only');
  const loop = withTokens({ statusBind: '127.0.0.1' }, { ...config.runtime, bind: '127.0.0.1' }, config.auth, tokens);
  assert.deepEqual([loop.base.statusToken, loop.runtime.apiKey], [undefined, ''], 'loopback binds need none');
  const own = withTokens({ statusToken: 'mine' }, { ...config.runtime, apiKey: 'key' }, config.auth, tokens);
  assert.deepEqual([own.base.statusToken, own.runtime.apiKey], ['mine', 'key']);
  const none = withTokens({}, config.runtime, { status: 'none', inference: 'none' }, undefined);
  assert.deepEqual([none.base.statusToken, none.runtime.apiKey], [undefined, '']);
  assert.equal(
    withTokens({ statusPort: 0 }, config.runtime, { status: 'token', inference: 'none' }, undefined).base.statusToken,
    undefined,
    'no endpoint, no token',
  );
});
