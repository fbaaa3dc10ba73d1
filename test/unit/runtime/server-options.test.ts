import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { helpOptions, unknownOptions } from '../../../scripts/runtime/server-options.ts';

const help = readFileSync(new URL('../../fixtures/llama-server/help.txt', import.meta.url), 'utf8');

test('server options: every short and long option of the --help text, and nothing from its descriptions or log lines', () => {
  assert.deepEqual(helpOptions(help), [
    '--cache-list',
    '--completion-bash',
    '--cont-batching',
    '--ctx-size',
    '--fit',
    '--gpu-layers',
    '--help',
    '--model',
    '--model-url',
    '--n-gpu-layers',
    '--n-predict',
    '--no-cont-batching',
    '--no-perf',
    '--parallel',
    '--perf',
    '--predict',
    '--threads',
    '--usage',
    '--version',
    '-c',
    '-cb',
    '-cl',
    '-fit',
    '-h',
    '-m',
    '-mu',
    '-n',
    '-ngl',
    '-nocb',
    '-np',
    '-t',
  ]);
});

test('server options: extra arguments are checked by option name; values, negative numbers and --opt=value are not misread', () => {
  const known = new Set(helpOptions(help));
  assert.deepEqual(unknownOptions(['--parallel', '2', '-ngl', '-1', '--ctx-size=512', '-np', '4'], known), []);
  assert.deepEqual(unknownOptions(['--paralel', '2', '--no-mmap', '/models/a.gguf'], known), ['--paralel', '--no-mmap']);
});
