// File names from a wide alphabet (quotes, backslashes, shell and GRUB metacharacters, UTF-8)
// round-trip through the root filesystem's image tools: mke2fs -d with the debugfs pin script,
// and mksquashfs; debugfs's rdump and unsquashfs list the same names back, with every time pinned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../../common/exec.ts';
import { debugfsErrors, debugfsPinScript, mke2fsArgs, mksquashfsArgs } from '../../../scripts/images/tool-args.ts';
import { listTree } from '../../../scripts/lib/hash.ts';
import { nameProblem } from '../../../scripts/rootfs/confine.ts';
import { scratchDir } from '../scratch.ts';

const EPOCH = 1700000000;
const ALPHABET = [...' !"#$%&\'()*+,-.0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~', 'é', 'ß', 'ü', '中', '文', 'ж', 'λ', '😀', '\u0301', '\u00a0', '\u200b'];

/** A small PRNG, so that a failing seed can be run again (AIOS_FUZZ_SEED). */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function names(seed: number, count: number): string[] {
  const rnd = prng(seed);
  const out = new Set<string>();
  while (out.size < count) {
    const len = 1 + Math.floor(rnd() * 24);
    let n = '';
    for (let i = 0; i < len; i++) n += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
    if (n === '.' || n === '..' || nameProblem(n) || Buffer.byteLength(n) > 255) continue;
    out.add(n);
  }
  return [...out];
}

async function listBack(dir: string): Promise<string[]> {
  return (await listTree(dir)).sort();
}

test('fuzzed names round-trip through rootfs.img (mke2fs -d, debugfs) and the squashfs, every time pinned', async () => {
  const seed = Number(process.env.AIOS_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const work = scratchDir('aios-names-');
  const tree = join(work, 'tree');
  const made = names(seed, 150);
  await mkdir(join(tree, 'sub'), { recursive: true });
  for (const [i, n] of made.entries()) await writeFile(join(tree, i % 3 ? n : join('sub', n)), n);
  const expected = await listBack(tree);
  assert.equal(expected.length, made.length);

  const part = join(work, 'part.img');
  const env = { E2FSPROGS_FAKE_TIME: String(EPOCH) };
  await run(
    '/sbin/mke2fs',
    mke2fsArgs({
      tree,
      image: part,
      sizeMiB: 16,
      label: 'fuzz',
      uuid: '00000000-0000-4000-8000-000000000000',
      hashSeed: '00000000-0000-4000-8000-000000000001',
    }),
    { env },
  );
  const script = join(work, 'pin.debugfs');
  await writeFile(script, debugfsPinScript(['/lost+found', '/sub', ...expected.map((p) => `/${p}`)], EPOCH));
  const pinned = await run('/sbin/debugfs', ['-w', '-f', script, part], { env });
  assert.deepEqual(debugfsErrors(pinned.stderr), [], `seed ${seed}: every sif line applied`);
  const ext = join(work, 'ext');
  await mkdir(ext);
  await run('/sbin/debugfs', ['-R', `rdump / ${ext}`, part]);
  const back = (await listBack(ext)).filter((p) => !p.startsWith('lost+found'));
  assert.deepEqual(back, expected, `seed ${seed}: the names debugfs lists back`);
  // Every time of every inode, through debugfs's own view (stat prints them as hex seconds).
  for (const p of ['/', '/sub', '/lost+found', ...expected.slice(0, 20).map((x) => `/${x}`)]) {
    const { stdout } = await run('/sbin/debugfs', ['-R', `stat "${p.replace(/"/g, '""')}"`, part]);
    for (const field of ['ctime', 'atime', 'mtime', 'crtime']) {
      const m = new RegExp(`^\\s*${field}: 0x([0-9a-f]+)`, 'm').exec(stdout);
      assert.equal(m && parseInt(m[1]!, 16), EPOCH, `seed ${seed}: ${field} of ${JSON.stringify(p)}\n${stdout}`);
    }
    assert.match(stdout, /User:\s+0\s+Group:\s+0/, `seed ${seed}: owner of ${JSON.stringify(p)}`);
  }

  const sq = join(work, 'root.squashfs');
  await run('mksquashfs', mksquashfsArgs(tree, sq, EPOCH));
  const out = join(work, 'sq');
  await run('unsquashfs', ['-q', '-n', '-d', out, sq]);
  assert.deepEqual(await listBack(out), expected, `seed ${seed}: the names unsquashfs lists back`);
  for (const p of expected.slice(0, 20)) assert.equal((await lstat(join(out, p))).mtimeMs / 1000, EPOCH, `seed ${seed}: mtime of ${JSON.stringify(p)}`);
  assert.ok((await readdir(out)).length > 0);
});
