import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { prepareReportFiles } from '../../../scripts/commands/check.ts';
import { scratchDir } from '../scratch.ts';

test("aios check's report files: their directories are made before the boot, and a directory given as a file is refused then", async () => {
  const dir = scratchDir('aios-reports-');
  await prepareReportFiles({ '--json': join(dir, 'reports/ci/check.json'), '--junit': join(dir, 'junit/junit.xml') });
  assert.ok(statSync(join(dir, 'reports/ci')).isDirectory());
  assert.ok(statSync(join(dir, 'junit')).isDirectory());
  assert.ok(!existsSync(join(dir, 'reports/ci/check.json')), 'nothing is written before there are results');
  await assert.rejects(prepareReportFiles({ '--junit': dir }), new RegExp(`--junit ${dir}: is a directory; give a file name, like ${dir}/junit\\.xml`));
  await prepareReportFiles({ '--json': undefined });
});
