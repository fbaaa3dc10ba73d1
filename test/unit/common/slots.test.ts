import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildIdOf, entryFileName, entryText, parseEntryName, parseEntryText, parseManifest, type UpdateManifest } from '../../../common/slots.ts';
import { mtoolsArgs, parseBareList } from '../../../common/esp-tools.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test("entry names carry systemd-boot's counter (Boot Loader Specification boot counting), both ways", () => {
  assert.equal(entryFileName({ slot: 'b', tries: { left: 3, done: 0 } }), 'aios-b+3.conf');
  assert.equal(entryFileName({ slot: 'a' }), 'aios-a.conf');
  assert.deepEqual(parseEntryName('aios-b+2-1.conf'), { slot: 'b', tries: { left: 2, done: 1 } });
  assert.deepEqual(parseEntryName('aios-a+0-3.conf'), { slot: 'a', tries: { left: 0, done: 3 } });
  assert.deepEqual(parseEntryName('aios-b+3.conf'), { slot: 'b', tries: { left: 3, done: 0 } });
  assert.deepEqual(parseEntryName('aios-a.conf'), { slot: 'a' });
  for (const bad of ['aios-c.conf', 'aios-a+x.conf', 'aios-a.conf.tmp', '../aios-a.conf', 'other.conf']) assert.equal(parseEntryName(bad), undefined, bad);
});

test('an entry starts its slot\'s UKI, sorts by "aios" and its generation, and reads back', () => {
  const t = entryText({ slot: 'b', build: '0123456789abcdef', version: 7 });
  assert.match(t, /^efi \/EFI\/aios\/b\.efi$/m);
  assert.match(t, /^sort-key aios$/m);
  assert.deepEqual(parseEntryText(t), { build: '0123456789abcdef', version: 7 });
  assert.equal(parseEntryText('title something else\nversion 2\n'), undefined);
});

test('update.json is read field by field, and its build must be the identity of its files', () => {
  const body = {
    root: { bytes: 4096, sha256: sha('r'), rootHash: sha('h'), hashOffset: 2048 },
    uki: { a: { bytes: 10, sha256: sha('a') }, b: { bytes: 10, sha256: sha('b') } },
  };
  const m: UpdateManifest = { format: 1, build: buildIdOf(sha, body), ...body };
  assert.deepEqual(parseManifest(JSON.stringify(m), sha), m);
  assert.match(String(parseManifest(JSON.stringify({ ...m, build: '0000000000000000' }), sha)), /is not the identity of its files/);
  assert.match(String(parseManifest(JSON.stringify({ ...m, root: { ...m.root, hashOffset: 8192 } }), sha)), /root: expected/);
  assert.match(String(parseManifest(JSON.stringify({ ...m, uki: { a: m.uki.a } }), sha)), /uki\.b/);
  assert.match(String(parseManifest('{', sha)), /not JSON/);
  assert.match(String(parseManifest('[]', sha)), /format 1/);
});

test('mtools command lines name paths on the partition only; mdir -b is read as names', () => {
  assert.deepEqual(mtoolsArgs.rename('/dev/vda3', '/loader/entries/aios-b+2-1.conf', '/loader/entries/aios-b.conf'), [
    '-c',
    'mren',
    '-i',
    '/dev/vda3',
    '::/loader/entries/aios-b+2-1.conf',
    '::/loader/entries/aios-b.conf',
  ]);
  assert.throws(() => mtoolsArgs.remove('/dev/vda3', '/loader/../x'), /not an absolute path/);
  assert.throws(() => mtoolsArgs.remove('/dev/vda3', 'loader/x'), /not an absolute path/);
  assert.deepEqual(parseBareList('::/loader/entries/aios-a.conf\n::/loader/entries/aios-b+3.conf\n'), ['aios-a.conf', 'aios-b+3.conf']);
});
