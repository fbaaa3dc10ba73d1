import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { locateProject, projectPath, resolveConfigPaths } from '../../../scripts/project/locate.ts';
import { loadProjectConfig } from '../../../scripts/project/config.ts';
import { scratchDir } from '../scratch.ts';

test('the project: --project DIR, else --config, else ./aios.json, else the defaults against the working directory', async () => {
  const root = scratchDir('aios-proj-');
  await mkdir(join(root, 'p'));
  await writeFile(join(root, 'p', 'aios.json'), '{}');
  assert.deepEqual(locateProject({ project: 'p' }, root), { configFile: join(root, 'p', 'aios.json'), dir: join(root, 'p'), found: true });
  assert.deepEqual(locateProject({}, join(root, 'p')), { configFile: join(root, 'p', 'aios.json'), dir: join(root, 'p'), found: true });
  assert.deepEqual(locateProject({}, root), { configFile: join(root, 'aios.json'), dir: root, found: false });
  assert.equal(locateProject({ config: 'p/aios.json' }, root).dir, join(root, 'p'));
  assert.throws(() => locateProject({ project: '.' }, root), /has no aios\.json; `aios init \.` writes a starting point/);
  assert.throws(() => locateProject({ project: 'nope' }, root), /is not a directory/);
  assert.throws(() => locateProject({ config: 'x.json' }, root), /x\.json does not exist/);
});

test('paths in aios.json resolve against its directory; keywords, URLs and absolute paths stay', async () => {
  assert.equal(projectPath('/p', 'overlay'), '/p/overlay');
  assert.equal(projectPath('/p', '../shared/m.gguf'), '/shared/m.gguf');
  assert.equal(projectPath('/p', '/abs'), '/abs');
  assert.equal(projectPath('/p', 'https://x/y.tar.gz'), 'https://x/y.tar.gz');
  assert.equal(projectPath('/p', 'npm', ['npm']), 'npm');
  assert.equal(projectPath('/p', ''), '');
  const dir = scratchDir('aios-proj-');
  await writeFile(
    join(dir, 'aios.json'),
    JSON.stringify({
      overlay: ['o'],
      kernel: { fragments: ['k.config'] },
      images: [{ tarball: 'i.tar' }],
      hooks: { postinst: 'h.sh' },
      gpu: { nvidiaSource: 'debian' },
    }),
  );
  const c = resolveConfigPaths(await loadProjectConfig(join(dir, 'aios.json')), dir);
  assert.deepEqual(c.overlay, [join(dir, 'o')]);
  assert.deepEqual(c.kernel.fragments, [join(dir, 'k.config')]);
  assert.equal(c.images[0]!.tarball, join(dir, 'i.tar'));
  assert.equal(c.hooks.postinst, join(dir, 'h.sh'));
  assert.equal(c.hooks.finalize, '');
  assert.equal(c.outDir, join(dir, 'out'));
  assert.equal(c.kernel.source, 'auto');
  assert.equal(c.runtime.source, 'npm');
  assert.equal(c.gpu.nvidiaSource, 'debian');
});

test('aios.json: a service of the project is checked with the keys of init.json, all errors at once', async () => {
  const dir = scratchDir('aios-proj-');
  const file = join(dir, 'aios.json');
  await writeFile(
    file,
    JSON.stringify({ services: [{ name: 'a', command: '/bin/true', restrat: 'always' }], images: [{ ref: 'x', servise: 'y' }], overlay: 'o' }),
  );
  await assert.rejects(loadProjectConfig(file), (err: Error) => {
    assert.match(err.message, /services\[0\]\.restrat/);
    assert.match(err.message, /images\[0\]\.servise/);
    assert.match(err.message, /overlay/);
    return true;
  });
});
