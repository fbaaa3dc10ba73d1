import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../../common/schema.ts';
import { missingInputs } from '../../../scripts/project/missing-inputs.ts';
import { resolveConfigPaths } from '../../../scripts/project/locate.ts';
import { projectSpec } from '../../../scripts/project/config.ts';
import { scratchDir } from '../scratch.ts';

const configOf = (json: unknown, dir: string) => resolveConfigPaths(parseConfig(projectSpec, json, 'aios.json').value, dir);

test('aios.json inputs: every one that is missing or of the wrong kind is reported at once, with its key and the fix', async () => {
  const dir = scratchDir('aios-inputs-');
  await mkdir(join(dir, 'overlay'));
  await writeFile(join(dir, 'kernel.config'), 'CONFIG_IKCONFIG=y\n');
  await writeFile(join(dir, 'notes.txt'), 'not a directory\n');
  await writeFile(join(dir, 'postinst.sh'), '#!/bin/sh\n');
  const c = configOf(
    {
      kernel: { fragments: ['kernel.config', 'missing.config'] },
      overlay: ['overlay', 'notes.txt', 'gone'],
      hooks: { postinst: 'postinst.sh', finalize: 'finalize.sh' },
      model: { source: 'model.gguf' },
      images: [{ tarball: 'app.tar' }],
      secureBoot: { keys: 'keys' },
    },
    dir,
  );
  const got = missingInputs(c, '/p/aios.json', 'image').map((e) => `${e.file}: ${e.key}: ${e.message}`);
  assert.deepEqual(got, [
    `/p/aios.json: kernel.fragments[1]: ${dir}/missing.config does not exist; create it or remove it from \`kernel.fragments\``,
    `/p/aios.json: model.source: ${dir}/model.gguf does not exist; give a .gguf file, an https URL, or leave it empty for the tiny model`,
    `/p/aios.json: overlay[1]: ${dir}/notes.txt is not a directory; create it or remove it from \`overlay\``,
    `/p/aios.json: overlay[2]: ${dir}/gone does not exist; create it or remove it from \`overlay\``,
    `/p/aios.json: hooks.postinst: ${dir}/postinst.sh is not executable; \`chmod +x ${dir}/postinst.sh\``,
    `/p/aios.json: hooks.finalize: ${dir}/finalize.sh does not exist; create it, or leave hooks.finalize empty`,
    `/p/aios.json: secureBoot.keys: ${dir}/keys does not exist; make a key set there with \`aios keys\`, or leave it empty for the test key`,
    `/p/aios.json: images[0].tarball: ${dir}/app.tar does not exist; give a \`docker save\` tarball, or ref instead`,
  ]);
  await chmod(join(dir, 'postinst.sh'), 0o755);
  assert.ok(!missingInputs(c, '/p/aios.json', 'image').some((e) => e.key === 'hooks.postinst'), 'an executable hook is fine');
  assert.deepEqual(
    missingInputs(c, '/p/aios.json', 'kernel').map((e) => e.key),
    ['kernel.fragments[1]'],
    "the kernel's scope reads the kernel's inputs only",
  );
});

test('aios.json inputs: keywords, URLs and empty values are not paths', () => {
  const dir = scratchDir('aios-inputs-');
  const c = configOf(
    {
      kernel: { source: 'debian' },
      init: { node: 'host' },
      runtime: { source: 'npm' },
      model: { source: 'https://example.org/m.gguf', sha256: 'a'.repeat(64) },
      gpu: { nvidiaSource: 'debian' },
    },
    dir,
  );
  assert.deepEqual(missingInputs(c, 'aios.json', 'image'), []);
  const off = configOf({ gpu: { nvidia: 'none', nvidiaSource: 'no-such.tar' } }, dir);
  assert.deepEqual(missingInputs(off, 'aios.json', 'image'), [], 'the NVIDIA source is not read when the modules are off');
});
