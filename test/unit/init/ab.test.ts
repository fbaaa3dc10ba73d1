import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootedSlot, markGood, slotReport, type Entry } from '../../../init/src/ab.ts';
import { decide, signedBy } from '../../../init/src/update.ts';
import type { UpdateManifest } from '../../../common/slots.ts';
import { scratchDir } from '../scratch.ts';

const entry = (file: string, slot: 'a' | 'b', build: string, version: number, tries?: { left: number; done: number }): Entry => ({
  file,
  name: tries ? { slot, tries } : { slot },
  build,
  version,
});

test('the booted slot is the one the signed command line names by its partition (the last root= counts)', () => {
  assert.equal(bootedSlot('root=PARTLABEL=aios-root-b ro quiet'), 'b');
  assert.equal(bootedSlot('root=PARTLABEL=aios-root-a root=/dev/sda1'), undefined);
  assert.equal(bootedSlot('root=live:LABEL=AIOS ro'), undefined);
  assert.equal(bootedSlot('root=PARTLABEL=aios-root-c'), undefined);
});

test('the report says a trial, a good slot, and why the other slot was given up', () => {
  const trial = slotReport('b', [entry('aios-a.conf', 'a', 'v1', 1), entry('aios-b+1-2.conf', 'b', 'v2', 2, { left: 1, done: 2 })], 'http://x');
  assert.equal(trial.trial, true);
  assert.equal(trial.markedGood, false);
  assert.deepEqual(trial.tries, { left: 1, done: 2 });
  assert.equal(trial.other.state, 'good');
  const back = slotReport('b', [entry('aios-a+0-3.conf', 'a', 'v3', 3, { left: 0, done: 3 }), entry('aios-b.conf', 'b', 'v2', 2)], 'http://x');
  assert.equal(back.trial, false);
  assert.equal(back.markedGood, true);
  assert.equal(back.other.state, 'abandoned');
  assert.match(back.other.why!, /slot a \(build v3\) was tried 3 times and never marked good; .* slot b booted again/);
  assert.equal(slotReport('a', [entry('aios-a.conf', 'a', 'v1', 1)], '').other.state, 'empty');
  assert.equal(slotReport('a', [], '').update.state, 'off');
});

test('marking good renames the booted entry without its counter, and then syncs; a good one is left alone', async () => {
  const calls: string[] = [];
  const esp = { rename: async (a: string, b: string) => void calls.push(`${a} -> ${b}`) };
  const done = await markGood(esp, 'b', [entry('aios-a.conf', 'a', 'v1', 1), entry('aios-b+2-1.conf', 'b', 'v2', 2, { left: 2, done: 1 })], () =>
    calls.push('sync'),
  );
  assert.equal(done, 'aios-b+2-1.conf -> aios-b.conf');
  assert.deepEqual(calls, ['/loader/entries/aios-b+2-1.conf -> /loader/entries/aios-b.conf', 'sync']);
  assert.equal(await markGood(esp, 'a', [entry('aios-a.conf', 'a', 'v1', 1)], () => calls.push('sync')), undefined);
  assert.equal(calls.length, 2);
});

test('an update goes into the other slot with the next generation; the running build, a trial, and a build given up are not written', () => {
  const m = { build: 'v3' } as UpdateManifest;
  const good = slotReport('b', [entry('aios-a.conf', 'a', 'v1', 1), entry('aios-b.conf', 'b', 'v2', 2)], 'u');
  assert.deepEqual(decide(m, good), { write: true, slot: 'a', version: 3 });
  assert.equal(decide({ build: 'v2' } as UpdateManifest, good).write, false);
  const trial = slotReport('b', [entry('aios-a.conf', 'a', 'v1', 1), entry('aios-b+2-1.conf', 'b', 'v2', 2, { left: 2, done: 1 })], 'u');
  assert.match(String((decide(m, trial) as { why: string }).why), /on trial/);
  const gaveUp = slotReport('b', [entry('aios-a+0-3.conf', 'a', 'v3', 3, { left: 0, done: 3 }), entry('aios-b.conf', 'b', 'v2', 2)], 'u');
  assert.match(String((decide(m, gaveUp) as { why: string }).why), /given up/);
  assert.deepEqual(decide({ build: 'v4' } as UpdateManifest, gaveUp), { write: true, slot: 'a', version: 4 });
});

test("a manifest counts only when signed by the image's certificate (an X.509 PEM, as /etc/aios/update.crt is)", () => {
  const dir = scratchDir('aios-cert-');
  const key = join(dir, 'k.pem');
  const crt = join(dir, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-subj', '/CN=t', '-days', '1'], { stdio: 'ignore' });
  const data = Buffer.from('{"format":1}');
  const sig = sign('sha256', data, readFileSync(key));
  const cert = readFileSync(crt, 'utf8');
  assert.equal(signedBy(data, sig, cert), true);
  assert.equal(signedBy(Buffer.from('{"format":2}'), sig, cert), false, 'another manifest');
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  assert.equal(signedBy(data, sign('sha256', data, other.privateKey), cert), false, 'another key');
  assert.equal(signedBy(data, sig, 'not a certificate'), false);
});
