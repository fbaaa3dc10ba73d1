// Hostile inputs through the whole `aios build` (no boot): a crafted `docker save` tarball whose
// whiteout climbs out of the tree, and an overlay with a setuid file, each stop the build with a
// message naming the input, the entry and the fix; a canary beside the cache stays byte-identical.
// Then the built image's times: every inode of rootfs.img and every ISO entry at SOURCE_DATE_EPOCH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { aios, OUT, partitionOf } from './helpers.ts';
import { hashTree } from '../../scripts/lib/hash.ts';
import { craftSavedImage } from '../unit/rootfs/craft-tar.ts';

const CACHE = process.env.AIOS_CACHE ?? join(homedir(), '.cache', 'aios');

async function hostileBuild(name: string, make: (dir: string, canary: string) => Promise<unknown>, want: RegExp[]) {
  const dir = await mkdtemp(join(tmpdir(), `aios-hostile-${name}-`));
  // Beside the cache: what a climbing entry would reach first.
  const canary = await mkdtemp(join(CACHE, '..', 'aios-canary-'));
  try {
    await mkdir(join(canary, 'victim'), { recursive: true });
    await writeFile(join(canary, 'victim', 'data'), 'precious\n');
    const before = await hashTree(canary);
    await writeFile(join(dir, 'aios.json'), JSON.stringify(await make(dir, canary)));
    const r = await aios(['build', '--project', dir, '--out', join(dir, 'out')]);
    assert.notEqual(r.code, 0, `${name}: the build succeeded:\n${r.out}`);
    for (const w of want) assert.match(r.out, w, `${name}:\n${r.out.slice(-4000)}`);
    assert.equal(await hashTree(canary), before, `${name}: the canary beside the cache changed`);
    assert.deepEqual(existsSync(join(dir, 'out')) ? await readdir(join(dir, 'out')) : [], [], `${name}: outputs written`);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(canary, { recursive: true, force: true });
  }
}

test('a docker save tarball whose whiteout climbs out of the tree stops the build and touches nothing', async () => {
  await hostileBuild(
    'whiteout',
    async (dir, canary) => {
      const depth = '../'.repeat(12);
      await craftSavedImage(join(dir, 'evil.tar'), [[{ path: 'etc/ok', body: 'ok' }], [{ path: `${depth}${canary.slice(1)}/.wh.victim` }]]);
      return { images: [{ tarball: 'evil.tar', path: '/srv/evil' }] };
    },
    [
      /images\[0\] \(.*evil\.tar\): layer 2 of 2: 1 entry is refused/,
      /\.wh\.victim.*climbs out of its directory with \.\./,
      /Rebuild the image without those entries/,
    ],
  );
});

test('an overlay with an undeclared setuid file stops the build, naming it and allow.setuid', async () => {
  await hostileBuild(
    'setuid',
    async (dir) => {
      await mkdir(join(dir, 'overlay', 'usr', 'bin'), { recursive: true });
      await writeFile(join(dir, 'overlay', 'usr', 'bin', 'rootme'), '#!/bin/sh\nexec /bin/sh\n');
      await chmod(join(dir, 'overlay', 'usr', 'bin', 'rootme'), 0o4755);
      return { overlay: ['overlay'] };
    },
    [/overlay .*overlay: 1 entry is refused/, /"\/usr\/bin\/rootme" is setuid \(mode 4755\); list it in aios\.json's allow\.setuid/],
  );
});

test('every inode of rootfs.img and every entry of aios.iso is dated SOURCE_DATE_EPOCH', async () => {
  const build = JSON.parse(await readFile(join(OUT, 'build.json'), 'utf8')) as { sourceDateEpoch: number };
  const epoch = build.sourceDateEpoch;
  assert.ok(epoch > 0, 'build.json records the epoch');
  const work = await mkdtemp(join(tmpdir(), 'aios-times-'));
  try {
    const part = join(work, 'part.img');
    partitionOf(join(OUT, 'rootfs.img'), part);
    // Every inode reachable from /, level by level (one debugfs run a level: `ls -p` gives
    // /inode/mode/uid/gid/name/size/), then debugfs's stat of each (times as hex seconds).
    const debugfs = (script: string) => {
      const f = join(work, 'script.debugfs');
      execFileSync('sh', ['-c', 'cat > "$0"', f], { input: script });
      return execFileSync('/sbin/debugfs', ['-f', f, part], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 << 20 });
    };
    const inodes: string[] = ['2'];
    let level = ['<2>'];
    while (level.length) {
      const next: string[] = [];
      for (const line of debugfs(level.map((d) => `ls -p ${d}`).join('\n') + '\n').split('\n')) {
        const [, ino, mode, , , name] = line.split('/');
        if (!ino || !/^[1-9]\d*$/.test(ino) || name === '.' || name === '..') continue;
        inodes.push(ino);
        if (mode?.startsWith('04')) next.push(`<${ino}>`);
      }
      level = next;
    }
    const unique = [...new Set(inodes)];
    assert.ok(unique.length > 100, `debugfs listed ${unique.length} inodes`);
    const stats = debugfs(unique.map((i) => `stat <${i}>`).join('\n') + '\n');
    const times = [...stats.matchAll(/^\s*(ctime|atime|mtime|crtime): 0x([0-9a-f]+)/gm)];
    assert.equal(times.length, unique.length * 4, 'four times per inode');
    const wrong = times.filter((m) => parseInt(m[2]!, 16) !== epoch).map((m) => m[0].trim());
    assert.deepEqual(wrong.slice(0, 10), [], `times not at ${epoch}`);

    const lines = execFileSync('xorriso', ['-indev', join(OUT, 'aios.iso'), '-find', '/', '-exec', 'lsdl', '--'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter((l) => /^[-dl]/.test(l));
    assert.ok(lines.length > 5, lines.join('\n'));
    const stamp = new Date(epoch * 1000);
    const month = stamp.toLocaleString('en', { month: 'short', timeZone: 'UTC' });
    const day = String(stamp.getUTCDate());
    const bad = lines.filter((l) => !new RegExp(`\\s${month}\\s+${day}\\s+(${stamp.getUTCFullYear()}|\\d\\d:\\d\\d)\\s`).test(l));
    assert.deepEqual(bad, [], `ISO entries not dated ${stamp.toISOString()}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
