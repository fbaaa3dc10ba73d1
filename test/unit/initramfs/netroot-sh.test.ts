import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '../scratch.ts';

const lib = join(import.meta.dirname, '../../../initramfs/lib/netroot.sh');
/** The same, without blocking this process (its HTTP server must answer meanwhile). */
const shAsync = (script: string, ...args: string[]) =>
  new Promise<{ status: number; stdout: string }>((r) =>
    execFile('sh', ['-c', `. ${lib}; ${script}`, 'sh', ...args], { env: { PATH: process.env.PATH }, timeout: 20_000 }, (err, stdout) =>
      r({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
    ),
  );
const sh = (script: string, ...args: string[]) =>
  spawnSync('sh', ['-c', `. ${lib}; ${script}`, 'sh', ...args], { env: { PATH: process.env.PATH }, encoding: 'utf8' });

test('root=http://... is taken only as http with a plain host, port and path (the command line is input)', () => {
  for (const good of ['http://10.0.2.2:8090/rootfs.squashfs', 'http://boot.example/aios/rootfs.squashfs', 'http://h/r_1-2.img'])
    assert.equal(sh('check_url "$1"', good).status, 0, good);
  for (const bad of [
    'https://h/r',
    'http://',
    'ftp://h/r',
    'http://h/r;reboot',
    'http://h/$(reboot)',
    'http://h/r x',
    'http://user@h/r',
    'http://h/r?x=1',
    'http://h/../../etc/shadow',
    '-O/etc/passwd',
  ])
    assert.equal(sh('check_url "$1"', bad).status, 1, bad);
});

test('fetch_root writes the file, and says which URL failed and why', async () => {
  const body = Buffer.alloc(70_000, 7);
  const server = createServer((req, res) => (req.url === '/rootfs.squashfs' ? res.end(body) : res.writeHead(404).end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const file = join(scratchDir('aios-netroot-'), 'root.img');
    const ok = await shAsync('fetch_root "$1" "$2"', `${base}/rootfs.squashfs`, file);
    assert.equal(ok.status, 0, ok.stdout);
    assert.deepEqual(await readFile(file), body);
    const missing = await shAsync('fetch_root "$1" "$2"', `${base}/nothing`, file);
    assert.equal(missing.status, 1);
    // busybox's wget names the HTTP status; the host's GNU wget, quiet, only its exit code.
    assert.match(missing.stdout, new RegExp(`^cannot fetch ${base}/nothing: (.*404|wget exited 8)`));
  } finally {
    server.close();
  }
});
