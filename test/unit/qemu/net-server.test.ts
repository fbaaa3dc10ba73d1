import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange } from '../../../qemu/net-server.ts';

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
  const { execFileSync } = await import('node:child_process');
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { scratchDir } = await import('../scratch.ts');
  const { request } = await import('../../../qemu/http.ts');
  const { startNetServer } = await import('../../../qemu/net-server.ts');
  const out = scratchDir('aios-serve-');
  await writeFile(join(out, 'vmlinuz'), 'kernel');
  await writeFile(join(out, 'initramfs.img'), 'initrd');
  // A tiny ISO with the one file the server copies out of it.
  const tree = join(out, 'tree');
  await mkdir(join(tree, 'aios'), { recursive: true });
  await writeFile(join(tree, 'aios', 'rootfs.squashfs'), 'hsqs0123456789');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', join(out, 'aios.iso'), tree], { stdio: 'ignore' });
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
