import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { applyLayers, checkSavedImage, imageUser, readSavedImage, serviceFromImage, whiteouts } from '../../../scripts/project/container.ts';
import { scratchDir } from '../scratch.ts';

/** A `docker save` tarball (legacy layout) of two layers: the second deletes and replaces files of the first. */
async function savedImage(dir: string): Promise<{ file: string; configSha: string }> {
  const src = join(dir, 'src');
  const l1 = join(src, 'l1');
  const l2 = join(src, 'l2');
  for (const d of [join(l1, 'bin'), join(l1, 'etc'), join(l1, 'data'), join(l2, 'etc'), join(l2, 'data')]) await mkdir(d, { recursive: true });
  await writeFile(join(l1, 'bin', 'hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  await writeFile(join(l1, 'etc', 'old.conf'), 'old');
  await writeFile(join(l1, 'data', 'a'), 'a');
  await writeFile(join(l2, 'etc', '.wh.old.conf'), '');
  await writeFile(join(l2, 'etc', 'new.conf'), 'new');
  await writeFile(join(l2, 'data', '.wh..wh..opq'), '');
  await writeFile(join(l2, 'data', 'b'), 'b');
  const save = join(dir, 'save');
  await mkdir(join(save, 'aa'), { recursive: true });
  await mkdir(join(save, 'bb'), { recursive: true });
  await tar.c({ file: join(save, 'aa', 'layer.tar'), cwd: l1 }, ['bin', 'etc', 'data']);
  await tar.c({ file: join(save, 'bb', 'layer.tar'), cwd: l2 }, ['etc', 'data']);
  const config = JSON.stringify({ config: { Entrypoint: ['/bin/hello'], Cmd: ['--loud'], Env: ['PATH=/bin', 'GREETING=a=b'], WorkingDir: '/data' } });
  const configSha = createHash('sha256').update(config).digest('hex');
  await writeFile(join(save, `${configSha}.json`), config);
  await writeFile(
    join(save, 'manifest.json'),
    JSON.stringify([{ Config: `${configSha}.json`, RepoTags: ['hello:1'], Layers: ['aa/layer.tar', 'bb/layer.tar'] }]),
  );
  const file = join(dir, 'hello.tar');
  await tar.c({ file, cwd: save }, ['manifest.json', `${configSha}.json`, 'aa', 'bb']);
  return { file, configSha };
}

test('a docker save tarball: its ID, tags and config; layers applied bottom first with whiteouts and opaque directories', async () => {
  const dir = scratchDir('aios-img-');
  const { file, configSha } = await savedImage(dir);
  const img = await readSavedImage(file, join(dir, 'unpacked'), 'images[0]');
  assert.equal(img.id, `sha256:${configSha}`);
  assert.deepEqual(img.tags, ['hello:1']);
  assert.deepEqual(img.config.Entrypoint, ['/bin/hello']);
  const root = join(dir, 'root');
  await mkdir(join(root, 'data'), { recursive: true });
  await writeFile(join(root, 'data', 'from-below'), 'x');
  await applyLayers(img.layers, root, { prefix: '/', where: 'images[0]', scratch: join(dir, 'scratch') });
  assert.equal(await readFile(join(root, 'bin', 'hello'), 'utf8'), '#!/bin/sh\necho hello\n');
  assert.equal(existsSync(join(root, 'etc', 'old.conf')), false, 'whiteout removed it');
  assert.equal(existsSync(join(root, 'etc', '.wh.old.conf')), false, 'whiteouts are not files of the image');
  assert.equal(await readFile(join(root, 'etc', 'new.conf'), 'utf8'), 'new');
  assert.equal(existsSync(join(root, 'data', 'a')), false, 'opaque directory hides the lower layer');
  assert.equal(existsSync(join(root, 'data', 'from-below')), false);
  assert.equal(await readFile(join(root, 'data', 'b'), 'utf8'), 'b');
});

test('a corrupt or foreign tarball is an error naming the input', async () => {
  const dir = scratchDir('aios-img-');
  const { file } = await savedImage(dir);
  const bytes = await readFile(file);
  await writeFile(join(dir, 'truncated.tar'), bytes.subarray(0, 3000));
  await assert.rejects(
    readSavedImage(join(dir, 'truncated.tar'), join(dir, 'u1'), 'images[1]'),
    /images\[1\]: .*(not a readable tar archive|incomplete|no manifest)/,
  );
  await writeFile(join(dir, 'garbage.tar'), 'this is not a tarball at all'.repeat(40));
  await assert.rejects(readSavedImage(join(dir, 'garbage.tar'), join(dir, 'u2'), 'images[2]'), /images\[2\]: .*(not a readable tar archive|no manifest\.json)/);
  await tar.c({ file: join(dir, 'other.tar'), cwd: join(dir, 'src') }, ['l1']);
  await assert.rejects(readSavedImage(join(dir, 'other.tar'), join(dir, 'u3'), 'images[3]'), /has no manifest\.json: it is not a `docker save` tarball/);
  // The same, found before the build by listing alone.
  await checkSavedImage(file, 'images[0]');
  await assert.rejects(checkSavedImage(join(dir, 'garbage.tar'), 'images[2]'), /images\[2\]: .*(not a readable tar archive|no manifest\.json)/);
  await assert.rejects(checkSavedImage(join(dir, 'other.tar'), 'images[3]'), /has no manifest\.json/);
});

test('whiteout names', () => {
  assert.deepEqual(whiteouts(['etc/.wh.passwd', './var/cache/.wh..wh..opq', 'usr/bin/x']), { remove: ['etc/passwd'], opaque: ['var/cache'] });
});

const FILES = {
  exists: (p: string) => ['/usr/bin/hello', '/bin/sh'].includes(p),
  passwd: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
  group: 'root:x:0:\napp:x:1000:\nstaff:x:50:\n',
};

test('a service from an image: Entrypoint + Cmd, Env, WorkingDir, its User; below / it sees its own root (aios-init chroots it)', () => {
  const c = { Entrypoint: ['/bin/hello'], Cmd: ['--loud'], Env: ['PATH=/bin', 'GREETING=a=b'], WorkingDir: '/data' };
  assert.deepEqual(serviceFromImage('hello', '/', { ...c, WorkingDir: '' }, 'w', FILES), {
    name: 'hello',
    command: '/bin/hello',
    args: ['--loud'],
    env: { PATH: '/bin', GREETING: 'a=b' },
  });
  assert.deepEqual(serviceFromImage('hello', '/srv/hello/', { ...c, User: 'app' }, 'w', FILES), {
    name: 'hello',
    command: '/bin/hello',
    args: ['--loud'],
    env: { PATH: '/bin', GREETING: 'a=b' },
    user: '1000:1000',
    rootDirectory: '/srv/hello',
    workingDirectory: '/data',
  });
  // A bare command is found on the image's PATH, as docker's execvp finds it.
  assert.equal(serviceFromImage('hello', '/srv/hello', { Cmd: ['hello'], Env: ['PATH=/usr/local/bin:/usr/bin'] }, 'w', FILES).command, '/usr/bin/hello');
  assert.throws(
    () => serviceFromImage('x', '/srv/x', { Cmd: ['nothere'] }, 'images[0]', FILES),
    /images\[0\]: the image's command nothere is on none of its PATH's directories/,
  );
  assert.throws(() => serviceFromImage('x', '/', {}, 'images[0]', FILES), /images\[0\]: the image has neither Entrypoint nor Cmd/);
});

test("an image's User: names from the image's own passwd and group, as uid:gid; none or root gives the service its own unprivileged user", () => {
  assert.equal(imageUser('app', FILES, 'w'), '1000:1000');
  assert.equal(imageUser('app:staff', FILES, 'w'), '1000:50');
  assert.equal(imageUser('4242', FILES, 'w'), '4242:4242');
  assert.equal(imageUser('4242:7', FILES, 'w'), '4242:7');
  for (const root of ['', 'root', '0', '0:0', 'root:root']) assert.equal(imageUser(root, FILES, 'w'), '', root);
  assert.throws(() => imageUser('ghost', FILES, 'images[1]'), /images\[1\]: the image's User ghost: no user ghost in the image's \/etc\/passwd/);
  assert.throws(() => imageUser('app:ghosts', FILES, 'w'), /no group ghosts in the image's \/etc\/group/);
});
