import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aptOptions, DEFAULT_SOURCES, sourcesList } from '../../../scripts/lib/apt.ts';
import { parseControl } from '../../../scripts/lib/debian.ts';

test('private apt sources: the suite, its updates and security, every component, signed by the keyring', () => {
  const lines = sourcesList(DEFAULT_SOURCES).trim().split('\n');
  assert.deepEqual(lines, [
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main contrib non-free non-free-firmware',
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main contrib non-free non-free-firmware',
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main contrib non-free non-free-firmware',
  ]);
});

test("private apt options: nothing of the host's /etc/apt or dpkg state is read", () => {
  const o = aptOptions('/c/apt');
  const kv = new Map<string, string>();
  for (let i = 0; i < o.length; i += 2) {
    assert.equal(o[i], '-o');
    const [k, v] = o[i + 1]!.split('=');
    kv.set(k!, v!);
  }
  for (const k of [
    'Dir::Etc::SourceList',
    'Dir::Etc::SourceParts',
    'Dir::Etc::Preferences',
    'Dir::Etc::PreferencesParts',
    'Dir::State::Lists',
    'Dir::Cache',
    'Dir::State::status',
  ])
    assert.ok(kv.get(k)?.startsWith('/c/apt/'), `${k} = ${kv.get(k)}`);
});

test('apt-cache show records: fields, continuation lines, first record only', () => {
  const rec = parseControl('Package: strace\nVersion: 6.1-0.1\nDescription: trace\n system calls\nSHA256: ab\n\nPackage: other\nVersion: 2\n');
  assert.equal(rec.Package, 'strace');
  assert.equal(rec.Version, '6.1-0.1');
  assert.equal(rec.Description, 'trace\nsystem calls');
  assert.equal(rec.SHA256, 'ab');
});
