import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertInitJsonAccepted } from '../../../scripts/rootfs/services.ts';

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
