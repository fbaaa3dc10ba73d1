// The README stays a front page: short, and every document in docs/ reachable from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

test('README.md is under 300 lines and links every document of docs/, and every link it has resolves', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  assert.ok(readme.split('\n').length < 300, `README.md has ${readme.split('\n').length} lines`);
  const docs = (await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md'));
  const links = [...readme.matchAll(/\]\(([^)#]+)\)/g)].map((m) => m[1]!);
  for (const d of docs) assert.ok(links.includes(`docs/${d}`), `README.md does not link docs/${d}`);
  assert.ok(links.includes('docs/spec/'), 'README.md links the spec');
  for (const l of links.filter((l) => !/^https?:/.test(l))) assert.ok(existsSync(join(ROOT, l)), `README.md links ${l}, which does not exist`);
});

test('links between the documents of docs/ resolve', async () => {
  for (const d of (await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md'))) {
    const text = await readFile(join(ROOT, 'docs', d), 'utf8');
    for (const [, l] of text.matchAll(/\]\(([^)#]+)\)/g))
      if (!/^https?:/.test(l!)) assert.ok(existsSync(join(dirname(join(ROOT, 'docs', d)), l!)), `docs/${d} links ${l}, which does not exist`);
  }
});
