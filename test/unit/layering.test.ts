// The house's layers are dependency-cruiser's rules (.dependency-cruiser.cjs), run by
// `npm run typecheck`. This proves the rules bite: an import that breaks a layer fails them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SOURCES = ['scripts', 'qemu', 'common', 'init/src', 'bin'];

function cruise(): Promise<{ code: number; out: string }> {
  return new Promise((done) =>
    execFile(join(ROOT, 'node_modules/.bin/depcruise'), ['--config', '.dependency-cruiser.cjs', ...SOURCES], { cwd: ROOT }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    ),
  );
}

test('the source tree keeps its layers', async () => {
  const r = await cruise();
  assert.equal(r.code, 0, r.out);
});

const BREAKS: { file: string; imports: string; rule: RegExp }[] = [
  { file: 'qemu/layer-probe.ts', imports: '../scripts/pipeline/options.ts', rule: /qemu-imports-only-common/ },
  { file: 'common/layer-probe.ts', imports: '../qemu/cmdline.ts', rule: /common-is-a-leaf/ },
  { file: 'scripts/steps/layer-probe.ts', imports: '../../init/src/shell.ts', rule: /host-never-imports-guest/ },
  { file: 'scripts/kernel/layer-probe.ts', imports: '../steps/build-kernel.ts', rule: /domain-does-not-reach-up/ },
  { file: 'scripts/lib/layer-probe.ts', imports: '../kernel/pins.ts', rule: /lib-is-the-floor/ },
  { file: 'init/src/layer-probe.ts', imports: '../../qemu/cmdline.ts', rule: /guest-imports-only-common/ },
];

test('a test import that breaks a layer fails the rules, for each rule (one probe file per rule, one run)', async () => {
  const probes = BREAKS.map((b) => join(ROOT, b.file));
  try {
    for (const [i, b] of BREAKS.entries()) await writeFile(probes[i]!, `import '${b.imports}';\n`);
    const r = await cruise();
    assert.notEqual(r.code, 0, r.out);
    for (const b of BREAKS) assert.match(r.out, new RegExp(`${b.rule.source}: ${b.file.replace(/[./]/g, '\\$&')}`), `${b.file} -> ${b.imports}\n${r.out}`);
  } finally {
    for (const p of probes) await rm(p, { force: true });
  }
});
