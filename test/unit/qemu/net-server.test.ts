import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { buildIdOf } from '../../../common/slots.ts';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '../scratch.ts';
import { request } from '../../../qemu/http.ts';
import { parseRange, startNetServer } from '../../../qemu/net-server.ts';
import { sfdiskScript, GPT_LINUX_DATA } from '../../../scripts/images/tool-args.ts';

test('range requests: one range, a suffix, an open end; past the end is unsatisfiable; anything else is the whole file', () => {
  assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=900-', 1000), { start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=990-5000', 1000), { start: 990, end: 999 });
  assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
  assert.equal(parseRange('bytes=5-2', 1000), 'unsatisfiable');
  assert.equal(parseRange(undefined, 1000), undefined);
  assert.equal(parseRange('bytes=0-1,5-6', 1000), undefined, 'several ranges: the whole file');
  assert.equal(parseRange('items=0-1', 1000), undefined);
});

test('aios serve answers only its own names, GET and HEAD, single ranges, and reports each fetch with the client', async () => {
  const { out, tree } = await buildOut('aios-serve-', 'hsqs0123456789');
  const fetches: string[] = [];
  const server = await startNetServer({
    out,
    bind: '127.0.0.1',
    port: 0,
    publicUrl: (port) => `http://10.0.2.2:${port}`,
    cmdline: (base) => `root=${base}/rootfs.squashfs`,
    onFetch: (f) => fetches.push(`${f.client} ${f.method} ${f.path} ${f.status} ${f.bytes}`),
  });
  try {
    const url = (p: string) => `http://127.0.0.1:${server.port}${p}`;
    assert.match(
      (await request(url('/boot.ipxe'), { timeoutMs: 5000 })).body,
      /^#!ipxe\ndhcp\nkernel http:\/\/10\.0\.2\.2:\d+\/vmlinuz initrd=initramfs\.img root=http:\/\/10\.0\.2\.2:\d+\/rootfs\.squashfs\n/,
    );
    const part = await request(url('/rootfs.squashfs'), { timeoutMs: 5000, headers: { Range: 'bytes=0-3' } });
    assert.deepEqual([part.status, part.body], [206, 'hsqs']);
    // The root comes from where it lies in the ISO opened at the start: a rebuild that puts a new
    // aios.iso in place changes nothing this server hands out.
    await writeFile(join(tree, 'aios', 'rootfs.squashfs'), 'hsqsREPLACED!!');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', join(out, 'new.iso'), tree], { stdio: 'ignore' });
    execFileSync('mv', [join(out, 'new.iso'), join(out, 'aios.iso')]);
    const whole = await request(url('/rootfs.squashfs'), { timeoutMs: 5000 });
    assert.deepEqual([whole.status, whole.body], [200, 'hsqs0123456789']);
    assert.equal((await request(url('/rootfs.squashfs'), { timeoutMs: 5000, headers: { Range: 'bytes=99-' } })).status, 416);
    for (const bad of ['/../aios.iso', '/aios.iso', '/tree/aios/rootfs.squashfs', '/vmlinuz/', '/VMLINUZ'])
      assert.equal((await request(url(bad), { timeoutMs: 5000 })).status, 404, bad);
    assert.equal((await request(url('/vmlinuz'), { method: 'POST', timeoutMs: 5000 })).status, 405);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(fetches.includes('127.0.0.1 GET /rootfs.squashfs 206 4'), fetches.join('\n'));
    assert.ok(fetches.includes('127.0.0.1 POST /vmlinuz 405 0'), fetches.join('\n'));
  } finally {
    await server.close();
  }
});

test("a disk build is served as an update too: update.json and its signature, the slots' UKIs, and slot A's content read from where it lies in rootfs.img", async () => {
  const { out } = await buildOut('aios-serve-update-', 'hsqs');
  // A GPT whose first partition (slot A, at 1 MiB) begins with the root's bytes.
  const disk = join(out, 'rootfs.img');
  execFileSync('truncate', ['-s', '4M', disk]);
  const part = { sectors: 2048, type: GPT_LINUX_DATA, uuid: '01234567-89AB-4DEF-8123-456789ABCDEF', name: 'aios-root-a' };
  execFileSync('/sbin/sfdisk', ['-q', disk], {
    input: sfdiskScript({ labelId: 'ABCDEF01-2345-4789-8ABC-DEF012345678', startSector: 2048, partitions: [part] }),
  });
  execFileSync('dd', [`of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none'], { input: 'ROOT+HASHTREE' });
  await writeFile(join(out, 'update.json'), manifest());
  await writeFile(join(out, 'update.json.sig'), 'sig');
  await writeFile(join(out, 'aios-a.efi'), 'uki-a');
  await writeFile(join(out, 'aios-b.efi'), 'uki-b');
  const server = await startNetServer({ out, bind: '127.0.0.1', port: 0, cmdline: () => '' });
  try {
    const get = async (p: string) => (await request(`http://127.0.0.1:${server.port}${p}`, { timeoutMs: 5000 })).body;
    assert.equal(server.update, true);
    assert.equal(await get('/update/root.img'), 'ROOT+HASHTREE', "the root's bytes, as many as update.json says");
    assert.equal(await get('/update/aios-b.efi'), 'uki-b');
    assert.equal(await get('/update/update.json.sig'), 'sig');
    // Read at the start: a new build written into out/ meanwhile does not mix with this one.
    await writeFile(join(out, 'update.json'), '{}');
    assert.equal(await get('/update/update.json'), manifest());
  } finally {
    await server.close();
  }
  // A disk-only build: updates, and no network boot.
  await rm(join(out, 'aios.iso'));
  await writeFile(join(out, 'update.json'), manifest());
  const diskOnly = await startNetServer({ out, bind: '127.0.0.1', port: 0, cmdline: () => '' });
  try {
    assert.deepEqual([diskOnly.update, diskOnly.netboot], [true, false]);
    assert.equal((await request(`http://127.0.0.1:${diskOnly.port}/boot.ipxe`, { timeoutMs: 5000 })).status, 404);
    assert.equal((await request(`http://127.0.0.1:${diskOnly.port}/update/aios-a.efi`, { timeoutMs: 5000 })).body, 'uki-a');
  } finally {
    await diskOnly.close();
  }
  await rm(join(out, 'update.json'));
  await assert.rejects(
    startNetServer({ out, bind: '127.0.0.1', port: 0, cmdline: () => '' }),
    /has neither aios\.iso \(network boot\) nor rootfs\.img with update\.json/,
  );
});

/** A build's network-boot files: a kernel, an initramfs, and a tiny ISO with the one file the server reads out of it. */
async function buildOut(prefix: string, root: string): Promise<{ out: string; tree: string }> {
  const out = scratchDir(prefix);
  await writeFile(join(out, 'vmlinuz'), 'kernel');
  await writeFile(join(out, 'initramfs.img'), 'initrd');
  const tree = join(out, 'tree');
  await mkdir(join(tree, 'aios'), { recursive: true });
  await writeFile(join(tree, 'aios', 'rootfs.squashfs'), root);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', join(out, 'aios.iso'), tree], { stdio: 'ignore' });
  return { out, tree };
}

/** A well-formed update.json for a root of 13 bytes: the server checks what it hands out. */
function manifest(): string {
  const sha = (t: string) => createHash('sha256').update(t).digest('hex');
  const body = {
    root: { bytes: 13, sha256: sha('root'), rootHash: sha('hash'), hashOffset: 8 },
    uki: { a: { bytes: 5, sha256: sha('a') }, b: { bytes: 5, sha256: sha('b') } },
  };
  return JSON.stringify({ format: 1, build: buildIdOf(sha, body), ...body });
}
