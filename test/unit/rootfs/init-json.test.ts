import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertInitJsonAccepted, namedServiceUsers, rootServices, withIoCost, withServiceUsers } from '../../../scripts/rootfs/init-json.ts';

const shipped = readFileSync(join(import.meta.dirname, '../../../rootfs/etc/aios/init.json'), 'utf8');
const withServices = (services: unknown[]) => JSON.stringify({ ...JSON.parse(shipped), services });

test("the image's init.json: aiOS's own is accepted as aios-init reads it", () => {
  assertInitJsonAccepted(shipped, '/etc/aios/init.json');
  assertInitJsonAccepted(withServices([{ name: 'inference', command: '/usr/lib/llama/llama-server' }]), '/etc/aios/init.json');
});

test("the image's init.json: what aios-init would drop at boot fails the build, naming each key", () => {
  const bad = JSON.stringify({
    ...JSON.parse(
      withServices([
        { name: 'ok', command: '/bin/sh' },
        { name: 'ok', command: '/bin/sh' },
        { name: 'x/y', command: 'run.sh' },
      ]),
    ),
    hostnme: 'typo',
  });
  assert.throws(
    () => assertInitJsonAccepted(bad, '/etc/aios/init.json'),
    (err: Error) => {
      for (const want of [
        '/etc/aios/init.json: hostnme: unknown key',
        '/etc/aios/init.json: services[1].name: "ok" names two services',
        '/etc/aios/init.json: services[2].name: "x/y" may hold only letters, digits, - and _',
        '/etc/aios/init.json: services[2].command: "run.sh" is not an absolute path',
      ])
        assert.ok(err.message.includes(want), `${want}\nnot in:\n${err.message}`);
      return /would be refused at boot/.test(err.message);
    },
  );
});

test("the image's init.json: aios.json's ioCost appended to init.json's, accepted as aios-init reads it; a disk in both is an error", () => {
  const base = { ...JSON.parse(shipped), ioCost: [{ disk: 'sda', model: 'rbps=16777216' }] };
  const merged = withIoCost(base, [{ disk: 'nvme0n1', model: 'rbps=3000000000', qos: 'rpct=95 rlat=5000' }], 'aios.json');
  assert.deepEqual(
    (merged.ioCost as { disk: string }[]).map((c) => c.disk),
    ['sda', 'nvme0n1'],
  );
  assertInitJsonAccepted(JSON.stringify(merged), '/etc/aios/init.json');
  assert.equal(withIoCost(base, [], 'aios.json'), base);
  assert.throws(() => withIoCost(base, [{ disk: 'sda' }], 'aios.json'), /aios\.json: ioCost: disk "sda" has an entry in both/);
});

test("the image's init.json is assembled in one place: base, the project's services and ioCost, the inference service, parsed", async () => {
  const { assembleInitJson } = await import('../../../scripts/rootfs/init-json.ts');
  const { parseConfig } = await import('../../../common/schema.ts');
  const { projectSpec } = await import('../../../scripts/project/config.ts');
  const project = parseConfig(projectSpec, { ioCost: [{ disk: 'sda', model: 'rbps=16777216' }] }, 'aios.json').value;
  const { text, config } = assembleInitJson({
    base: JSON.parse(shipped) as Record<string, unknown>,
    services: [{ name: 'greeter', command: '/bin/sh' } as { name: string }],
    ioCost: project.ioCost,
    runtime: project.runtime,
    model: { file: 'm.gguf', name: 'm', sha256: 'ab'.repeat(32) },
    serverOptions: new Set(['--model']),
    update: { ...project.update, url: 'http://10.0.2.2:8090' },
    configFile: 'aios.json',
    baseFile: 'rootfs/etc/aios/init.json',
  });
  assert.equal(config.update.url, 'http://10.0.2.2:8090', "aios.json's update settings reach init.json");
  assert.deepEqual(
    JSON.parse(text)
      .services.map((s: { name: string }) => s.name)
      .slice(-2),
    ['greeter', 'inference'],
  );
  assert.equal(config.inference.service, 'inference');
  assert.deepEqual(
    config.ioCost.map((c) => c.disk),
    ['sda'],
  );
});

test('init.json with a token or an API key is for root only; without, it stays readable', async () => {
  const { holdsSecrets } = await import('../../../scripts/rootfs/init-json.ts');
  assert.equal(holdsSecrets({ statusToken: '', services: [{ name: 'inference', args: ['--port', '8081'] }] }), false);
  assert.equal(holdsSecrets({ statusToken: 'abc' }), true);
  assert.equal(holdsSecrets({ services: [{ name: 'inference', args: ['--api-key', 'k'] }] }), true);
});

test('each service gets a user: its own, named after it, unless it names one; root only when asked for, and listed', () => {
  const j = withServiceUsers(
    { services: [{ name: 'web' }, { name: 'db', user: 'postgres' }, { name: 'agent', user: 'root' }, { name: 'app', user: '1000:1000' }] },
    'p/aios.json',
  );
  assert.deepEqual(
    (j.services as { user: string }[]).map((s) => s.user),
    ['web', 'postgres', 'root', '1000:1000'],
  );
  assert.throws(() => withServiceUsers({ services: [{ name: 'root', command: '/bin/sh' }] }, 'p/aios.json'), /p\/aios\.json: services: "root" names no user/);
  const config = assertInitJsonAccepted(JSON.stringify({ services: (j.services as object[]).map((s) => ({ ...s, command: '/bin/true' })) }), 'init.json');
  assert.deepEqual(rootServices(config), ['agent']);
  assert.deepEqual(namedServiceUsers(config), ['web', 'postgres']);
  assert.throws(
    () => assertInitJsonAccepted(JSON.stringify({ services: [{ name: 'a', command: '/x', user: 'Bad User' }] }), 'init.json'),
    /services\[0\]\.user: .*a user name/,
  );
});
