// Hostile inputs, made at test time: crafted `docker save` tarballs and overlays whose entries try
// to leave the root tree, smuggle privilege in, or break the image tools' scripts. Each must be
// refused with a message naming the input and the entry, or held harmlessly; a canary directory
// beside the tree must come out byte-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyLayers, readSavedImage } from '../../../scripts/project/container.ts';
import { HostileInputError, mergeInto, mkdirInside, pathInside, putFile, NOTHING_ALLOWED } from '../../../scripts/rootfs/confine.ts';
import { buildManifest, privilegedEntries, undeclaredEntries } from '../../../scripts/rootfs/manifest.ts';
import { hashTree } from '../../../scripts/lib/hash.ts';
import { craftSavedImage, type CraftEntry } from './craft-tar.ts';
import { scratchDir } from '../scratch.ts';

/** A work area: the tree the image is staged in, and a canary with a victim file beside it. */
async function arena() {
  const dir = scratchDir('aios-hostile-');
  const tree = join(dir, 'work', 'tree');
  const canary = join(dir, 'canary');
  await mkdir(join(tree, 'etc'), { recursive: true });
  await mkdir(join(canary, 'victim'), { recursive: true });
  await writeFile(join(canary, 'victim', 'data'), 'precious\n');
  await writeFile(join(canary, 'keep'), 'keep\n');
  return { dir, tree, canary, before: await hashTree(canary) };
}

/** Lay a crafted image at `prefix`; returns the error it ended with, if any. */
async function layImage(a: { dir: string; tree: string }, layers: CraftEntry[][], prefix = '/', allow = NOTHING_ALLOWED) {
  const file = join(a.dir, `image-${Math.random().toString(36).slice(2)}.tar`);
  await craftSavedImage(file, layers);
  const saved = await readSavedImage(file, join(a.dir, 'unpacked'), 'aios.json: images[0]');
  return applyLayers(saved.layers, a.tree, { prefix, where: 'aios.json: images[0]', scratch: join(a.dir, 'work', 'scratch'), allow }).then(
    () => undefined,
    (err: Error) => err,
  );
}

async function assertRefused(err: Error | undefined, ...names: RegExp[]) {
  assert.ok(err instanceof HostileInputError, `refused with a HostileInputError, got ${err}`);
  assert.match(err.message, /aios\.json: images\[0\]/, 'the message names the input');
  for (const n of names) assert.match(err.message, n, 'the message names the entry');
}

const CASES: { name: string; layers: (canary: string) => CraftEntry[][]; entry: RegExp }[] = [
  { name: 'a whiteout that climbs out', layers: () => [[{ path: '../../../canary/.wh.victim' }]], entry: /canary\/\.wh\.victim.*climbs out/ },
  { name: 'an opaque whiteout that climbs out', layers: () => [[{ path: '../../../canary/victim/.wh..wh..opq' }]], entry: /\.wh\.\.wh\.\.opq/ },
  { name: 'an absolute file name', layers: (c) => [[{ path: `${c}/victim/data`, body: 'owned' }]], entry: /victim\/data" is an absolute path/ },
  {
    name: 'a name with a newline',
    layers: () => [[{ path: 'etc/evil\nsif "/usr/sbin/aios-init" mode 0106777', body: 'x' }]],
    entry: /evil\\nsif .*control character/,
  },
  { name: 'a hard link to a host file', layers: (c) => [[{ path: 'etc/shadow', type: 'hardlink', linkpath: `../../../canary/keep` }]], entry: /hard link/ },
  { name: 'a setuid file', layers: () => [[{ path: 'usr/bin/su', mode: 0o4755, body: '#!/bin/sh\n' }]], entry: /\/usr\/bin\/su" is setuid/ },
  { name: 'a setgid file', layers: () => [[{ path: 'usr/bin/wall', mode: 0o2755, body: '#!/bin/sh\n' }]], entry: /is setgid/ },
  { name: 'a character device', layers: () => [[{ path: 'dev/mem', type: 'char', devmajor: 1, devminor: 1 }]], entry: /\/dev\/mem" is a char device node/ },
  { name: 'a block device', layers: () => [[{ path: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 }]], entry: /block device node/ },
  { name: 'a FIFO', layers: () => [[{ path: 'run/pipe', type: 'fifo' }]], entry: /is a FIFO/ },
  {
    name: 'a link to the host, written through by a later layer',
    layers: (c) => [[{ path: 'data', type: 'symlink', linkpath: c }], [{ path: 'data/victim/data', body: 'owned' }]],
    entry: /\/data is a link to .*outside the root filesystem/,
  },
  {
    name: 'a relative link that climbs out, written through by a later layer',
    layers: () => [[{ path: 'data', type: 'symlink', linkpath: '../../../canary' }], [{ path: 'data/new', body: 'owned' }]],
    entry: /\/data is a link to \.\.\/\.\.\/\.\.\/canary/,
  },
  {
    name: 'a file written through a link of the same layer',
    layers: (c) => [
      [
        { path: 'x', type: 'symlink', linkpath: c },
        { path: 'x/victim/data', body: 'owned' },
      ],
    ],
    entry: /"\/x\/victim\/data" would be written through "\/x", a link of the same layer/,
  },
  {
    name: 'a hard link through a link of the same layer',
    layers: (c) => [
      [
        { path: 'x', type: 'symlink', linkpath: c },
        { path: 'etc/stolen', type: 'hardlink', linkpath: 'x/keep' },
      ],
    ],
    entry: /hard link through "\/x"/,
  },
  {
    name: 'a whiteout through a link to the host',
    layers: (c) => [[{ path: 'data', type: 'symlink', linkpath: c }], [{ path: 'data/.wh.victim' }]],
    entry: /\/data is a link to/,
  },
  {
    name: 'an opaque whiteout through a link to the host',
    layers: (c) => [[{ path: 'data', type: 'symlink', linkpath: c }], [{ path: 'data/victim/.wh..wh..opq' }]],
    entry: /\/data is a link to/,
  },
];

for (const c of CASES) {
  test(`hostile layer: ${c.name} is refused, naming it, and the host is untouched`, async () => {
    const a = await arena();
    await assertRefused(await layImage(a, c.layers(a.canary)), c.entry);
    assert.equal(await hashTree(a.canary), a.before, 'the canary directory is byte-identical');
  });
}

test('an opaque whiteout on a link empties nothing behind it', async () => {
  const a = await arena();
  assert.equal(await layImage(a, [[{ path: 'data', type: 'symlink', linkpath: join(a.canary, 'victim') }], [{ path: 'data/.wh..wh..opq' }]]), undefined);
  assert.equal(await hashTree(a.canary), a.before);
});

test('a layer laid below / cannot reach above its path either', async () => {
  const a = await arena();
  await assertRefused(await layImage(a, [[{ path: '../../etc/passwd', body: 'root::0:0::/:/bin/sh\n' }]], '/opt/app'), /climbs out/);
  assert.equal(existsSync(join(a.tree, 'etc', 'passwd')), false);
});

test('every refused entry of a layer is named at once', async () => {
  const a = await arena();
  const err = await layImage(a, [
    [
      { path: 'usr/bin/su', mode: 0o4755, body: 'x' },
      { path: 'dev/kmsg', type: 'char', devmajor: 1, devminor: 11 },
      { path: 'ok', body: 'fine' },
    ],
  ]);
  await assertRefused(err, /2 entries are refused/, /usr\/bin\/su/, /dev\/kmsg/, /allow\.setuid/);
  assert.equal(existsSync(join(a.tree, 'ok')), false, 'nothing of a refused layer is applied');
});

test('declared privilege comes in, and the manifest names it', async () => {
  const a = await arena();
  const allow = { setuid: ['/usr/bin/ping'], devices: ['/dev/null2'] };
  const err = await layImage(
    a,
    [
      [
        { path: 'usr/bin/ping', mode: 0o4755, body: 'ping' },
        { path: 'dev/null2', type: 'fifo', mode: 0o666 },
      ],
    ],
    '/',
    allow,
  );
  assert.equal(err, undefined, String(err));
  const manifest = await buildManifest(a.tree);
  assert.deepEqual(privilegedEntries(manifest), { setuid: ['/usr/bin/ping'], devices: ['/dev/null2'] });
  assert.deepEqual(undeclaredEntries(manifest, allow), []);
  assert.equal(undeclaredEntries(manifest, NOTHING_ALLOWED).length, 2, 'undeclared, the same tree is refused at the last look');
});

test('whiteouts inside the tree still work, and a layer replaces a link rather than writing through it', async () => {
  const a = await arena();
  const err = await layImage(a, [
    [
      { path: 'etc/old.conf', body: 'old' },
      { path: 'var/cache/a', body: 'a' },
      { path: 'etc/motd', type: 'symlink', linkpath: join(a.canary, 'keep') },
    ],
    [{ path: 'etc/.wh.old.conf' }, { path: 'var/cache/.wh..wh..opq' }, { path: 'var/cache/b', body: 'b' }, { path: 'etc/motd', body: 'hello' }],
  ]);
  assert.equal(err, undefined, String(err));
  assert.equal(existsSync(join(a.tree, 'etc/old.conf')), false);
  assert.deepEqual(await readdir(join(a.tree, 'var/cache')), ['b']);
  assert.equal(await readFile(join(a.tree, 'etc/motd'), 'utf8'), 'hello');
  assert.equal(await hashTree(a.canary), a.before);
});

test("the build's own writes never follow a link out of the tree", async () => {
  const a = await arena();
  await mkdir(join(a.tree, 'usr/lib'), { recursive: true });
  await symlink(a.canary, join(a.tree, 'usr/lib/llama'));
  await symlink('../../../../canary', join(a.tree, 'models'));
  await assert.rejects(pathInside(a.tree, '/usr/lib/llama/llama-server', 'installing llama-server'), /usr\/lib\/llama is a link to .*outside/);
  await assert.rejects(mkdirInside(a.tree, '/models/tiny', 'installing the model'), /\/models is a link to/);
  await assert.rejects(pathInside(a.tree, '/../canary/keep', 'x'), /climbs out/);
  // The last component is replaced, not followed: a link to a host file is overwritten as a file of the tree.
  await symlink(join(a.canary, 'keep'), join(a.tree, 'etc/hostname'));
  const src = join(a.dir, 'hostname');
  await writeFile(src, 'aios\n');
  await putFile(src, await pathInside(a.tree, '/etc/hostname', 'x'));
  assert.equal(await readFile(join(a.tree, 'etc/hostname'), 'utf8'), 'aios\n');
  // A link that stays inside the tree is followed, as merged /usr links are.
  await mkdir(join(a.tree, 'usr/bin'), { recursive: true });
  await symlink('usr/bin', join(a.tree, 'bin'));
  assert.equal(await pathInside(a.tree, '/bin/sh', 'x'), join(await (await import('node:fs/promises')).realpath(a.tree), 'usr/bin/sh'));
  assert.equal(await hashTree(a.canary), a.before);
});

test('an overlay: setuid files, devices and control characters are refused; links are copied as links', async () => {
  const a = await arena();
  const overlay = join(a.dir, 'overlay');
  await mkdir(join(overlay, 'usr/bin'), { recursive: true });
  await writeFile(join(overlay, 'usr/bin/tool'), 'x');
  await chmod(join(overlay, 'usr/bin/tool'), 0o4755);
  await writeFile(join(overlay, 'bad\x1bname'), 'x');
  const err = await mergeInto(a.tree, overlay, { input: 'aios.json: overlay ov', prefix: '/', allow: NOTHING_ALLOWED, move: false }).catch((e: Error) => e);
  assert.ok(err instanceof HostileInputError);
  assert.match(err.message, /aios\.json: overlay ov: 2 entries are refused/);
  assert.match(err.message, /"\/bad\\u001bname" holds a control character/);
  assert.match(err.message, /"\/usr\/bin\/tool" is setuid/);
  // Declared, it comes in; a link to the host is copied as a link and never followed.
  await chmod(join(overlay, 'usr/bin/tool'), 0o755);
  await (await import('node:fs/promises')).rm(join(overlay, 'bad\x1bname'));
  await symlink(a.canary, join(overlay, 'hostlink'));
  await mergeInto(a.tree, overlay, { input: 'overlay', prefix: '/', allow: NOTHING_ALLOWED, move: false });
  const { readlink } = await import('node:fs/promises');
  assert.equal(await readlink(join(a.tree, 'hostlink')), a.canary);
  const later = join(a.dir, 'later');
  await mkdir(join(later, 'hostlink'), { recursive: true });
  await writeFile(join(later, 'hostlink', 'victim'), 'owned');
  await assert.rejects(mergeInto(a.tree, later, { input: 'overlay later', prefix: '/', allow: NOTHING_ALLOWED, move: false }), /hostlink is a link to/);
  assert.equal(await hashTree(a.canary), a.before);
  assert.ok(existsSync(join(overlay, 'usr/bin/tool')), "an overlay is the user's: copied, never moved");
});

test('a layer may replace a file by a directory and a directory by a file, as an overlay filesystem would', async () => {
  const a = await arena();
  const err = await layImage(a, [
    [
      { path: 'opt/thing', body: 'a file' },
      { path: 'srv/data/x', body: 'x' },
    ],
    [
      { path: 'opt/thing/inside', body: 'now a directory' },
      { path: 'srv/data', body: 'now a file' },
    ],
  ]);
  assert.equal(err, undefined, String(err));
  assert.equal(await readFile(join(a.tree, 'opt/thing/inside'), 'utf8'), 'now a directory');
  assert.equal(await readFile(join(a.tree, 'srv/data'), 'utf8'), 'now a file');
});
