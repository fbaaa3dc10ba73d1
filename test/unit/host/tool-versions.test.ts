import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '../scratch.ts';

const TOOLS = join(import.meta.dirname, '../../../scripts/host/tools.ts');

/** One build's worth of tool lookups, in a process of its own (as each `aios build` is): the versions, a line each. */
const versionsInBuild = (memo: string, tools: string[]) =>
  execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `const t = await import(${JSON.stringify(TOOLS)}); await t.rememberToolVersions(${JSON.stringify(memo)}); for (const x of ${JSON.stringify(tools)}) console.log(await t.toolVersion(x));`,
    ],
    { encoding: 'utf8' },
  ).trim();

test('a tool version is asked once: later builds take it from the cache while the binary is the same file, and ask again when it changes', async () => {
  const dir = scratchDir('aios-toolver-');
  const tool = join(dir, 'fakecc');
  const calls = join(dir, 'calls');
  await writeFile(tool, `#!/bin/sh\necho x >> ${calls}\necho "fakecc (Debian 12.2.0-14) 12.2.0"\n`);
  await chmod(tool, 0o755);
  const file = join(dir, 'tool-versions.json');
  const build = () => versionsInBuild(file, [tool]);
  const spawned = async () => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  assert.equal(build(), 'fakecc (Debian 12.2.0-14) 12.2.0');
  assert.equal(build(), 'fakecc (Debian 12.2.0-14) 12.2.0');
  assert.equal(await spawned(), 1, 'the second build spawned no --version');
  await utimes(tool, new Date(), new Date(Date.now() + 5000));
  assert.equal(build(), 'fakecc (Debian 12.2.0-14) 12.2.0');
  assert.equal(await spawned(), 2, 'a changed binary is asked again');
  await writeFile(file, '["not", "a", "map"]');
  build();
  assert.equal(await spawned(), 3, 'a cache file of another shape is not trusted');
});

test('two names of one multi-call binary keep their own versions (mformat and mcopy are both mtools)', async () => {
  const dir = scratchDir('aios-toolver-');
  const multi = join(dir, 'mtools');
  await writeFile(multi, '#!/bin/sh\necho "$(basename "$0") (GNU mtools) 4.0.32"\n');
  await chmod(multi, 0o755);
  execFileSync('ln', ['-s', 'mtools', join(dir, 'mformat')]);
  execFileSync('ln', ['-s', 'mtools', join(dir, 'mcopy')]);
  const file = join(dir, 'tool-versions.json');
  const versions = () => versionsInBuild(file, [join(dir, 'mformat'), join(dir, 'mcopy')]);
  const want = 'mformat (GNU mtools) 4.0.32\nmcopy (GNU mtools) 4.0.32';
  assert.equal(versions(), want, 'asked');
  assert.equal(versions(), want, 'remembered');
});
