import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatEntries, listCache, usedStepKeys } from '../../../scripts/commands/clean.ts';
import { initCommand } from '../../../scripts/commands/new-project.ts';
import { loadProjectConfig } from '../../../scripts/project/config.ts';
import { checkHook, hookEnv, runHook } from '../../../scripts/project/hooks.ts';
import { withServices } from '../../../scripts/rootfs/init-json.ts';
import { scratchDir } from '../scratch.ts';

test('aios init writes a project that loads without an error, and never over an existing one', async () => {
  const dir = join(scratchDir('aios-init-'), 'my-appliance');
  const log = console.log;
  console.log = () => {};
  try {
    assert.equal(await initCommand({ dir }), 0);
  } finally {
    console.log = log;
  }
  for (const f of ['aios.json', 'kernel/project.config', 'overlay/etc/motd', 'README.md', '.gitignore']) assert.ok(existsSync(join(dir, f)), f);
  const c = await loadProjectConfig(join(dir, 'aios.json'));
  assert.deepEqual(c.overlay, ['overlay']);
  assert.equal(c.services[0]!.name, 'hello');
  await assert.rejects(initCommand({ dir }), /already holds aios\.json: nothing written/);
});

test('aios clean: step outputs marked by whether the last build used them, shared stores listed with sizes', async () => {
  const cache = scratchDir('aios-cache-');
  for (const d of ['steps/kernel/aaa', 'steps/kernel/bbb', 'steps/rootfs/ccc', 'build/linux-6.12', 'downloads'])
    await mkdir(join(cache, d), { recursive: true });
  await writeFile(join(cache, 'steps/kernel/bbb/bzImage'), Buffer.alloc(200_000));
  const used = usedStepKeys(JSON.stringify({ steps: [{ name: 'kernel', key: 'aaa' }, { name: 'rootfs', key: 'ccc' }, { name: 'fetch' }] }));
  assert.deepEqual([...used], ['kernel/aaa', 'rootfs/ccc']);
  const entries = await listCache(cache, used);
  assert.deepEqual(
    entries.map((e) => [e.rel, e.used]),
    [
      ['steps/kernel/aaa', true],
      ['steps/kernel/bbb', false],
      ['steps/rootfs/ccc', true],
      ['build/linux-6.12', undefined],
      ['downloads', undefined],
    ],
  );
  assert.ok(entries[1]!.bytes >= 200_000);
  assert.match(formatEntries(entries), /steps\/kernel\/bbb {2}\(not used by the last build\)/);
});

test('hooks: their environment, a script that cannot run, and a failure that names the hook', async () => {
  assert.deepEqual(hookEnv({ hook: 'finalize', out: '/o', project: '/p', epoch: 1700000000 }), {
    AIOS_HOOK: 'finalize',
    AIOS_OUT: '/o',
    AIOS_PROJECT: '/p',
    SOURCE_DATE_EPOCH: '1700000000',
  });
  const dir = scratchDir('aios-hook-');
  const script = join(dir, 'h.sh');
  await writeFile(script, '#!/bin/sh\necho "root=$AIOS_ROOT"\necho "$AIOS_HOOK" > "$AIOS_OUT/ran"\necho broken >&2\nexit 1\n');
  assert.throws(() => checkHook('postinst', script, '/p/aios.json'), /\/p\/aios\.json: hooks\.postinst: .*is not executable; `chmod \+x/);
  assert.throws(() => checkHook('postinst', join(dir, 'none.sh'), '/p/aios.json'), /does not exist/);
  await chmod(script, 0o755);
  checkHook('postinst', script, '/p/aios.json');
  const lines: string[] = [];
  const env = hookEnv({ hook: 'postinst', root: '/r', out: dir, project: dir, epoch: 1 });
  await assert.rejects(
    runHook('postinst', script, env, dir, (m) => lines.push(m)),
    /hooks\.postinst failed: [\s\S]*exited with code 1[\s\S]*broken/,
  );
  assert.equal(await readFile(join(dir, 'ran'), 'utf8'), 'postinst\n');
  assert.ok(lines.includes('[postinst] root=/r'), lines.join('\n'));
});

test("the project's services join init.json's; a name given twice is an error", () => {
  const base = { hostname: 'aios', services: [{ name: 'heartbeat' }] };
  assert.deepEqual(withServices(base, [{ name: 'hello' }], 'aios.json').services, [{ name: 'heartbeat' }, { name: 'hello' }]);
  assert.equal(withServices(base, [], 'aios.json'), base);
  assert.throws(() => withServices(base, [{ name: 'heartbeat' }], '/p/aios.json'), /\/p\/aios\.json: services: "heartbeat" is defined twice/);
});
