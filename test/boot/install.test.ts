// The package as users get it: npm pack, a global install into a scratch prefix, then the CLI
// runs from the compiled JavaScript alone (no tsx, no TypeScript, no dev dependencies).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers.ts';

test('npm pack, npm install -g of the tarball, then aios --version and aios doctor', async () => {
  const work = await mkdtemp(join(tmpdir(), 'aios-install-'));
  try {
    execFileSync('npm', ['pack', '--pack-destination', work], { cwd: ROOT, stdio: 'ignore' });
    const tgz = (await readdir(work)).find((f) => /^aios-.*\.tgz$/.test(f))!;
    assert.ok(tgz, 'npm pack wrote a tarball');
    const prefix = join(work, 'prefix');
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(work, tgz)], { stdio: 'ignore' });
    const installed = join(prefix, 'lib', 'node_modules', 'aios');
    assert.deepEqual(
      (await readdir(join(installed, 'node_modules'))).filter((d) => ['tsx', 'typescript'].includes(d)),
      [],
      'no dev dependency is installed',
    );
    const bin = join(prefix, 'bin', 'aios');
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), '0.1.0');
    const doctor = spawnSync(bin, ['doctor'], { encoding: 'utf8' });
    assert.equal(doctor.status, 0, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, /all \d+ host tools are present/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
