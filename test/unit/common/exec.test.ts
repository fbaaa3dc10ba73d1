import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, CommandError, quoteCommand } from '../../../common/exec.ts';

test('a failing command becomes an error quoting the command, its exit code and the tail of its output', async () => {
  await assert.rejects(run('sh', ['-c', 'for i in $(seq 1 40); do echo line$i >&2; done; exit 3']), (e: unknown) => {
    assert.ok(e instanceof CommandError);
    assert.match(e.message, /command failed: sh -c 'for i in/);
    assert.match(e.message, /exited with code 3/);
    assert.match(e.message, /line40/);
    assert.doesNotMatch(e.message, /line1\n/, 'only the tail is kept');
    return true;
  });
});

test('a missing program says how to find the package', async () => {
  await assert.rejects(run('aios-no-such-tool', []), /not found on PATH \(run `aios doctor`/);
});

test('allowed exit codes are not failures; quoting is shell-safe', async () => {
  assert.equal((await run('sh', ['-c', 'exit 1'], { okCodes: [1] })).exitCode, 1);
  assert.equal(quoteCommand('make', ['CC=ccache gcc', "it's"]), `make 'CC=ccache gcc' 'it'\\''s'`);
});

test('AIOS_TRACE: every command run is appended to the file, quoted', async () => {
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'aios-trace-')), 'trace');
  const before = process.env.AIOS_TRACE;
  process.env.AIOS_TRACE = file;
  try {
    await run('true', ['a b', 'c']);
  } finally {
    if (before === undefined) delete process.env.AIOS_TRACE;
    else process.env.AIOS_TRACE = before;
  }
  assert.match(readFileSync(file, 'utf8'), /^\S+ run true 'a b' c\n$/);
});
