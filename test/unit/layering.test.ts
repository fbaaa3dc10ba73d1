import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { listTree } from '../../scripts/lib/hash.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** Which top-level folders each may import from: the picture in README.md ("Layout"). */
const ALLOWED: Record<string, string[]> = {
  common: ['common'],
  init: ['init', 'common'],
  qemu: ['qemu', 'common'],
  scripts: ['scripts', 'qemu', 'common', 'init'],
};

test('no import runs back up: common <- init, qemu <- scripts, and no cycle between top-level folders', async () => {
  const bad: string[] = [];
  for (const top of Object.keys(ALLOWED)) {
    for (const rel of (await listTree(join(ROOT, top))).filter((f) => f.endsWith('.ts'))) {
      const file = join(ROOT, top, rel);
      const text = await readFile(file, 'utf8');
      for (const [, spec] of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = relative(ROOT, resolve(dirname(file), spec!)).split('/')[0]!;
        if (!ALLOWED[top]!.includes(target)) bad.push(`${top}/${rel} imports ${spec} (${target}/)`);
      }
    }
  }
  assert.deepEqual(bad, []);
  // init/ may be read by the orchestrator (its config spec, for the docs), never the other way.
  assert.ok(!ALLOWED.init!.includes('scripts') && !ALLOWED.qemu!.includes('scripts') && !ALLOWED.common!.includes('qemu'));
});
