// The update loop against a server on 127.0.0.1 that hands out what a hostile or broken one would:
// a manifest signed by another key, a root whose bytes are not the manifest's, then a good update.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, sign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildIdOf, entryText } from '../../../common/slots.ts';
import { slotReport } from '../../../init/src/ab.ts';
import { FsRoot } from '../../../init/src/fsroot.ts';
import { Updater } from '../../../init/src/update.ts';
import { initSpec } from '../../../init/src/config.ts';
import { defaults } from '../../../common/schema.ts';
import { scratchDir } from '../scratch.ts';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

function keyPair(dir: string, name: string): { key: Buffer; cert: string } {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-subj', `/CN=${name}`, '-days', '1'], {
    stdio: 'ignore',
  });
  return { key: readFileSync(key), cert: readFileSync(crt, 'utf8') };
}

test("an update is installed only as its signed manifest says: another key's manifest and a changed root are refused, slot B left without an entry", async () => {
  const dir = scratchDir('aios-update-');
  const ours = keyPair(dir, 'db');
  const theirs = keyPair(dir, 'other');
  // The machine: slot B is /dev/vda4, 64 KiB, as sysfs tells it.
  const root = join(dir, 'root');
  mkdirSync(join(root, 'sys/class/block/vda4'), { recursive: true });
  mkdirSync(join(root, 'dev'));
  mkdirSync(join(root, 'run/aios'), { recursive: true });
  writeFileSync(join(root, 'sys/class/block/vda4/uevent'), 'DEVNAME=vda4\nDEVTYPE=partition\nPARTNAME=aios-root-b\n');
  writeFileSync(join(root, 'sys/class/block/vda4/size'), '128\n');
  writeFileSync(join(root, 'dev/vda4'), Buffer.alloc(64 * 1024));
  // The build: a root of 40000 bytes and the slots' UKIs.
  const rootImg = Buffer.alloc(40000, 7);
  const ukis = { a: Buffer.from('uki for slot a'), b: Buffer.from('uki for slot b') };
  const body = {
    root: { bytes: rootImg.length, sha256: sha(rootImg), rootHash: sha('h'), hashOffset: 32768 },
    uki: { a: { bytes: ukis.a.length, sha256: sha(ukis.a) }, b: { bytes: ukis.b.length, sha256: sha(ukis.b) } },
  };
  const manifest = Buffer.from(JSON.stringify({ format: 1, build: buildIdOf(sha, body), ...body }));
  let served = { sig: sign('sha256', manifest, theirs.key), root: rootImg };
  const server = createServer((req, res) => {
    const files: Record<string, Buffer> = {
      '/update/update.json': manifest,
      '/update/update.json.sig': served.sig,
      '/update/root.img': served.root,
      '/update/aios-b.efi': ukis.b,
    };
    const f = files[req.url ?? ''];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Length': f.length }).end(f);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const calls: string[] = [];
  const esp = {
    list: async () => ['aios-a.conf'],
    read: async () => entryText({ slot: 'a', build: '0123456789abcdef', version: 1 }),
    remove: async (f: string) => void calls.push(`remove ${f}`),
    put: async (_host: string, f: string) => void calls.push(`put ${f}`),
  };
  const report = slotReport('a', [{ file: 'aios-a.conf', name: { slot: 'a' }, build: '0123456789abcdef', version: 1 }], url);
  const reboots: string[] = [];
  const updater = new Updater({
    config: { ...defaults(initSpec.update.fields), url },
    fs: new FsRoot(root),
    esp,
    report,
    cert: ours.cert,
    log: () => undefined,
    sync: () => calls.push('sync'),
    reboot: (why) => reboots.push(why),
  });
  try {
    await updater.check();
    assert.equal(report.update.state, 'refused');
    assert.match(report.update.detail!, /is not signed by the key of \/etc\/aios\/update\.crt/);
    assert.equal(calls.length, 0, 'nothing on the EFI partition touched');

    served = { sig: sign('sha256', manifest, ours.key), root: Buffer.alloc(rootImg.length, 8) };
    await updater.check();
    assert.equal(report.update.state, 'failed');
    assert.match(report.update.detail!, /sha256 [0-9a-f]{64}, update\.json says/);
    assert.ok(!calls.some((c) => c.startsWith('put')), `no UKI and no entry written: ${calls.join(', ')}`);
    assert.equal(report.other.state, 'empty');

    calls.length = 0;
    served = { sig: served.sig, root: rootImg };
    await updater.check();
    assert.equal(report.update.state, 'written', report.update.detail);
    assert.deepEqual(
      calls,
      ['remove /EFI/aios/b.efi', 'sync', 'put /EFI/aios/b.efi', 'put /loader/entries/aios-b+3.conf', 'sync'],
      'the entry with its counter last',
    );
    assert.ok(readFileSync(join(root, 'dev/vda4')).subarray(0, rootImg.length).equals(rootImg), 'the root in slot B');
    assert.equal(reboots.length, 1);
    assert.deepEqual([report.other.state, report.other.version], ['trial', 2]);
  } finally {
    server.close();
  }
});
