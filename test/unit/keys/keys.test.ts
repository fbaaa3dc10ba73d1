import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyCommands, makeKeySet } from '../../../scripts/keys/make-keys.ts';
import { missingKeyFiles, modulePem, resolveKeySet, SNAKEOIL } from '../../../scripts/keys/key-set.ts';
import { scratchDir } from '../scratch.ts';

test('each firmware key is signed by the one above it (PK by itself); the module key is for code signing', () => {
  const c = keyCommands('/k', 'Test', 'guid');
  const signs = c.filter((x) => x.cmd === 'sign-efi-sig-list').map((x) => [x.args[x.args.indexOf('-k') + 1], x.args.at(-3)]);
  assert.deepEqual(signs, [
    ['/k/PK.key', 'PK'],
    ['/k/PK.key', 'KEK'],
    ['/k/KEK.key', 'db'],
  ]);
  const req = (name: string) => c.find((x) => x.cmd === 'openssl' && x.args.includes(`/k/${name}.key`))!.args;
  for (const k of ['PK', 'KEK', 'db']) assert.ok(req(k).includes('rsa:2048'), `${k}: the size every firmware verifies`);
  assert.ok(req('module').includes('extendedKeyUsage=codeSigning'));
});

test('aios keys makes a whole key set with private keys 0600, never over an existing directory; a build takes it', async () => {
  const dir = join(scratchDir('aios-keys-'), 'set');
  await makeKeySet(dir, 'Unit', () => {});
  for (const f of ['PK.auth', 'KEK.auth', 'db.auth', 'db.esl', 'PK.cer', 'owner-guid', 'README']) await stat(join(dir, f));
  for (const k of ['PK', 'KEK', 'db', 'module']) assert.equal((await stat(join(dir, `${k}.key`))).mode & 0o777, 0o600);
  // db.auth is db.esl under an authentication header signed by KEK.
  const esl = await readFile(join(dir, 'db.esl'));
  assert.ok((await readFile(join(dir, 'db.auth'))).subarray(-esl.length).equals(esl));
  await assert.rejects(
    makeKeySet(dir, 'Unit', () => {}),
    /exists: aios keys never overwrites keys/,
  );
  const keys = await resolveKeySet(dir, scratchDir('aios-keys-cache-'));
  assert.equal(keys.test, false);
  assert.match(await modulePem(keys), /^-----BEGIN PRIVATE KEY-----[\s\S]*-----BEGIN CERTIFICATE-----[\s\S]*\n$/);
});

test('a directory that is not a key set is named with what it lacks; no keys named means the snakeoil test key, decrypted once', async () => {
  const dir = scratchDir('aios-keys-');
  await writeFile(join(dir, 'db.key'), '');
  assert.deepEqual(missingKeyFiles(dir), ['db.crt', 'module.key', 'module.crt']);
  await assert.rejects(resolveKeySet(dir, dir), /is not a key set: it has no db\.crt, module\.key, module\.crt\. Make one with `aios keys/);
  const cache = scratchDir('aios-keys-cache-');
  await mkdir(join(cache, 'x'));
  const k = await resolveKeySet(undefined, cache);
  assert.equal(k.test, true);
  assert.equal(k.dbCert, SNAKEOIL.cert);
  assert.equal((await stat(k.dbKey)).mode & 0o777, 0o600);
  // The decrypted key is the snakeoil certificate's.
  const pub = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });
  assert.equal(pub(['pkey', '-in', k.dbKey, '-pubout']), pub(['x509', '-in', SNAKEOIL.cert, '-noout', '-pubkey']));
});
