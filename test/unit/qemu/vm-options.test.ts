import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { statusUnreachable, vmOptions as vmOptionsOf } from '../../../qemu/vm-options.ts';

const CONFIG = { outDir: 'out', boot: { cmdline: 'quiet' }, check: { memoryMB: 1024, cpus: 2 } };
const vmOptions = (args: { out: string }, path: 'direct' | 'iso-bios', accel: 'tcg') => vmOptionsOf(args, CONFIG, path, accel);
import { scratchDir } from '../scratch.ts';

/** A build's direct-path files (empty: only their names matter here) and its build.json. */
async function fakeBuild(record: unknown): Promise<{ out: string; config: string }> {
  const dir = scratchDir('aios-vm-');
  for (const f of ['vmlinuz', 'initramfs.img', 'rootfs.img']) await writeFile(join(dir, f), '');
  await writeFile(join(dir, 'build.json'), JSON.stringify(record));
  await writeFile(join(dir, 'aios.json'), '{}');
  return { out: dir, config: join(dir, 'aios.json') };
}

test("the guest's status port is the image's own, as its build recorded it", async () => {
  const b = await fakeBuild({ status: { port: 9123, bind: '0.0.0.0', token: false } });
  assert.equal((await vmOptions(b, 'direct', 'tcg')).guestPort, 9123);
  const off = await fakeBuild({ status: { port: 0, bind: '0.0.0.0', token: false } });
  assert.equal((await vmOptions(off, 'direct', 'tcg')).guestPort, 0, 'an image without a status endpoint');
});

test("a build.json without the image's status record is an error that says to build again, never aiOS's own init.json", async () => {
  const b = await fakeBuild({});
  await assert.rejects(vmOptions(b, 'direct', 'tcg'), /build\.json does not record the image's status endpoint .*: run `aios build --out .*` again/);
});

test('the status endpoint is out of the host reach with no port, or bound to the guest loopback', () => {
  assert.equal(statusUnreachable({ port: 8080, bind: '0.0.0.0' }), undefined);
  assert.equal(statusUnreachable({ port: 8080, bind: '10.0.2.15' }), undefined);
  assert.match(statusUnreachable({ port: 0, bind: '0.0.0.0' })!, /no status endpoint \(init\.json statusPort 0\)/);
  for (const bind of ['127.0.0.1', '127.0.0.2', '::1', 'localhost'])
    assert.match(statusUnreachable({ port: 8080, bind })!, new RegExp(`inside the guest only \\(init\\.json statusBind ${bind.replace(/\./g, '\\.')}\\)`));
});

test('a build without the files of the boot path asked for names them and the format that makes them', async () => {
  const b = await fakeBuild({});
  await assert.rejects(vmOptions(b, 'iso-bios', 'tcg'), /has no aios\.iso: run `aios build --out .*` first, with the iso format/);
  const { rm } = await import('node:fs/promises');
  await rm(join(b.out, 'rootfs.img'));
  await assert.rejects(
    vmOptions(b, 'direct', 'tcg'),
    /has no rootfs\.img: run `aios build --out .*` first, with the disk format \(the default builds both; `--format disk` builds it alone\)/,
  );
});
