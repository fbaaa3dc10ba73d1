import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe as describeSpec, parseConfig } from '../../../common/schema.ts';
import { projectSpec } from '../../../scripts/project/config.ts';

test('unknown keys and bad values are all reported at once, each naming file and key', () => {
  const { errors, value } = parseConfig(
    projectSpec,
    { outdir: 'x', kernel: { version: 'six', sizeBudgetMB: 'big', colour: 1 }, formats: ['iso', 'tarball'] },
    'aios.json',
  );
  const keys = errors.map((e) => e.key).sort();
  assert.deepEqual(keys, ['formats[1]', 'kernel.colour', 'kernel.sizeBudgetMB', 'kernel.version', 'outdir']);
  assert.ok(errors.every((e) => e.file === 'aios.json'));
  assert.match(errors.find((e) => e.key === 'outdir')!.message, /did you mean "outDir"/);
  assert.equal(value.kernel.sizeBudgetMB, 15, 'a bad value falls back to its default');
});

test('the configuration reference (docs/reference.md) is generated from the spec and up to date', async () => {
  const readme = await readFile(join(import.meta.dirname, '../../../docs/reference.md'), 'utf8');
  for (const row of describeSpec(projectSpec)) assert.ok(readme.includes(row), `docs/reference.md lacks the row: ${row}\n(run: npm run docs)`);
});
