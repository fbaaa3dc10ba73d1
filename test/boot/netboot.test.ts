// Network boot: `aios serve` and the net-bios path of `aios check` (QEMU's iPXE ROM fetches the
// script over HTTP from the user network's DHCP boot file; stage 1 fetches the root into RAM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aios, OUT, qemuProcesses, extended } from './helpers.ts';

/** `aios serve --port 0` on 127.0.0.1: its port once it says so, its fetch lines, and a stop by its pid. */
async function serve(out: string): Promise<{ port: number; log: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, '../../bin/aios.js'), 'serve', '--out', out, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setInterval(() => {
      const m = /on 127\.0\.0\.1:(\d+);/.exec(text);
      if (m) {
        clearInterval(t);
        resolve(Number(m[1]));
      }
    }, 100);
    void exited.then(() => {
      clearInterval(t);
      reject(new Error(`aios serve exited:\n${text}`));
    });
  });
  return {
    port,
    log: () => text,
    stop: async () => {
      child.kill('SIGINT');
      await exited;
    },
  };
}

test('two guests boot at once from one `aios serve` over the network and pass the checklist; the server prints every fetch', extended, async () => {
  const server = await serve(OUT);
  // Two emulated machines share this host's two cores: the boot budget doubles for them, and only it.
  const project = await mkdtemp(join(tmpdir(), 'aios-two-'));
  await writeFile(join(project, 'aios.json'), JSON.stringify({ check: { tcgBudgetSeconds: 60, networkBudgetSeconds: 60 } }));
  try {
    const url = `http://10.0.2.2:${server.port}`;
    const [a, b] = await Promise.all([0, 1].map(() => aios(['check', '--project', project, '--out', OUT, '--path', 'net-bios', '--net-url', url])));
    for (const r of [a!, b!]) {
      assert.equal(r.code, 0, `${r.out}\n--- aios serve ---\n${server.log()}`);
      assert.match(r.out, /net-bios +root verified \(dm-verity, read-only\) +PASS/);
    }
    const roots = server.log().match(/ 127\.0\.0\.1 GET \/rootfs\.squashfs 200 \d+ bytes/g) ?? [];
    assert.equal(roots.length, 2, server.log());
    assert.match(server.log(), / GET \/boot\.ipxe 200 /);
    assert.match(server.log(), / GET \/vmlinuz 200 /);
  } finally {
    await server.stop();
    await rm(project, { recursive: true, force: true });
  }
  assert.deepEqual(await qemuProcesses(OUT), []);
});

test("a root changed on the server is refused by stage 1, naming the URL and the verification failure; the check's own server is used", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aios-netroot-'));
  try {
    for (const f of ['vmlinuz', 'initramfs.img', 'build.json', 'aios.iso']) await copyFile(join(OUT, f), join(dir, f));
    // One byte in the middle of the ISO's squashfs, well before its hash tree.
    const lba = /File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*(\d+)\s*,/.exec(
      execFileSync('xorriso', ['-indev', join(dir, 'aios.iso'), '-find', '/aios/rootfs.squashfs', '-exec', 'report_lba', '--'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    assert.ok(lba, 'xorriso reports where the squashfs lies');
    const at = Number(lba[1]) * 2048 + Math.floor((Number(lba[2]) * 2048) / 3);
    const fh = await open(join(dir, 'aios.iso'), 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0xff;
    await fh.write(byte, 0, 1, at);
    await fh.close();
    const r = await aios(['check', '--out', dir, '--path', 'net-bios', '--timeout', '240']);
    assert.equal(r.code, 1, r.out);
    const serial = await readFile(join(dir, 'logs', 'serial-net-bios.log'), 'utf8');
    assert.match(
      serial,
      /the root fetched from http:\/\/10\.0\.2\.2:\d+\/rootfs\.squashfs failed verification against the command line's root hash/,
      serial.slice(-3000),
    );
    assert.match(r.out, /served .* GET \/rootfs\.squashfs 200/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
